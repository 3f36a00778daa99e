/**
 * The cache under stress: many helper processes at once, and processes
 * killed with SIGKILL in the middle of their work. What must hold: every
 * process answers, one token call per host, and the cache is always either
 * the old complete entry or the new complete entry, never a torn one.
 */
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { cacheKey, isFresh, openCache } from "../lib/cache.ts";
import { startFakeAcr } from "./fake/server.ts";
import { CANARY_KEY, fakeEnv, posixOnly, runChecked, runHelper, spawnHelper, tempHome } from "./util.ts";

const PERSONAL = ["cn-hangzhou", "cn-beijing", "cn-shanghai", "cn-shenzhen", "ap-southeast-1"].map((r) =>
  `registry.${r}.aliyuncs.com`
);
const ENTERPRISE = ["prod", "stage", "dev"].map((n) => `${n}-registry.cn-hangzhou.cr.aliyuncs.com`);
const INSTANCES = ["prod", "stage", "dev"].map((n, i) => ({
  instanceId: `cri-${n}000${i}`,
  instanceName: n,
  region: "cn-hangzhou",
}));

/** Every token file is a complete entry: the cache is never torn, whatever was killed when. */
function assertCacheWhole(cacheDir: string): number {
  let entries = 0;
  let names: string[];
  try {
    names = [...Deno.readDirSync(`${cacheDir}/tokens`)].map((e) => e.name);
  } catch {
    return 0; // killed before the first write
  }
  for (const name of names.filter((n) => n.endsWith(".json"))) {
    const text = Deno.readTextFileSync(`${cacheDir}/tokens/${name}`);
    const e = JSON.parse(text); // throws on a torn file
    assert.equal(e.v, 3);
    assert.equal(`${e.key}.json`, name);
    for (const field of ["host", "username", "password"]) assert.equal(typeof e[field], "string", field);
    assert.ok(e.expiresAt > e.issuedAt);
    entries++;
  }
  return entries;
}

Deno.test(
  posixOnly(
    "stress: 64 concurrent processes on 8 hosts: all answer, one token call per host, the cache valid after",
    "flock contention",
  ),
  async () => {
    const fake = startFakeAcr({ keys: [CANARY_KEY], instances: INSTANCES });
    try {
      const env = await fakeEnv(fake.url);
      const home = env.HOME;
      const hosts = [...PERSONAL, ...ENTERPRISE];
      const started = performance.now();
      const runs = await Promise.all(
        Array.from({ length: 64 }, (_, i) => hosts[i % hosts.length]).map(async (host) => ({
          host,
          r: await runChecked(["get"], host, env, fake.issued),
        })),
      );
      const wallMs = performance.now() - started;
      const failed = runs.filter(({ r }) => r.code !== 0 || r.stderr !== "");
      assert.deepEqual(failed.map(({ host, r }) => `${host}: ${r.stdout}${r.stderr}`), []);
      // Every process of a host printed the same token: the one fetched for it.
      for (const host of hosts) {
        const secrets = new Set(runs.filter((x) => x.host === host).map(({ r }) => JSON.parse(r.stdout).Secret));
        assert.equal(secrets.size, 1, `${host} got ${secrets.size} different tokens`);
      }
      assert.deepEqual(
        [fake.calls.personalToken, fake.calls.instanceToken, fake.calls.listInstance],
        [PERSONAL.length, ENTERPRISE.length, ENTERPRISE.length],
        "one token call per host",
      );
      assert.equal(new Set(fake.issued).size, hosts.length);
      const cacheDir = `${home}/.cache/docker-credential-acr-helper`;
      assert.equal(assertCacheWhole(cacheDir), hosts.length);
      assert.deepEqual([...Deno.readDirSync(`${cacheDir}/tokens`)].filter((e) => !e.name.endsWith(".json")), []);
      // Valid afterwards: a second round is served entirely from the cache.
      fake.reset();
      const again = await Promise.all(hosts.map((h) => runHelper(["get"], h, env)));
      assert.ok(again.every((r) => r.code === 0));
      assert.equal(fake.calls.total, 0);
      console.log(`64 processes, 8 hosts: ${Math.round(wallMs)} ms wall`);
    } finally {
      await fake.close();
    }
  },
);

