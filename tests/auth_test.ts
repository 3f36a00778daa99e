import assert from "node:assert/strict";
import { NoCredentialsError, selectCredentialSource } from "../lib/auth.ts";

function files(map: Record<string, string>) {
  return (path: string) => Promise.resolve(path in map ? map[path] : null);
}
const AK = { ALIBABA_CLOUD_ACCESS_KEY_ID: "LTAIenv", ALIBABA_CLOUD_ACCESS_KEY_SECRET: "envsecret" };
const OIDC = {
  ALIBABA_CLOUD_ROLE_ARN: "acs:ram::1:role/r",
  ALIBABA_CLOUD_OIDC_PROVIDER_ARN: "acs:ram::1:oidc-provider/p",
  ALIBABA_CLOUD_OIDC_TOKEN_FILE: "/var/run/token",
};
const INI = "[default]\ntype = access_key\naccess_key_id = LTAIfile\naccess_key_secret = filesecret\n\n" +
  "[other]\ntype = ram_role_arn\naccess_key_id = LTAIother\naccess_key_secret = x\nrole_arn = acs:ram::1:role/other\n";
const CLI = JSON.stringify({
  current: "main",
  profiles: [
    { name: "main", mode: "AK", access_key_id: "LTAIcli", access_key_secret: "clisecret" },
    { name: "ext", mode: "External", process_command: "whoami" },
  ],
});

Deno.test("chain: RRSA OIDC comes first when all three variables are set", async () => {
  const s = await selectCredentialSource({
    env: { ...OIDC, ...AK, HOME: "/h" },
    readTextFile: files({ "/var/run/token": "jwt" }),
  });
  assert.equal(s.source.kind, "oidc");
  assert.equal(s.source.identity, "oidc:acs:ram::1:role/r|acs:ram::1:oidc-provider/p");
});

Deno.test("chain: incomplete OIDC is skipped for the env access key", async () => {
  const s = await selectCredentialSource({ env: { ALIBABA_CLOUD_ROLE_ARN: "r", ...AK }, readTextFile: files({}) });
  assert.equal(s.source.kind, "env");
  assert.deepEqual(s.plan, {
    type: "static",
    accessKeyId: "LTAIenv",
    accessKeySecret: "envsecret",
    securityToken: undefined,
  });
});

Deno.test("chain: the env security token is used with the env access key", async () => {
  const s = await selectCredentialSource({
    env: { ...AK, ALIBABA_CLOUD_SECURITY_TOKEN: "sts" },
    readTextFile: files({}),
  });
  assert.equal(s.plan.type === "static" && s.plan.securityToken, "sts");
});

Deno.test("chain: ALIBABA_CLOUD_CREDENTIALS_FILE before ~/.alibabacloud/credentials", async () => {
  const read = files({ "/named.ini": INI, "/h/.alibabacloud/credentials": INI.replace("LTAIfile", "LTAIhome") });
  const s = await selectCredentialSource({
    env: { ALIBABA_CLOUD_CREDENTIALS_FILE: "/named.ini", HOME: "/h" },
    readTextFile: read,
  });
  assert.equal(s.source.identity, "file:/named.ini#default#ak:LTAIfile");
  const home = await selectCredentialSource({ env: { HOME: "/h" }, readTextFile: read });
  assert.equal(home.source.identity, "file:/h/.alibabacloud/credentials#default#ak:LTAIhome");
});

Deno.test("chain: ALIBABA_CLOUD_PROFILE picks the profile, and role profiles assume the role", async () => {
  const s = await selectCredentialSource({
    env: { ALIBABA_CLOUD_PROFILE: "other", HOME: "/h" },
    readTextFile: files({ "/h/.alibabacloud/credentials": INI }),
  });
  assert.equal(s.plan.type, "ram-role-arn");
  assert.match(s.source.identity, /role:acs:ram::1:role\/other/);
});

Deno.test("chain: the aliyun CLI profile comes after the credentials files", async () => {
  const s = await selectCredentialSource({
    env: { HOME: "/h" },
    readTextFile: files({ "/h/.aliyun/config.json": CLI }),
  });
  assert.equal(s.source.kind, "cli-profile");
  assert.equal(s.source.identity, "cli:/h/.aliyun/config.json#main#AK#LTAIcli");
});

Deno.test("chain: ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true skips the aliyun CLI profile, as the SDK does", async () => {
  const err = await selectCredentialSource({
    env: { HOME: "/h", ALIBABA_CLOUD_CLI_PROFILE_DISABLED: "TRUE" },
    readTextFile: files({ "/h/.aliyun/config.json": CLI }),
  }).catch((e) => e);
  assert.ok(err instanceof NoCredentialsError, String(err));
  assert.match(err.message, /aliyun CLI profile \(ALIBABA_CLOUD_CLI_PROFILE_DISABLED\)/);
  const on = await selectCredentialSource({
    env: { HOME: "/h", ALIBABA_CLOUD_CLI_PROFILE_DISABLED: "false" },
    readTextFile: files({ "/h/.aliyun/config.json": CLI }),
  });
  assert.equal(on.source.kind, "cli-profile");
});

