import assert from "node:assert/strict";
import { localFileReader } from "../lib/files.ts";
import { createAcrApi } from "../lib/acr_api.ts";
import { AcrApiError } from "../lib/api_errors.ts";
import { resolveCredentials } from "../lib/providers.ts";
import { type FakeAcr, startFakeAcr } from "./fake/server.ts";

const KEY = { accessKeyId: "LTAItest", accessKeySecret: "test-secret-value" };
const STS = { accessKeyId: "STS.test", accessKeySecret: "sts-secret-value", securityToken: "sts-token-value" };
const INSTANCES = Array.from({ length: 25 }, (_, i) => ({
  instanceId: `cri-${String(i).padStart(4, "0")}`,
  instanceName: `team${i}`,
  region: "cn-hangzhou",
}));

async function withApi(
  env: Record<string, string>,
  fn: (api: ReturnType<typeof createAcrApi>, fake: FakeAcr) => Promise<void>,
  opts: { timeoutMs?: number; maxPageSize?: number } = {},
) {
  const fake = startFakeAcr({
    keys: [KEY, STS, { ...STS, accessKeyId: "STS.old", expired: true }],
    instances: INSTANCES,
    maxPageSize: opts.maxPageSize,
  });
  try {
    const { credential } = await resolveCredentials({ env, readTextFile: localFileReader(env.HOME) });
    const api = createAcrApi({
      credential,
      endpoint: { protocol: "http", host: fake.url.slice("http://".length) },
      deadline: Date.now() + (opts.timeoutMs ?? 10_000),
      backoffMs: 5,
    });
    await fn(api, fake);
  } finally {
    await fake.close();
  }
}
const AK_ENV = { ALIBABA_CLOUD_ACCESS_KEY_ID: KEY.accessKeyId, ALIBABA_CLOUD_ACCESS_KEY_SECRET: KEY.accessKeySecret };

Deno.test("api: Personal /tokens returns the temporary user and password", () =>
  withApi(AK_ENV, async (api, fake) => {
    const t = await api.personalToken("cn-hangzhou");
    assert.equal(t.username, "cr_temp_user");
    assert.equal(t.password, fake.issued[0]);
    assert.ok(t.expiresAt > Date.now());
    assert.equal(fake.calls.personalToken, 1);
  }));

Deno.test("api: wrong secret is SignatureDoesNotMatch with a request id, not retried", () =>
  withApi({ ...AK_ENV, ALIBABA_CLOUD_ACCESS_KEY_SECRET: "wrong" }, async (api, fake) => {
    const err = await api.personalToken("cn-hangzhou").catch((e) => e);
    assert.ok(err instanceof AcrApiError);
    assert.match(err.message, /SignatureDoesNotMatch \(HTTP 400\) \(request id [0-9A-F-]+\); check the access key/);
    assert.equal(fake.calls.personalToken, 1);
  }));

Deno.test("api: STS credentials sign x-acs-security-token", () =>
  withApi(
    {
      ALIBABA_CLOUD_ACCESS_KEY_ID: STS.accessKeyId,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: STS.accessKeySecret,
      ALIBABA_CLOUD_SECURITY_TOKEN: STS.securityToken,
    },
    async (api, fake) => {
      await api.instanceToken("cn-hangzhou", "cri-0001");
      assert.equal(fake.calls.rejected, 0);
    },
  ));

Deno.test("api: an expired STS token is named as such", () =>
  withApi(
    {
      ALIBABA_CLOUD_ACCESS_KEY_ID: "STS.old",
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: STS.accessKeySecret,
      ALIBABA_CLOUD_SECURITY_TOKEN: STS.securityToken,
    },
    async (api) => {
      await assert.rejects(api.personalToken("cn-hangzhou"), /InvalidSecurityToken\.Expired.*refresh it/);
    },
  ));

Deno.test("api: throttling is retried with backoff, then succeeds", () =>
  withApi(AK_ENV, async (api, fake) => {
    fake.injectFault({ type: "throttle" }, 2);
    await api.instanceToken("cn-hangzhou", "cri-0003");
    assert.equal(fake.calls.instanceToken, 3);
  }));

Deno.test("api: persistent 5xx gives up after 3 attempts", () =>
  withApi(AK_ENV, async (api, fake) => {
    fake.injectFault({ type: "5xx" }, 10);
    await assert.rejects(api.instanceToken("cn-hangzhou", "cri-0003"), /ServiceUnavailable \(HTTP 503\)/);
    assert.equal(fake.calls.instanceToken, 3);
  }));

Deno.test("api: a connection reset is retried", () =>
  withApi(AK_ENV, async (api, fake) => {
    fake.injectFault({ type: "reset" }, 1);
    await api.personalToken("cn-hangzhou");
    assert.equal(fake.calls.personalToken, 2);
  }));

Deno.test("api: HTML bodies on every attempt end in one line about a non-JSON answer", () =>
  withApi(AK_ENV, async (api, fake) => {
    fake.injectFault({ type: "html" }, 3);
    await assert.rejects(
      api.personalToken("cn-hangzhou"),
      /answered with an HTML page \(MalformedResponse; a proxy or gateway in the way\?\); gave up after 3 attempts$/,
    );
    assert.equal(fake.calls.personalToken, 3);
  }));

Deno.test("api: IsSuccess:false is an error naming the code and request id", () =>
  withApi(AK_ENV, async (api) => {
    const err = await api.instanceToken("cn-hangzhou", "cri-missing").catch((e) => e);
    assert.ok(err instanceof AcrApiError);
    assert.ok(err.instanceNotFound);
    assert.match(err.message, /INSTANCE_NOT_EXIST \(request id [0-9A-F-]+\)/);
  }));

Deno.test("api: a slow answer is bounded by the deadline", () =>
  withApi(AK_ENV, async (api, fake) => {
    fake.injectFault({ type: "delay", ms: 60_000 }, 5);
    const started = Date.now();
    await assert.rejects(api.personalToken("cn-hangzhou"), /time limit|did not answer in time/);
    // Loose on purpose (slow CI machines): it must end near the 1.5 s deadline, far from the fault's minute.
    assert.ok(Date.now() - started < 20_000);
  }, { timeoutMs: 1_500 }));

Deno.test("api: ListInstance pages until the exact name is found", () =>
  withApi(AK_ENV, async (api, fake) => {
    assert.equal((await api.findInstanceId("cn-hangzhou", "team23")).instanceId, "cri-0023");
    assert.equal(fake.calls.listInstance, 12); // 2 per page
    assert.equal((await api.findInstanceId("cn-hangzhou", "team2")).instanceId, "cri-0002");
    const none = await api.findInstanceId("cn-hangzhou", "team");
    assert.equal(none.instanceId, null);
    assert.equal(none.requestId, fake.requestIds.at(-1), "the last page's request id");
  }, { maxPageSize: 2 }));
