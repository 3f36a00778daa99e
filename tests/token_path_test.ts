/**
 * The token path's policies in-process, with hand-written fakes of the API,
 * the credential and the clock: who may get which password from which cache
 * entry (issue 12, points 1-7). Milliseconds each.
 */
import assert from "node:assert/strict";
import type { AcrApi, RegistryToken } from "../lib/acr_api.ts";
import { podIdentitySelection } from "../lib/auth.ts";
import { cacheDirStatus, NullCache, openCache, type TokenEntry } from "../lib/cache.ts";
import { clockSkew, localExpiry } from "../lib/clock.ts";
import { parseConfig } from "../lib/config.ts";
import { isTransient } from "../lib/errors.ts";
import { type Backend, createHelper } from "../lib/helper.ts";
import type { Logger } from "../lib/log.ts";
import { makeOwnDir } from "../lib/own_dirs.ts";
import { jwtExpiry, proofExpiry } from "../lib/pod_proof.ts";
import { HelperError } from "../lib/protocol.ts";
import { planToken, tokenKey } from "../lib/target.ts";
import { readThrough } from "../lib/token_cache.ts";
import { stsRoute } from "../lib/endpoints.ts";
import { askRoleName, type MetadataRequest } from "../lib/ecs_metadata.ts";
import { posixOnly, tempHome } from "./util.ts";

const PERSONAL = "registry.cn-hangzhou.aliyuncs.com";
const ENTERPRISE = "team-registry.cn-hangzhou.cr.aliyuncs.com";
const ENV = { ALIBABA_CLOUD_ACCESS_KEY_ID: "LTAIunit", ALIBABA_CLOUD_ACCESS_KEY_SECRET: "unit-secret" };
const HOUR = 3_600_000;

function memoryLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (m: string) => void lines.push(`${level} ${m}`);
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error"), secret() {} };
}

/** A fake ACR API: counts calls, issues numbered passwords, fails as told. */
function fakeApi(opts: { fail?: () => Error | null; instances?: Record<string, string> } = {}) {
  const calls: string[] = [];
  let n = 0;
  const issue = (what: string): Promise<RegistryToken> => {
    calls.push(what);
    const err = opts.fail?.();
    if (err) return Promise.reject(err);
    return Promise.resolve({ username: "cr_temp_user", password: `pw-${++n}-${what}`, expiresAt: Date.now() + HOUR });
  };
  const api: AcrApi = {
    personalToken: (region) => issue(`personal:${region}`),
    instanceToken: (region, id) => {
      if (!id.startsWith("cri-good") && !id.startsWith("crpi-")) {
        calls.push(`instance:${region}:${id}`);
        return Promise.reject(
          Object.assign(new HelperError(`GetAuthorizationToken (${id}) failed: INSTANCE_NOT_EXIST`), {
            instanceNotFound: true,
            transient: false,
          }),
        );
      }
      return issue(`instance:${region}:${id}`);
    },
    findInstanceId: (region, name) => {
      calls.push(`list:${region}:${name}`);
      return Promise.resolve({ instanceId: opts.instances?.[name] ?? null });
    },
  };
  return { api, calls };
}

/** A backend around a fake API; the per-pod credential asks `sts` whether a token is good. */
function fakeBackend(
  api: AcrApi,
  sts: { good: Set<string>; calls: number; down?: boolean } = { good: new Set(), calls: 0 },
) {
  const backend: Backend = {
    buildCredential(selection) {
      return {
        getCredential() {
          if (selection.plan.type !== "oidc-token") return Promise.resolve({ accessKeyId: "ak", accessKeySecret: "s" });
          sts.calls++;
          if (sts.down) {
            return Promise.reject(
              Object.assign(new Error("STS AssumeRoleWithOIDC at sts: ECONNREFUSED"), { transient: true }),
            );
          }
          if (!sts.good.has(selection.plan.token)) {
            return Promise.reject(
              Object.assign(new Error("STS AssumeRoleWithOIDC failed: AuthenticationFail.OIDCToken.Invalid"), {
                transient: false,
              }),
            );
          }
          return Promise.resolve({
            accessKeyId: "STS.x",
            accessKeySecret: "s",
            securityToken: "t",
            expiresAt: Date.now() + HOUR,
          });
        },
      };
    },
    createAcrApi: () => api,
    installTransport: () => {},
  };
  return backend;
}

