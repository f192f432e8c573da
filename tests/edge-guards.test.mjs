// Bad input, outages and misconfiguration at the edge. The worker runs in workerd in
// front of a stand-in origin that records what reaches it, so each test can check that
// a rejected request was never forwarded.

import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";

import { identityToken, signHs256 } from "../scripts/identity-token.mjs";
import { Browser, SETTINGS, startFakeOrigin, startWorker, workerBindings } from "./support.mjs";

const NOW = () => Math.floor(Date.now() / 1000);

function idToken(overrides = {}, secret = SETTINGS.identitySecret) {
  return identityToken({
    secret,
    issuer: SETTINGS.identityIssuer,
    audience: SETTINGS.identityAudience,
    sub: "guard-user",
    claims: overrides,
  });
}

function sessionJwt(overrides = {}, secret = SETTINGS.authSecret, header = {}) {
  const now = NOW();
  return signHs256({ sub: "guard-user", sid: crypto.randomUUID(), iat: now, exp: now + 600, iss: "edge-sessions", ...overrides }, secret, header);
}

const ENSURED = JSON.stringify({
  created: true,
  session: {
    id: "AAAAAAAAAAAAAAAAAAAAAA",
    user_id: "guard-user",
    ip: null,
    user_agent: null,
    created_at: 1,
    last_seen_at: 1,
    expires_at: 2,
    current: true,
  },
});

