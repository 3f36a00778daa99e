/**
 * Who may get which password, at the CLI, run as docker and the kubelet run
 * the helper: a second tenant on a shared node, a second user on a shared
 * machine, a user who changes their config, a stopped lock holder, a skewed
 * clock (issue 12). Each case failed on the main of 2026-11-23.
 */
import assert from "node:assert/strict";
import { type FakeAcr, type FakeOptions, startFakeAcr } from "./fake/server.ts";
import { makeTestTls } from "./fake/tls.ts";
import { CANARY_KEY, fakeEnv, needs, posixOnly, runHelper, runMain, spawnHelper, tempHome } from "./util.ts";

const PERSONAL = "registry.cn-hangzhou.aliyuncs.com";
const ENTERPRISE = "prod-registry.cn-hangzhou.cr.aliyuncs.com";
const INSTANCES = [
  { instanceId: "cri-prod0001", instanceName: "prod", region: "cn-hangzhou" },
  { instanceId: "cri-other001", instanceName: "other", region: "cn-hangzhou" },
];
const V1 = "credentialprovider.kubelet.k8s.io/v1";

async function withFake(opts: FakeOptions, fn: (fake: FakeAcr) => Promise<void>) {
  const fake = startFakeAcr({ keys: [CANARY_KEY], instances: INSTANCES, ...opts });
  try {
    await fn(fake);
  } finally {
    await fake.close();
  }
}

function cacheOf(env: Record<string, string>): string {
  return env.DOCKER_CREDENTIAL_ACR_HELPER_CACHE_DIR ?? `${env.HOME}/.cache/docker-credential-acr-helper`;
}

/** Moves every cached token of `host` to `leftMs` of a 60 min life (under the 15 min margin: refreshed next). */
function age(env: Record<string, string>, host: string, leftMs = 10 * 60_000): void {
  const dir = `${cacheOf(env)}/tokens`;
  for (const f of Deno.readDirSync(dir)) {
    const path = `${dir}/${f.name}`;
    const e = JSON.parse(Deno.readTextFileSync(path));
    if (e.host !== host) continue;
    Deno.writeTextFileSync(
      path,
      JSON.stringify({ ...e, issuedAt: Date.now() + leftMs - 3_600_000, expiresAt: Date.now() + leftMs }),
    );
  }
}

function secretOf(stdout: string): string {
  return JSON.parse(stdout).Secret;
}

Deno.test("kubelet: a forged token after a good one, and a refused token with a warm cache, get no password", async () => {
  const tls = await makeTestTls();
  const provider = "acs:ram::1234:oidc-provider/ack-rrsa";
  const teamA = {
    roleArn: "acs:ram::1234:role/team-a",
    providerArn: provider,
    token: "pod-token-team-a",
    issue: { accessKeyId: "STS.team-a", accessKeySecret: "CANARY-a-secret", securityToken: "CANARY-a-token" },
  };
  await withFake({ oidc: [teamA], tls: { cert: tls.cert, key: tls.key } }, async (fake) => {
    const env = await fakeEnv(fake.url, CANARY_KEY, {
      DENO_CERT: tls.caFile,
      DOCKER_CREDENTIAL_ACR_HELPER_STS_ENDPOINT: fake.stsHost!,
      ALIBABA_CLOUD_OIDC_PROVIDER_ARN: provider,
    });
    const pod = (token: string) =>
      JSON.stringify({
        apiVersion: V1,
        kind: "CredentialProviderRequest",
        image: `${PERSONAL}/team-a/app:1`,
        serviceAccountToken: token,
        serviceAccountAnnotations: { "docker-credential-acr-helper/role-arn": teamA.roleArn },
      });
    const good = await runHelper(["kubelet-credential-provider"], pod(teamA.token), env);
    assert.equal(good.code, 0, good.stderr);
    const password = JSON.parse(good.stdout).auth[PERSONAL].password;
    assert.equal(password, fake.issued[0]);

    // The same good token again: proven by its recorded hash, the password from the cache, no call at all.
    fake.reset();
    const again = await runHelper(["kubelet-credential-provider"], pod(teamA.token), env);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).auth[PERSONAL].password, password);
    assert.equal(fake.calls.total, 0);

    // A pod that only names team A's role: STS refuses its token, and it gets nothing.
    for (const forged of ["x", "pod-token-team-b"]) {
      const r = await runHelper(["kubelet-credential-provider"], pod(forged), env);
      assert.equal(r.code, 1, `forged token ${forged} got: ${r.stdout}`);
      assert.equal(r.stdout, "");
      assert.ok(!r.stderr.includes(password));
      assert.match(
        r.stderr,
        /^docker-credential-acr-helper: .*STS AssumeRoleWithOIDC failed: AuthenticationFail\.OIDCToken\.Invalid/,
      );
      assert.equal(r.stderr.trim().split("\n").length, 1);
    }
    // Refused even when the role's cached token is past half its life (no stale fallback for an identity).
    age(env, PERSONAL);
    const stale = await runHelper(["kubelet-credential-provider"], pod("x"), env);
    assert.equal(stale.code, 1);
    assert.equal(stale.stdout, "");
    assert.equal(fake.calls.personalToken, 0, "a refused token never reaches ACR");
  });
});

