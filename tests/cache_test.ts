import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { isFresh, openCache } from "../lib/cache.ts";
import { cacheDir } from "../lib/platform.ts";
import { redact } from "../lib/log.ts";
import { type FakeAcr, startFakeAcr } from "./fake/server.ts";
import { needs, posixOnly, RELEASE_FLAGS, runMain, runScript, tempHome } from "./util.ts";

const KEY = { accessKeyId: "LTAIcache01", accessKeySecret: "CANARY-cache-secret-31c" };
const KEY2 = { accessKeyId: "LTAIcache02", accessKeySecret: "CANARY-cache-secret-other" };
const PERSONAL = "registry.cn-hangzhou.aliyuncs.com";
const ENTERPRISE = "prod-registry.cn-hangzhou.cr.aliyuncs.com";

let fake: FakeAcr;
async function withFake(fn: (env: Record<string, string>) => Promise<void>) {
  fake = startFakeAcr({
    keys: [KEY, KEY2],
    instances: [{ instanceId: "cri-prod0001", instanceName: "prod", region: "cn-hangzhou" }],
  });
  try {
    await fn({
      HOME: await tempHome(),
      DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT: fake.url,
      ALIBABA_CLOUD_ACCESS_KEY_ID: KEY.accessKeyId,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: KEY.accessKeySecret,
    });
  } finally {
    await fake.close();
  }
}

Deno.test("validity: reuse while remaining > min(15 min, half the lifetime); never expired", () => {
  const hour = { host: "h", username: "u", password: "p", issuedAt: 0, expiresAt: 3_600_000 };
  assert.equal(isFresh(hour, 2_699_000), true); // 15 min 1 s left
  assert.equal(isFresh(hour, 2_701_000), false);
  const short = { ...hour, expiresAt: 600_000 }; // 10 min token: reuse only in its first half
  assert.equal(isFresh(short, 299_000), true);
  assert.equal(isFresh(short, 301_000), false);
  assert.equal(isFresh({ ...hour, expiresAt: 10 }, 11), false);
});

Deno.test("cache dir: env, XDG_CACHE_HOME, ~/.cache; disabled by DISABLE_CACHE", () => {
  assert.equal(cacheDir({ DOCKER_CREDENTIAL_ACR_HELPER_CACHE_DIR: "/c", HOME: "/h" }), "/c");
  assert.equal(cacheDir({ XDG_CACHE_HOME: "/x", HOME: "/h" }), "/x/docker-credential-acr-helper");
  assert.equal(cacheDir({ HOME: "/h" }), "/h/.cache/docker-credential-acr-helper");
  assert.equal(cacheDir({ HOME: "/h", DOCKER_CREDENTIAL_ACR_HELPER_DISABLE_CACHE: "true" }), null);
  assert.equal(cacheDir({}), null);
});

const ENTRY = { host: PERSONAL, username: "u", password: "p-secret", issuedAt: 0, expiresAt: 3_600_000 };
const KEY_A = "a".repeat(64);
const KEY_B = "b".repeat(64);

Deno.test(
  posixOnly("cache: a symlinked cache directory is neither followed nor written through", "symlinks"),
  async () => {
    const home = await tempHome();
    await Deno.mkdir(`${home}/real`);
    await Deno.symlink(`${home}/real`, `${home}/link`);
    const warnings: string[] = [];
    const c = openCache(`${home}/link`, (m) => warnings.push(m));
    await c.putToken(KEY_A, ENTRY, 0);
    assert.equal(await c.getToken(KEY_A), null);
    assert.deepEqual([...Deno.readDirSync(`${home}/real`)], []);
    assert.match(warnings[0], /symlink/);
  },
);

