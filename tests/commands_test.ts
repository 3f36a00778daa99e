/**
 * The helper's own subcommands, run as a subprocess with the release
 * permissions: kubelet-credential-provider (with per-pod identity over a TLS
 * fake STS), configure-docker, doctor, and per-registry accounts.
 */
import assert from "node:assert/strict";
import { type FakeAcr, type FakeOptions, startFakeAcr } from "./fake/server.ts";
import { kubeletMatches } from "./kubelet_match.ts";
import { makeTestTls } from "./fake/tls.ts";
import { fakeEnv, posixOnly, runHelper, runMain, tempHome } from "./util.ts";

const KEY = { accessKeyId: "LTAInode0001", accessKeySecret: "CANARY-node-secret" };
const PROD_KEY = { accessKeyId: "LTAIprod0001", accessKeySecret: "CANARY-prod-secret" };
const INSTANCES = [{ instanceId: "cri-prod0001", instanceName: "prod", region: "cn-hangzhou" }];
const PERSONAL = "registry.cn-hangzhou.aliyuncs.com";
const V1 = "credentialprovider.kubelet.k8s.io/v1";
const CANARIES = ["CANARY-", "pod-token-"];
const STS_ROLE = {
  accessKeyId: "STS.acrpull",
  accessKeySecret: "CANARY-role-secret",
  securityToken: "CANARY-role-token",
};

async function withFake(opts: FakeOptions, fn: (fake: FakeAcr) => Promise<void>) {
  const fake = startFakeAcr({ keys: [KEY, PROD_KEY], instances: INSTANCES, ...opts });
  try {
    await fn(fake);
  } finally {
    await fake.close();
  }
}
function nodeEnv(fake: FakeAcr, extra: Record<string, string> = {}) {
  return fakeEnv(fake.url, KEY, extra);
}
function request(image: string, extra: Record<string, unknown> = {}, apiVersion = V1) {
  return JSON.stringify({ apiVersion, kind: "CredentialProviderRequest", image, ...extra });
}
function assertNoSecrets(...outputs: string[]) {
  for (const out of outputs) for (const c of CANARIES) assert.ok(!out.includes(c), `secret on output: ${out}`);
}

Deno.test("kubelet: answers a v1 request with exactly the fields the kubelet decodes", () =>
  withFake({}, async (fake) => {
    const env = await nodeEnv(fake);
    const r = await runMain(["kubelet-credential-provider"], request(`${PERSONAL}/ns/app:1.0`), env);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.stderr, "");
    const res = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(res).sort(), ["apiVersion", "auth", "cacheDuration", "cacheKeyType", "kind"]);
    assert.equal(res.apiVersion, V1);
    assert.equal(res.kind, "CredentialProviderResponse");
    assert.equal(res.cacheKeyType, "Registry");
    // The fake's tokens live 1 h: half the remaining lifetime is just under 30 minutes.
    assert.match(res.cacheDuration, /^(29m5\d|30m0)s$/);
    assert.deepEqual(res.auth, { [PERSONAL]: { username: "cr_temp_user", password: fake.issued[0] } });
    assert.equal(fake.calls.personalToken, 1);
  }));

Deno.test("kubelet: answers in the request's apiVersion; the auth key keeps the port; digests are fine", () =>
  withFake({}, async (fake) => {
    const env = await nodeEnv(fake);
    const host = "prod-registry-vpc.distributed.cn-hangzhou.cr.aliyuncs.com:5000";
    for (const v of ["credentialprovider.kubelet.k8s.io/v1beta1", "credentialprovider.kubelet.k8s.io/v1alpha1"]) {
      const r = await runMain(
        ["kubelet-credential-provider"],
        request(`${host}/ns/app@sha256:${"a".repeat(64)}`, {}, v),
        env,
      );
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const res = JSON.parse(r.stdout);
      assert.equal(res.apiVersion, v);
      assert.deepEqual(Object.keys(res.auth), [host]);
    }
    assert.equal(fake.calls.instanceToken, 1, "the second request is a cache hit");
  }));