Deno.test(
  posixOnly("stress: a cache writer killed with SIGKILL mid-write never leaves a torn entry (40 kills)", "SIGKILL"),
  async () => {
    const dir = `${await tempHome()}/cache`;
    const key = await cacheKey("token", "stress", "registry.cn-hangzhou.aliyuncs.com");
    const writer = fileURLToPath(new URL("./fixtures/cache_writer.ts", import.meta.url));
    const debris = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "--quiet", "--allow-read", "--allow-write", writer, dir, key],
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      const reader = child.stdout.getReader();
      assert.equal(new TextDecoder().decode((await reader.read()).value).trim(), "ready");
      // Spread the kills over the writer's loop (each rewrite takes well under a millisecond).
      await new Promise((r) => setTimeout(r, (i * 7) % 23));
      child.kill("SIGKILL");
      await reader.cancel();
      assert.equal((await child.status).signal, "SIGKILL");
      const entry = await openCache(dir).getToken(key);
      assert.ok(entry, `kill ${i}: the entry is gone or unreadable`);
      assert.match(entry.password, /^pw-\d+-x{2048}$/, `kill ${i}: torn password`);
      assert.equal(assertCacheWhole(dir), 1);
      for (const e of Deno.readDirSync(`${dir}/tokens`)) if (e.name.endsWith(".tmp")) debris.add(e.name);
    }
    // Temp files of killed writes are removed by a later write once they are a minute old; a young one may be
    // another process's write in progress and stays.
    const tokens = `${dir}/tokens`;
    const tmpFiles = () => [...Deno.readDirSync(tokens)].map((e) => e.name).filter((n) => n.endsWith(".tmp"));
    for (const name of tmpFiles()) Deno.utimeSync(`${tokens}/${name}`, new Date(0), new Date(0));
    const young = `${tokens}/${key}.json.in-progress.tmp`;
    Deno.writeTextFileSync(young, "{", { mode: 0o600 });
    const now = Date.now();
    await openCache(dir).putToken(key, {
      host: "registry.cn-hangzhou.aliyuncs.com",
      username: "u",
      password: "p",
      expiresAt: now + 3_600_000,
      issuedAt: now,
    }, now);
    assert.deepEqual(tmpFiles(), [`${key}.json.in-progress.tmp`]);
    console.log(`40 kills: ${debris.size} temp files left by killed writes over the run, all pruned`);
  },
);

Deno.test(
  posixOnly(
    "stress: helpers killed with SIGKILL at 12 points of a cold get: the cache stays whole, the lock never sticks",
    "SIGKILL",
  ),
  async () => {
    const fake = startFakeAcr({ keys: [CANARY_KEY], instances: INSTANCES });
    try {
      const env = await fakeEnv(fake.url);
      const home = env.HOME;
      const cacheDir = `${home}/.cache/docker-credential-acr-helper`;
      const host = ENTERPRISE[0];
      // How long a cold get takes here, to spread the kills over it.
      const cold = await runHelper(["get"], host, env);
      assert.equal(cold.code, 0);
      for (let i = 0; i < 12; i++) {
        assert.equal((await runHelper(["erase"], host, env)).code, 0);
        const child = spawnHelper(["get"], env);
        const w = child.stdin.getWriter();
        await w.write(new TextEncoder().encode(host));
        await w.close();
        await new Promise((r) => setTimeout(r, Math.round((cold.ms * 1.2 * i) / 12)));
        try {
          child.kill("SIGKILL");
        } catch { /* it finished first: the last points fall after a cold get */ }
        await child.output();
        assertCacheWhole(cacheDir);
      }
      // A killed lock holder: stall its token call, kill it while it waits, and the next get must not wait for it.
      assert.equal((await runHelper(["erase"], host, env)).code, 0);
      fake.reset();
      fake.injectFault({ type: "delay", ms: 60_000 }, 1, "instanceToken");
      const holder = spawnHelper(["get"], env);
      const w = holder.stdin.getWriter();
      await w.write(new TextEncoder().encode(host));
      await w.close();
      for (let waited = 0; fake.calls.instanceToken === 0; waited += 10) {
        assert.ok(waited < 20_000, "the holder never reached its token call");
        await new Promise((r) => setTimeout(r, 10));
      }
      holder.kill("SIGKILL");
      await holder.output();
      const log = `${home}/after-kill.log`;
      const next = await runHelper(["get"], host, {
        ...env,
        DOCKER_CREDENTIAL_ACR_HELPER_LOG_LEVEL: "debug",
        DOCKER_CREDENTIAL_ACR_HELPER_LOG_FILE: log,
      });
      assert.equal(next.code, 0, next.stdout);
      const text = await Deno.readTextFile(log);
      assert.doesNotMatch(text, /not acquired/, "the dead holder's lock was released by the kernel");
      assert.match(text, /cache miss/);
      assert.equal(assertCacheWhole(cacheDir), 1);
      const entry = JSON.parse(
        Deno.readTextFileSync(`${cacheDir}/tokens/${[...Deno.readDirSync(`${cacheDir}/tokens`)][0].name}`),
      );
      assert.ok(isFresh(entry, Date.now()));
    } finally {
      await fake.close();
    }
  },
);
