/**
 * 10,000 generated and mutated server strings through `get`'s own code path
 * (createHelper with a counting API backend): a token, or an API call, only
 * for hosts of the recognised ACR forms, by an oracle written independently
 * of lib/registry.ts; never a crash other than docker's not-found or a
 * one-line HelperError; every case ends. Deterministic seed.
 */
import assert from "node:assert/strict";
import type { AcrApi } from "../lib/acr_api.ts";
import { NullCache } from "../lib/cache.ts";
import { type Backend, createHelper } from "../lib/helper.ts";
import { HelperError, isNotFound } from "../lib/protocol.ts";

const SEED = 0x5eedac01;
const CASES = 10_000;

function rng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const VALID = [
  "registry.cn-hangzhou.aliyuncs.com",
  "registry-vpc.cn-shanghai.aliyuncs.com",
  "registry-intl.ap-southeast-1.aliyuncs.com",
  "registry-intl-vpc.eu-central-1.aliyuncs.com",
  "registry-internal.cn-beijing.aliyuncs.com",
  "crpi-abc123.cn-hangzhou.personal.cr.aliyuncs.com",
  "crpi-abc123-vpc.cn-hangzhou.personal.cr.aliyuncs.com",
  "acme-registry.cn-hangzhou.cr.aliyuncs.com",
  "acme-registry-vpc.cn-shanghai-finance-1.cr.aliyuncs.com",
  "acme-registry-vpc.distributed.cn-hangzhou.cr.aliyuncs.com",
];
const PIECES = [
  ".evil.com",
  "aliyuncs.com.",
  ".",
  "..",
  "@",
  "user:pass@",
  ":",
  ":443",
  ":5000",
  ":0",
  ":65536",
  ":99999",
  "/",
  "/v2/",
  "?x=1",
  "#f",
  "https://",
  "http://",
  "oci://",
  "HTTPS://",
  "[::1]",
  "[fe80::1%eth0]",
  "127.0.0.1",
  "xn--",
  "xn--registry-9na",
  "\u0430",
  "\u0440\u0435\u0433",
  "\uff0e",
  "\u3002",
  "\u200b",
  "\u0000",
  "\n",
  "\r\n",
  " ",
  "\t",
  "%2e",
  "%00",
  "\\",
  "*",
  "-",
  "--",
  "a".repeat(64),
  "b".repeat(300),
  "aliyuncs.com",
  "cr.aliyuncs.com",
  "registry.",
  "-registry",
  "registry",
  "cn-hangzhou",
  "personal",
  "distributed",
  "crpi-",
  "cri-",
  "\ud800",
  "\udfff",
  "\u{1f600}",
  "é",
  "İ",
  "K",
  "\u212a",
];

/** The recognised ACR forms, written from the docs (not from lib/registry.ts). */
function oracle(host: string): boolean {
  const region = "[a-z]{2}-[a-z0-9]+(-[a-z0-9]+)*";
  const name = "[a-z0-9][a-z0-9-]{1,28}[a-z0-9]";
  return [
    `^registry(-intl)?(-vpc|-internal)?\\.${region}\\.aliyuncs\\.com$`,
    `^crpi-[a-z0-9]+(-vpc)?\\.${region}\\.personal\\.cr\\.aliyuncs\\.com$`,
    `^${name}-registry(-vpc)?\\.${region}\\.cr\\.aliyuncs\\.com$`,
    `^${name}-registry-vpc\\.distributed\\.${region}\\.cr\\.aliyuncs\\.com$`,
  ].some((re) => new RegExp(re).test(host));
}

