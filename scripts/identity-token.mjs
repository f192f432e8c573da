#!/usr/bin/env node
// Mints an HS256 identity token for local runs and tests, standing in for an identity
// provider. Reads IDENTITY_SECRET, IDENTITY_ISSUER and IDENTITY_AUDIENCE from the
// environment, or else from .dev.vars and wrangler.toml, so its tokens match what
// `wrangler dev` expects.
//
//   node scripts/identity-token.mjs --sub alice --name "Alice" --email alice@example.com

import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Encodes bytes or a JSON value as base64url without padding (RFC 7515 section 2). */
export function base64url(value) {
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(JSON.stringify(value));
  return bytes.toString("base64url");
}

/** Signs `claims` as an HS256 JWT with `secret`; `header` overrides header fields. */
export function signHs256(claims, secret, header = {}) {
  const input = `${base64url({ alg: "HS256", typ: "JWT", ...header })}.${base64url(claims)}`;
  const signature = createHmac("sha256", secret).update(input).digest();
  return `${input}.${base64url(signature)}`;
}

/**
 * Builds an identity token. `lifetime` is in seconds; `claims` are merged last, so a
 * test can override any registered claim.
 */
export function identityToken({ secret, issuer, audience, sub, name, email, lifetime = 300, claims = {} }) {
  const now = Math.floor(Date.now() / 1000);
  const payload = { iss: issuer, sub, iat: now, exp: now + lifetime };
  if (audience) payload.aud = audience;
  if (name) payload.name = name;
  if (email) payload.email = email;
  return signHs256({ ...payload, ...claims }, secret);
}

/** Parses a `--lifetime` value as whole seconds, or exits with a message naming `tool`. */
export function parseLifetime(value, tool) {
  const lifetime = Number(value);
  if (!Number.isInteger(lifetime) || lifetime <= 0) {
    console.error(`${tool}: --lifetime ${value} is not a whole number of seconds`);
    process.exit(1);
  }
  return lifetime;
}

/** Reads KEY="value" lines from a dotenv-style file; a missing file gives {}. */
export function readVars(path) {
  let text;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return {};
  }
  const vars = {};
  for (const line of text.split("\n")) {
    const match = line.match(/^\s*([A-Z0-9_]+)\s*=\s*"?([^"]*)"?\s*$/);
    if (match) vars[match[1]] = match[2];
  }
  return vars;
}

/**
 * Looks a setting up in the environment, then in .dev.vars, then in wrangler.toml's
 * [vars], which is where `wrangler dev` finds it too.
 */
export function localSetting(name) {
  const defaults = { ...readVars(join(root, "wrangler.toml")), ...readVars(join(root, ".dev.vars")) };
  return process.env[name] ?? defaults[name];
}

function main() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        sub: { type: "string", default: "alice" },
        name: { type: "string" },
        email: { type: "string" },
        lifetime: { type: "string", default: "300" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (err) {
    console.error(`${err.message}\nusage: node scripts/identity-token.mjs [--sub ID (default alice)] [--name NAME] [--email EMAIL] [--lifetime SECONDS (default 300)]`);
    process.exit(2);
  }
  if (values.help) {
    console.log("usage: node scripts/identity-token.mjs [--sub ID (default alice)] [--name NAME] [--email EMAIL] [--lifetime SECONDS (default 300)]");
    return;
  }

  const secret = localSetting("IDENTITY_SECRET");
  if (!secret) {
    console.error("identity-token: IDENTITY_SECRET is not set; export it or run scripts/dev once to create .dev.vars");
    process.exit(1);
  }
  const lifetime = parseLifetime(values.lifetime, "identity-token");

  console.log(
    identityToken({
      secret,
      issuer: localSetting("IDENTITY_ISSUER"),
      audience: localSetting("IDENTITY_AUDIENCE"),
      sub: values.sub,
      name: values.name,
      email: values.email,
      lifetime,
    }),
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main();
}
