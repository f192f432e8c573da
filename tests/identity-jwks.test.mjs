// Sign-in with identity tokens from a provider that signs with RS256 or ES256 and
// publishes its keys as a JWKS. The provider's JWKS is served on loopback; the worker
// runs in workerd in front of a stand-in origin.

import assert from "node:assert/strict";
import { createServer } from "node:http";
import { generateKeyPairSync, sign } from "node:crypto";
import { after, before, beforeEach, describe, it } from "node:test";

import { base64url, signHs256 } from "../scripts/identity-token.mjs";
import { SETTINGS, startFakeOrigin, startWorker, workerBindings } from "./support.mjs";

const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
const otherRsa = generateKeyPairSync("rsa", { modulusLength: 2048 });

const JWKS = {
  keys: [
    { ...rsa.publicKey.export({ format: "jwk" }), kid: "rsa-1", use: "sig", alg: "RS256" },
    { ...ec.publicKey.export({ format: "jwk" }), kid: "ec-1", use: "sig", alg: "ES256" },
  ],
};

const ENSURED = JSON.stringify({
  created: true,
  session: { id: "AAAAAAAAAAAAAAAAAAAAAA", user_id: "jwks-user", ip: null, user_agent: null, created_at: 1, last_seen_at: 1, expires_at: 2, current: true },
});

/** Signs identity claims as RS256 or ES256 with `privateKey`, under `kid`. */
function providerToken({ alg = "RS256", kid = "rsa-1", privateKey = rsa.privateKey, claims = {} } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const payload = {
    iss: SETTINGS.identityIssuer,
    aud: SETTINGS.identityAudience,
    sub: "jwks-user",
    iat: now,
    exp: now + 300,
    ...claims,
  };
  const header = { alg, typ: "JWT" };
  if (kid) header.kid = kid;
  const input = `${base64url(header)}.${base64url(payload)}`;
  // JWS ES256 signatures are the raw r || s form (RFC 7518 section 3.4).
  const key = alg === "ES256" ? { key: privateKey, dsaEncoding: "ieee-p1363" } : privateKey;
  return `${input}.${base64url(sign("sha256", Buffer.from(input), key))}`;
}

/** Serves `JWKS` on loopback, counting requests; `status` switches it to errors. */
async function startJwksServer() {
  const server = createServer((req, res) => {
    state.requests += 1;
    res.writeHead(state.status, { "content-type": "application/json" });
    res.end(state.status === 200 ? JSON.stringify(state.body) : "{}");
  });
  const state = { requests: 0, status: 200, body: JWKS };
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    state,
    url: `http://127.0.0.1:${server.address().port}/.well-known/jwks.json`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

function signIn(worker, idToken) {
  return fetch(`${worker.url}/auth/signin`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ id_token: idToken }),
  });
}

describe("identity tokens verified with a JWKS", () => {
  let origin;
  let jwks;
  let worker;

  before(async () => {
    origin = await startFakeOrigin(() => ({ status: 201, body: ENSURED }));
    jwks = await startJwksServer();
    worker = await startWorker(workerBindings(origin.url, { IDENTITY_SECRET: undefined, IDENTITY_JWKS_URL: jwks.url }));
  });

  beforeEach(() => {
    origin.requests.length = 0;
  });

  after(async () => {
    await worker?.dispose();
    await jwks?.close();
    await origin?.close();
  });

  it("RS256 token signs in", async () => {
    const response = await signIn(worker, providerToken());
    assert.equal(response.status, 200, await response.clone().text());
    assert.equal((await response.json()).user.id, "jwks-user");
    assert.equal(response.headers.getSetCookie().length, 1);
    assert.equal(origin.requests.length, 1);
  });

  it("ES256 token signs in", async () => {
    const response = await signIn(worker, providerToken({ alg: "ES256", kid: "ec-1", privateKey: ec.privateKey }));
    assert.equal(response.status, 200, await response.clone().text());
  });

  it("key set is cached between sign-ins", async () => {
    const before = jwks.state.requests;
    await signIn(worker, providerToken());
    await signIn(worker, providerToken({ alg: "ES256", kid: "ec-1", privateKey: ec.privateKey }));
    assert.equal(jwks.state.requests, before);
  });

  const rejected = [
    ["a signature by another key under a known kid", () => providerToken({ privateKey: otherRsa.privateKey }), /signature is invalid/],
    ["an RS256 kid used for ES256", () => providerToken({ alg: "ES256", kid: "rsa-1", privateKey: ec.privateKey }), /unknown key/],
    ["HS256 signed with the public key as secret", () => signHs256({ sub: "x", iss: SETTINGS.identityIssuer, exp: Math.floor(Date.now() / 1000) + 60 }, rsa.publicKey.export({ type: "spki", format: "pem" })), /`HS256` is not accepted; expected RS256 or ES256/],
    ["alg none", () => `${base64url({ alg: "none" })}.${providerToken().split(".")[1]}.`, /`none` is not accepted/],
    ["a wrong audience", () => providerToken({ claims: { aud: "someone-else" } }), /audience/],
  ];
  for (const [name, makeToken, message] of rejected) {
    it(`token with ${name} is rejected`, async () => {
      const response = await signIn(worker, makeToken());
      assert.equal(response.status, 401);
      const body = await response.json();
      assert.equal(body.error, "invalid_identity_token");
      assert.match(body.message, message);
      assert.equal(origin.requests.length, 0);
    });
  }

  it("unknown kid soon after a fetch is rejected without fetching", async () => {
    const before = jwks.state.requests;
    const response = await signIn(worker, providerToken({ kid: "made-up-key" }));
    assert.equal(response.status, 401);
    assert.match((await response.json()).message, /unknown key \(kid `made-up-key`\)/);
    assert.equal(jwks.state.requests, before);
  });
});

