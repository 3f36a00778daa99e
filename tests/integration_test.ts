import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { type FakeAcr, fakeStsEnv, startFakeAcr } from "./fake/server.ts";
import { makeTestTls } from "./fake/tls.ts";
import {
  assertNoSecrets,
  CANARY_KEY,
  CANARY_STS,
  fakeEnv,
  needs,
  runChecked,
  runMain as runMainInProcess,
  type RunResult,
  tempHome,
} from "./util.ts";

const KEY = CANARY_KEY;
const STS = CANARY_STS;
const INSTANCES = [
  { instanceId: "cri-prod0001", instanceName: "prod", region: "cn-hangzhou" },
  { instanceId: "crpi-known01", instanceName: "crpi-known01", region: "cn-hangzhou" },
];

let fake: FakeAcr;
async function withFake(fn: () => Promise<void>, opts: Parameters<typeof startFakeAcr>[0] = {}) {
  fake = startFakeAcr({ keys: [KEY, STS], instances: INSTANCES, ...opts });
  try {
    await fn();
  } finally {
    await fake.close();
  }
}
function env(extra: Record<string, string> = {}): Promise<Record<string, string>> {
  return fakeEnv(fake.url, KEY, extra);
}
/** Every scenario runs at debug level and is checked for leaked canaries (tests/util.ts); in-process. */
function runMain(args: string[], stdin: string, e: Record<string, string>): Promise<RunResult> {
  return runChecked(args, stdin, e, fake.issued, runMainInProcess);
}
/** The same as a process: for what only a process has (the CA it trusts through DENO_CERT). */
function runHelper(args: string[], stdin: string, e: Record<string, string>): Promise<RunResult> {
  return runChecked(args, stdin, e, fake.issued);
}
function assertCredentials(stdout: string, server: string) {
  assert.ok(stdout.endsWith("}\n"), "one JSON line");
  const creds = JSON.parse(stdout);
  assert.deepEqual(Object.keys(creds), ["ServerURL", "Username", "Secret"]);
  assert.equal(creds.ServerURL, server);
  assert.equal(creds.Username, "cr_temp_user");
  assert.notEqual(creds.Username, "<token>");
  assert.equal(creds.Secret, fake.issued.at(-1));
}

Deno.test("get: Personal Edition host, one /tokens call", () =>
  withFake(async () => {
    const r = await runMain(["get"], "registry.cn-hangzhou.aliyuncs.com", await env());
    assert.equal(r.code, 0, r.stdout);
    assertCredentials(r.stdout, "registry.cn-hangzhou.aliyuncs.com");
    assert.equal(r.stderr, "");
    assert.deepEqual([fake.calls.personalToken, fake.calls.total], [1, 1]);
    assertNoSecrets(r.stdout, r.stderr);
  }));

Deno.test("get: Enterprise host looks up the id, then one GetAuthorizationToken", () =>
  withFake(async () => {
    const r = await runMain(["get"], "prod-registry-vpc.cn-hangzhou.cr.aliyuncs.com", await env());
    assert.equal(r.code, 0, r.stdout);
    assertCredentials(r.stdout, "prod-registry-vpc.cn-hangzhou.cr.aliyuncs.com");
    assert.deepEqual([fake.calls.listInstance, fake.calls.instanceToken, fake.calls.total], [1, 1, 2]);
  }));

Deno.test("get: nerdctl's https://host:443 form is echoed as given", () =>
  withFake(async () => {
    const r = await runMain(["get"], "https://prod-registry.cn-hangzhou.cr.aliyuncs.com:443", await env());
    assert.equal(r.code, 0, r.stdout);
    assertCredentials(r.stdout, "https://prod-registry.cn-hangzhou.cr.aliyuncs.com:443");
  }));

Deno.test("get: P2P host with a port works", () =>
  withFake(async () => {
    const host = "prod-registry-vpc.distributed.cn-hangzhou.cr.aliyuncs.com:65001";
    const r = await runMain(["get"], host, await env());
    assert.equal(r.code, 0, r.stdout);
    assertCredentials(r.stdout, host);
    assert.equal(fake.issuedFor.at(-1), INSTANCES.find((i) => i.instanceName === "prod")?.instanceId);
  }));

Deno.test("get: crpi- instance known to the instance API uses it", () =>
  withFake(async () => {
    const r = await runMain(["get"], "crpi-known01.cn-hangzhou.personal.cr.aliyuncs.com", await env());
    assert.equal(r.code, 0, r.stdout);
    assert.deepEqual([fake.calls.instanceToken, fake.calls.personalToken], [1, 0]);
  }));

