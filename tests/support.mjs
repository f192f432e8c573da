// Helpers for the end-to-end suite: start the real origin-api binary, a fresh
// PostgreSQL database, the built worker in workerd (Miniflare), a stand-in origin, and
// a cookie-keeping client that behaves like one browser.

import { spawn, execFileSync } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";

import { Miniflare } from "miniflare";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const ORIGIN_BIN = process.env.ORIGIN_API_BIN ?? join(ROOT, "target", "debug", "origin-api");
export const WORKER_SCRIPT = join(ROOT, "edge-worker", "build", "index.js");
export const POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** Secrets and settings shared by the worker and the origin in every test. */
export const SETTINGS = {
  authSecret: "e2e-auth-secret-0123456789abcdef0123456789",
  identitySecret: "e2e-identity-secret-0123456789abcdef012345",
  edgeSecret: "e2e-edge-secret-0123456789abcdef0123456789",
  adminToken: "e2e-admin-token-0123456789abcdef0123456789",
  identityIssuer: "https://idp.e2e.test",
  identityAudience: "edge-sessions-e2e",
  cookieName: "edge_session",
};

/** Returns a TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Creates a fresh SQLite file path in its own temporary directory. */
export function sqliteDatabase() {
  const dir = mkdtempSync(join(tmpdir(), "edge-sessions-e2e-"));
  return {
    url: `sqlite:${join(dir, "sessions.db")}`,
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Creates a fresh PostgreSQL database on the server of TEST_POSTGRES_URL. Fails, rather than
 * skips, when the server is not reachable.
 */
export function postgresDatabase() {
  const name = `edge_sessions_e2e_${randomBytes(6).toString("hex")}`;
  const psql = (sql) =>
    execFileSync("psql", [POSTGRES_URL, "-v", "ON_ERROR_STOP=1", "-qc", sql], { stdio: ["ignore", "pipe", "pipe"] });
  try {
    psql(`CREATE DATABASE "${name}"`);
  } catch (err) {
    throw new Error(
      `could not create a PostgreSQL database at ${POSTGRES_URL} (${err.stderr?.toString().trim() || err.message}); ` +
        "start PostgreSQL or set TEST_POSTGRES_URL",
    );
  }
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => psql(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}

/**
 * Starts origin-api on `port` against `databaseUrl` and waits until /healthz responds.
 * `env` overrides the defaults; a value of `undefined` removes a variable. `binary`
 * defaults to ORIGIN_BIN.
 */
export async function startOrigin({ port, databaseUrl, env = {}, binary = ORIGIN_BIN }) {
  const fullEnv = {
    PATH: process.env.PATH,
    RUST_LOG: process.env.RUST_LOG ?? "info",
    LISTEN_ADDR: `127.0.0.1:${port}`,
    DATABASE_URL: databaseUrl,
    AUTH_SECRET: SETTINGS.authSecret,
    EDGE_SHARED_SECRET: SETTINGS.edgeSecret,
    ADMIN_TOKEN: SETTINGS.adminToken,
    ...env,
  };
  for (const key of Object.keys(fullEnv)) {
    if (fullEnv[key] === undefined) delete fullEnv[key];
  }

  const child = spawn(binary, [], { env: fullEnv, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  const exited = new Promise((resolve) => child.once("exit", resolve));

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`origin-api exited with ${child.exitCode} before it was ready:\n${output}`);
    }
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`origin-api did not answer /healthz within 20 s:\n${output}`);
    }
    await sleep(50);
  }

  return {
    url,
    pid: child.pid,
    logs: () => output,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** Builds the worker's bindings for `originUrl`; `overrides` wins, `undefined` removes. */
export function workerBindings(originUrl, overrides = {}) {
  const bindings = {
    ORIGIN_URL: originUrl,
    AUTH_SECRET: SETTINGS.authSecret,
    IDENTITY_SECRET: SETTINGS.identitySecret,
    IDENTITY_ISSUER: SETTINGS.identityIssuer,
    IDENTITY_AUDIENCE: SETTINGS.identityAudience,
    EDGE_SHARED_SECRET: SETTINGS.edgeSecret,
    COOKIE_NAME: SETTINGS.cookieName,
    COOKIE_SECURE: "false",
    ORIGIN_TIMEOUT_MS: "2000",
    ...overrides,
  };
  for (const key of Object.keys(bindings)) {
    if (bindings[key] === undefined) delete bindings[key];
  }
  return bindings;
}

/** Runs the built worker in workerd through Miniflare on a free loopback port. */
export async function startWorker(bindings) {
  const mf = new Miniflare({
    modules: true,
    scriptPath: WORKER_SCRIPT,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    compatibilityDate: "2026-04-26",
    bindings,
    host: "127.0.0.1",
    port: 0,
    // The placeholder `Request.cf` object avoids a lookup at Cloudflare.
    cf: false,
  });
  const url = await mf.ready;
  return { url: url.href.replace(/\/$/, ""), dispose: () => mf.dispose() };
}

/**
 * Starts an HTTP server on loopback that stands in for the origin. It records every
 * request and responds with `handler(req, body)`'s `{ status, body, delayMs }`.
 */
export async function startFakeOrigin(handler) {
  const requests = [];
  const server = createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    requests.push({ method: req.method, url: req.url, headers: req.headers, body });
    const answer = await handler(req, body);
    if (answer.delayMs) await sleep(answer.delayMs);
    if (res.destroyed) return;
    res.writeHead(answer.status, { "content-type": "application/json" });
    res.end(answer.body ?? "");
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

/** One browser: keeps the cookies the worker sets and sends them back. */
export class Browser {
  constructor(baseUrl, userAgent = "e2e-browser") {
    this.baseUrl = baseUrl;
    this.userAgent = userAgent;
    this.cookies = new Map();
  }

  /** Sends a request with the jar's cookies and stores the `Set-Cookie` headers of the response. */
  async fetch(path, init = {}) {
    const headers = new Headers(init.headers);
    headers.set("user-agent", this.userAgent);
    if (this.cookies.size > 0) {
      headers.set("cookie", [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; "));
    }
    const response = await fetch(`${this.baseUrl}${path}`, { ...init, headers, redirect: "manual" });
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(";").map((part) => part.trim());
      const [name, value] = pair.split("=");
      const maxAge = attributes.find((attr) => attr.toLowerCase().startsWith("max-age="));
      if (maxAge && Number(maxAge.split("=")[1]) <= 0) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }

  /** Sends a JSON body. */
  post(path, body) {
    return this.fetch(path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  }

  /** The session JWT in the jar, if any. */
  get jwt() {
    return this.cookies.get(SETTINGS.cookieName);
  }
}

/** Splits a JWT into its decoded header and payload; no verification. */
export function decodeJwt(token) {
  const [header, payload] = token.split(".").slice(0, 2).map((part) => JSON.parse(Buffer.from(part, "base64url")));
  return { header, payload };
}

/** Checks an HS256 signature with Node's own HMAC, independent of Web Crypto. */
export function hasValidHs256Signature(token, secret) {
  const [header, payload, signature] = token.split(".");
  const expected = createHmac("sha256", secret).update(`${header}.${payload}`).digest("base64url");
  return expected === signature;
}