function configReader(json: () => string | null) {
  return (path: string) => Promise.resolve(path.endsWith("config.json") ? json() : null);
}

// 2. Fall back only when the service is unreachable

/** A cache holding one token with `leftMs` of its life left, and a get whose refresh fails with what it is given. */
async function refreshFailing(leftMs: number) {
  const cache = openCache(`${await tempHome()}/c`);
  const now = Date.now();
  const aged: TokenEntry = {
    host: PERSONAL,
    username: "u",
    password: "old",
    expiresAt: now + leftMs,
    issuedAt: now - HOUR,
  };
  await cache.putToken("k", aged, now);
  return (err: Error, log = memoryLog()) =>
    readThrough({
      cache,
      key: "k",
      host: PERSONAL,
      now: Date.now,
      deadline: () => now + 30_000,
      log,
      fetch: () => Promise.reject(err),
    });
}

Deno.test("readThrough: past half-life, a transient failure serves the cached token; a refusal never does", async () => {
  // 10 minutes left: inside the 15 min margin, so the next get refreshes.
  const run = await refreshFailing(10 * 60_000);
  const log = memoryLog();
  const served = await run(Object.assign(new HelperError("ServiceUnavailable (HTTP 503)"), { transient: true }), log);
  assert.equal(served.entry.password, "old");
  assert.equal(served.outcome, "fallback");
  assert.match(log.lines.join("\n"), /could not be reached; using the cached token for registry\.cn-hangzhou/);

  for (const refusal of ["SignatureDoesNotMatch (HTTP 400)", "InvalidAccessKeyId.NotFound", "NoPrivilege (HTTP 403)"]) {
    const l = memoryLog();
    await assert.rejects(run(Object.assign(new HelperError(refusal), { transient: false }), l), HelperError);
    assert.match(l.lines.join("\n"), /refused by the service; not using the cached token/);
  }
  // An error nobody classified is not a reason to hand out an old password either.
  await assert.rejects(run(new Error("something odd")));
});

Deno.test("readThrough: a token about to expire is never the fallback", async () => {
  const run = await refreshFailing(30_000);
  await assert.rejects(run(Object.assign(new Error("timeout"), { transient: true })), /timeout/);
});

Deno.test("isTransient: network, timeouts, 5xx and throttling are; answers that say no are not", () => {
  const t = (x: object) => isTransient(Object.assign(new Error("x"), x));
  assert.ok(t({ code: "ECONNREFUSED" }));
  assert.ok(t({ code: "ENOTFOUND" }));
  assert.ok(t({ statusCode: 503 }));
  assert.ok(t({ statusCode: 429 }));
  assert.ok(isTransient(new Error('get sts token failed: {"Code":"Throttling.User","RequestId":"R"}')));
  assert.ok(isTransient(new Error("connect ETIMEDOUT 1.2.3.4:443")));
  assert.ok(!t({ statusCode: 400, code: "SignatureDoesNotMatch" }));
  assert.ok(!t({ statusCode: 403, code: "NoPrivilege" }));
  assert.ok(!isTransient(new Error('get sts token failed: {"Code":"AuthenticationFail.OIDCToken.Invalid"}')));
  assert.ok(!isTransient(new Error('{"Code":"InvalidSecurityToken.Expired","Message":"try again"}')));
  assert.ok(!isTransient(Object.assign(new Error("timeout"), { transient: false })), "an explicit flag wins");
});

// 5. Bounded lock waits