Deno.test("chain: ALIBABA_CLOUD_CREDENTIALS_URI comes last, after the CLI profile and the credentials files", async () => {
  const uri = "http://127.0.0.1:8080/credentials?token=CANARY-uri-token";
  const s = await selectCredentialSource({
    env: { HOME: "/h", ALIBABA_CLOUD_CREDENTIALS_URI: uri },
    readTextFile: files({}),
  });
  assert.equal(s.source.kind, "credentials-uri");
  assert.deepEqual(s.plan, { type: "uri", uri });
  assert.equal(s.source.description, "credentials URI http://127.0.0.1:8080/credentials");
  assert.ok(!s.source.description.includes("CANARY"), "the query is never shown");
  const cli = await selectCredentialSource({
    env: { HOME: "/h", ALIBABA_CLOUD_CREDENTIALS_URI: uri },
    readTextFile: files({ "/h/.aliyun/config.json": CLI }),
  });
  assert.equal(cli.source.kind, "cli-profile");
  const file = await selectCredentialSource({
    env: { HOME: "/h", ALIBABA_CLOUD_CREDENTIALS_URI: uri },
    readTextFile: files({
      "/h/.alibabacloud/credentials": "[default]\ntype = access_key\naccess_key_id = a\naccess_key_secret = b\n",
    }),
  });
  assert.equal(file.source.kind, "credentials-file");
  const err = await selectCredentialSource({
    env: { ALIBABA_CLOUD_CREDENTIALS_URI: "file:///etc/passwd" },
    readTextFile: files({}),
  }).catch((e) => e);
  assert.ok(err instanceof NoCredentialsError);
  assert.match(err.message, /ALIBABA_CLOUD_CREDENTIALS_URI \(not an http\(s\) URL\)/);
});

Deno.test("chain: an External CLI profile becomes a plan that runs its process_command (on a miss only)", async () => {
  const s = await selectCredentialSource({
    env: { HOME: "/h", ALIBABA_CLOUD_PROFILE: "ext" },
    readTextFile: files({ "/h/.aliyun/config.json": CLI }),
  });
  assert.deepEqual(s.plan, { type: "external", profile: "ext", command: "whoami", file: "/h/.aliyun/config.json" });
  assert.equal(s.source.identity, "cli:/h/.aliyun/config.json#ext#External#whoami");
});

Deno.test("chain: ECS RAM role only when ALIBABA_CLOUD_ECS_METADATA is set (without discovery), and never when disabled", async () => {
  const s = await selectCredentialSource({ env: { ALIBABA_CLOUD_ECS_METADATA: "myrole" }, readTextFile: files({}) });
  assert.equal(s.source.identity, "ecs:myrole");
  const none = (env: Record<string, string>) =>
    selectCredentialSource({ env, readTextFile: files({}) }).then(() => null, (e) => e);
  const unset = await none({});
  assert.ok(unset instanceof NoCredentialsError);
  assert.match(unset.message, /ECS RAM role \(ALIBABA_CLOUD_ECS_METADATA not set\)/);
  const off = await none({ ALIBABA_CLOUD_ECS_METADATA: "myrole", ALIBABA_CLOUD_ECS_METADATA_DISABLED: "TRUE" });
  assert.ok(off instanceof NoCredentialsError);
  assert.match(off.message, /ECS RAM role myrole \(ALIBABA_CLOUD_ECS_METADATA_DISABLED\)/);
});

