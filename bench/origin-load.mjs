#!/usr/bin/env node
// Load benchmark of origin-api on loopback: starts the release binary on a fresh
// database, then sends a bounded number of requests with a fixed concurrency and
// reports throughput, latency percentiles and the origin's peak resident memory.
//
//   cargo build --release -p origin-api
//   node bench/origin-load.mjs [--backend sqlite|postgres] [--sessions 2000] [--concurrency 32]
//
// Each session is one ensure (a write) followed by four reads of /v1/sessions/current.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";

import { signHs256 } from "../scripts/identity-token.mjs";
import { sessionClaims } from "../scripts/session-token.mjs";
import { ROOT, SETTINGS, freePort, postgresDatabase, sqliteDatabase, startOrigin } from "../tests/support.mjs";

const READS_PER_SESSION = 4;

const { values } = parseArgs({
  options: {
    backend: { type: "string", default: "sqlite" },
    sessions: { type: "string", default: "2000" },
    concurrency: { type: "string", default: "32" },
  },
});
const sessions = Number(values.sessions);
const concurrency = Number(values.concurrency);
if (!["sqlite", "postgres"].includes(values.backend) || !(sessions > 0) || !(concurrency > 0)) {
  console.error("usage: node bench/origin-load.mjs [--backend sqlite|postgres] [--sessions N] [--concurrency N]");
  process.exit(1);
}

/** Reads the peak resident set size of process `pid` in KiB (Linux only). */
function peakRssKib(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(status.match(/^VmHWM:\s+(\d+) kB$/m)?.[1]);
}

/** Runs `count` tasks with at most `limit` in flight and returns each latency in ms. */
async function runBounded(count, limit, task) {
  const latencies = [];
  let next = 0;
  async function lane() {
    while (next < count) {
      const index = next++;
      const started = performance.now();
      await task(index);
      latencies.push(performance.now() - started);
    }
  }
  await Promise.all(Array.from({ length: limit }, lane));
  return latencies;
}

function summarize(name, latencies, seconds) {
  latencies.sort((a, b) => a - b);
  const percentile = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))].toFixed(2);
  console.log(
    `${name.padEnd(8)} ${latencies.length} requests in ${seconds.toFixed(2)} s: ` +
      `${(latencies.length / seconds).toFixed(0)} req/s, p50 ${percentile(50)} ms, p99 ${percentile(99)} ms`,
  );
}

async function expectStatus(response, expected) {
  await response.arrayBuffer();
  if (!expected.includes(response.status)) {
    throw new Error(`unexpected status ${response.status}`);
  }
}

const database = values.backend === "sqlite" ? sqliteDatabase() : postgresDatabase();
const origin = await startOrigin({
  port: await freePort(),
  databaseUrl: database.url,
  binary: join(ROOT, "target", "release", "origin-api"),
  env: { RUST_LOG: "warn" },
});

try {
  const tokens = Array.from({ length: sessions }, (_, index) =>
    signHs256(sessionClaims({ sub: `user-${index % 100}` }), SETTINGS.authSecret),
  );
  const request = (token, path, method) =>
    fetch(`${origin.url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });

  let started = performance.now();
  const writes = await runBounded(sessions, concurrency, async (index) =>
    expectStatus(await request(tokens[index], "/v1/sessions/ensure", "POST"), [201]),
  );
  summarize("ensure", writes, (performance.now() - started) / 1000);

  started = performance.now();
  const reads = await runBounded(sessions * READS_PER_SESSION, concurrency, async (index) =>
    expectStatus(await request(tokens[index % sessions], "/v1/sessions/current", "GET"), [200]),
  );
  summarize("current", reads, (performance.now() - started) / 1000);

  console.log(`backend ${values.backend}, concurrency ${concurrency}, origin peak RSS ${(peakRssKib(origin.pid) / 1024).toFixed(1)} MiB`);
} finally {
  await origin.stop();
  await database.drop();
}