Deno.test("readThrough: a lock held by a stopped process is waited for a bounded time, then the get goes on", async () => {
  const dir = `${await tempHome()}/c`;
  const cache = openCache(dir);
  await cache.putToken("warmup", {
    host: "x",
    username: "u",
    password: "p",
    expiresAt: Date.now() + HOUR,
    issuedAt: Date.now(),
  }, Date.now());
  // flock locks belong to the open file: a second open in this process contends like another process.
  const holder = await Deno.open(`${dir}/locks/k.lock`, { read: true, write: true, create: true });
  await holder.lock(true);
  try {
    const log = memoryLog();
    const started = Date.now();
    const { entry } = await readThrough({
      cache,
      key: "k",
      host: PERSONAL,
      now: Date.now,
      deadline: () => started + 30_000,
      lockWaitMs: 300,
      log,
      fetch: () =>
        Promise.resolve({ username: "u", password: "new", expiresAt: Date.now() + HOUR, issuedAt: Date.now() }),
    });
    const waited = Date.now() - started;
    assert.equal(entry.password, "new");
    assert.ok(waited >= 290 && waited < 5_000, `waited ${waited} ms`);
    assert.match(log.lines.join("\n"), /lock for registry\.cn-hangzhou\.aliyuncs\.com not acquired in 300 ms/);
  } finally {
    holder.close();
  }
});

// 3. The cache key is the whole question

Deno.test("tokenKey: identity, host, kind, instance, region, token API and endpoint each change the key", async () => {
  const none = parseConfig("{}", "c.json");
  const base = planToken(ENTERPRISE, { config: none, envs: {} })!;
  const keys = new Set<string>([await tokenKey(base, "env:A")]);
  const add = (k: string) => {
    assert.ok(!keys.has(k), "a changed question must get its own key");
    keys.add(k);
  };
  add(await tokenKey(base, "env:B"));
  add(
    await tokenKey(planToken("other-registry.cn-hangzhou.cr.aliyuncs.com", { config: none, envs: {} })!, "env:A"),
  );
  add(
    await tokenKey(
      planToken(ENTERPRISE, { config: none, envs: { instanceId: "cri-good1", region: "cn-hangzhou" } })!,
      "env:A",
    ),
  );
  add(
    await tokenKey(
      planToken(ENTERPRISE, { config: none, envs: { instanceId: "cri-good2", region: "cn-hangzhou" } })!,
      "env:A",
    ),
  );
  add(
    await tokenKey(
      planToken(ENTERPRISE, { config: none, envs: { instanceId: "cri-good2", region: "cn-shanghai" } })!,
      "env:A",
    ),
  );
  const tokenApi = parseConfig(JSON.stringify({ registries: { [ENTERPRISE]: { tokenApi: "personal" } } }), "c.json");
  add(await tokenKey(planToken(ENTERPRISE, { config: tokenApi, envs: {} })!, "env:A"));
  add(
    await tokenKey(
      planToken(ENTERPRISE, { config: none, envs: {}, apiEndpointText: "http://127.0.0.1:1" })!,
      "env:A",
    ),
  );
  // The same question twice is the same key (a hit stays a hit).
  assert.equal(
    await tokenKey(base, "env:A"),
    await tokenKey(planToken(`https://${ENTERPRISE}/v2/`, { config: none, envs: {} })!, "env:A"),
  );
});