Deno.test("get: crpi- instance unknown to the instance API fails in one line naming it; never a /tokens password", () =>
  withFake(async () => {
    const r = await runMain(["get"], "crpi-other99-vpc.cn-hangzhou.personal.cr.aliyuncs.com", await env());
    assert.equal(r.code, 1);
    assert.match(
      r.stdout,
      /^ACR Personal instance crpi-other99 \(cn-hangzhou\): GetAuthorizationToken says INSTANCE_NOT_EXIST \(request id [0-9A-F-]+\); .*set "tokenApi": "personal" for crpi-other99-vpc\.cn-hangzhou\.personal\.cr\.aliyuncs\.com in the config file\n$/,
    );
    assert.deepEqual([fake.calls.instanceToken, fake.calls.personalToken], [1, 0]);
  }));

Deno.test("get: tokenApi in the config forces the API for a crpi- host", () =>
  withFake(async () => {
    const e = await env();
    const cfg = `${e.HOME}/cfg.json`;
    await Deno.writeTextFile(
      cfg,
      JSON.stringify({ registries: { "crpi-other99.cn-hangzhou.personal.cr.aliyuncs.com": { tokenApi: "personal" } } }),
    );
    const r = await runMain(["get"], "crpi-other99.cn-hangzhou.personal.cr.aliyuncs.com", {
      ...e,
      DOCKER_CREDENTIAL_ACR_HELPER_CONFIG: cfg,
    });
    assert.equal(r.code, 0, r.stdout);
    assert.deepEqual([fake.calls.instanceToken, fake.calls.personalToken], [0, 1]);
  }));

Deno.test("get: custom domain from the default config file (~/.config)", () =>
  withFake(async () => {
    const e = await env();
    await Deno.mkdir(`${e.HOME}/.config/docker-credential-acr-helper`, { recursive: true });
    await Deno.writeTextFile(
      `${e.HOME}/.config/docker-credential-acr-helper/config.json`,
      JSON.stringify({ registries: { "images.example.com": { instanceId: "cri-prod0001", region: "cn-hangzhou" } } }),
    );
    const r = await runMain(["get"], "images.example.com", e);
    assert.equal(r.code, 0, r.stdout);
    assertCredentials(r.stdout, "images.example.com");
    assert.deepEqual([fake.calls.listInstance, fake.calls.instanceToken], [0, 1]);
  }));

Deno.test("get: reference env vars map any other host, and skip ListInstance for Enterprise hosts", () =>
  withFake(async () => {
    const e = await env({
      DOCKER_CREDENTIAL_ACR_HELPER_INSTANCE_ID: "cri-prod0001",
      DOCKER_CREDENTIAL_ACR_HELPER_REGION: "cn-hangzhou",
    });
    assert.equal((await runMain(["get"], "my.custom.domain", e)).code, 0);
    assert.equal((await runMain(["get"], "whatever-registry.cn-hangzhou.cr.aliyuncs.com", e)).code, 0);
    assert.deepEqual([fake.calls.listInstance, fake.calls.instanceToken], [0, 2]);
  }));

Deno.test("get: DOCKER_CREDENTIAL_ACR_HELPER_INSTANCE_ID without _REGION takes the region from an ACR host", () =>
  withFake(async () => {
    const e = await env({ DOCKER_CREDENTIAL_ACR_HELPER_INSTANCE_ID: "cri-prod0001" });
    const r = await runMain(["get"], "whatever-registry.cn-hangzhou.cr.aliyuncs.com", e);
    assert.equal(r.code, 0, r.stdout);
    assert.deepEqual([fake.calls.listInstance, fake.calls.instanceToken], [0, 1]);
    // A host that is not ACR names no region: one line saying which variable to set.
    const other = await runMain(["get"], "my.custom.domain", e);
    assert.equal(other.code, 1);
    assert.equal(
      other.stdout,
      "DOCKER_CREDENTIAL_ACR_HELPER_INSTANCE_ID is set, but my.custom.domain is not an ACR domain, so its region " +
        "cannot be read from it: set DOCKER_CREDENTIAL_ACR_HELPER_REGION too\n",
    );
    assert.equal(fake.calls.total, 1);
  }));