Deno.test(
  posixOnly("cache: round trip; a renamed or symlinked token file is not used; no probe files left", "symlinks"),
  async () => {
    const dir = `${await tempHome()}/c`;
    const c = openCache(dir);
    await c.putToken(KEY_A, ENTRY, 0);
    assert.deepEqual(await openCache(dir).getToken(KEY_A), ENTRY);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["locks", "proofs", "records", "tokens"]);
    await Deno.rename(`${dir}/tokens/${KEY_A}.json`, `${dir}/tokens/${KEY_B}.json`);
    assert.equal(await openCache(dir).getToken(KEY_B), null, "a file moved to another key must not be used");
    await Deno.rename(`${dir}/tokens/${KEY_B}.json`, `${dir}/a.json`);
    await Deno.symlink(`${dir}/a.json`, `${dir}/tokens/${KEY_A}.json`);
    assert.equal(await openCache(dir).getToken(KEY_A), null, "a symlinked file must not be followed");
  },
);

Deno.test(
  posixOnly(
    "cache: records live in records/ and an older version's instances/ is tidied away, never through a link",
    "symlinks",
  ),
  async () => {
    const dir = `${await tempHome()}/c`;
    const c = openCache(dir);
    await c.putRecord(KEY_B, "cri-x", 10_000);
    assert.equal(await openCache(dir).getRecord(KEY_B, 0), "cri-x");
    assert.equal(await openCache(dir).getRecord(KEY_B, 10_000), null, "expired");
    assert.deepEqual([...Deno.readDirSync(`${dir}/records`)].map((e) => e.name), [`${KEY_B}.json`]);
    // What 0.1 left: its records directory, removed with the next tidy; a link by that name is not followed.
    await Deno.mkdir(`${dir}/instances`);
    await Deno.writeTextFile(`${dir}/instances/${KEY_A}.json`, "{}");
    await openCache(dir).putToken(KEY_A, ENTRY, 0);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["locks", "proofs", "records", "tokens"]);
    const elsewhere = await tempHome();
    await Deno.writeTextFile(`${elsewhere}/keep.json`, "{}");
    await Deno.symlink(elsewhere, `${dir}/instances`);
    await openCache(dir).putToken(KEY_A, ENTRY, 0);
    assert.deepEqual([...Deno.readDirSync(elsewhere)].map((e) => e.name), ["keep.json"]);
  },
);

Deno.test({
  // Only root can give a file away.
  ...needs("cache: files and directories owned by another user are not used", { root: true, os: "posix" }),
  fn: async () => {
    const dir = `${await tempHome()}/c`;
    await openCache(dir).putToken(KEY_A, ENTRY, 0);
    await Deno.chown(`${dir}/tokens/${KEY_A}.json`, 65534, 65534);
    assert.equal(await openCache(dir).getToken(KEY_A), null);
    await Deno.chown(`${dir}/tokens/${KEY_A}.json`, 0, 0);
    assert.deepEqual(await openCache(dir).getToken(KEY_A), ENTRY);
    await Deno.chown(`${dir}/tokens`, 65534, 65534);
    const warnings: string[] = [];
    assert.equal(await openCache(dir, (m) => warnings.push(m)).getToken(KEY_A), null);
    assert.match(warnings[0], /belongs to uid 65534, not to this user \(uid 0\)/);
  },
});

Deno.test(
  posixOnly("get: warm get makes no API call; files are 0600 in a 0700 dir, without the key id", "Unix modes"),
  () =>
    withFake(async (env) => {
      const first = await runMain(["get"], PERSONAL, env);
      const second = await runMain(["get"], PERSONAL, env);
      assert.equal(second.code, 0);
      assert.equal(JSON.parse(second.stdout).Secret, JSON.parse(first.stdout).Secret);
      assert.equal(fake.calls.total, 1);
      const dir = `${env.HOME}/.cache/docker-credential-acr-helper`;
      assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
      for await (const f of Deno.readDir(`${dir}/tokens`)) {
        assert.equal((await Deno.stat(`${dir}/tokens/${f.name}`)).mode! & 0o777, 0o600);
        const text = await Deno.readTextFile(`${dir}/tokens/${f.name}`);
        assert.ok(!text.includes(KEY.accessKeyId) && !text.includes(KEY.accessKeySecret));
      }
    }),
);