Deno.test("helper: changing the instance id in env or config takes effect on the next get", async () => {
  const home = await tempHome();
  const { api, calls } = fakeApi({ instances: { team: "cri-good-looked-up" } });
  let config: string | null = null;
  const env: Record<string, string> = { ...ENV, HOME: home };
  const helper = () =>
    createHelper({
      env: { ...env },
      readTextFile: configReader(() => config),
      loadBackend: () => Promise.resolve(fakeBackend(api)),
    });

  const first = await helper().get(ENTERPRISE);
  assert.equal((await helper().get(ENTERPRISE)).Secret, first.Secret, "same question: a hit");
  env.DOCKER_CREDENTIAL_ACR_HELPER_INSTANCE_ID = "cri-good-env";
  env.DOCKER_CREDENTIAL_ACR_HELPER_REGION = "cn-hangzhou";
  const fromEnv = await helper().get(ENTERPRISE);
  assert.notEqual(fromEnv.Secret, first.Secret);
  assert.match(fromEnv.Secret, /cri-good-env/);
  env.DOCKER_CREDENTIAL_ACR_HELPER_INSTANCE_ID = "cri-gone";
  await assert.rejects(
    helper().get(ENTERPRISE),
    /INSTANCE_NOT_EXIST/,
    "an instance that does not exist gets no password",
  );
  delete env.DOCKER_CREDENTIAL_ACR_HELPER_INSTANCE_ID;
  delete env.DOCKER_CREDENTIAL_ACR_HELPER_REGION;
  config = JSON.stringify({ registries: { [ENTERPRISE]: { instanceId: "cri-good-config" } } });
  assert.match((await helper().get(ENTERPRISE)).Secret, /cri-good-config/);
  config = JSON.stringify({ registries: { [ENTERPRISE]: { instanceId: "cri-good-config", region: "cn-beijing" } } });
  assert.match((await helper().get(ENTERPRISE)).Secret, /cn-beijing:cri-good-config/);
  config = JSON.stringify({ registries: { [ENTERPRISE]: { tokenApi: "personal" } } });
  assert.match((await helper().get(ENTERPRISE)).Secret, /personal:cn-hangzhou/);
  assert.deepEqual(calls, [
    "list:cn-hangzhou:team",
    "instance:cn-hangzhou:cri-good-looked-up",
    "instance:cn-hangzhou:cri-good-env",
    "instance:cn-hangzhou:cri-gone",
    "instance:cn-hangzhou:cri-good-config",
    "instance:cn-beijing:cri-good-config",
    "personal:cn-hangzhou",
  ]);
});

Deno.test("cache: entries of the previous format are ignored, not misread", async () => {
  const dir = `${await tempHome()}/c`;
  const cache = openCache(dir);
  await cache.putToken("k", {
    host: PERSONAL,
    username: "u",
    password: "p",
    expiresAt: Date.now() + HOUR,
    issuedAt: Date.now(),
  }, Date.now());
  const path = `${dir}/tokens/k.json`;
  Deno.writeTextFileSync(path, JSON.stringify({ ...JSON.parse(Deno.readTextFileSync(path)), v: 2 }));
  assert.equal(await openCache(dir).getToken("k"), null);
  assert.deepEqual(await openCache(dir).listTokens(Date.now()), []);
});

// 4. store only for hosts the helper serves

Deno.test("store: accepted for ACR and configured hosts, refused with what to do for any other", async () => {
  const config = JSON.stringify({
    registries: { "images.example.com": { instanceId: "cri-good1", region: "cn-hangzhou" } },
  });
  const helper = createHelper({
    env: { ...ENV, DOCKER_CREDENTIAL_ACR_HELPER_CONFIG: "/etc/acr/config.json" },
    cache: new NullCache(),
    readTextFile: configReader(() => config),
  });
  const login = (ServerURL: string) => helper.store({ ServerURL, Username: "u", Secret: "login-password" });
  await login(PERSONAL);
  await login(`https://${ENTERPRISE}`);
  await login("images.example.com");
  for (const other of ["ghcr.io", "https://index.docker.io/v1/"]) {
    const err = await login(other).catch((e) => e);
    assert.ok(err instanceof HelperError);
    assert.match(
      err.message,
      /is not an ACR registry; .* nothing was saved\. Use "credHelpers" .* instead of "credsStore"/,
    );
    assert.ok(!err.message.includes("login-password"));
  }
});

// 1. Per-pod requests are always proven

