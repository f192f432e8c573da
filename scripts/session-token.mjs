#!/usr/bin/env node
// Mints a session JWT signed with AUTH_SECRET, as the edge worker does at sign-in, so
// origin-api can be called on its own and backends can see what a valid token is.
// Reads AUTH_SECRET and AUTH_ISSUER from the environment, or else from .dev.vars and
// wrangler.toml.
//
//   AUTH_SECRET=... node scripts/session-token.mjs --sub alice

import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { localSetting, parseLifetime, signHs256 } from "./identity-token.mjs";

/** Builds session claims for `sub` with a fresh `sid`, living `lifetime` seconds. */
export function sessionClaims({ sub, issuer = "edge-sessions", lifetime = 2_592_000 }) {
  const now = Math.floor(Date.now() / 1000);
  return { sub, sid: randomUUID(), iat: now, exp: now + lifetime, iss: issuer };
}

function main() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        sub: { type: "string", default: "alice" },
        lifetime: { type: "string", default: "2592000" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (err) {
    console.error(`${err.message}\nusage: node scripts/session-token.mjs [--sub ID (default alice)] [--lifetime SECONDS (default 2592000)]`);
    process.exit(2);
  }
  if (values.help) {
    console.log("usage: node scripts/session-token.mjs [--sub ID (default alice)] [--lifetime SECONDS (default 2592000)]");
    return;
  }

  const secret = localSetting("AUTH_SECRET");
  if (!secret || Buffer.byteLength(secret) < 32) {
    console.error("session-token: AUTH_SECRET is missing or shorter than 32 bytes; export the origin's AUTH_SECRET");
    process.exit(1);
  }
  const lifetime = parseLifetime(values.lifetime, "session-token");

  const claims = sessionClaims({ sub: values.sub, issuer: localSetting("AUTH_ISSUER"), lifetime });
  console.log(signHs256(claims, secret));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main();
}
