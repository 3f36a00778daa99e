import assert from "node:assert/strict";
import { ConfigError, envSettings, loadConfig, parseConfig, parseEndpoint } from "../lib/config.ts";
import { configPath } from "../lib/platform.ts";

Deno.test("config path: env var, then XDG_CONFIG_HOME, then ~/.config", () => {
  assert.deepEqual(configPath({ DOCKER_CREDENTIAL_ACR_HELPER_CONFIG: "/etc/acr.json", HOME: "/h" }), {
    path: "/etc/acr.json",
    explicit: true,
  });
  assert.equal(configPath({ XDG_CONFIG_HOME: "/x", HOME: "/h" }).path, "/x/docker-credential-acr-helper/config.json");
  assert.equal(configPath({ HOME: "/h" }).path, "/h/.config/docker-credential-acr-helper/config.json");
  assert.equal(configPath({}).path, null);
});

Deno.test("config: custom domains are keyed by normalised host", () => {
  const c = parseConfig(
    JSON.stringify({
      registries: { "https://Images.Example.com:443/": { instanceId: "cri-abc123", region: "cn-hangzhou" } },
    }),
    "c.json",
  );
  assert.deepEqual(c.registries.get("images.example.com"), {
    apiEndpoint: undefined,
    instanceId: "cri-abc123",
    region: "cn-hangzhou",
    tokenApi: undefined,
    profile: undefined,
    roleArn: undefined,
  });
});

Deno.test("config: per-registry profile and roleArn are checked", () => {
  const c = parseConfig(
    JSON.stringify({
      registries: { "registry.cn-hangzhou.aliyuncs.com": { profile: "prod", roleArn: "acs:ram::123:role/pull" } },
    }),
    "c.json",
  );
  assert.equal(c.registries.get("registry.cn-hangzhou.aliyuncs.com")?.profile, "prod");
  assert.equal(c.registries.get("registry.cn-hangzhou.aliyuncs.com")?.roleArn, "acs:ram::123:role/pull");
  assert.throws(
    () => parseConfig(JSON.stringify({ registries: { "a.example.com": { roleArn: "role/pull" } } }), "c.json"),
    /roleArn must be a role ARN/,
  );
  assert.throws(
    () => parseConfig(JSON.stringify({ registries: { "a.example.com": { profile: "" } } }), "c.json"),
    /profile must be a profile name/,
  );
});

const BAD: Array<[string, RegExp]> = [
  ["{", /config file c\.json: not valid JSON/],
  ["[]", /must be a JSON object/],
  ['{"registrys":{}}', /unknown key "registrys"/],
  ['{"registries":[]}', /"registries" must be an object/],
  ['{"registries":{"user@x.com":{}}}', /is not a registry host/],
  ['{"registries":{"x.com":{"instanceID":"cri-a"}}}', /unknown key "instanceID"/],
  ['{"registries":{"x.com":{"instanceId":"bad id!"}}}', /instanceId must be/],
  ['{"registries":{"x.com":{"region":"hangzhou"}}}', /region must be a region id/],
  ['{"registries":{"x.com":{"tokenApi":"v3"}}}', /tokenApi must be/],
];
for (const [text, re] of BAD) {
  Deno.test(`config: rejects ${text} with one line naming the file`, () => {
    assert.throws(
      () => parseConfig(text, "c.json"),
      (e: unknown) => e instanceof ConfigError && re.test(e.message) && !e.message.includes("\n"),
    );
  });
}

Deno.test("config: a missing default file is empty; a missing named file is an error", async () => {
  const notFound = () => Promise.resolve(null);
  assert.equal((await loadConfig({ env: { HOME: "/h" }, readTextFile: notFound })).registries.size, 0);
  await assert.rejects(
    loadConfig({ env: { DOCKER_CREDENTIAL_ACR_HELPER_CONFIG: "/nope.json" }, readTextFile: notFound }),
    /config file \/nope\.json \(DOCKER_CREDENTIAL_ACR_HELPER_CONFIG\) does not exist/,
  );
});

Deno.test("env: endpoint override accepts host:port and http(s) URLs", () => {
  assert.deepEqual(parseEndpoint("127.0.0.1:8080", "X"), { protocol: "https", host: "127.0.0.1:8080" });
  assert.deepEqual(parseEndpoint("http://127.0.0.1:8080/", "X"), { protocol: "http", host: "127.0.0.1:8080" });
  assert.deepEqual(parseEndpoint("cr.cn-hangzhou.aliyuncs.com", "X"), {
    protocol: "https",
    host: "cr.cn-hangzhou.aliyuncs.com",
  });
  assert.throws(() => parseEndpoint("ftp://x", "X"), ConfigError);
  assert.throws(() => parseEndpoint("http://x:99999", "X"), ConfigError);
});

Deno.test("env: instance id needs a region, and both are validated", () => {
  // Without REGION the region comes from the host (lib/target.ts), as in the reference helper.
  assert.equal(envSettings({ DOCKER_CREDENTIAL_ACR_HELPER_INSTANCE_ID: "cri-abc" }).region, undefined);
  assert.throws(() => envSettings({ DOCKER_CREDENTIAL_ACR_HELPER_REGION: "nowhere" }), /not a region id/);
  const s = envSettings({
    DOCKER_CREDENTIAL_ACR_HELPER_INSTANCE_ID: "cri-abc",
    DOCKER_CREDENTIAL_ACR_HELPER_REGION: "cn-beijing",
  });
  assert.equal(s.instanceId, "cri-abc");
  assert.equal(s.timeoutMs, 30_000);
  assert.equal(envSettings({ DOCKER_CREDENTIAL_ACR_HELPER_TIMEOUT: "2.5" }).timeoutMs, 2500);
  assert.throws(() => envSettings({ DOCKER_CREDENTIAL_ACR_HELPER_TIMEOUT: "forever" }), /TIMEOUT/);
  assert.throws(() => envSettings({ DOCKER_CREDENTIAL_ACR_HELPER_STS_ENDPOINT: "http://sts" }), /must use https/);
});
