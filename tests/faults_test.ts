/**
 * The fault matrix, at the CLI, with default timeouts: each fault the ACR or
 * STS API can throw at a `get`. Every case starts from a warm cache (a
 * Personal token, an Enterprise token and its instance id) and checks that the
 * failing `get` ends within the bound, prints one line naming the code and the
 * request id the fake sent, prints nothing on stderr, leaks no canary, and
 * leaves every cached entry byte for byte as it was (still served with no call).
 */
import assert from "node:assert/strict";
import { isFresh } from "../lib/cache.ts";
import { type FakeAcr, type FakeOptions, startFakeAcr } from "./fake/server.ts";
import { CANARY_KEY, CANARY_STS, fakeEnv, runChecked, runMain, type RunResult } from "./util.ts";

/** Every fault must end well inside the kubelet's 60 s exec timeout. */
const BOUND_MS = 35_000;
const EXPIRED_STS = { ...CANARY_STS, accessKeyId: "STS.expired", expired: true };
const TEAMS = Array.from({ length: 25 }, (_, i) => ({
  instanceId: `cri-team${String(i).padStart(4, "0")}`,
  instanceName: `team${i}`,
  region: "cn-hangzhou",
}));
const INSTANCES = [{ instanceId: "cri-prod0001", instanceName: "prod", region: "cn-hangzhou" }, ...TEAMS];
const WARM = ["registry.cn-hangzhou.aliyuncs.com", "prod-registry.cn-hangzhou.cr.aliyuncs.com"];
const PERSONAL = "registry.cn-beijing.aliyuncs.com";
const ENTERPRISE = "team3-registry.cn-hangzhou.cr.aliyuncs.com";
const RID = "[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}";

interface World {
  fake: FakeAcr;
  env: Record<string, string>;
  cacheDir: string;
  run(host: string, extra?: Record<string, string>): Promise<RunResult>;
}

/** A fake, a HOME, and a cache warmed with {@link WARM}. */
async function withWarmCache(
  fn: (w: World) => Promise<void>,
  opts: FakeOptions = {},
  age: (cacheDir: string) => void = () => {},
): Promise<void> {
  const fake = startFakeAcr({ keys: [CANARY_KEY, CANARY_STS, EXPIRED_STS], instances: INSTANCES, ...opts });
  try {
    const env = await fakeEnv(fake.url);
    const home = env.HOME;
    const w: World = {
      fake,
      env,
      cacheDir: `${home}/.cache/docker-credential-acr-helper`,
      run: async (host, extra = {}) => {
        const r = await runChecked(["get"], host, { ...env, ...extra }, fake.issued, runMain);
        // The README's Reliability table quotes these.
        if (!WARM.includes(host) || extra.DOCKER_CREDENTIAL_ACR_HELPER_LOG_FILE) {
          console.log(`get ${host}: exit ${r.code} in ${Math.round(r.ms)} ms, ${fake.calls.total} API calls`);
        }
        return r;
      },
    };
    for (const host of WARM) assert.equal((await w.run(host)).code, 0, `warming ${host}`);
    age(w.cacheDir);
    const before = snapshot(w.cacheDir);
    assert.equal(before.size, 3, "two tokens and one instance id");
    fake.reset();
    await fn(w);
    // Intact: the same files, the same bytes, nothing half-written beside them, and still served from the cache.
    const after = snapshot(w.cacheDir);
    for (const [name, text] of before) assert.equal(after.get(name), text, `cache entry ${name} changed`);
    for (const name of after.keys()) assert.ok(name.endsWith(".json"), `stray file ${name}`);
    fake.reset();
    for (const host of WARM) assert.equal((await w.run(host)).code, 0);
    const stale = [...before].filter(([name, text]) =>
      name.startsWith("tokens/") && !isFresh(JSON.parse(text), Date.now())
    );
    assert.equal(fake.calls.total, stale.length, "the warm entries still answer with no API call (bar the aged one)");
  } finally {
    await fake.close();
  }
}

/** File name -> content of every token and instance entry. */
function snapshot(cacheDir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const sub of ["tokens", "records"]) {
    for (const f of Deno.readDirSync(`${cacheDir}/${sub}`)) {
      out.set(`${sub}/${f.name}`, Deno.readTextFileSync(`${cacheDir}/${sub}/${f.name}`));
    }
  }
  return out;
}

/** A failed get: exit 1, one line matching `line`, an empty stderr, within the bound. */
function assertFailure(r: RunResult, line: RegExp): void {
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stdout, line);
  assert.equal(r.stdout.split("\n").length, 2, "exactly one line");
  assert.equal(r.stderr, "");
  assert.ok(r.ms < BOUND_MS, `took ${Math.round(r.ms)} ms`);
}

/** The get answered with the token the fake issued last, for the host asked about. */
function assertIssued(r: RunResult, fake: FakeAcr, host: string): void {
  const creds = JSON.parse(r.stdout);
  assert.equal(creds.ServerURL, host);
  assert.equal(creds.Secret, fake.issued.at(-1));
}