Deno.test("pod identity: the cache is never reached before STS accepts the request's own token", async () => {
  const home = await tempHome();
  const { api, calls } = fakeApi();
  const sts = { good: new Set(["good-token"]), calls: 0, down: false };
  const helper = () =>
    createHelper({
      env: { HOME: home },
      readTextFile: () => Promise.resolve(null),
      loadBackend: () => Promise.resolve(fakeBackend(api, sts)),
    });
  const pod = (token: string) =>
    podIdentitySelection({ roleArn: "acs:ram::1:role/team-a", providerArn: "acs:ram::1:oidc-provider/k", token });

  const a = await helper().token(PERSONAL, { selection: pod("good-token") });
  assert.equal(sts.calls, 1);
  // Another process, the same token: proven by its recorded hash, password from the disk cache, no call at all.
  assert.equal((await helper().token(PERSONAL, { selection: pod("good-token") })).Secret, a.Secret);
  assert.equal(sts.calls, 1);
  // A forged token naming the same role: STS is asked, says no, and the cached password stays where it is.
  const forged = await helper().token(PERSONAL, { selection: pod("x") }).catch((e) => e);
  assert.ok(forged instanceof HelperError, String(forged));
  assert.match(forged.message, /OIDCToken\.Invalid/);
  assert.ok(!forged.message.includes(a.Secret));
  // STS unreachable: an unproven token gets nothing either (no stale fallback for identity).
  sts.down = true;
  await assert.rejects(helper().token(PERSONAL, { selection: pod("new-unproven-token") }), /ECONNREFUSED/);
  assert.deepEqual(calls, ["personal:cn-hangzhou"], "one ACR call for the role");
  // A second good token of the same role: proven once by STS, then shares the role's cached password.
  sts.down = false;
  sts.good.add("good-token-2");
  assert.equal((await helper().token(PERSONAL, { selection: pod("good-token-2") })).Secret, a.Secret);
  assert.equal(sts.calls, 4);
});

Deno.test("pod proof: lives until the STS credentials or the token expire, whichever is first", () => {
  const now = 1_000_000_000_000;
  const jwt = (exp: number) => `h.${btoa(JSON.stringify({ exp })).replace(/=+$/, "")}.sig`;
  assert.equal(jwtExpiry(jwt(1_700_000_000)), 1_700_000_000_000);
  assert.equal(jwtExpiry("not-a-jwt"), null);
  assert.equal(proofExpiry(now + HOUR, jwt((now + 600_000) / 1000), now), now + 600_000);
  assert.equal(proofExpiry(now + HOUR, "opaque", now), now + HOUR);
});

// 6. Never create directories that are not yours

Deno.test(
  posixOnly(
    "own dirs: created under our own directory; never $HOME itself, never in another user's directory",
    "file owners",
  ),
  async () => {
    const base = await tempHome();
    const uid = Deno.statSync(base).uid!;
    assert.equal(makeOwnDir(`${base}/.cache/x`, { uid, home: base }), null);
    assert.equal(Deno.statSync(`${base}/.cache/x`).mode! & 0o777, 0o700);
    assert.match(
      makeOwnDir(`${base}/gone/.cache/x`, { uid, home: `${base}/gone` })!,
      /HOME \(.*\/gone\) does not exist; not creating it/,
    );
    assert.throws(() => Deno.statSync(`${base}/gone`), Deno.errors.NotFound);
    assert.match(makeOwnDir(`${base}/y/z`, { uid: uid + 1, home: null })!, /belongs to uid \d+, not to this user/);
    assert.throws(() => Deno.statSync(`${base}/y`), Deno.errors.NotFound);
    // A ~/.cache that root already made (Deno's own, or an older helper's) does not let root go on: HOME decides.
    Deno.mkdirSync(`${base}/.cache/theirs`);
    assert.match(
      makeOwnDir(`${base}/.cache/theirs/docker-credential-acr-helper`, { uid: uid + 1, home: base })!,
      /^HOME \(.*\) belongs to uid \d+, not to this user \(uid \d+\); not creating anything in it$/,
    );
    assert.throws(() => Deno.statSync(`${base}/.cache/theirs/docker-credential-acr-helper`), Deno.errors.NotFound);
    const status = cacheDirStatus(`${base}/other/c`, { uid: uid + 1, home: base });
    assert.equal(status.ok, false);
    assert.match(status.fix!, /DOCKER_CREDENTIAL_ACR_HELPER_CACHE_DIR/);
  },
);

