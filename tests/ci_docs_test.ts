/**
 * docs/ci.md's GitLab example, run as written: its `ci/acr-login.sh` block in a job-like environment (the ID
 * token in ALIBABA_CLOUD_ID_TOKEN, as `id_tokens:` gives it), then a `get` through the installed bundle with no key.
 */
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { fakeStsEnv, startOidcFake } from "./fake/server.ts";
import { exec, needs, tempHome } from "./util.ts";

const root = fileURLToPath(new URL("../", import.meta.url));
const NAME = "docker-credential-acr-helper";
const PERSONAL = "registry.cn-hangzhou.aliyuncs.com";
const ROLE = "acs:ram::1234567890123456:role/gitlab-push";
const PROVIDER = "acs:ram::1234567890123456:oidc-provider/gitlab";
const JWT = "eyJhbGciOiJSUzI1NiJ9.oidc-jwt-canary-gitlab.c2ln";

Deno.test({
  ...needs("docs/ci.md: the GitLab token-file script, run as written, lets a get through with no key", {
    os: "posix",
  }),
  fn: async () => {
    const doc = await Deno.readTextFile(`${root}docs/ci.md`);
    const script = /```sh\n(# ci\/acr-login\.sh[\s\S]*?)```/.exec(doc)?.[1];
    assert.ok(script, "docs/ci.md has the ci/acr-login.sh block");
    const built = await new Deno.Command(Deno.execPath(), { args: ["task", "--quiet", "bundle"], cwd: root }).output();
    assert.ok(built.success);
    const bin = await tempHome();
    for (const f of [NAME, `${NAME}.js`, `${NAME}.sdk.js`]) await Deno.copyFile(`${root}dist/${f}`, `${bin}/${f}`);
    await Deno.chmod(`${bin}/${NAME}`, 0o755);
    const issue = { accessKeyId: "STS.gitlab", accessKeySecret: "CANARY-gl-secret", securityToken: "CANARY-gl-token" };
    const { fake, caFile } = await startOidcFake({ roleArn: ROLE, providerArn: PROVIDER, token: JWT, issue });
    try {
      const home = await tempHome();
      const builds = await tempHome();
      const job = {
        PATH: `${bin}:${Deno.execPath().replace(/\/[^/]+$/, "")}:/usr/bin:/bin`,
        HOME: home,
        CI_BUILDS_DIR: builds,
        CI_ENV_FILE: `${builds}/env`,
        ALIBABA_CLOUD_ID_TOKEN: JWT,
        ALIBABA_CLOUD_ROLE_ARN: ROLE,
        ALIBABA_CLOUD_OIDC_PROVIDER_ARN: PROVIDER,
        ALIBABA_CLOUD_ECS_METADATA_DISABLED: "true",
        ...fakeStsEnv(fake, caFile),
      };
      // The job's shell: the script, then what `docker push` makes docker do.
      const r = await exec(["sh", "-c", `${script}\nprintf ${PERSONAL} | ${NAME} get`], { env: job, clearEnv: true });
      assert.equal(r.code, 0, r.out + r.err);
      const out = r.out.split("\n").filter((l) => l.startsWith("{"));
      assert.equal(JSON.parse(out[0]).Secret, fake.issued[0]);
      assert.deepEqual(fake.signers, ["STS.gitlab"]);
      assert.equal((await Deno.stat(`${builds}/.alibaba-cloud-oidc-token`)).mode! & 0o777, 0o600);
      assert.match(
        await Deno.readTextFile(`${home}/.docker/config.json`),
        /"registry\.cn-hangzhou\.aliyuncs\.com": "acr-helper"/,
      );
    } finally {
      await fake.close();
    }
  },
});