Deno.test("get: a host that is not ACR is docker's not-found, with an empty stderr and no call", () =>
  withFake(async () => {
    for (
      const host of [
        "https://index.docker.io/v1/",
        "ghcr.io",
        "registry.cn-hangzhou.aliyuncs.com.evil.com",
        "user@registry.cn-hangzhou.aliyuncs.com",
      ]
    ) {
      const r = await runMain(["get"], host, await env());
      assert.deepEqual([r.code, r.stdout, r.stderr], [1, "credentials not found in native keychain\n", ""], host);
    }
    assert.equal(fake.calls.total, 0);
  }));

Deno.test("get: empty stdin is 'no credentials server URL'", () =>
  withFake(async () => {
    const r = await runMain(["get"], "", await env());
    assert.deepEqual([r.code, r.stdout], [1, "no credentials server URL\n"]);
  }));

Deno.test("get: no credentials anywhere fails fast with what was tried", async () => {
  const r = await runMain(["get"], "registry.cn-hangzhou.aliyuncs.com", { HOME: await tempHome() });
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^no Alibaba Cloud credentials found \(tried: .*ECS RAM role.*\)[^\n]*\n$/);
  assert.equal(r.stderr, "");
  assert.ok(r.ms < 10_000, `took ${r.ms} ms`); // no network wait: loose, for slow CI machines
});

Deno.test("get: a hung API is bounded by DOCKER_CREDENTIAL_ACR_HELPER_TIMEOUT", () =>
  withFake(async () => {
    fake.injectFault({ type: "delay", ms: 20_000 }, 5);
    const r = await runMain(
      ["get"],
      "registry.cn-hangzhou.aliyuncs.com",
      await env({ DOCKER_CREDENTIAL_ACR_HELPER_TIMEOUT: "2" }),
    );
    assert.equal(r.code, 1);
    assert.match(r.stdout, /time limit|did not answer in time/);
    assert.ok(r.ms < 15_000, `took ${r.ms} ms`); // near the 2 s limit, far from the fault's 20 s; loose for slow CI
  }));

Deno.test("get: STS credentials from the environment", () =>
  withFake(async () => {
    const r = await runMain(
      ["get"],
      "registry.cn-hangzhou.aliyuncs.com",
      await env({
        ALIBABA_CLOUD_ACCESS_KEY_ID: STS.accessKeyId,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET: STS.accessKeySecret,
        ALIBABA_CLOUD_SECURITY_TOKEN: STS.securityToken,
      }),
    );
    assert.equal(r.code, 0, r.stdout);
    assertNoSecrets(r.stdout, r.stderr);
  }));

Deno.test("get: credentials file named by ALIBABA_CLOUD_CREDENTIALS_FILE, profile by ALIBABA_CLOUD_PROFILE", () =>
  withFake(async () => {
    const home = await tempHome();
    const file = `${home}/creds.ini`;
    await Deno.writeTextFile(
      file,
      `[ci]\ntype = access_key\naccess_key_id = ${KEY.accessKeyId}\naccess_key_secret = ${KEY.accessKeySecret}\n`,
    );
    const r = await runMain(["get"], "registry.cn-hangzhou.aliyuncs.com", {
      HOME: home,
      DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT: fake.url,
      ALIBABA_CLOUD_CREDENTIALS_FILE: file,
      ALIBABA_CLOUD_PROFILE: "ci",
    });
    assert.equal(r.code, 0, r.stdout);
  }));

Deno.test("get: ~/.alibabacloud/credentials default profile", () =>
  withFake(async () => {
    const home = await tempHome();
    await Deno.mkdir(`${home}/.alibabacloud`);
    await Deno.writeTextFile(
      `${home}/.alibabacloud/credentials`,
      `[default]\ntype = access_key\naccess_key_id = ${KEY.accessKeyId}\naccess_key_secret = ${KEY.accessKeySecret}\n`,
    );
    const r = await runMain(["get"], "registry.cn-hangzhou.aliyuncs.com", {
      HOME: home,
      DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT: fake.url,
    });
    assert.equal(r.code, 0, r.stdout);
  }));

Deno.test("get: aliyun CLI profile (~/.aliyun/config.json, StsToken mode)", () =>
  withFake(async () => {
    const home = await tempHome();
    await Deno.mkdir(`${home}/.aliyun`);
    await Deno.writeTextFile(
      `${home}/.aliyun/config.json`,
      JSON.stringify({
        current: "dev",
        profiles: [{
          name: "dev",
          mode: "StsToken",
          access_key_id: STS.accessKeyId,
          access_key_secret: STS.accessKeySecret,
          sts_token: STS.securityToken,
        }],
      }),
    );
    const r = await runMain(["get"], "registry.cn-hangzhou.aliyuncs.com", {
      HOME: home,
      DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT: fake.url,
    });
    assert.equal(r.code, 0, r.stdout);
    assertNoSecrets(r.stdout, r.stderr);
  }));