Deno.test("cache: a missing HOME is never created; the get works without the cache and the log says why", async () => {
  const home = `${await tempHome()}/missing-home`;
  const { api, calls } = fakeApi();
  const log = memoryLog();
  const helper = () =>
    createHelper({
      env: { ...ENV, HOME: home },
      log,
      readTextFile: () => Promise.resolve(null),
      loadBackend: () => Promise.resolve(fakeBackend(api)),
    });
  await helper().get(PERSONAL);
  await helper().get(PERSONAL);
  assert.equal(calls.length, 2, "no cache: every get calls the API");
  assert.throws(() => Deno.statSync(home), Deno.errors.NotFound);
  assert.match(log.lines.join("\n"), /cache disabled: .*HOME \(.*missing-home\) does not exist/);
});

// 7. Lifetimes on the service's clock

Deno.test("clock: expiries move onto the local clock by the Date header's skew", () => {
  const local = Date.parse("2026-11-29T12:00:00Z");
  const expiry = Date.parse("2026-11-29T13:10:00Z"); // issued at 12:10 service time, 1 h
  const ahead = "Sun, 29 Nov 2026 12:10:00 GMT"; // the service is 10 min ahead of us
  assert.equal(clockSkew(ahead, local), 600_000);
  assert.equal(localExpiry(expiry, ahead, local), Date.parse("2026-11-29T13:00:00Z"));
  assert.equal(clockSkew("Sun, 29 Nov 2026 12:00:01 GMT", local), 0, "a second is the header's resolution");
  // No Date header and an expiry already past on our clock (ours is hours ahead): the default hour from now.
  assert.equal(localExpiry(local - 1000, undefined, local), local + HOUR);
  assert.equal(localExpiry(local + 2 * HOUR, undefined, local), local + 2 * HOUR);
  assert.equal(localExpiry(local + 48 * HOUR, null, local), local + HOUR);
});

Deno.test("helper: a malformed API endpoint variable is one line on a miss (it is keyed as text, parsed on a miss)", async () => {
  const { api } = fakeApi();
  const helper = createHelper({
    env: { ...ENV, DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT: "ht tp://x" },
    cache: new NullCache(),
    readTextFile: () => Promise.resolve(null),
    loadBackend: () => Promise.resolve(fakeBackend(api)),
  });
  const err = await helper.get(PERSONAL).catch((e) => e);
  assert.ok(err instanceof HelperError, String(err));
  assert.match(err.message, /^DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT="ht tp:\/\/x" is not an endpoint/);
});

// VPC endpoints (issue 13, point 1)

Deno.test("endpoints: a VPC host tries cr-vpc first, falls back only when it does not connect, and remembers per region", async () => {
  const home = await tempHome();
  const { api } = fakeApi();
  const endpoints: string[] = [];
  const probes: string[] = [];
  let vpcConnects = false;
  const backend = { ...fakeBackend(api) };
  backend.createAcrApi = (o) => (endpoints.push(`${o.endpoint!.protocol}://${o.endpoint!.host}`), api);
  const helper = (env: Record<string, string> = {}) =>
    createHelper({
      env: { ...ENV, HOME: home, ...env },
      readTextFile: () => Promise.resolve(null),
      loadBackend: () => Promise.resolve(backend),
      probe: (host) => (probes.push(host), Promise.resolve(vpcConnects ? null : "ENOTFOUND")),
    });
  await helper().get("registry-vpc.cn-shanghai.aliyuncs.com");
  assert.deepEqual(probes, ["cr-vpc.cn-shanghai.aliyuncs.com"]);
  assert.deepEqual(endpoints, ["https://cr.cn-shanghai.aliyuncs.com"], "no VPC endpoint: the public one");
  // Another VPC host of the region: the remembered answer, no second probe.
  await helper().get("team-registry-vpc.cn-shanghai.cr.aliyuncs.com").catch(() => {});
  assert.equal(probes.length, 1);
  // A region whose VPC endpoint connects uses it.
  vpcConnects = true;
  await helper().get("registry-internal.cn-beijing.aliyuncs.com");
  assert.equal(endpoints.at(-1), "https://cr-vpc.cn-beijing.aliyuncs.com");
  // A public host never probes; a region without cr-vpc never probes either.
  await helper().get("registry.cn-qingdao.aliyuncs.com");
  await helper().get("registry-vpc.cn-heyuan.aliyuncs.com");
  assert.deepEqual(endpoints.slice(-2), ["https://cr.cn-qingdao.aliyuncs.com", "https://cr.cn-heyuan.aliyuncs.com"]);
  assert.equal(probes.length, 2);
  // ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED sends every call to cr-vpc; the {region} placeholder fills in the region.
  await helper({ ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED: "true" }).get("registry.cn-wuhan-lr.aliyuncs.com");
  await helper({ DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT: "cr-vpc.{region}.example.internal" }).get(
    "registry.cn-chengdu.aliyuncs.com",
  );
  assert.deepEqual(endpoints.slice(-2), [
    "https://cr-vpc.cn-wuhan-lr.aliyuncs.com",
    "https://cr-vpc.cn-chengdu.example.internal",
  ]);
  assert.equal(probes.length, 2);
});