/** The printed request id is the one in the fake's last answer. */
function assertLastRequestId(r: RunResult, fake: FakeAcr): void {
  const printed = r.stdout.match(new RegExp(`request id (${RID})`))?.[1];
  assert.ok(printed, "a request id is printed");
  assert.equal(printed, fake.requestIds.at(-1));
}

Deno.test("fault: throttled twice, then the token", () =>
  withWarmCache(async ({ fake, run }) => {
    fake.injectFault({ type: "throttle" }, 2);
    const r = await run(PERSONAL);
    assert.equal(r.code, 0, r.stdout);
    assertIssued(r, fake, PERSONAL);
    assert.equal(fake.calls.personalToken, 3);
  }));

Deno.test("fault: persistent throttling gives up after 3 attempts, naming the code and request id", () =>
  withWarmCache(async ({ fake, run }) => {
    fake.injectFault({ type: "throttle" }, 100);
    const r = await run(PERSONAL);
    assertFailure(
      r,
      new RegExp(
        `^GetAuthorizationToken \\(Personal Edition, cn-beijing\\) failed: Throttling\\.User \\(HTTP 429\\) \\(request id ${RID}\\); gave up after 3 attempts\\n$`,
      ),
    );
    assertLastRequestId(r, fake);
    assert.equal(fake.calls.personalToken, 3);
  }));

Deno.test("fault: persistent 5xx gives up after 3 attempts", () =>
  withWarmCache(async ({ fake, run }) => {
    fake.injectFault({ type: "5xx" }, 100);
    const r = await run(PERSONAL);
    assertFailure(
      r,
      new RegExp(`failed: ServiceUnavailable \\(HTTP 503\\) \\(request id ${RID}\\); gave up after 3 attempts\\n$`),
    );
    assertLastRequestId(r, fake);
    assert.equal(fake.calls.personalToken, 3);
  }));

Deno.test("fault: answers slower than the timeout, with the default limits (about 15 s)", () =>
  withWarmCache(async ({ fake, run }) => {
    fake.injectFault({ type: "delay", ms: 60_000 }, 100);
    const r = await run(PERSONAL);
    assertFailure(
      r,
      /^GetAuthorizationToken \(Personal Edition, cn-beijing\): the API did not answer within 5 s; gave up after 3 attempts\n$/,
    );
    // Each attempt waits 5 s for bytes to flow; three attempts, inside the 30 s limit on the whole get.
    assert.ok(r.ms > 14_000, `gave up early, after ${Math.round(r.ms)} ms`);
    assert.equal(fake.calls.personalToken, 3);
  }));

Deno.test("fault: connection reset on every attempt", () =>
  withWarmCache(async ({ fake, run }) => {
    fake.injectFault({ type: "reset" }, 100);
    const r = await run(PERSONAL);
    assertFailure(
      r,
      /^GetAuthorizationToken \(Personal Edition, cn-beijing\): network error \(ECONNRESET\); gave up after 3 attempts\n$/,
    );
    assert.equal(fake.calls.personalToken, 3);
  }));

Deno.test("fault: a reset, then the token", () =>
  withWarmCache(async ({ fake, run }) => {
    fake.injectFault({ type: "reset" }, 1);
    const r = await run(ENTERPRISE);
    assert.equal(r.code, 0, r.stdout);
    assertIssued(r, fake, ENTERPRISE);
    assert.equal(fake.issuedFor.at(-1), "cri-team0003");
    assert.equal(fake.calls.listInstance, 2, "the reset ListInstance page is asked again");
  }));

Deno.test("fault: an HTML error page from a gateway", () =>
  withWarmCache(async ({ fake, run }) => {
    fake.injectFault({ type: "html" }, 100);
    const r = await run(PERSONAL);
    assertFailure(
      r,
      /^GetAuthorizationToken \(Personal Edition, cn-beijing\) failed: HTTP 502 with an HTML page \(a proxy or gateway in the way\?\); gave up after 3 attempts\n$/,
    );
  }));

Deno.test("fault: a garbage body with HTTP 200", () =>
  withWarmCache(async ({ fake, run }) => {
    fake.injectFault({ type: "garbage" }, 100);
    const r = await run(PERSONAL);
    assertFailure(
      r,
      /: the API answered with a body that is not JSON \(MalformedResponse; .*\); gave up after 3 attempts\n$/,
    );
  }));

Deno.test("fault: IsSuccess:false with HTTP 200 and SYSTEM_ERROR is retried like its HTTP form", () =>
  withWarmCache(async ({ fake, run }) => {
    fake.injectFault({ type: "isSuccessFalse", code: "SYSTEM_ERROR" }, 100, "instanceToken");
    const r = await run(ENTERPRISE);
    assertFailure(
      r,
      new RegExp(
        `^GetAuthorizationToken \\(cri-team0003, cn-hangzhou\\) failed: SYSTEM_ERROR \\(request id ${RID}\\); gave up after 3 attempts\\n$`,
      ),
    );
    assertLastRequestId(r, fake);
  }));