Deno.test("get: an install without --allow-sys=uid still caches (probe file), with nothing on stderr and no probe left", () =>
  withFake(async (env) => {
    const main = fileURLToPath(new URL("../main.ts", import.meta.url));
    const older = RELEASE_FLAGS.map((f) => f.startsWith("--allow-sys=") ? "--allow-sys=hostname,homedir" : f);
    for (let i = 0; i < 2; i++) {
      const r = await runScript(main, older, ["get"], PERSONAL, env);
      assert.deepEqual([r.code, r.stderr], [0, ""], r.stdout);
    }
    assert.equal(fake.calls.total, 1, "the second get is a hit");
    const dir = `${env.HOME}/.cache/docker-credential-acr-helper`;
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.startsWith(".uid-")), []);
  }));

Deno.test("get: a cache hit loads no npm package (empty DENO_DIR, --cached-only), with env keys or a credentials file", () =>
  withFake(async (env) => {
    const fileEnv = { ...env, ALIBABA_CLOUD_ACCESS_KEY_ID: "", ALIBABA_CLOUD_ACCESS_KEY_SECRET: "" };
    await Deno.mkdir(`${env.HOME}/.alibabacloud`);
    await Deno.writeTextFile(
      `${env.HOME}/.alibabacloud/credentials`,
      `[default]\ntype = access_key\naccess_key_id = ${KEY2.accessKeyId}\naccess_key_secret = ${KEY2.accessKeySecret}\n`,
    );
    const main = fileURLToPath(new URL("../main.ts", import.meta.url));
    for (const e of [env, fileEnv]) {
      assert.equal((await runMain(["get"], PERSONAL, e)).code, 0);
      const offline = { ...e, DENO_DIR: await Deno.makeTempDir() };
      const hit = await runScript(main, ["--cached-only", ...RELEASE_FLAGS], ["get"], PERSONAL, offline);
      assert.equal(hit.code, 0, hit.stdout + hit.stderr);
      // The same run on a miss needs the SDKs, which that DENO_DIR does not have: the check has teeth.
      await runMain(["erase"], PERSONAL, e);
      const miss = await runScript(main, ["--cached-only", ...RELEASE_FLAGS], ["get"], PERSONAL, offline);
      assert.equal(miss.code, 1);
    }
    assert.equal(fake.calls.personalToken, 2);
  }));

Deno.test("get: another identity never gets the first identity's token", () =>
  withFake(async (env) => {
    await runMain(["get"], PERSONAL, env);
    const other = await runMain(["get"], PERSONAL, {
      ...env,
      ALIBABA_CLOUD_ACCESS_KEY_ID: KEY2.accessKeyId,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: KEY2.accessKeySecret,
    });
    assert.equal(other.code, 0);
    assert.equal(fake.calls.personalToken, 2);
  }));

Deno.test("get: 16 concurrent cold gets make exactly one token call", () =>
  withFake(async (env) => {
    const runs = await Promise.all(Array.from({ length: 16 }, () => runMain(["get"], PERSONAL, env)));
    assert.ok(runs.every((r) => r.code === 0), runs.map((r) => r.stdout).join(""));
    assert.equal(new Set(runs.map((r) => JSON.parse(r.stdout).Secret)).size, 1);
    assert.equal(fake.calls.personalToken, 1);
  }));

Deno.test("get: Enterprise id is cached; after erase only the token call repeats", () =>
  withFake(async (env) => {
    await runMain(["get"], ENTERPRISE, env);
    assert.deepEqual([fake.calls.listInstance, fake.calls.instanceToken], [1, 1]);
    const erased = await runMain(["erase"], ENTERPRISE, env);
    assert.equal(erased.code, 0);
    await runMain(["get"], ENTERPRISE, env);
    assert.deepEqual([fake.calls.listInstance, fake.calls.instanceToken], [1, 2]);
    await runMain(["get"], ENTERPRISE, env);
    assert.equal(fake.calls.total, 3);
  }));