Deno.test("endpoints: DOCKER_CREDENTIAL_ACR_HELPER_STS_ENDPOINT with a scheme and a slash is the host, parsed once", () => {
  for (const text of ["https://STS.example.com/", "sts.example.com", " https://sts.example.com "]) {
    assert.equal(stsRoute({ DOCKER_CREDENTIAL_ACR_HELPER_STS_ENDPOINT: text }).host, "sts.example.com", text);
  }
  assert.equal(
    stsRoute({ DOCKER_CREDENTIAL_ACR_HELPER_STS_ENDPOINT: "https://sts.example.com:8443/" }).host,
    "sts.example.com:8443",
  );
  assert.throws(
    () => stsRoute({ DOCKER_CREDENTIAL_ACR_HELPER_STS_ENDPOINT: "http://sts.example.com" }),
    /must use https/,
  );
});

Deno.test("endpoints: STS follows the SDK's rules; DOCKER_CREDENTIAL_ACR_HELPER_STS_ENDPOINT overrides them all", () => {
  assert.deepEqual(stsRoute({}, "cn-hangzhou"), { host: "sts.aliyuncs.com", why: "default" });
  assert.equal(stsRoute({ ALIBABA_CLOUD_STS_REGION: "cn-beijing" }).host, "sts.cn-beijing.aliyuncs.com");
  assert.equal(
    stsRoute({ ALIBABA_CLOUD_STS_REGION: "cn-beijing", ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED: "TRUE" }).host,
    "sts-vpc.cn-beijing.aliyuncs.com",
  );
  assert.equal(
    stsRoute({ ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED: "true" }, "cn-shanghai").host,
    "sts-vpc.cn-shanghai.aliyuncs.com",
  );
  assert.equal(
    stsRoute({ ALIBABA_CLOUD_STS_ENDPOINT: "sts.x.example", ALIBABA_CLOUD_STS_REGION: "cn-beijing" }).host,
    "sts.x.example",
  );
  assert.equal(
    stsRoute({
      DOCKER_CREDENTIAL_ACR_HELPER_STS_ENDPOINT: "127.0.0.1:8443",
      ALIBABA_CLOUD_STS_ENDPOINT: "sts.x.example",
    }).host,
    "127.0.0.1:8443",
  );
});

Deno.test("endpoints: a config entry's apiEndpoint (with {region}) wins over the variable, and is validated", () => {
  const host = "prod-registry-vpc.cn-hangzhou.cr.aliyuncs.com";
  const config = parseConfig(
    JSON.stringify({ registries: { [host]: { apiEndpoint: "cr-vpc.{region}.aliyuncs.com" } } }),
    "c.json",
  );
  const plan = planToken(host, { config, envs: {}, apiEndpointText: "http://127.0.0.1:1" })!;
  assert.deepEqual(plan.route, {
    kind: "fixed",
    text: "cr-vpc.cn-hangzhou.aliyuncs.com",
    why: `config file: registries["${host}"].apiEndpoint`,
  });
  assert.throws(
    () => parseConfig(JSON.stringify({ registries: { [host]: { apiEndpoint: "not a host!" } } }), "c.json"),
    /apiEndpoint must be an endpoint such as "cr-vpc\.\{region\}\.aliyuncs\.com"/,
  );
});