describe("identity provider key rotation", () => {
  let origin;
  let jwks;
  let worker;
  const rotated = generateKeyPairSync("rsa", { modulusLength: 2048 });

  before(async () => {
    origin = await startFakeOrigin(() => ({ status: 201, body: ENSURED }));
    jwks = await startJwksServer();
    jwks.state.body = { keys: [JWKS.keys[0]] };
    worker = await startWorker(workerBindings(origin.url, { IDENTITY_SECRET: undefined, IDENTITY_JWKS_URL: jwks.url }));
  });

  after(async () => {
    await worker?.dispose();
    await jwks?.close();
    await origin?.close();
  });

  it("new kid is fetched once the refetch interval has passed", async () => {
    assert.equal((await signIn(worker, providerToken())).status, 200);
    assert.equal(jwks.state.requests, 1);

    jwks.state.body = {
      keys: [JWKS.keys[0], { ...rotated.publicKey.export({ format: "jwk" }), kid: "rsa-2", alg: "RS256" }],
    };
    // workerd offers no clock to move, so the test waits out the worker's 30-second
    // minimum between fetches caused by an unknown kid.
    await new Promise((resolve) => setTimeout(resolve, 31_000));

    const response = await signIn(worker, providerToken({ kid: "rsa-2", privateKey: rotated.privateKey }));
    assert.equal(response.status, 200, await response.clone().text());
    assert.equal(jwks.state.requests, 2);
  });
});

describe("identity provider outage", () => {
  let origin;
  let jwks;

  before(async () => {
    origin = await startFakeOrigin(() => ({ status: 201, body: ENSURED }));
    jwks = await startJwksServer();
  });

  after(async () => {
    await jwks?.close();
    await origin?.close();
  });

  for (const [name, status] of [["a 500", 500], ["a 404", 404]]) {
    it(`JWKS answering ${name} is 503 without a cookie`, async () => {
      jwks.state.status = status;
      const worker = await startWorker(workerBindings(origin.url, { IDENTITY_SECRET: undefined, IDENTITY_JWKS_URL: jwks.url }));
      try {
        const response = await signIn(worker, providerToken());
        assert.equal(response.status, 503);
        const body = await response.json();
        assert.equal(body.error, "identity_provider_unavailable");
        assert.match(body.message, new RegExp(`status ${status}`));
        assert.equal(response.headers.getSetCookie().length, 0);
        assert.equal(origin.requests.length, 0);
      } finally {
        jwks.state.status = 200;
        await worker.dispose();
      }
    });
  }

  it("JWKS that is not a key set is 503", async () => {
    jwks.state.body = { not: "a key set" };
    const worker = await startWorker(workerBindings(origin.url, { IDENTITY_SECRET: undefined, IDENTITY_JWKS_URL: jwks.url }));
    try {
      const response = await signIn(worker, providerToken());
      assert.equal(response.status, 503);
      assert.match((await response.json()).message, /not a JSON object with `keys`/);
    } finally {
      jwks.state.body = JWKS;
      await worker.dispose();
    }
  });

  it("both identity key bindings is a configuration error", async () => {
    const worker = await startWorker(workerBindings(origin.url, { IDENTITY_JWKS_URL: jwks.url }));
    try {
      const response = await signIn(worker, providerToken());
      assert.equal(response.status, 500);
      const body = await response.json();
      assert.equal(body.error, "configuration_error");
      assert.match(body.message, /IDENTITY_SECRET .* or IDENTITY_JWKS_URL .*, not both/);
    } finally {
      await worker.dispose();
    }
  });
});