Deno.test("list shows cached hosts with no network call; erase drops them", () =>
  withFake(async (env) => {
    await runMain(["get"], PERSONAL, env);
    await runMain(["get"], ENTERPRISE, env);
    const calls = fake.calls.total;
    const l = await runMain(["list"], "unused", env);
    assert.deepEqual(JSON.parse(l.stdout), { [PERSONAL]: "cr_temp_user", [ENTERPRISE]: "cr_temp_user" });
    await runMain(["erase"], `https://${PERSONAL}/`, env);
    assert.deepEqual(JSON.parse((await runMain(["list"], "unused", env)).stdout), { [ENTERPRISE]: "cr_temp_user" });
    assert.equal(fake.calls.total, calls);
  }));

Deno.test("get: a corrupt cache file is ignored and rebuilt, silently", () =>
  withFake(async (env) => {
    await runMain(["get"], PERSONAL, env);
    const dir = `${env.HOME}/.cache/docker-credential-acr-helper/tokens`;
    for await (const f of Deno.readDir(dir)) await Deno.writeTextFile(`${dir}/${f.name}`, "{garbage");
    const r = await runMain(["get"], PERSONAL, env);
    assert.deepEqual([r.code, r.stderr], [0, ""]);
    assert.equal(fake.calls.personalToken, 2);
    assert.equal((await runMain(["get"], PERSONAL, env)).code, 0);
    assert.equal(fake.calls.personalToken, 2);
  }));

Deno.test("get: read-only cache dir, no HOME, or DISABLE_CACHE: works, nothing on stderr", () =>
  withFake(async (env) => {
    const ro = await tempHome();
    await Deno.chmod(ro, 0o500); // root ignores this, so also a path nobody can create (/proc)
    for (
      const e of [
        { ...env, DOCKER_CREDENTIAL_ACR_HELPER_CACHE_DIR: `${ro}/c` },
        { ...env, DOCKER_CREDENTIAL_ACR_HELPER_CACHE_DIR: "/proc/acr-helper-cache" },
        { ...env, HOME: "" },
        { ...env, DOCKER_CREDENTIAL_ACR_HELPER_DISABLE_CACHE: "true" },
      ]
    ) {
      const r = await runMain(["get"], PERSONAL, e);
      assert.deepEqual([r.code, r.stderr], [0, ""], r.stdout);
    }
  }));

Deno.test("log: debug level writes to the log file, with every secret redacted", () =>
  withFake(async (env) => {
    const logFile = `${env.HOME}/helper.log`;
    const e = {
      ...env,
      DOCKER_CREDENTIAL_ACR_HELPER_LOG_LEVEL: "debug",
      DOCKER_CREDENTIAL_ACR_HELPER_LOG_FILE: logFile,
    };
    fake.injectFault({ type: "throttle" }, 1);
    const r = await runMain(["get"], PERSONAL, e);
    assert.equal(r.code, 0);
    await runMain(["get"], PERSONAL, e);
    const log = await Deno.readTextFile(logFile);
    assert.match(log, /cache miss/);
    assert.match(log, /retry 1/);
    assert.match(log, /cache hit/);
    for (const s of [KEY.accessKeySecret, JSON.parse(r.stdout).Secret]) assert.ok(!log.includes(s), "secret in log");
    assert.equal(r.stderr, "");
  }));

Deno.test("redact: secret-shaped fields and headers", () => {
  assert.equal(redact('{"Secret":"abc","Username":"u"}', []), '{"Secret":"[REDACTED]","Username":"u"}');
  assert.equal(redact("authorization: ACS3-HMAC-SHA256 Credential=x", []), "authorization: [REDACTED]");
  assert.equal(redact("token is tok123456 here", ["tok123456"]), "token is [REDACTED] here");
});