/** What a caller means by a server string, as strictly as possible: scheme, path, default port stripped. */
function intendedHost(server: string): string | null {
  const m = /^(?:(?:https?|oci|docker):\/\/)?([a-z0-9.-]+)(?::(\d+))?(?:[/?#].*)?$/i.exec(server.trim());
  if (!m) return null;
  if (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 65535 || String(Number(m[2])) !== m[2])) return null;
  return m[1].toLowerCase();
}

function generate(next: () => number): string[] {
  const pick = <T>(xs: T[]) => xs[Math.floor(next() * xs.length)];
  const out: string[] = [...VALID];
  while (out.length < CASES) {
    const kind = next();
    if (kind < 0.15) {
      // random bytes, decoded as docker's stdin would be
      const bytes = Uint8Array.from({ length: 1 + Math.floor(next() * 80) }, () => Math.floor(next() * 256));
      out.push(new TextDecoder().decode(bytes));
    } else if (kind < 0.3) {
      out.push(Array.from({ length: 1 + Math.floor(next() * 6) }, () => pick(PIECES)).join(""));
    } else {
      // mutate a valid host: insert, replace, delete, prefix, suffix
      let s = pick(VALID);
      for (let i = 0, n = 1 + Math.floor(next() * 3); i < n; i++) {
        const at = Math.floor(next() * (s.length + 1));
        const op = next();
        if (op < 0.3) s = s.slice(0, at) + pick(PIECES) + s.slice(at);
        else if (op < 0.5) s = s.slice(0, at) + s.slice(at + 1 + Math.floor(next() * 4));
        else if (op < 0.65) s = pick(PIECES) + s;
        else if (op < 0.8) s = s + pick(PIECES);
        else s = s.slice(0, at) + String.fromCharCode(Math.floor(next() * 0x3000)) + s.slice(at + 1);
      }
      out.push(s);
    }
  }
  return out;
}

Deno.test("fuzz: 10,000 server strings; tokens and API calls only for recognised ACR hosts; no crash", async () => {
  const calls: string[] = [];
  const token = (what: string) => {
    calls.push(what);
    return Promise.resolve({ username: "u", password: "p", expiresAt: Date.now() + 3_600_000 });
  };
  const api: AcrApi = {
    personalToken: (region) => token(`personal ${region}`),
    instanceToken: (region, id) => token(`instance ${region} ${id}`),
    findInstanceId: (_region, name) => {
      calls.push(`list ${name}`);
      return Promise.resolve({ instanceId: "cri-fuzz" });
    },
  };
  const backend: Backend = {
    buildCredential: () => ({ getCredential: () => Promise.resolve({ accessKeyId: "a", accessKeySecret: "s" }) }),
    createAcrApi: () => api,
    installTransport: () => {},
  };
  const helper = createHelper({
    env: { ALIBABA_CLOUD_ACCESS_KEY_ID: "LTAIfuzz", ALIBABA_CLOUD_ACCESS_KEY_SECRET: "s" },
    readTextFile: () => Promise.resolve(null),
    loadBackend: () => Promise.resolve(backend),
    cache: new NullCache(),
    // VPC hosts probe their region's VPC endpoint: never the real one from a test.
    probe: () => Promise.resolve("no network in tests"),
  });

  const servers = generate(rng(SEED));
  let tokens = 0;
  let notFound = 0;
  let slowest = 0;
  for (const server of servers) {
    const before = calls.length;
    const started = performance.now();
    const outcome = await helper.get(server).then((creds) => ({ creds }), (err: unknown) => ({ err }));
    if ("creds" in outcome) {
      tokens++;
      const host = intendedHost(server);
      assert.ok(host !== null && oracle(host), `token for ${JSON.stringify(server)}`);
      assert.equal(outcome.creds.ServerURL, server.trim());
    } else {
      const { err } = outcome;
      if (isNotFound(err)) notFound++;
      else {
        assert.ok(err instanceof HelperError, `crash on ${JSON.stringify(server)}: ${err}`);
        assert.ok(!err.message.includes("\n"), "one line");
      }
      assert.equal(calls.length, before, `API call for ${JSON.stringify(server)} without a token`);
    }
    slowest = Math.max(slowest, performance.now() - started);
  }
  assert.equal(servers.length, CASES);
  for (const v of VALID) assert.ok(oracle(v), v);
  assert.ok(tokens >= VALID.length, `tokens: ${tokens}`);
  assert.ok(notFound > CASES / 2, `not found: ${notFound}`);
  // A hang guard, not a speed claim: each case is in-process string work.
  assert.ok(slowest < 1000, `slowest case ${slowest} ms`);
  console.log(`fuzz: ${CASES} cases, ${tokens} tokens, ${notFound} not ours, slowest ${slowest.toFixed(1)} ms`);
});