Deno.test("kubelet: bad requests are one line on stderr, nothing on stdout, exit 1", () =>
  withFake({}, async (fake) => {
    const env = await nodeEnv(fake);
    const cases: Array<[string, RegExp]> = [
      [
        JSON.stringify({ apiVersion: V1, kind: "Pod", image: `${PERSONAL}/a` }),
        /kind must be CredentialProviderRequest/,
      ],
      [request(`${PERSONAL}/a`, {}, "credentialprovider.kubelet.k8s.io/v2"), /apiVersion .* is not supported/],
      [request(""), /the request has no image/],
      [request("ghcr.io/org/app:1"), /ghcr\.io is not an ACR registry/],
      [request("nginx:latest"), /docker\.io is not an ACR registry/],
      ["not json", /not a JSON CredentialProviderRequest/],
    ];
    for (const [stdin, message] of cases) {
      const r = await runMain(["kubelet-credential-provider"], stdin, env);
      assert.equal(r.code, 1, stdin);
      assert.equal(r.stdout, "", stdin);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
    }
    assert.equal(fake.calls.total, 0);
  }));

Deno.test("kubelet: each pod pulls as the RAM role its service account names (TLS STS, token in memory)", async () => {
  const tls = await makeTestTls();
  const provider = "acs:ram::1234:oidc-provider/ack-rrsa";
  const role = (name: string, n: number) => ({
    roleArn: `acs:ram::1234:role/${name}`,
    providerArn: provider,
    token: `pod-token-${name}`,
    issue: {
      accessKeyId: `STS.${name}`,
      accessKeySecret: `CANARY-${name}-secret`,
      securityToken: `CANARY-${name}-${n}`,
    },
  });
  const [a, b] = [role("team-a", 1), role("team-b", 2)];
  await withFake({ oidc: [a, b], tls: { cert: tls.cert, key: tls.key } }, async (fake) => {
    const env = await nodeEnv(fake, {
      DENO_CERT: tls.caFile,
      DOCKER_CREDENTIAL_ACR_HELPER_STS_ENDPOINT: fake.stsHost!,
      ALIBABA_CLOUD_OIDC_PROVIDER_ARN: provider,
    });
    const pod = (r: typeof a, token = r.token) =>
      request(`${PERSONAL}/ns/app:1`, {
        serviceAccountToken: token,
        serviceAccountAnnotations: { "docker-credential-acr-helper/role-arn": r.roleArn },
      });
    const first = await runHelper(["kubelet-credential-provider"], pod(a), env);
    const second = await runHelper(["kubelet-credential-provider"], pod(b), env);
    const again = await runHelper(["kubelet-credential-provider"], pod(a), env);
    for (const r of [first, second, again]) {
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assertNoSecrets(r.stdout.replace(/"password":"[^"]*"/, ""), r.stderr);
    }
    assert.equal(fake.calls.assumeRoleWithOIDC, 2);
    assert.deepEqual(fake.signers, ["STS.team-a", "STS.team-b"], "each pod's token call is signed by its own role");
    assert.equal(JSON.parse(again.stdout).auth[PERSONAL].password, fake.issued[0], "role A's token, from the cache");

    // A pod without an annotation pulls with the node's identity.
    const node = await runHelper(["kubelet-credential-provider"], request(`${PERSONAL}/ns/app:1`), env);
    assert.equal(node.code, 0, node.stderr);
    assert.deepEqual(fake.signers.at(-1), KEY.accessKeyId);

    // A token STS refuses: one line with STS's code, on stderr only.
    const refused = await runHelper(["kubelet-credential-provider"], pod(role("team-c", 3), "pod-token-forged"), env);
    assert.equal(refused.code, 1);
    assert.equal(refused.stdout, "");
    assert.match(refused.stderr, /STS AssumeRoleWithOIDC failed: EntityNotExist\.Role \(request id [0-9A-F-]+\)/);
    assertNoSecrets(refused.stderr);
  });
});

Deno.test("kubelet: a role annotation without a provider ARN or without a token says what to set", () =>
  withFake({}, async (fake) => {
    const env = await nodeEnv(fake);
    const annotated = { serviceAccountAnnotations: { "docker-credential-acr-helper/role-arn": "acs:ram::1:role/x" } };
    const noProvider = await runMain(
      ["kubelet-credential-provider"],
      request(`${PERSONAL}/a`, { ...annotated, serviceAccountToken: "pod-token-x" }),
      env,
    );
    assert.equal(noProvider.code, 1);
    assert.match(
      noProvider.stderr,
      /docker-credential-acr-helper\/oidc-provider-arn or set ALIBABA_CLOUD_OIDC_PROVIDER_ARN/,
    );
    const noToken = await runMain(["kubelet-credential-provider"], request(`${PERSONAL}/a`, annotated), env);
    assert.equal(noToken.code, 1);
    assert.match(noToken.stderr, /sent no service account token; set tokenAttributes/);
    assert.equal(fake.calls.total, 0);
  }));

Deno.test("kubelet matching rule: ports must be equal, one label per *", () => {
  assert.ok(kubeletMatches("*.*.aliyuncs.com", "registry.cn-hangzhou.aliyuncs.com/a"));
  assert.ok(!kubeletMatches("*.*.aliyuncs.com", "registry.cn-hangzhou.aliyuncs.com:443/a"), "a port never matches");
  assert.ok(!kubeletMatches("*.aliyuncs.com", "registry.cn-hangzhou.aliyuncs.com/a"));
  assert.ok(kubeletMatches("*.x.io:5000", "a.x.io:5000/b"));
  assert.ok(!kubeletMatches("*.x.io:5000", "a.x.io:5001/b"));
});

Deno.test("docs/kubelet.md: the documented config covers every ACR host form (ports included) and current Kubernetes", async () => {
  const doc = await Deno.readTextFile(new URL("../docs/kubelet.md", import.meta.url));
  const patterns = [...doc.matchAll(/^\s+- "([^"]+)"\s*$/gm)].map((m) => m[1]).filter((p) => p.includes("aliyuncs"));
  assert.ok(patterns.length >= 4, patterns.join(","));
  const p2pPort = /distributed\.\*\.cr\.aliyuncs\.com:(\d+)/.exec(patterns.join(" "))?.[1];
  assert.ok(p2pPort, "P2P hosts carry a port: the doc needs an entry with one");
  for (
    const image of [
      "registry.cn-hangzhou.aliyuncs.com/ns/a",
      "registry-vpc.cn-hangzhou.aliyuncs.com/ns/a",
      "registry-internal.cn-hangzhou.aliyuncs.com/ns/a",
      "registry-intl.ap-southeast-1.aliyuncs.com/ns/a",
      "registry-intl-vpc.ap-southeast-1.aliyuncs.com/ns/a",
      "crpi-abc123.cn-hangzhou.personal.cr.aliyuncs.com/ns/a",
      "crpi-abc123-vpc.cn-hangzhou.personal.cr.aliyuncs.com/ns/a",
      "prod-registry.cn-hangzhou.cr.aliyuncs.com/ns/a",
      "prod-registry-vpc.cn-hangzhou.cr.aliyuncs.com/ns/a",
      `prod-registry-vpc.distributed.cn-hangzhou.cr.aliyuncs.com:${p2pPort}/ns/a`,
      "registry.cn-shanghai-finance-1.aliyuncs.com/ns/a",
    ]
  ) assert.ok(patterns.some((p) => kubeletMatches(p, image)), `no matchImages pattern for ${image}`);
  // tokenAttributes: cacheType is required since 1.34, and ServiceAccount keeps each pod's role apart.
  const tokenAttributes = /tokenAttributes:\n((?:\s+.*\n)+?)```/.exec(doc)?.[1] ?? "";
  assert.match(tokenAttributes, /^\s+cacheType: ServiceAccount\b/m);
  // Under systemd there is often no HOME: the provider's env names the cache directory.
  assert.match(doc, /- name: DOCKER_CREDENTIAL_ACR_HELPER_CACHE_DIR\n\s+value: "\/[^"]+"/);
});

async function dockerEnv(extra: Record<string, string> = {}) {
  const home = await tempHome();
  const bin = `${home}/bin`;
  await Deno.mkdir(bin);
  await Deno.writeTextFile(`${bin}/docker-credential-acr-helper`, "#!/bin/sh\n");
  return { home, env: { HOME: home, PATH: `${bin}:/usr/bin:/bin`, ...extra } };
}

Deno.test("configure-docker: adds credHelpers, keeps every other key, .bak, idempotent", async () => {
  const { home, env } = await dockerEnv();
  const file = `${home}/.docker/config.json`;
  await Deno.mkdir(`${home}/.docker`);
  const original = JSON.stringify({
    auths: { "ghcr.io": { auth: "b3RoZXI=" } },
    credHelpers: { "gcr.io": "gcloud" },
    psFormat: "table {{.ID}}",
  });
  await Deno.writeTextFile(file, original);
  const args = [
    "configure-docker",
    "--registry",
    PERSONAL,
    "--registry",
    "https://prod-registry.cn-hangzhou.cr.aliyuncs.com",
  ];
  const r = await runMain(args, "", env);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(r.stderr, "");
  const saved = JSON.parse(await Deno.readTextFile(file));
  assert.deepEqual(saved, {
    auths: { "ghcr.io": { auth: "b3RoZXI=" } },
    credHelpers: {
      "gcr.io": "gcloud",
      [PERSONAL]: "acr-helper",
      "prod-registry.cn-hangzhou.cr.aliyuncs.com": "acr-helper",
    },
    psFormat: "table {{.ID}}",
  });
  assert.equal(await Deno.readTextFile(`${file}.bak`), original);
  const bytes = await Deno.readTextFile(file);
  const again = await runMain(args, "", env);
  assert.equal(again.code, 0);
  assert.match(again.stdout, /nothing changed/);
  assert.equal(await Deno.readTextFile(file), bytes);
  assert.deepEqual([...Deno.readDirSync(`${home}/.docker`)].map((e) => e.name).sort(), [
    "config.json",
    "config.json.bak",
  ]);
});

Deno.test(
  posixOnly(
    "configure-docker: new file 0600 under DOCKER_CONFIG; --dry-run writes nothing; PATH warning",
    "Unix modes",
  ),
  async () => {
    const { home } = await dockerEnv();
    const env = { HOME: home, PATH: "/usr/bin:/bin", DOCKER_CONFIG: `${home}/dc` };
    const dry = await runMain(["configure-docker", "--registry", PERSONAL, "--dry-run"], "", env);
    assert.equal(dry.code, 0, dry.stdout + dry.stderr);
    assert.match(dry.stdout, /"registry\.cn-hangzhou\.aliyuncs\.com": "acr-helper"/);
    assert.match(dry.stderr, /^warning: docker-credential-acr-helper is not on PATH/);
    await assert.rejects(Deno.stat(`${home}/dc/config.json`));
    const r = await runMain(["configure-docker", "--registry", PERSONAL], "", env);
    assert.equal(r.code, 0, r.stdout);
    assert.equal((await Deno.stat(`${home}/dc/config.json`)).mode! & 0o777, 0o600);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(`${home}/dc/config.json`)), {
      credHelpers: { [PERSONAL]: "acr-helper" },
    });
  },
);

Deno.test("configure-docker: refuses a file that is not JSON (untouched), unknown hosts and bad flags", async () => {
  const { home, env } = await dockerEnv();
  const file = `${home}/.docker/config.json`;
  await Deno.mkdir(`${home}/.docker`);
  await Deno.writeTextFile(file, "{ not json");
  const bad = await runMain(["configure-docker", "--registry", PERSONAL], "", env);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /config\.json is not valid JSON .*nothing was changed/);
  assert.equal(await Deno.readTextFile(file), "{ not json");
  await assert.rejects(Deno.stat(`${file}.bak`));
  for (
    const [args, message] of [
      [["--registry", "ghcr.io"], /ghcr\.io is not an ACR registry this helper knows/],
      [[], /name the registries to configure: --registry HOST/],
      [["--regsitry", PERSONAL], /Unknown option '--regsitry'/],
    ] as Array<[string[], RegExp]>
  ) {
    const r = await runMain(["configure-docker", ...args], "", env);
    assert.equal(r.code, 1, args.join(" "));
    assert.match(r.stderr, message);
  }
});

Deno.test("per-registry accounts: a profile per registry, and a role assumed for another; the cache follows", () =>
  withFake({}, async (fake) => {
    const home = await tempHome();
    await Deno.mkdir(`${home}/.alibabacloud`);
    await Deno.writeTextFile(
      `${home}/.alibabacloud/credentials`,
      `[default]\ntype = access_key\naccess_key_id = ${KEY.accessKeyId}\naccess_key_secret = ${KEY.accessKeySecret}\n` +
        `[prod]\ntype = access_key\naccess_key_id = ${PROD_KEY.accessKeyId}\naccess_key_secret = ${PROD_KEY.accessKeySecret}\n`,
    );
    await Deno.mkdir(`${home}/.config/docker-credential-acr-helper`, { recursive: true });
    await Deno.writeTextFile(
      `${home}/.config/docker-credential-acr-helper/config.json`,
      JSON.stringify({
        registries: {
          "prod-registry.cn-hangzhou.cr.aliyuncs.com": { profile: "prod" },
        },
      }),
    );
    const env = { HOME: home, DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT: fake.url };
    const personal = await runMain(["get"], PERSONAL, env);
    const prod = await runMain(["get"], "prod-registry.cn-hangzhou.cr.aliyuncs.com", env);
    assert.equal(personal.code, 0, personal.stdout);
    assert.equal(prod.code, 0, prod.stdout);
    assert.deepEqual(fake.signers, [KEY.accessKeyId, PROD_KEY.accessKeyId]);
    assertNoSecrets(personal.stdout, prod.stdout, personal.stderr, prod.stderr);
    const missing = await runMain(["get"], "prod-registry.cn-hangzhou.cr.aliyuncs.com", {
      ...env,
      HOME: await tempHome(),
      DOCKER_CREDENTIAL_ACR_HELPER_CONFIG: `${home}/.config/docker-credential-acr-helper/config.json`,
    });
    assert.equal(missing.code, 1);
    assert.match(
      missing.stdout,
      /registries\["prod-registry\.cn-hangzhou\.cr\.aliyuncs\.com"\]: profile "prod" not found/,
    );
  }));

Deno.test("per-registry accounts: roleArn assumes the role (signed AssumeRole over TLS); cache identity differs", async () => {
  const tls = await makeTestTls();
  await withFake(
    { roles: { "acs:ram::1234:role/acr-pull": STS_ROLE }, tls: { cert: tls.cert, key: tls.key } },
    async (fake) => {
      const home = await tempHome();
      const config = `${home}/config.json`;
      await Deno.writeTextFile(
        config,
        JSON.stringify({
          registries: { "registry.cn-shanghai.aliyuncs.com": { roleArn: "acs:ram::1234:role/acr-pull" } },
        }),
      );
      const env = await nodeEnv(fake, {
        HOME: home,
        DENO_CERT: tls.caFile,
        DOCKER_CREDENTIAL_ACR_HELPER_CONFIG: config,
        DOCKER_CREDENTIAL_ACR_HELPER_STS_ENDPOINT: fake.stsHost!,
      });
      const shanghai = await runHelper(["get"], "registry.cn-shanghai.aliyuncs.com", env);
      assert.equal(shanghai.code, 0, shanghai.stdout);
      const hangzhou = await runHelper(["get"], PERSONAL, env);
      assert.equal(hangzhou.code, 0, hangzhou.stdout);
      assert.equal(fake.calls.assumeRole, 1);
      assert.equal(fake.calls.rejected, 0);
      assert.deepEqual(fake.signers, [STS_ROLE.accessKeyId, KEY.accessKeyId]);
      assertNoSecrets(shanghai.stdout, shanghai.stderr);
      const warm = await runHelper(["get"], "registry.cn-shanghai.aliyuncs.com", env);
      assert.equal(warm.stdout, shanghai.stdout);
      assert.equal(fake.calls.assumeRole, 1);
    },
  );
});

Deno.test("doctor: reports source, config, cache, host and a timed token fetch; no secret; exit 0", () =>
  withFake({}, async (fake) => {
    const env = await nodeEnv(fake);
    // --no-login: the registry itself is not here (tests/e2e proves the login against a real registry).
    const r = await runMain(["doctor", "--no-login", "prod-registry.cn-hangzhou.cr.aliyuncs.com"], "", env);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^ok {3}credentials: environment variables ALIBABA_CLOUD_ACCESS_KEY_ID\/SECRET \(env\)$/m);
    assert.match(r.stdout, /^ok {3}cache: .*docker-credential-acr-helper/m);
    assert.match(r.stdout, /^ok {3}API endpoint: http:\/\/127\.0\.0\.1:\d+/m);
    assert.match(r.stdout, /^ok {3}proxy: none \(HTTPS_PROXY \/ HTTP_PROXY not set\)$/m);
    assert.match(r.stdout, /^ok {3}host: .*Enterprise Edition instance "prod", region cn-hangzhou/m);
    assert.match(r.stdout, /^ok {3}token: fetched in \d+ ms as cr_temp_user, valid until /m);
    assert.match(r.stdout, /^ok {3}registry login: skipped \(--no-login\)$/m);
    assert.match(r.stdout, /no problems found\n$/);
    assert.ok(!r.stdout.includes(fake.issued[0]), "doctor must not print the token");
    assertNoSecrets(r.stdout, r.stderr);
  }));

Deno.test("doctor: a warn line with the fix for each credential source skipped before the one used", () =>
  withFake({}, async (fake) => {
    const home = await tempHome();
    await Deno.mkdir(`${home}/.aliyun`);
    await Deno.writeTextFile(
      `${home}/.aliyun/config.json`,
      JSON.stringify({ current: "sso", profiles: [{ name: "sso", mode: "CloudSSO", cloud_sso_account_id: "1" }] }),
    );
    const r = await runMain(["doctor", "--no-login"], "", {
      HOME: home,
      DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT: fake.url,
      ALIBABA_CLOUD_CREDENTIALS_FILE: `${home}/missing.ini`,
      ALIBABA_CLOUD_ACCESS_KEY_ID: KEY.accessKeyId,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: KEY.accessKeySecret,
    });
    assert.match(r.stdout, /^ok {3}credentials: environment variables ALIBABA_CLOUD_ACCESS_KEY_ID\/SECRET \(env\)$/m);
    // Nothing before the env key was skipped; the named file that is not there is still worth a warning.
    assert.deepEqual(r.stdout.match(/^warn credentials: .*$/gm), [
      `warn credentials: ALIBABA_CLOUD_CREDENTIALS_FILE names ${home}/missing.ini, which does not exist`,
    ]);
    const off = await runMain(["doctor", "--no-login"], "", {
      HOME: home,
      DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT: fake.url,
      ALIBABA_CLOUD_CREDENTIALS_FILE: `${home}/missing.ini`,
      ALIBABA_CLOUD_ECS_METADATA_DISABLED: "true",
    });
    assert.equal(off.code, 1);
    assert.match(
      off.stdout,
      /^warn credentials: skipped aliyun CLI profile "sso" \(CloudSSO\) in .*: mode CloudSSO: "cloud_sso_sign_in_url" is missing\n {5}fix: add it, or run: aliyun configure --profile sso --mode CloudSSO$/m,
    );
    assert.match(
      off.stdout,
      /^warn credentials: skipped ALIBABA_CLOUD_CREDENTIALS_FILE .*missing\.ini: not found\n {5}fix: /m,
    );
    assert.match(off.stdout, /^FAIL credentials: no Alibaba Cloud credentials found/m);
  }));

Deno.test("doctor: problems exit 1 with a fix (no credentials; a host that is not ACR says so and stops)", () =>
  withFake({}, async (fake) => {
    const env = { HOME: await tempHome(), DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT: fake.url };
    const none = await runMain(["doctor"], "", env);
    assert.equal(none.code, 1);
    assert.match(none.stdout, /^FAIL credentials: no Alibaba Cloud credentials found/m);
    assert.match(none.stdout, /1 problem found\n$/);
    const r = await runMain(["doctor", "ghcr.io"], "", env);
    assert.equal(r.code, 1);
    assert.match(
      r.stdout,
      /^FAIL host: ghcr\.io is not an ACR registry the helper knows: .*docker pulls it anonymously/m,
    );
    assert.match(
      r.stdout,
      /^ {5}fix: nothing to do for a registry that is not ACR; for an ACR instance's custom domain/m,
    );
    assert.doesNotMatch(
      r.stdout,
      /^(ok|warn|FAIL) +(credentials|cache|API endpoint):/m,
      "nothing else is worth saying",
    );
    assert.match(r.stdout, /1 problem found\n$/);
    assert.equal(fake.calls.total, 0);
  }));