describe("edge guards", () => {
  let origin;
  let worker;
  let answer;

  before(async () => {
    origin = await startFakeOrigin(() => answer());
    worker = await startWorker(workerBindings(origin.url, { ORIGIN_TIMEOUT_MS: "300" }));
  });

  beforeEach(() => {
    origin.requests.length = 0;
    answer = () => ({ status: 201, body: ENSURED });
  });

  after(async () => {
    await worker?.dispose();
    await origin?.close();
  });

  const signInCases = [
    ["missing body", { headers: { "content-type": "application/json" } }, 400, "invalid_json"],
    ["malformed JSON", { headers: { "content-type": "application/json" }, body: "{not json" }, 400, "invalid_json"],
    ["missing id_token", { headers: { "content-type": "application/json" }, body: "{}" }, 400, "invalid_json"],
    ["wrong content type", { headers: { "content-type": "text/plain" }, body: "{}" }, 415, "unsupported_media_type"],
    ["oversized body", { headers: { "content-type": "application/json" }, body: JSON.stringify({ id_token: "a".repeat(20_000) }) }, 413, "payload_too_large"],
  ];
  for (const [name, init, status, code] of signInCases) {
    it(`sign-in with ${name} is ${status}`, async () => {
      const response = await fetch(`${worker.url}/auth/signin`, { method: "POST", ...init });
      assert.equal(response.status, status);
      assert.equal((await response.json()).error, code);
      assert.equal(origin.requests.length, 0);
    });
  }

  const identityCases = [
    ["a wrong signature", () => idToken({}, "another-identity-secret-0123456789abcdef"), /signature is invalid/],
    ["an expired token", () => idToken({ exp: NOW() - 3600, iat: NOW() - 7200 }), /expired/],
    ["a wrong issuer", () => idToken({ iss: "https://evil.example" }), /issuer/],
    ["a wrong audience", () => idToken({ aud: "someone-else" }), /audience/],
    ["alg none", () => {
      const [, payload] = idToken().split(".");
      return `${Buffer.from('{"alg":"none","typ":"JWT"}').toString("base64url")}.${payload}.`;
    }, /algorithm `none`/],
    ["garbage", () => "not-a-token", /malformed/],
    ["an exp in milliseconds", () => idToken({ exp: (NOW() + 300) * 1000 }), /milliseconds/],
  ];
  for (const [name, makeToken, message] of identityCases) {
    it(`sign-in with ${name} is refused`, async () => {
      const response = await new Browser(worker.url).post("/auth/signin", { id_token: makeToken() });
      assert.equal(response.status, 401);
      const body = await response.json();
      assert.equal(body.error, "invalid_identity_token");
      assert.match(body.message, message);
      assert.equal(response.headers.getSetCookie().length, 0);
      assert.equal(origin.requests.length, 0);
    });
  }

  it("sign-in forwards ensure with the edge secret and client metadata", async () => {
    const response = await fetch(`${worker.url}/auth/signin`, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "guard-agent", "cf-connecting-ip": "198.51.100.4" },
      body: JSON.stringify({ id_token: idToken() }),
    });
    assert.equal(response.status, 200);

    assert.equal(origin.requests.length, 1);
    const [request] = origin.requests;
    assert.equal(request.method, "POST");
    assert.equal(request.url, "/v1/sessions/ensure");
    assert.equal(request.headers["x-edge-secret"], SETTINGS.edgeSecret);
    assert.match(request.headers.authorization, /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    assert.equal(JSON.parse(request.body).user_agent, "guard-agent");
  });

  const sessionCases = [
    ["a tampered payload", () => {
      const [header, , signature] = sessionJwt().split(".");
      const forged = Buffer.from(JSON.stringify({ sub: "admin", sid: "x", iat: NOW(), exp: NOW() + 600, iss: "edge-sessions" })).toString("base64url");
      return `${header}.${forged}.${signature}`;
    }],
    ["a foreign signing key", () => sessionJwt({}, "not-the-auth-secret-0123456789abcdef0123")],
    ["an expired session", () => sessionJwt({ iat: NOW() - 7200, exp: NOW() - 3600 })],
    ["a wrong issuer", () => sessionJwt({ iss: "other" })],
    ["an unknown kid", () => sessionJwt({}, SETTINGS.authSecret, { kid: "unknown-key" })],
    ["alg none", () => `${Buffer.from('{"alg":"none"}').toString("base64url")}.${sessionJwt().split(".")[1]}.`],
  ];
  for (const [name, makeJwt] of sessionCases) {
    it(`session cookie with ${name} is refused and cleared`, async () => {
      const response = await fetch(`${worker.url}/auth/session`, {
        headers: { cookie: `${SETTINGS.cookieName}=${makeJwt()}` },
      });
      assert.equal(response.status, 401);
      assert.equal((await response.json()).error, "invalid_token");
      assert.match(response.headers.getSetCookie()[0] ?? "", /Max-Age=0/);
      assert.equal(origin.requests.length, 0);
    });
  }

  it("session JWT is accepted as a bearer token", async () => {
    answer = () => ({ status: 200, body: JSON.stringify(JSON.parse(ENSURED).session) });
    const response = await fetch(`${worker.url}/auth/session`, {
      headers: { authorization: `Bearer ${sessionJwt()}` },
    });
    assert.equal(response.status, 200);
    assert.equal(origin.requests[0].url, "/v1/sessions/current");
  });

  it("manager routes without a session are 401 and not forwarded", async () => {
    for (const [method, path] of [["GET", "/api/sessions"], ["DELETE", "/api/sessions/abc"], ["POST", "/api/sessions/revoke-others"], ["POST", "/api/sessions/ensure"], ["POST", "/auth/signout"]]) {
      const response = await fetch(`${worker.url}${path}`, { method });
      assert.equal(response.status, 401, `${method} ${path}`);
      assert.equal((await response.json()).error, "missing_session");
    }
    assert.equal(origin.requests.length, 0);
  });

  it("unknown route is 404 JSON", async () => {
    const response = await fetch(`${worker.url}/nowhere`);
    assert.equal(response.status, 404);
    assert.equal((await response.json()).error, "not_found");
  });

  it("wrong method is 405 JSON with Allow", async () => {
    const response = await fetch(`${worker.url}/auth/signin`);
    assert.equal(response.status, 405);
    assert.equal(response.headers.get("allow"), "POST");
    assert.equal((await response.json()).error, "method_not_allowed");
  });

  it("session id with path characters is 404 and not forwarded", async () => {
    const response = await fetch(`${worker.url}/api/sessions/a%2F..%2Fadmin`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${sessionJwt()}` },
    });
    assert.equal(response.status, 404);
    assert.equal((await response.json()).error, "session_not_found");
    assert.equal(origin.requests.length, 0);
  });

  it("missing session challenge has no error code", async () => {
    const response = await fetch(`${worker.url}/auth/session`);
    assert.equal(response.status, 401);
    assert.equal(response.headers.get("www-authenticate"), "Bearer");
  });

  it("origin 5xx at sign-in is 503 without a cookie", async () => {
    answer = () => ({ status: 500, body: "{}" });
    const response = await new Browser(worker.url).post("/auth/signin", { id_token: idToken() });
    assert.equal(response.status, 503);
    assert.equal((await response.json()).error, "origin_unavailable");
    assert.equal(response.headers.getSetCookie().length, 0);
  });

  it("origin slower than the timeout is 503 without a cookie", async () => {
    answer = () => ({ status: 201, body: ENSURED, delayMs: 1_500 });
    const response = await new Browser(worker.url).post("/auth/signin", { id_token: idToken() });
    assert.equal(response.status, 503);
    assert.match((await response.json()).message, /within 300 ms/);
    assert.equal(response.headers.getSetCookie().length, 0);
  });

  it("origin rejecting a new session is 502 without a cookie", async () => {
    answer = () => ({ status: 401, body: '{"error":"invalid_token","message":"bad signature"}' });
    const response = await new Browser(worker.url).post("/auth/signin", { id_token: idToken() });
    assert.equal(response.status, 502);
    assert.match((await response.json()).message, /AUTH_SECRET/);
    assert.equal(response.headers.getSetCookie().length, 0);
  });
});

describe("edge configuration", () => {
  const cases = [
    ["missing AUTH_SECRET", { AUTH_SECRET: undefined }, /secret AUTH_SECRET is not set; add it with `wrangler secret put AUTH_SECRET`/],
    ["missing ORIGIN_URL", { ORIGIN_URL: undefined }, /binding ORIGIN_URL is not set; add it under \[vars\] in wrangler.toml/],
    ["short IDENTITY_SECRET", { IDENTITY_SECRET: "short" }, /IDENTITY_SECRET is 5 bytes/],
    ["invalid ORIGIN_URL", { ORIGIN_URL: "origin" }, /ORIGIN_URL has the invalid value `origin`/],
  ];
  for (const [name, overrides, message] of cases) {
    it(`${name} is a 500 naming the binding`, async () => {
      const worker = await startWorker(workerBindings("http://127.0.0.1:9", overrides));
      try {
        const response = await fetch(`${worker.url}/auth/session`);
        assert.equal(response.status, 500);
        const body = await response.json();
        assert.equal(body.error, "configuration_error");
        assert.match(body.message, message);
      } finally {
        await worker.dispose();
      }
    });
  }
});