Deno.test("get: past half-life, a wrong secret fails; an HTTP 5xx serves the cached token", () =>
  withFake({}, async (fake) => {
    const env = await fakeEnv(fake.url);
    const first = await runMain(["get"], PERSONAL, env);
    assert.equal(first.code, 0, first.stdout);
    age(env, PERSONAL);

    const wrong = await runMain(["get"], PERSONAL, { ...env, ALIBABA_CLOUD_ACCESS_KEY_SECRET: "revoked" });
    assert.equal(wrong.code, 1);
    assert.match(
      wrong.stdout,
      /^GetAuthorizationToken \(Personal Edition, cn-hangzhou\) failed: SignatureDoesNotMatch/,
    );
    assert.ok(!wrong.stdout.includes(secretOf(first.stdout)));

    fake.injectFault({ type: "5xx" }, 3);
    const busy = await runMain(["get"], PERSONAL, env);
    assert.equal(busy.code, 0, busy.stdout);
    assert.equal(secretOf(busy.stdout), secretOf(first.stdout), "the service could not answer: the cached token");
  }));

Deno.test("get: an instance id changed in env or in the config file takes effect on the next get", () =>
  withFake({}, async (fake) => {
    const env = await fakeEnv(fake.url);
    const viaName = await runMain(["get"], ENTERPRISE, env);
    assert.equal(viaName.code, 0, viaName.stdout);

    const other = {
      DOCKER_CREDENTIAL_ACR_HELPER_INSTANCE_ID: "cri-other001",
      DOCKER_CREDENTIAL_ACR_HELPER_REGION: "cn-hangzhou",
    };
    const viaEnv = await runMain(["get"], ENTERPRISE, { ...env, ...other });
    assert.equal(viaEnv.code, 0, viaEnv.stdout);
    assert.notEqual(secretOf(viaEnv.stdout), secretOf(viaName.stdout));

    const gone = await runMain(["get"], ENTERPRISE, {
      ...env,
      ...other,
      DOCKER_CREDENTIAL_ACR_HELPER_INSTANCE_ID: "cri-gone0001",
    });
    assert.equal(gone.code, 1);
    assert.match(gone.stdout, /GetAuthorizationToken \(cri-gone0001, cn-hangzhou\) failed: INSTANCE_NOT_EXIST/);

    const config = `${env.HOME}/.config/docker-credential-acr-helper/config.json`;
    Deno.mkdirSync(config.replace(/\/[^/]+$/, ""), { recursive: true });
    Deno.writeTextFileSync(config, JSON.stringify({ registries: { [ENTERPRISE]: { instanceId: "cri-gone0001" } } }));
    const configured = await runMain(["get"], ENTERPRISE, env);
    assert.equal(configured.code, 1, "the config's instance, not the cached password of the first");
    assert.match(configured.stdout, /cri-gone0001/);
    Deno.removeSync(config);
    const back = await runMain(["get"], ENTERPRISE, env);
    assert.equal(secretOf(back.stdout), secretOf(viaName.stdout), "the first question's entry is still good");
    assert.deepEqual(fake.issued.length, 2);
  }));

