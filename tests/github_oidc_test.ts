/**
 * GitHub Actions' OIDC identity: a local fake of GitHub's ID-token endpoint and the STS fake. A pull with no key at
 * all; the ID token asked for on every get; a job whose token STS refuses gets nothing, warm cache or not; the
 * endpoint failing (401, 500, unreachable) is one line within the time bound; the request token and the ID token
 * never appear in any output, log or cache file.
 */
import assert from "node:assert/strict";
import { fetchGithubIdToken, idTokenUrl } from "../lib/github_oidc.ts";
import { selectCredentialSource } from "../lib/auth.ts";
import { fakeStsEnv, startFakeAcr, startOidcFake } from "./fake/server.ts";
import { runChecked, tempHome } from "./util.ts";
import { fakeGithub, JOB_JWT, OTHER_JWT, PROVIDER, REQUEST_TOKEN, ROLE } from "./fake/github.ts";

const PERSONAL = "registry.cn-hangzhou.aliyuncs.com";
Deno.test("github oidc: the URL keeps its own query and gains the audience; failures are one line", async () => {
  assert.equal(
    idTokenUrl("https://x.example/idtoken?api-version=2.0", "sts.aliyuncs.com"),
    "https://x.example/idtoken?api-version=2.0&audience=sts.aliyuncs.com",
  );
  const answer = (status: number, body: string) => () => Promise.resolve(new Response(body, { status }));
  const req = { url: "https://x.example/t?api-version=2.0", requestToken: REQUEST_TOKEN, audience: "a" };
  const fail = (f: () => Promise<Response>) =>
    fetchGithubIdToken(req, { deadline: Date.now() + 2000, fetch: f as typeof fetch }).catch((e) => e.message);
  assert.equal(
    await fail(answer(403, "CANARY-body")),
    `GitHub's ID-token request failed: HTTP 403; the job needs "permissions: id-token: write"`,
  );
  assert.equal(
    await fail(answer(200, "x".repeat(70_000))),
    "GitHub's ID-token request: the answer is larger than 65536 bytes",
  );
  assert.match(await fail(answer(200, '{"value":"not-a-jwt"}')), /the answer holds no token/);
  assert.equal(
    await fetchGithubIdToken(req, {
      deadline: Date.now() + 1000,
      fetch: answer(200, `{"value":"${JOB_JWT}"}`) as typeof fetch,
    }),
    JOB_JWT,
  );
  // The chain picks it only with the role, the provider, no token file and both GitHub variables.
  const env = {
    ALIBABA_CLOUD_ROLE_ARN: ROLE,
    ALIBABA_CLOUD_OIDC_PROVIDER_ARN: PROVIDER,
    ACTIONS_ID_TOKEN_REQUEST_URL: req.url,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN,
  };
  const s = await selectCredentialSource({ env, readTextFile: () => Promise.resolve(null) });
  assert.equal(s.plan.type, "github-oidc");
  assert.ok(!s.source.identity.includes(REQUEST_TOKEN) && !s.source.description.includes(REQUEST_TOKEN));
  const withFile = await selectCredentialSource({
    env: { ...env, ALIBABA_CLOUD_OIDC_TOKEN_FILE: "/t" },
    readTextFile: () => Promise.resolve("jwt"),
  });
  assert.equal(withFile.plan.type, "oidc", "a token file is RRSA's own route");
});

Deno.test("github oidc: no key at all; a fresh ID token on every get; another job's refused token gets nothing", async () => {
  const issue = { accessKeyId: "STS.ci-push", accessKeySecret: "CANARY-ci-secret", securityToken: "CANARY-ci-token" };
  const { fake, caFile } = await startOidcFake({ roleArn: ROLE, providerArn: PROVIDER, token: JOB_JWT, issue });
  const github = fakeGithub();
  try {
    const home = await tempHome();
    const env = {
      HOME: home,
      ...fakeStsEnv(fake, caFile),
      ALIBABA_CLOUD_ECS_METADATA_DISABLED: "true",
      ALIBABA_CLOUD_ROLE_ARN: ROLE,
      ALIBABA_CLOUD_OIDC_PROVIDER_ARN: PROVIDER,
      ACTIONS_ID_TOKEN_REQUEST_URL: github.url,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN,
    };
    const first = await runChecked(["get"], PERSONAL, env, fake.issued);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.deepEqual(fake.signers, ["STS.ci-push"], "the ACR call is signed by the role's STS key");
    assert.deepEqual(github.state.audiences, ["sts.aliyuncs.com"]);
    const warm = await runChecked(["get"], PERSONAL, env, fake.issued);
    assert.equal(warm.stdout, first.stdout, "a cache hit");
    assert.equal(github.state.calls, 2, "GitHub asked on every get");
    assert.equal(fake.calls.assumeRoleWithOIDC, 1, "the second token was proven by its recorded hash");
    // The cache gone: GitHub and STS asked again.
    await Deno.remove(`${home}/.cache/docker-credential-acr-helper`, { recursive: true });
    const again = await runChecked(["get"], PERSONAL, env, fake.issued);
    assert.equal(again.code, 0, again.stdout);
    assert.equal(github.state.calls, 3);
    assert.equal(fake.calls.assumeRoleWithOIDC, 2);
    // Another repository's job on the same runner, same role named, a token STS refuses: nothing, cache warm or not.
    github.state.jwt = OTHER_JWT;
    const other = await runChecked(["get"], PERSONAL, env, fake.issued);
    assert.equal(other.code, 1);
    assert.ok(!fake.issued.some((p) => other.stdout.includes(p)), "no password for a refused job");
    assert.doesNotMatch(other.stdout, /\n./, "one line");
  } finally {
    await github.close();
    await fake.close();
  }
});

Deno.test("github oidc: the ID-token endpoint failing (401, 500, unreachable) is one line, in bounded time", async () => {
  const fake = startFakeAcr({ keys: [] });
  const github = fakeGithub();
  try {
    const base = {
      DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT: fake.url,
      DOCKER_CREDENTIAL_ACR_HELPER_TIMEOUT: "10",
      ALIBABA_CLOUD_ECS_METADATA_DISABLED: "true",
      ALIBABA_CLOUD_ROLE_ARN: ROLE,
      ALIBABA_CLOUD_OIDC_PROVIDER_ARN: PROVIDER,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN,
    };
    const cases: Array<[string, number, RegExp]> = [
      [
        github.url.replace("/_apis", "/nope/_apis"),
        401,
        /^GitHub's ID-token request failed: HTTP 401; the job needs "permissions: id-token: write"\n$/,
      ],
      [github.url, 500, /^GitHub's ID-token request failed: HTTP 500\n$/],
      [
        "http://127.0.0.1:9/idtoken?api-version=2.0",
        200,
        /^GitHub's ID-token request failed: network error \(\w+\)\n$/,
      ],
    ];
    for (const [url, status, want] of cases) {
      github.state.status = status;
      const started = Date.now();
      const r = await runChecked(["get"], PERSONAL, {
        ...base,
        HOME: await tempHome(),
        ACTIONS_ID_TOKEN_REQUEST_URL: status === 401 ? url.replace(REQUEST_TOKEN, "") : url,
        ...(status === 401 ? { ACTIONS_ID_TOKEN_REQUEST_TOKEN: "CANARY-wrong-request-token" } : {}),
      }, []);
      assert.equal(r.code, 1);
      assert.match(r.stdout, want);
      assert.ok(Date.now() - started < 12_000, "within the bound");
    }
    assert.equal(fake.calls.total, 0, "no ACR call without a token");
  } finally {
    await github.close();
    await fake.close();
  }
});