Deno.test("get: RRSA OIDC exchanges the token with STS (TLS) first", async () => {
  const tls = await makeTestTls();
  const oidc = {
    roleArn: "acs:ram::1234:role/puller",
    providerArn: "acs:ram::1234:oidc-provider/ack-rrsa",
    token: "oidc-jwt-canary",
    issue: {
      accessKeyId: "STS.fromoidc",
      accessKeySecret: "CANARY-sts-secret-77aa",
      securityToken: "CANARY-sts-token-9b2c",
    },
  };
  await withFake(async () => {
    const home = await tempHome();
    await Deno.writeTextFile(`${home}/token`, oidc.token);
    const r = await runHelper(["get"], "prod-registry.cn-hangzhou.cr.aliyuncs.com", {
      HOME: home,
      DENO_CERT: tls.caFile,
      DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT: fake.url,
      DOCKER_CREDENTIAL_ACR_HELPER_STS_ENDPOINT: fake.stsHost!,
      ALIBABA_CLOUD_ROLE_ARN: oidc.roleArn,
      ALIBABA_CLOUD_OIDC_PROVIDER_ARN: oidc.providerArn,
      ALIBABA_CLOUD_OIDC_TOKEN_FILE: `${home}/token`,
      ALIBABA_CLOUD_ACCESS_KEY_ID: "LTAIignored",
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: "ignored",
    });
    assert.equal(r.code, 0, r.stdout);
    assert.equal(fake.calls.assumeRoleWithOIDC, 1);
    assert.equal(fake.calls.rejected, 0);
    assertNoSecrets(r.stdout, r.stderr);
    // A token STS refuses is one line naming the source and STS's code.
    await Deno.writeTextFile(`${home}/token`, "not-the-token");
    const bad = await runHelper(["get"], "prod-registry.cn-hangzhou.cr.aliyuncs.com", {
      HOME: home,
      DOCKER_CREDENTIAL_ACR_HELPER_DISABLE_CACHE: "true",
      DENO_CERT: tls.caFile,
      DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT: fake.url,
      DOCKER_CREDENTIAL_ACR_HELPER_STS_ENDPOINT: fake.stsHost!,
      ALIBABA_CLOUD_ROLE_ARN: oidc.roleArn,
      ALIBABA_CLOUD_OIDC_PROVIDER_ARN: oidc.providerArn,
      ALIBABA_CLOUD_OIDC_TOKEN_FILE: `${home}/token`,
    });
    assert.equal(bad.code, 1);
    assert.match(
      bad.stdout,
      /^getting credentials from RRSA OIDC role acs:ram::1234:role\/puller failed: AuthenticationFail\.OIDCToken\.Invalid/,
    );
  }, { oidc, tls });
});

Deno.test("get: ALIBABA_CLOUD_CREDENTIALS_URI hands out the STS key the token call is signed with", async () => {
  const uriKey = { accessKeyId: "STS.uri", accessKeySecret: "CANARY-uri-secret", securityToken: "CANARY-uri-token" };
  const local = startFakeAcr({ credentialsUri: uriKey });
  try {
    const e = await fakeEnv(local.url, KEY, { ALIBABA_CLOUD_CREDENTIALS_URI: `${local.url}/credentials` });
    delete e.ALIBABA_CLOUD_ACCESS_KEY_ID;
    delete e.ALIBABA_CLOUD_ACCESS_KEY_SECRET;
    const r = await runChecked(["get"], "registry.cn-hangzhou.aliyuncs.com", e, local.issued);
    assert.equal(r.code, 0, r.stdout);
    assert.equal(local.calls.credentialsUri, 1);
    assert.deepEqual(local.signers, ["STS.uri"]);
  } finally {
    await local.close();
  }
});

Deno.test("get: a malformed config file is one line naming the file", () =>
  withFake(async () => {
    const e = await env();
    const cfg = `${e.HOME}/bad.json`;
    await Deno.writeTextFile(cfg, "{ not json");
    const r = await runMain(["get"], "registry.cn-hangzhou.aliyuncs.com", {
      ...e,
      DOCKER_CREDENTIAL_ACR_HELPER_CONFIG: cfg,
    });
    assert.equal(r.code, 1);
    assert.match(r.stdout, new RegExp(`^config file ${cfg}: not valid JSON[^\\n]*\\n$`));
    assert.equal(r.stderr, "");
  }));

