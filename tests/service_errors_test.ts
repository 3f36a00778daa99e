/**
 * Errors as the real service (and what stands in front of it) sends them:
 * statuses with empty, HTML, XML and plain-text bodies, request ids only in a
 * header, missing RAM actions, a skewed clock, throttling inside a 200, an
 * endless body, a throttled STS (issue 13, point 6).
 */
import assert from "node:assert/strict";
import { createAcrApi } from "../lib/acr_api.ts";
import { AcrApiError } from "../lib/api_errors.ts";
import { buildCredential } from "../lib/providers.ts";
import { installTransport } from "../lib/transport.ts";
import { selectCredentialSource } from "../lib/auth.ts";
import { type FakeAcr, type Fault, startFakeAcr } from "./fake/server.ts";
import { makeTestTls } from "./fake/tls.ts";
import { fakeEnv, runHelper } from "./util.ts";

installTransport({});

const KEY = { accessKeyId: "LTAIerrors", accessKeySecret: "errors-secret" };
const INSTANCES = [{ instanceId: "cri-prod0001", instanceName: "prod", region: "cn-hangzhou" }];

async function withApi(fn: (api: ReturnType<typeof createAcrApi>, fake: FakeAcr) => Promise<void>, timeoutMs = 10_000) {
  const fake = startFakeAcr({ keys: [KEY], instances: INSTANCES });
  try {
    const selection = await selectCredentialSource({
      env: { ALIBABA_CLOUD_ACCESS_KEY_ID: KEY.accessKeyId, ALIBABA_CLOUD_ACCESS_KEY_SECRET: KEY.accessKeySecret },
      readTextFile: () => Promise.resolve(null),
    });
    const api = createAcrApi({
      credential: buildCredential(selection, {}),
      endpoint: { protocol: "http", host: fake.url.slice("http://".length) },
      deadline: Date.now() + timeoutMs,
      backoffMs: 5,
    });
    await fn(api, fake);
  } finally {
    await fake.close();
  }
}

async function failure(p: Promise<unknown>): Promise<AcrApiError> {
  const err = await p.then(() => null, (e) => e);
  assert.ok(err instanceof AcrApiError, `expected an AcrApiError, got ${err}`);
  return err;
}

const raw = (status: number, body = "", contentType?: string, headers?: Record<string, string>): Fault => ({
  type: "raw",
  status,
  body,
  contentType,
  headers,
});

Deno.test("errors: a 4xx with an empty body keeps its status and the header's request id, and is not retried", () =>
  withApi(async (api, fake) => {
    fake.injectFault(raw(404, "", undefined, { "x-acs-request-id": "HDR-404-ID" }), 5);
    const err = await failure(api.personalToken("cn-hangzhou"));
    assert.equal(
      err.message,
      "GetAuthorizationToken (Personal Edition, cn-hangzhou) failed: HTTP 404 with an empty body (request id HDR-404-ID)",
    );
    assert.equal(err.status, 404);
    assert.equal(fake.calls.personalToken, 1);
  }));

Deno.test("errors: HTML, XML and plain-text bodies are named with their status; 'a proxy or gateway' only for HTML", () =>
  withApi(async (api, fake) => {
    fake.injectFault(raw(403, "<!DOCTYPE html><html><body>Forbidden by WAF</body></html>", "text/html"));
    assert.equal(
      (await failure(api.personalToken("cn-hangzhou"))).message,
      "GetAuthorizationToken (Personal Edition, cn-hangzhou) failed: HTTP 403 with an HTML page (a proxy or gateway in the way?)",
    );
    fake.injectFault(raw(409, "conflict, try later", "text/plain"));
    assert.equal(
      (await failure(api.personalToken("cn-hangzhou"))).message,
      "GetAuthorizationToken (Personal Edition, cn-hangzhou) failed: HTTP 409 with a plain-text body",
    );
    fake.injectFault(
      raw(
        400,
        '<?xml version="1.0"?><Error><RequestId>XML-ID-1</RequestId><Code>InvalidTimeStamp.Expired</Code></Error>',
        "text/xml",
      ),
    );
    assert.equal(
      (await failure(api.personalToken("cn-hangzhou"))).message,
      "GetAuthorizationToken (Personal Edition, cn-hangzhou) failed: InvalidTimeStamp.Expired (HTTP 400) " +
        "(request id XML-ID-1); the request's time is off: check this machine's clock (NTP)",
    );
    assert.equal(fake.calls.personalToken, 3, "no 4xx above was retried");
  }));

Deno.test("errors: 408, 429 and 5xx bodies that are not JSON are retried; throttling codes in JSON whatever the status", () =>
  withApi(async (api, fake) => {
    fake.injectFault(raw(503, "upstream connect error", "text/plain"), 3);
    const err = await failure(api.personalToken("cn-hangzhou"));
    assert.match(err.message, /failed: HTTP 503 with a plain-text body; gave up after 3 attempts$/);
    fake.reset();
    fake.injectFault(raw(408, ""), 1);
    fake.injectFault(raw(400, JSON.stringify({ Code: "Throttling.User", RequestId: "R-T" }), "application/json"), 1);
    const t = await api.personalToken("cn-hangzhou");
    assert.equal(t.password, fake.issued[0]);
    assert.equal(fake.calls.personalToken, 3);
  }));