Deno.test(
  posixOnly("get: a SIGSTOPped lock holder delays other gets by a few seconds, not the whole deadline", "SIGSTOP"),
  () =>
    withFake({}, async (fake) => {
      const env = await fakeEnv(fake.url, CANARY_KEY, {
        DOCKER_CREDENTIAL_ACR_HELPER_LOG_LEVEL: "debug",
        DOCKER_CREDENTIAL_ACR_HELPER_LOG_FILE: `${await tempHome()}/log`,
      });
      // The holder's call stalls: it is inside the lock when we stop it.
      fake.injectFault({ type: "delay", ms: 60_000 }, 1, "personalToken");
      const holder = spawnHelper(["get"], env);
      const w = holder.stdin.getWriter();
      await w.write(new TextEncoder().encode(PERSONAL));
      await w.close();
      for (let i = 0; i < 200 && fake.calls.personalToken === 0; i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(fake.calls.personalToken, 1, "the holder reached the API");
      Deno.kill(holder.pid, "SIGSTOP");
      try {
        const started = Date.now();
        const r = await runMain(["get"], PERSONAL, env);
        const ms = Date.now() - started;
        console.log(`get behind a stopped lock holder: exit ${r.code} in ${ms} ms`);
        assert.equal(r.code, 0, r.stdout);
        assert.ok(ms < 15_000, `took ${ms} ms`);
        const log = Deno.readTextFileSync(env.DOCKER_CREDENTIAL_ACR_HELPER_LOG_FILE);
        assert.match(log, /lock for registry\.cn-hangzhou\.aliyuncs\.com not acquired in 5000 ms/);
      } finally {
        Deno.kill(holder.pid, "SIGKILL");
        await holder.output().catch(() => {});
      }
    }),
);

Deno.test("get: a missing HOME is not created; the get works without a cache, with nothing on stderr", () =>
  withFake({}, async (fake) => {
    const env = await fakeEnv(fake.url);
    const home = `${env.HOME}/not-there`;
    for (let i = 0; i < 2; i++) {
      const r = await runMain(["get"], PERSONAL, { ...env, HOME: home });
      assert.equal(r.code, 0, r.stdout);
      assert.equal(r.stderr, "");
    }
    assert.throws(() => Deno.statSync(home), Deno.errors.NotFound);
    assert.equal(fake.calls.personalToken, 2);
  }));

/** A real second user, made once (`useradd`), whose home we point root at as `sudo -E` would. */
async function testUser(): Promise<{ name: string; home: string; uid: number }> {
  const name = "acrhelpertest";
  const id = await new Deno.Command("id", { args: ["-u", name], stdout: "piped", stderr: "null" }).output();
  if (!id.success) {
    const made = await new Deno.Command("useradd", { args: ["-m", "-s", "/usr/sbin/nologin", name] }).output();
    assert.ok(made.success, "useradd failed");
  }
  const uid = Number(
    new TextDecoder().decode(
      (await new Deno.Command("id", { args: ["-u", name], stdout: "piped" }).output()).stdout,
    ).trim(),
  );
  return { name, home: `/home/${name}`, uid };
}

function removeIfThere(path: string) {
  try {
    Deno.removeSync(path, { recursive: true });
  } catch { /* not there */ }
}

Deno.test({
  ...needs(
    "root with another user's HOME: no root-owned files in it; doctor warns with the fix; configure-docker refuses",
    { os: "linux", tools: ["useradd"], root: true },
  ),
  fn: () =>
    withFake({}, async (fake) => {
      const user = await testUser();
      for (const d of [".cache", ".docker", ".config"]) removeIfThere(`${user.home}/${d}`);
      const env = { ...(await fakeEnv(fake.url)), HOME: user.home };
      for (let i = 0; i < 2; i++) {
        const r = await runHelper(["get"], PERSONAL, env);
        assert.equal(r.code, 0, r.stdout);
        assert.equal(r.stderr, "");
      }
      assert.throws(() => Deno.statSync(`${user.home}/.cache`), Deno.errors.NotFound, "root created ~/.cache");
      assert.equal(fake.calls.personalToken, 2, "no cache for root in the user's home");

      // The user's own ~/.cache exists: root still writes nothing into it.
      Deno.mkdirSync(`${user.home}/.cache`, { mode: 0o700 });
      Deno.chownSync(`${user.home}/.cache`, user.uid, user.uid);
      assert.equal((await runHelper(["get"], PERSONAL, env)).code, 0);
      assert.deepEqual([...Deno.readDirSync(`${user.home}/.cache`)], []);

      const doctor = await runHelper(["doctor"], "", env);
      assert.match(doctor.stdout, /^warn cache: .*belongs to uid \d+, not to this user \(uid 0\)/m);
      assert.match(doctor.stdout, /^ {5}fix: set DOCKER_CREDENTIAL_ACR_HELPER_CACHE_DIR/m);

      const configure = await runHelper(["configure-docker", "--registry", PERSONAL], "", env);
      assert.equal(configure.code, 1);
      assert.match(configure.stderr, /belongs to uid \d+, not to this user \(uid 0\).*nothing was changed/);
      assert.throws(() => Deno.statSync(`${user.home}/.docker`), Deno.errors.NotFound);
    }),
});

/** libfaketime, when installed (.ci/run installs Debian's faketime). */
function libfaketime(): string | null {
  for (const dir of ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib"]) {
    try {
      const path = `${dir}/faketime/libfaketime.so.1`;
      if (Deno.statSync(path).isFile) return path;
    } catch { /* look on */ }
  }
  return null;
}
const FAKETIME = libfaketime();

Deno.test({
  ...needs("clock 10 min behind: an expired password is never served (lifetimes on the service's clock)", {
    os: "linux",
    other: { what: "libfaketime", present: () => FAKETIME !== null },
  }),
  fn: () =>
    withFake({ tokenTtlMs: 5 * 60_000 }, async (fake) => {
      const env = await fakeEnv(fake.url);
      const at = (offset: string) => ({ ...env, LD_PRELOAD: FAKETIME!, FAKETIME: offset });
      const first = await runHelper(["get"], PERSONAL, at("-10m"));
      assert.equal(first.code, 0, first.stdout + first.stderr);
      // Six minutes later on both clocks (ours still 10 min behind): the 5 min password has expired.
      const later = await runHelper(["get"], PERSONAL, at("-4m"));
      assert.equal(later.code, 0, later.stdout + later.stderr);
      assert.notEqual(secretOf(later.stdout), secretOf(first.stdout), "an expired password was served");
      assert.equal(fake.calls.personalToken, 2);
    }),
});

Deno.test({
  ...needs("clock 2 h ahead: the cache still hits and the kubelet is told to cache for half the token's life", {
    os: "linux",
    other: { what: "libfaketime", present: () => FAKETIME !== null },
  }),
  fn: () =>
    withFake({}, async (fake) => {
      const env = { ...(await fakeEnv(fake.url)), LD_PRELOAD: FAKETIME!, FAKETIME: "+2h" };
      for (let i = 0; i < 3; i++) assert.equal((await runHelper(["get"], PERSONAL, env)).code, 0);
      assert.equal(fake.calls.personalToken, 1, "the cache never hit");
      const k = await runHelper(
        ["kubelet-credential-provider"],
        JSON.stringify({ apiVersion: V1, kind: "CredentialProviderRequest", image: `${PERSONAL}/ns/app:1` }),
        env,
      );
      assert.equal(k.code, 0, k.stderr);
      assert.match(JSON.parse(k.stdout).cacheDuration, /^(29m5\d|30m0)s$|^29m[0-5]\ds$/);
      assert.equal(fake.calls.personalToken, 1);
    }),
});