Deno.test("chain: nothing configured lists everything tried, and no secret", async () => {
  const err = await selectCredentialSource({
    env: { HOME: "/h", ALIBABA_CLOUD_ACCESS_KEY_SECRET: "leak" },
    readTextFile: files({}),
  })
    .catch((e) => e);
  assert.ok(err instanceof NoCredentialsError);
  assert.match(err.message, /^no Alibaba Cloud credentials found \(tried: RRSA OIDC/);
  assert.match(err.message, /ALIBABA_CLOUD_ACCESS_KEY_ID not set/);
  assert.match(err.message, /\/h\/\.alibabacloud\/credentials \(not found\)/);
  assert.match(err.message, /\/h\/\.aliyun\/config\.json \(not found\)/);
  assert.match(err.message, /ALIBABA_CLOUD_ECS_METADATA not set/);
  assert.ok(!err.message.includes("leak"));
  assert.ok(!err.message.includes("\n"));
});

Deno.test("chain: a broken credentials file is skipped, named with what is wrong, and the chain goes on", async () => {
  const read = files({ "/h/.alibabacloud/credentials": "[default]\ntype = access_key\naccess_key_id = x\n" });
  const err = await selectCredentialSource({ env: { HOME: "/h" }, readTextFile: read }).catch((e) => e);
  assert.ok(err instanceof NoCredentialsError);
  assert.match(
    err.message,
    /credentials file \/h\/\.alibabacloud\/credentials \[default\] \(type access_key: "access_key_secret" is missing\)/,
  );
  assert.equal(err.skipped.length, 1);
  const next = await selectCredentialSource({
    env: { HOME: "/h", ALIBABA_CLOUD_ECS_METADATA: "node-role" },
    readTextFile: read,
  });
  assert.equal(next.source.kind, "ecs-ram-role");
  assert.deepEqual(next.skipped?.map((x) => x.reason), ['type access_key: "access_key_secret" is missing']);
});

Deno.test("chain: aliyun CLI profiles that call STS become plans the helper builds (its STS rules apply)", async () => {
  const conf = JSON.stringify({
    current: "chain",
    profiles: [
      { name: "base", mode: "AK", access_key_id: "LTAIbase", access_key_secret: "s" },
      {
        name: "role",
        mode: "RamRoleArn",
        access_key_id: "LTAIrole",
        access_key_secret: "s",
        ram_role_arn: "acs:ram::1:role/r",
        sts_region: "cn-beijing",
        enable_vpc: true,
      },
      { name: "chain", mode: "ChainableRamRoleArn", source_profile: "base", ram_role_arn: "acs:ram::1:role/c" },
      {
        name: "sso",
        mode: "CloudSSO",
        cloud_sso_account_id: "1",
        cloud_sso_sign_in_url: "https://signin",
        cloud_sso_access_config: "ac",
        access_token: "t",
        cloud_sso_access_token_expire: 4102444800,
      },
    ],
  });
  const select = (profile?: string) =>
    selectCredentialSource({
      env: { HOME: "/h", ...(profile ? { ALIBABA_CLOUD_PROFILE: profile } : {}) },
      readTextFile: files({ "/h/.aliyun/config.json": conf }),
    });
  assert.deepEqual((await select()).plan, {
    type: "assume-role",
    base: { type: "static", accessKeyId: "LTAIbase", accessKeySecret: "s" },
    roleArn: "acs:ram::1:role/c",
    sessionName: undefined,
    stsEndpoint: undefined,
  });
  const expired = conf.replace("4102444800", "1000");
  const sso = await selectCredentialSource({
    env: { HOME: "/h", ALIBABA_CLOUD_PROFILE: "sso" },
    readTextFile: files({ "/h/.aliyun/config.json": expired }),
  }).catch((e) => e);
  assert.match(sso.message, /the CloudSSO sign-in has expired/);
  const role = (await select("role")).plan;
  assert.equal(role.type, "ram-role-arn");
  assert.equal((role as { stsEndpoint?: string }).stsEndpoint, "sts-vpc.cn-beijing.aliyuncs.com");
  assert.deepEqual((await select("sso")).plan, { type: "cli", profile: "sso" });
});

Deno.test("chain: ALIBABA_CLOUD_ECS_METADATA_DISABLED=true turns off every ECS path (env role, file, CLI, discovery)", async () => {
  let asked = 0;
  const discoverEcsRole = () => (asked++, Promise.resolve("node-role"));
  const files_ = files({
    "/h/.alibabacloud/credentials": "[default]\ntype = ecs_ram_role\nrole_name = node-role\n",
    "/h/.aliyun/config.json": JSON.stringify({ profiles: [{ name: "default", mode: "EcsRamRole" }] }),
  });
  const env = { HOME: "/h", ALIBABA_CLOUD_ECS_METADATA: "node-role" };
  const on = await selectCredentialSource({ env, readTextFile: files_, discoverEcsRole });
  assert.equal(on.source.kind, "cli-profile", "the CLI's EcsRamRole profile comes first");
  const err = await selectCredentialSource({
    env: { ...env, ALIBABA_CLOUD_ECS_METADATA_DISABLED: "true" },
    readTextFile: files_,
    discoverEcsRole,
  }).catch((e) => e);
  assert.ok(err instanceof NoCredentialsError, String(err));
  assert.deepEqual(err.skipped.map((s: { reason: string }) => s.reason), [
    "ALIBABA_CLOUD_ECS_METADATA_DISABLED=true turns ECS RAM roles off",
    "ALIBABA_CLOUD_ECS_METADATA_DISABLED=true turns ECS RAM roles off",
  ]);
  assert.match(err.message, /ECS RAM role node-role \(ALIBABA_CLOUD_ECS_METADATA_DISABLED\)/);
  assert.equal(asked, 1, "discovery ran only while ECS was on");
});

Deno.test("chain: a named ECS role must be the instance's; off ECS it is skipped for the next source", async () => {
  const uri = { ALIBABA_CLOUD_CREDENTIALS_URI: "http://127.0.0.1:1/c" };
  const pick = (attached: string | null) =>
    selectCredentialSource({
      env: { HOME: "/h", ALIBABA_CLOUD_ECS_METADATA: "node-role", ...uri },
      readTextFile: files({}),
      discoverEcsRole: () => Promise.resolve(attached),
    });
  assert.equal((await pick("node-role")).source.identity, "ecs:node-role");
  const other = await pick("other-role");
  assert.equal(other.source.kind, "credentials-uri");
  assert.match(other.skipped![0].reason, /role node-role is not the one attached to this instance \(other-role is\)/);
  const off = await pick(null);
  assert.equal(off.source.kind, "credentials-uri");
  assert.match(off.skipped![0].reason, /not on ECS/);
});

Deno.test("chain R2: a named credentials file that is missing or lacks the profile falls back to the default file, with a warning", async () => {
  const home = "[default]\ntype = access_key\naccess_key_id = LTAIhome\naccess_key_secret = s\n";
  for (
    const named of [{} as Record<string, string>, {
      "/named.ini": "[other]\ntype = access_key\naccess_key_id = x\naccess_key_secret = y\n",
    }]
  ) {
    const s = await selectCredentialSource({
      env: { HOME: "/h", ALIBABA_CLOUD_CREDENTIALS_FILE: "/named.ini" },
      readTextFile: files({ ...named, "/h/.alibabacloud/credentials": home }),
    });
    assert.equal(s.source.identity, "file:/h/.alibabacloud/credentials#default#ak:LTAIhome");
    assert.equal(s.skipped?.length, 1);
    assert.equal(s.skipped![0].source, "ALIBABA_CLOUD_CREDENTIALS_FILE /named.ini");
  }
  // A named file whose profile is unusable is not bypassed: the SDK skips the whole step.
  const bad = await selectCredentialSource({
    env: { HOME: "/h", ALIBABA_CLOUD_CREDENTIALS_FILE: "/named.ini", ALIBABA_CLOUD_ECS_METADATA: "r" },
    readTextFile: files({ "/named.ini": "[default]\ntype = nope\n", "/h/.alibabacloud/credentials": home }),
  });
  assert.equal(bad.source.kind, "ecs-ram-role");
});

Deno.test("chain R5 and R4: no `current` means the profile `default`; blank env values are unset, padded ones trimmed", async () => {
  const conf = JSON.stringify({
    profiles: [{ name: "default", mode: "AK", access_key_id: "LTAIcli", access_key_secret: "s" }],
  });
  const s = await selectCredentialSource({
    env: { HOME: "/h", ALIBABA_CLOUD_ACCESS_KEY_ID: "  ", ALIBABA_CLOUD_ACCESS_KEY_SECRET: " x " },
    readTextFile: files({ "/h/.aliyun/config.json": conf }),
  });
  assert.equal(s.source.identity, "cli:/h/.aliyun/config.json#default#AK#LTAIcli");
  const padded = await selectCredentialSource({
    env: { ALIBABA_CLOUD_ACCESS_KEY_ID: " LTAIpad ", ALIBABA_CLOUD_ACCESS_KEY_SECRET: "s\t" },
    readTextFile: files({}),
  });
  assert.deepEqual(padded.plan, {
    type: "static",
    accessKeyId: "LTAIpad",
    accessKeySecret: "s",
    securityToken: undefined,
  });
});

Deno.test("chain: an unusable CLI profile falls through to the credentials file, as in the SDK", async () => {
  for (
    const profile of [
      { mode: "RsaKeyPair" },
      { mode: "OIDC", ram_role_arn: "r", oidc_provider_arn: "p", oidc_token_file: "/no/token" },
      { mode: "CloudSSO", cloud_sso_account_id: "1" },
      { mode: "OAuth", oauth_site_type: "CN" },
      { mode: "ChainableRamRoleArn", source_profile: "default", ram_role_arn: "r" },
      { mode: "RamRoleArn", access_key_id: "a", access_key_secret: "b", ram_role_arn: "r", expired_seconds: 600 },
    ]
  ) {
    const s = await selectCredentialSource({
      env: { HOME: "/h" },
      readTextFile: files({
        "/h/.aliyun/config.json": JSON.stringify({ current: "default", profiles: [{ name: "default", ...profile }] }),
        "/h/.alibabacloud/credentials": INI,
      }),
    });
    assert.equal(s.source.kind, "credentials-file", profile.mode);
    assert.equal(s.skipped?.length, 1, profile.mode);
    assert.match(s.skipped![0].source, /^aliyun CLI profile "default"/);
  }
});