Deno.test("errors: Throttling and SystemError inside an HTTP 200 IsSuccess:false are retried like their HTTP forms", () =>
  withApi(async (api, fake) => {
    fake.injectFault({ type: "isSuccessFalse", code: "Throttling.User" }, 1, "instanceToken");
    fake.injectFault({ type: "isSuccessFalse", code: "SystemError" }, 1, "instanceToken");
    const t = await api.instanceToken("cn-hangzhou", "cri-prod0001");
    assert.equal(t.password, fake.issued[0]);
    assert.equal(fake.calls.instanceToken, 3);
    fake.injectFault({ type: "isSuccessFalse", code: "INSTANCE_NOT_EXIST" }, 3, "instanceToken");
    await failure(api.instanceToken("cn-hangzhou", "cri-prod0001"));
    assert.equal(fake.calls.instanceToken, 4, "an answer that says no is not retried");
  }));

Deno.test("errors: NoPrivilege names the RAM action that is missing", () =>
  withApi(async (api, fake) => {
    const denied = raw(
      403,
      JSON.stringify({ Code: "NoPrivilege", Message: "no", RequestId: "R-403" }),
      "application/json",
    );
    fake.injectFault(denied, 1, "instanceToken");
    assert.match(
      (await failure(api.instanceToken("cn-hangzhou", "cri-prod0001"))).message,
      /failed: NoPrivilege \(HTTP 403\) \(request id R-403\); this identity lacks the RAM action cr:GetAuthorizationToken/,
    );
    fake.injectFault(denied, 1, "listInstance");
    assert.match(
      (await failure(api.findInstanceId("cn-hangzhou", "prod"))).message,
      /^ListInstance \(cn-hangzhou\) failed: NoPrivilege .*lacks the RAM action cr:ListInstance/,
    );
  }));

Deno.test("errors: a JSON error without a RequestId takes the x-acs-request-id header", () =>
  withApi(async (api, fake) => {
    fake.injectFault(
      raw(404, JSON.stringify({ code: "USER_NOT_EXIST", message: "user not exist" }), "application/json", {
        "x-acs-request-id": "HDR-USER-1",
      }),
    );
    assert.match(
      (await failure(api.personalToken("cn-hangzhou"))).message,
      /failed: USER_NOT_EXIST \(HTTP 404\) \(request id HDR-USER-1\); the RAM user has not used ACR yet/,
    );
  }));

Deno.test("errors: an endless body ends in 'too large' within the deadline, without growing the process", () =>
  withApi(async (api, fake) => {
    fake.injectFault({ type: "endless" }, 5);
    const before = Deno.memoryUsage().rss;
    const started = Date.now();
    const err = await failure(api.personalToken("cn-hangzhou"));
    assert.match(err.message, /the answer is too large \(over 1 MiB, HTTP 200\); not read further$/);
    assert.ok(Date.now() - started < 10_000);
    assert.ok(Deno.memoryUsage().rss - before < 200 * 1024 * 1024, "memory grew with the body");
    assert.equal(fake.calls.personalToken, 1, "not retried");
  }));

Deno.test("errors: a per-pod STS exchange that is throttled is retried (never memoised as failed)", async () => {
  const tls = await makeTestTls();
  const role = {
    roleArn: "acs:ram::1234:role/team-a",
    providerArn: "acs:ram::1234:oidc-provider/ack",
    token: "pod-token-a",
    issue: { accessKeyId: "STS.team-a", accessKeySecret: "CANARY-a-secret", securityToken: "CANARY-a-token" },
  };
  const fake = startFakeAcr({ keys: [KEY], oidc: role, tls: { cert: tls.cert, key: tls.key } });
  try {
    fake.injectFault({ type: "throttle" }, 1, "assumeRoleWithOIDC");
    fake.injectFault({ type: "5xx" }, 1, "assumeRoleWithOIDC");
    const env = await fakeEnv(fake.url, KEY, {
      DENO_CERT: tls.caFile,
      DOCKER_CREDENTIAL_ACR_HELPER_STS_ENDPOINT: fake.stsHost!,
      ALIBABA_CLOUD_OIDC_PROVIDER_ARN: role.providerArn,
    });
    const r = await runHelper(
      ["kubelet-credential-provider"],
      JSON.stringify({
        apiVersion: "credentialprovider.kubelet.k8s.io/v1",
        kind: "CredentialProviderRequest",
        image: "registry.cn-hangzhou.aliyuncs.com/a/b:1",
        serviceAccountToken: role.token,
        serviceAccountAnnotations: { "docker-credential-acr-helper/role-arn": role.roleArn },
      }),
      env,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fake.calls.assumeRoleWithOIDC, 3);
    assert.deepEqual(fake.signers, ["STS.team-a"]);
  } finally {
    await fake.close();
  }
});
