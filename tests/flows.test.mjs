// Full sign-in flows as a browser drives them: the built worker in workerd in front of
// the real origin-api binary, once on SQLite and once on PostgreSQL.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import { identityToken } from "../scripts/identity-token.mjs";
import {
  Browser,
  SETTINGS,
  decodeJwt,
  freePort,
  hasValidHs256Signature,
  postgresDatabase,
  sqliteDatabase,
  startOrigin,
  startWorker,
  workerBindings,
} from "./support.mjs";

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function idToken(sub, extra = {}) {
  return identityToken({
    secret: SETTINGS.identitySecret,
    issuer: SETTINGS.identityIssuer,
    audience: SETTINGS.identityAudience,
    sub,
    name: `${sub} example`,
    email: `${sub}@example.test`,
    ...extra,
  });
}

async function signIn(browser, sub) {
  const response = await browser.post("/auth/signin", { id_token: idToken(sub) });
  assert.equal(response.status, 200, await response.clone().text());
  return response.json();
}

async function originGet(origin, path, jwt) {
  return fetch(`${origin.url}${path}`, { headers: { authorization: `Bearer ${jwt}` } });
}

const backends = [
  ["sqlite", sqliteDatabase],
  ["postgres", postgresDatabase],
];

for (const [backend, createDatabase] of backends) {
  describe(`flows on ${backend}`, () => {
    let database;
    let port;
    let origin;
    let worker;

    before(async () => {
      database = createDatabase();
      port = await freePort();
      origin = await startOrigin({ port, databaseUrl: database.url });
      worker = await startWorker(workerBindings(origin.url));
    });

    after(async () => {
      await worker?.dispose();
      await origin?.stop();
      await database?.drop();
    });

    it("sign-in sets a cookie with a fresh UUID v4 sid", async () => {
      const browser = new Browser(worker.url);
      const body = await signIn(browser, "alice");

      const { header, payload } = decodeJwt(browser.jwt);
      assert.equal(header.alg, "HS256");
      assert.match(payload.sid, UUID_V4);
      assert.equal(payload.sub, "alice");
      assert.equal(payload.iss, "edge-sessions");
      assert.equal(payload.exp - payload.iat, 2_592_000);
      assert.ok(hasValidHs256Signature(browser.jwt, SETTINGS.authSecret), "signature made by Web Crypto checks out in Node");
      assert.equal(body.user.id, "alice");
      assert.equal(body.user.email, "alice@example.test");

      const again = new Browser(worker.url);
      await signIn(again, "alice");
      assert.notEqual(decodeJwt(again.jwt).payload.sid, payload.sid);
    });

    it("sign-in cookie carries the session attributes", async () => {
      const response = await new Browser(worker.url).post("/auth/signin", { id_token: idToken("attrs") });
      const cookie = response.headers.getSetCookie()[0];
      assert.match(cookie, /^edge_session=[\w-]+\.[\w-]+\.[\w-]+;/);
      assert.match(cookie, /HttpOnly/);
      assert.match(cookie, /SameSite=Lax/);
      assert.match(cookie, /Path=\//);
      assert.match(cookie, /Max-Age=2592000/);
    });

    it("origin records the session with client metadata from the edge", async () => {
      const browser = new Browser(worker.url, "Mozilla/5.0 (e2e) Ünïcödé");
      const body = await browser.fetch("/auth/signin", {
        method: "POST",
        headers: { "content-type": "application/json", "cf-connecting-ip": "203.0.113.7" },
        body: JSON.stringify({ id_token: idToken("meta") }),
      }).then((response) => response.json());

      const current = await originGet(origin, "/v1/sessions/current", browser.jwt).then((r) => r.json());
      assert.equal(current.id, body.session.id);
      assert.equal(current.user_id, "meta");
      assert.ok(current.user_agent.startsWith("Mozilla/5.0 (e2e)"), current.user_agent);
      assert.ok(current.ip, "the origin stored an IP address");
    });

    it("session view reports the live session", async () => {
      const browser = new Browser(worker.url);
      const signedIn = await signIn(browser, "bob");

      const response = await browser.fetch("/auth/session");
      assert.equal(response.status, 200);
      const view = await response.json();
      assert.equal(view.user.id, "bob");
      assert.equal(view.session.id, signedIn.session.id);
      assert.equal(view.session.current, true);
      assert.equal(response.headers.getSetCookie().length, 0, "a fresh JWT is not re-issued");
    });

    it("revoked second device is rejected", async () => {
      const laptop = new Browser(worker.url, "laptop");
      const phone = new Browser(worker.url, "phone");
      const laptopSession = (await signIn(laptop, "carol")).session;
      const phoneSession = (await signIn(phone, "carol")).session;

      const list = await laptop.fetch("/api/sessions").then((r) => r.json());
      assert.deepEqual(
        list.sessions.map((session) => [session.id, session.current]).sort(),
        [
          [laptopSession.id, true],
          [phoneSession.id, false],
        ].sort(),
      );

      const revoke = await laptop.fetch(`/api/sessions/${phoneSession.id}`, { method: "DELETE" });
      assert.equal(revoke.status, 204);

      const rejected = await phone.fetch("/auth/session");
      assert.equal(rejected.status, 401);
      assert.equal((await rejected.json()).error, "session_not_live");
      assert.equal(phone.jwt, undefined, "the revoked device's cookie is cleared");

      const still = await laptop.fetch("/auth/session");
      assert.equal(still.status, 200);
    });

    it("revoking another user's session is not found", async () => {
      const mallory = new Browser(worker.url);
      const victim = new Browser(worker.url);
      await signIn(mallory, "mallory");
      const victimSession = (await signIn(victim, "victim")).session;

      const response = await mallory.fetch(`/api/sessions/${victimSession.id}`, { method: "DELETE" });
      assert.equal(response.status, 404);
      assert.equal((await victim.fetch("/auth/session")).status, 200);
    });

    it("revoke-others keeps only the current device", async () => {
      const devices = [new Browser(worker.url), new Browser(worker.url), new Browser(worker.url)];
      for (const device of devices) await signIn(device, "dave");

      const response = await devices[0].fetch("/api/sessions/revoke-others", { method: "POST" });
      assert.equal(response.status, 200);
      assert.equal((await response.json()).revoked, 2);

      assert.equal((await devices[0].fetch("/auth/session")).status, 200);
      assert.equal((await devices[1].fetch("/auth/session")).status, 401);
      assert.equal((await devices[2].fetch("/auth/session")).status, 401);
    });

    it("sign-out revokes at the origin and clears the cookie", async () => {
      const browser = new Browser(worker.url);
      await signIn(browser, "erin");
      const jwt = browser.jwt;

      const response = await browser.fetch("/auth/signout", { method: "POST" });
      assert.equal(response.status, 204);
      assert.equal(browser.jwt, undefined);

      const replay = await originGet(origin, "/v1/sessions/current", jwt);
      assert.equal(replay.status, 401, "the old JWT no longer opens a session at the origin");
    });

    it("ensure does not revive a signed-out session", async () => {
      const browser = new Browser(worker.url);
      await signIn(browser, "frank");
      const jwt = browser.jwt;
      await browser.fetch("/auth/signout", { method: "POST" });

      const response = await fetch(`${worker.url}/api/sessions/ensure`, {
        method: "POST",
        headers: { authorization: `Bearer ${jwt}` },
      });
      assert.equal(response.status, 401);
    });

    it("admin sign-out-everywhere ends every device", async () => {
      const first = new Browser(worker.url);
      const second = new Browser(worker.url);
      await signIn(first, "grace");
      await signIn(second, "grace");

      const response = await fetch(`${origin.url}/v1/users/grace/sessions`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${SETTINGS.adminToken}` },
      });
      assert.equal(response.status, 200);
      assert.equal((await response.json()).revoked, 2);

      assert.equal((await first.fetch("/auth/session")).status, 401);
      assert.equal((await second.fetch("/auth/session")).status, 401);
    });

    it("sessions survive an origin restart", async () => {
      const browser = new Browser(worker.url);
      await signIn(browser, "heidi");

      await origin.stop();
      origin = await startOrigin({ port, databaseUrl: database.url });

      const response = await browser.fetch("/auth/session");
      assert.equal(response.status, 200);
      assert.equal((await response.json()).user.id, "heidi");
    });

    it("stopped origin gives 503 and no cookie", async () => {
      const browser = new Browser(worker.url);
      await signIn(browser, "ivan");
      const jwt = browser.jwt;
      await origin.stop();

      try {
        const fresh = new Browser(worker.url);
        const signInResponse = await fresh.post("/auth/signin", { id_token: idToken("ivan") });
        assert.equal(signInResponse.status, 503);
        assert.equal((await signInResponse.json()).error, "origin_unavailable");
        assert.equal(signInResponse.headers.getSetCookie().length, 0);

        const view = await browser.fetch("/auth/session");
        assert.equal(view.status, 503);
        assert.equal(browser.jwt, jwt, "an outage does not sign the user out");
      } finally {
        origin = await startOrigin({ port, databaseUrl: database.url });
      }
    });
  });

  describe(`sliding expiry on ${backend}`, () => {
    let database;
    let origin;
    let worker;

    before(async () => {
      database = createDatabase();
      origin = await startOrigin({
        port: await freePort(),
        databaseUrl: database.url,
        env: { SESSION_UPDATE_AGE: "1" },
      });
      worker = await startWorker(workerBindings(origin.url, { SESSION_UPDATE_AGE: "1" }));
    });

    after(async () => {
      await worker?.dispose();
      await origin?.stop();
      await database?.drop();
    });

    it("session older than the update age is re-issued and extended", async () => {
      const browser = new Browser(worker.url);
      const signedIn = await signIn(browser, "judy");
      const before = decodeJwt(browser.jwt).payload;

      // workerd offers no clock to move, and JWT times are whole seconds, so the test
      // waits just past the one-second update age.
      await sleep(1_100);

      const response = await browser.fetch("/auth/session");
      assert.equal(response.status, 200);
      const view = await response.json();
      const after = decodeJwt(browser.jwt).payload;
      assert.equal(after.sid, before.sid);
      assert.ok(after.iat > before.iat, "the JWT was re-issued");
      assert.ok(after.exp > before.exp, "the JWT expiry moved forward");
      assert.ok(view.session.expires_at > signedIn.session.expires_at, "the origin extended the record");
      assert.ok(view.session.last_seen_at > signedIn.session.last_seen_at);
    });
  });
}
