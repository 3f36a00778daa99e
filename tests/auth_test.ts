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
  const s = await selectCredentialSource({ env: { ...OIDC, ...AK, HOME: "/h" }, readTextFile: files({}) });
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

Deno.test("chain: ALIBABA_CLOUD_CREDENTIALS_URI comes after the credentials files and before the CLI profile", async () => {
  const uri = "http://127.0.0.1:8080/credentials?token=CANARY-uri-token";
  const s = await selectCredentialSource({
    env: { HOME: "/h", ALIBABA_CLOUD_CREDENTIALS_URI: uri },
    readTextFile: files({ "/h/.aliyun/config.json": CLI }),
  });
  assert.equal(s.source.kind, "credentials-uri");
  assert.deepEqual(s.plan, { type: "uri", uri });
  assert.equal(s.source.description, "credentials URI http://127.0.0.1:8080/credentials");
  assert.ok(!s.source.description.includes("CANARY"), "the query is never shown");
  const file = await selectCredentialSource({
    env: { HOME: "/h", ALIBABA_CLOUD_CREDENTIALS_URI: uri },
    readTextFile: files({
      "/h/.alibabacloud/credentials": "[default]\ntype = access_key\naccess_key_id = a\naccess_key_secret = b\n",
    }),
  });
  assert.equal(file.source.kind, "credentials-file");
  await assert.rejects(
    selectCredentialSource({ env: { ALIBABA_CLOUD_CREDENTIALS_URI: "file:///etc/passwd" }, readTextFile: files({}) }),
    /ALIBABA_CLOUD_CREDENTIALS_URI is not an http\(s\) URL/,
  );
});

Deno.test("chain: a CLI profile mode that would run a process is refused", async () => {
  await assert.rejects(
    selectCredentialSource({
      env: { HOME: "/h", ALIBABA_CLOUD_PROFILE: "ext" },
      readTextFile: files({ "/h/.aliyun/config.json": CLI }),
    }),
    /mode "External" is not supported/,
  );
});

Deno.test("chain: ECS RAM role only when ALIBABA_CLOUD_ECS_METADATA is set", async () => {
  const s = await selectCredentialSource({ env: { ALIBABA_CLOUD_ECS_METADATA: "myrole" }, readTextFile: files({}) });
  assert.equal(s.source.identity, "ecs:myrole");
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

Deno.test("chain: a broken credentials file says which file and what is wrong", async () => {
  await assert.rejects(
    selectCredentialSource({
      env: { HOME: "/h" },
      readTextFile: files({ "/h/.alibabacloud/credentials": "[default]\ntype = access_key\naccess_key_id = x\n" }),
    }),
    /credentials file \/h\/\.alibabacloud\/credentials \[default\]: "access_key_secret" is missing/,
  );
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
      { name: "sso", mode: "CloudSSO", cloud_sso_account_id: "1" },
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
  const role = (await select("role")).plan;
  assert.equal(role.type, "ram-role-arn");
  assert.equal((role as { stsEndpoint?: string }).stsEndpoint, "sts-vpc.cn-beijing.aliyuncs.com");
  assert.deepEqual((await select("sso")).plan, { type: "cli", profile: "sso" });
});