Deno.test("cli: store accepts docker login's JSON; erase and list answer", () =>
  withFake(async () => {
    const e = await env();
    const s = await runMain(
      ["store"],
      '{"ServerURL":"registry.cn-hangzhou.aliyuncs.com","Username":"u","Secret":"p"}',
      e,
    );
    assert.deepEqual([s.code, s.stdout, s.stderr], [0, "", ""]);
    const bad = await runMain(["store"], "not json", e);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /^store: stdin is not valid JSON/);
    assert.equal((await runMain(["erase"], "registry.cn-hangzhou.aliyuncs.com", e)).code, 0);
    const l = await runMain(["list"], "unused", e);
    assert.equal(l.code, 0);
    assert.equal(typeof JSON.parse(l.stdout), "object");
    assert.equal(fake.calls.total, 0);
  }));

Deno.test("cli: usage, version, unknown action", async () => {
  const e = { HOME: await tempHome() };
  const none = await runMain([], "", e);
  assert.equal(none.code, 1);
  assert.match(none.stdout, /^Usage: docker-credential-acr-helper <get\|store\|erase\|list\|version>/);
  assert.match(none.stdout, /stdin/);
  const help = await runMain(["--help"], "", e);
  assert.equal(help.code, 0);
  // From a git checkout the commit is its HEAD; from an unpacked archive, "unknown".
  const git = await new Deno.Command("git", { args: ["rev-parse", "HEAD"], stderr: "null" }).output().catch(() => null);
  const commit = git?.success ? new TextDecoder().decode(git.stdout).slice(0, 12) : "unknown";
  for (const flag of ["-v", "--version", "version"]) {
    const v = await runMain([flag], "", e);
    assert.deepEqual([v.code, v.stdout], [0, `docker-credential-acr-helper 0.1.0 (commit ${commit})\n`]);
  }
  const u = await runMain(["bogus"], "", e);
  assert.deepEqual([u.code, u.stdout], [1, "unknown action: bogus\n"]);
  const extra = await runMain(["get", "extra"], "", e);
  assert.equal(extra.code, 1);
});

Deno.test({
  ...needs("cli: get with a terminal on stdin prints how to use it instead of waiting", {
    os: "linux",
    tools: ["script"],
  }),
  fn: async () => {
    const main = fileURLToPath(new URL("../main.ts", import.meta.url));
    const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
    const cmd = `${quote(Deno.execPath())} run --quiet --allow-env --allow-read --allow-write --allow-net ${
      quote(main)
    } get`;
    const out = await new Deno.Command("timeout", {
      args: ["20", "script", "-qec", cmd, "/dev/null"],
      env: { NO_COLOR: "1" },
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 1);
    assert.match(text, /server URL goes on stdin/);
    assert.match(text, /\| docker-credential-acr-helper get/);
  },
});

Deno.test("get: an aliyun CLI RamRoleArn profile assumes its role at DOCKER_CREDENTIAL_ACR_HELPER_STS_ENDPOINT, over the profile's own", async () => {
  const tls = await makeTestTls();
  const role = "acs:ram::1234:role/cli-role";
  const issue = { accessKeyId: "STS.clirole", accessKeySecret: "CANARY-cli-role", securityToken: "CANARY-cli-tok" };
  const local = startFakeAcr({ keys: [KEY], roles: { [role]: issue }, tls: { cert: tls.cert, key: tls.key } });
  try {
    const home = await tempHome();
    await Deno.mkdir(`${home}/.aliyun`);
    await Deno.writeTextFile(
      `${home}/.aliyun/config.json`,
      JSON.stringify({
        current: "ops",
        profiles: [{
          name: "ops",
          mode: "RamRoleArn",
          access_key_id: KEY.accessKeyId,
          access_key_secret: KEY.accessKeySecret,
          ram_role_arn: role,
          ram_session_name: "ops-session",
          sts_endpoint: "sts.never-used.invalid",
        }],
      }),
    );
    const r = await runChecked(["get"], "registry.cn-hangzhou.aliyuncs.com", {
      HOME: home,
      ...fakeStsEnv(local, tls.caFile),
    }, local.issued);
    assert.equal(r.code, 0, r.stdout);
    assert.equal(local.calls.assumeRole, 1);
    assert.deepEqual(local.signers, ["STS.clirole"]);
  } finally {
    await local.close();
  }
});