Deno.test("fault: a wrong access key secret is not retried", () =>
  withWarmCache(async ({ fake, run }) => {
    const r = await run(PERSONAL, { ALIBABA_CLOUD_ACCESS_KEY_SECRET: "CANARY-wrong-secret" });
    assert.ok(!r.stdout.includes("CANARY-wrong-secret"), "the wrong secret is not shown either");
    assertFailure(
      r,
      new RegExp(
        `failed: SignatureDoesNotMatch \\(HTTP 400\\) \\(request id ${RID}\\); check the access key id and secret\\n$`,
      ),
    );
    assertLastRequestId(r, fake);
    assert.equal(fake.calls.personalToken, 1);
  }));

Deno.test("fault: an expired STS token", () =>
  withWarmCache(async ({ fake, run }) => {
    const r = await run(PERSONAL, {
      ALIBABA_CLOUD_ACCESS_KEY_ID: EXPIRED_STS.accessKeyId,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: EXPIRED_STS.accessKeySecret,
      ALIBABA_CLOUD_SECURITY_TOKEN: EXPIRED_STS.securityToken,
    });
    assertFailure(
      r,
      new RegExp(
        `failed: InvalidSecurityToken\\.Expired \\(HTTP 400\\) \\(request id ${RID}\\); the STS token is invalid or expired, refresh it\\n$`,
      ),
    );
    assertLastRequestId(r, fake);
    assert.equal(fake.calls.personalToken, 1);
  }));

Deno.test("fault: an Enterprise name the account does not have", () =>
  withWarmCache(async ({ fake, run }) => {
    const r = await run("nope-registry.cn-hangzhou.cr.aliyuncs.com");
    assertFailure(
      r,
      new RegExp(
        `^no ACR Enterprise instance named "nope" in cn-hangzhou for this account \\(ListInstance, request id ${RID}\\); check the host name`,
      ),
    );
    assertLastRequestId(r, fake);
    assert.equal(fake.calls.instanceToken, 0);
  }));

Deno.test("fault: an instance id that does not exist", () =>
  withWarmCache(async ({ fake, run }) => {
    const r = await run("nope-registry.cn-hangzhou.cr.aliyuncs.com", {
      DOCKER_CREDENTIAL_ACR_HELPER_INSTANCE_ID: "cri-gone00000000",
      DOCKER_CREDENTIAL_ACR_HELPER_REGION: "cn-hangzhou",
    });
    assertFailure(
      r,
      new RegExp(
        `^GetAuthorizationToken \\(cri-gone00000000, cn-hangzhou\\) failed: INSTANCE_NOT_EXIST \\(request id ${RID}\\)\\n$`,
      ),
    );
    assertLastRequestId(r, fake);
  }));

Deno.test("fault: ListInstance over more than 10 pages, with a 5xx on the way", () =>
  withWarmCache(async ({ fake, run }) => {
    fake.injectFault({ type: "5xx" }, 1, "listInstance");
    const r = await run("team22-registry.cn-hangzhou.cr.aliyuncs.com");
    assert.equal(r.code, 0, r.stdout);
    assertIssued(r, fake, "team22-registry.cn-hangzhou.cr.aliyuncs.com");
    assert.equal(fake.issuedFor.at(-1), "cri-team0022", "the token of the instance that name is");
    // prod first, then two per page: team22 is the 24th instance, on page 12; plus the retried page.
    assert.equal(fake.calls.listInstance, 13);
    assert.equal(fake.calls.instanceToken, 1);
  }, { maxPageSize: 2 }));

Deno.test("fault: a failed refresh keeps serving a cached token that is still valid, with a warning in the log", () => {
  let cached = "";
  return withWarmCache(
    async ({ fake, run, env }) => {
      fake.injectFault({ type: "5xx" }, 100);
      const log = `${env.HOME}/refresh.log`;
      const r = await run(WARM[0], {
        DOCKER_CREDENTIAL_ACR_HELPER_LOG_LEVEL: "warn",
        DOCKER_CREDENTIAL_ACR_HELPER_LOG_FILE: log,
      });
      assert.equal(r.code, 0, r.stdout);
      assert.equal(JSON.parse(r.stdout).Secret, cached, "the cached token, not an error");
      assert.equal(fake.calls.personalToken, 3, "the refresh was tried");
      assert.match(
        await Deno.readTextFile(log),
        /refresh failed, the service could not be reached; using the cached token for registry\.cn-hangzhou\.aliyuncs\.com/,
      );
    },
    {},
    (cacheDir) => {
      // Age the Personal token: 10 of its 60 minutes left, under the 15 min margin, so the next get refreshes it.
      for (const f of Deno.readDirSync(`${cacheDir}/tokens`)) {
        const path = `${cacheDir}/tokens/${f.name}`;
        const entry = JSON.parse(Deno.readTextFileSync(path));
        if (entry.host !== WARM[0]) continue;
        cached = entry.password;
        Deno.writeTextFileSync(
          path,
          JSON.stringify({ ...entry, issuedAt: Date.now() - 50 * 60_000, expiresAt: Date.now() + 10 * 60_000 }),
        );
      }
    },
  );
});