// ECS RAM roles without configuration (issue 13, point 2)

function fakeImds(o: { role?: string; v2?: boolean; down?: boolean } = {}) {
  const seen: string[] = [];
  const request: MetadataRequest = (method, path, headers) => {
    seen.push(`${method} ${path}${headers["x-aliyun-ecs-metadata-token"] ? " v2" : ""}`);
    if (o.down) return Promise.reject(new Error("connect ETIMEDOUT"));
    if (method === "PUT") {
      return Promise.resolve(o.v2 === false ? { status: 404, body: "" } : { status: 200, body: "tok" });
    }
    return Promise.resolve(o.role ? { status: 200, body: o.role } : { status: 404, body: "" });
  };
  return { seen, request };
}

Deno.test("ecs: the role is asked with an IMDSv2 token first, v1 only as a fallback, and not at all when v1 is off", async () => {
  const v2 = fakeImds({ role: "node-role" });
  assert.equal(await askRoleName({}, v2.request), "node-role");
  assert.deepEqual(v2.seen, ["PUT /latest/api/token", "GET /latest/meta-data/ram/security-credentials/ v2"]);
  const v1 = fakeImds({ role: "old-role", v2: false });
  assert.equal(await askRoleName({}, v1.request), "old-role");
  assert.deepEqual(v1.seen.at(-1), "GET /latest/meta-data/ram/security-credentials/");
  const off = fakeImds({ role: "old-role", v2: false });
  assert.equal(await askRoleName({ ALIBABA_CLOUD_IMDSV1_DISABLED: "true" }, off.request), null);
  assert.equal(off.seen.length, 1);
  assert.equal(await askRoleName({}, fakeImds({ down: true }).request), null);
});

Deno.test("ecs: with nothing configured the role is found by itself; 'not on ECS' is remembered 10 min", async () => {
  const home = await tempHome();
  let clock = Date.now();
  const imds = fakeImds({ down: true });
  const helper = (env: Record<string, string> = {}) =>
    createHelper({
      env: { HOME: home, ...env },
      now: () => clock,
      readTextFile: () => Promise.resolve(null),
      metadataRequest: imds.request,
    });
  const first = await helper().get(PERSONAL).catch((e) => e);
  assert.match(first.message, /ECS instance metadata \(no RAM role: not on ECS, or none attached\)/);
  await helper().get(PERSONAL).catch(() => {});
  assert.equal(imds.seen.length, 1, "asked once in 10 minutes");
  clock += 11 * 60_000;
  await helper().get(PERSONAL).catch(() => {});
  assert.equal(imds.seen.length, 2);
  // Turned off: never asked.
  const off = await helper({ ALIBABA_CLOUD_ECS_METADATA_DISABLED: "true" }).get(PERSONAL).catch((e) => e);
  assert.match(off.message, /ECS RAM role \(ALIBABA_CLOUD_ECS_METADATA_DISABLED\)/);
  assert.equal(imds.seen.length, 2);
  // On ECS: the role becomes the identity; a role ALIBABA_CLOUD_ECS_METADATA names must be the attached one, as
  // the SDK's provider finds when it asks for that role's credentials.
  const onEcs = fakeImds({ role: "node-role" });
  const found = await createHelper({
    env: { HOME: await tempHome() },
    readTextFile: () => Promise.resolve(null),
    metadataRequest: onEcs.request,
  }).selectionFor(PERSONAL);
  assert.equal(found.source.identity, "ecs:node-role");
  assert.deepEqual(found.plan, { type: "ecs", roleName: "node-role" });
  const onEcsHome = await tempHome();
  const named = (role: string) =>
    createHelper({
      env: { HOME: onEcsHome, ALIBABA_CLOUD_ECS_METADATA: role },
      readTextFile: () => Promise.resolve(null),
      metadataRequest: onEcs.request,
    }).selectionFor(PERSONAL);
  assert.equal((await named("node-role")).source.identity, "ecs:node-role");
  const other = await named("other-role").catch((e) => e);
  assert.match(other.message, /ECS RAM role other-role \(role other-role is not the one attached to this instance/);
});
