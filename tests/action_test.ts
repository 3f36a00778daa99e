/**
 * The GitHub Action (action.yml -> scripts/action/setup.sh) run as a runner runs its step: a release served from
 * loopback (the bundle stand-in), GitHub's ID-token endpoint and STS faked. It installs with install.sh's checks,
 * adds the helper to GITHUB_PATH, configures docker, exports only the two ARNs; a later step's `get` then works
 * with no key at all. Without `id-token: write` it says so in one line.
 */
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { release, serve } from "./fake/release.ts";
import { fakeStsEnv, startOidcFake } from "./fake/server.ts";
import { exec, needs, tempHome } from "./util.ts";
import { fakeGithub, JOB_JWT, PROVIDER, REQUEST_TOKEN, ROLE } from "./fake/github.ts";

const root = fileURLToPath(new URL("../", import.meta.url));
const NAME = "docker-credential-acr-helper";
const PERSONAL = "registry.cn-hangzhou.aliyuncs.com";

Deno.test({
  ...needs("action: installs, configures docker, exports only the ARNs; a later step pulls with no key", {
    os: "linux",
    tools: ["sha256sum"],
  }),
  fn: async () => {
    // The action's inputs and its one step, as GitHub reads action.yml (actionlint checks the workflow using it).
    const yaml = await Deno.readTextFile(`${root}action.yml`);
    const required = [...yaml.matchAll(/^ {2}([a-z-]+):\n(?: {4}.*\n)*? {4}required: true$/gm)].map((m) => m[1]);
    assert.deepEqual(required, ["role-arn", "oidc-provider-arn", "registries"]);
    assert.match(yaml, /^ {6}run: sh "\$GITHUB_ACTION_PATH\/scripts\/action\/setup\.sh"$/m);
    assert.match(yaml, /^ {2}using: composite$/m);

    const built = await new Deno.Command(Deno.execPath(), { args: ["task", "--quiet", "bundle"], cwd: root }).output();
    assert.ok(built.success);
    const web = await Deno.makeTempDir();
    await release(web, "0.1.0");
    const http = serve(web);
    const issue = { accessKeyId: "STS.ci", accessKeySecret: "CANARY-ci-secret", securityToken: "CANARY-ci-token" };
    const { fake, caFile } = await startOidcFake({ roleArn: ROLE, providerArn: PROVIDER, token: JOB_JWT, issue });
    const github = fakeGithub();
    try {
      const home = await tempHome();
      const runnerTemp = await tempHome();
      const githubEnv = `${runnerTemp}/env`;
      const githubPath = `${runnerTemp}/path`;
      const step = {
        PATH: `${Deno.execPath().replace(/\/[^/]+$/, "")}:/usr/bin:/bin`,
        HOME: home,
        RUNNER_TEMP: runnerTemp,
        GITHUB_ENV: githubEnv,
        GITHUB_PATH: githubPath,
        ACTIONS_ID_TOKEN_REQUEST_URL: github.url,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN,
        ACR_HELPER_SKIP_ATTESTATION: "1",
        INPUT_ROLE_ARN: ROLE,
        INPUT_OIDC_PROVIDER_ARN: PROVIDER,
        INPUT_REGISTRIES: `${PERSONAL}\nacme-registry.cn-hangzhou.cr.aliyuncs.com`,
        INPUT_VERSION: "latest",
        INPUT_BASE_URL: http.url,
        INPUT_AUDIENCE: "",
      };
      const r = await exec(["sh", `${root}scripts/action/setup.sh`], { env: step, clearEnv: true });
      assert.equal(r.code, 0, r.out + r.err);
      assert.equal(
        await Deno.readTextFile(githubEnv),
        `ALIBABA_CLOUD_ROLE_ARN=${ROLE}\nALIBABA_CLOUD_OIDC_PROVIDER_ARN=${PROVIDER}\n`,
        "only the ARNs: no secret",
      );
      const bin = (await Deno.readTextFile(githubPath)).trim();
      assert.equal(bin, `${runnerTemp}/${NAME}/bin`);
      const docker = JSON.parse(await Deno.readTextFile(`${home}/.docker/config.json`));
      assert.deepEqual(Object.keys(docker.credHelpers), [PERSONAL, "acme-registry.cn-hangzhou.cr.aliyuncs.com"]);
      assert.ok(!(r.out + r.err).includes(REQUEST_TOKEN));

      // A later step: the runner's env plus what the action exported; no access key anywhere.
      const later = {
        PATH: `${bin}:${step.PATH}`,
        HOME: home,
        ACTIONS_ID_TOKEN_REQUEST_URL: step.ACTIONS_ID_TOKEN_REQUEST_URL,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN,
        ALIBABA_CLOUD_ROLE_ARN: ROLE,
        ALIBABA_CLOUD_OIDC_PROVIDER_ARN: PROVIDER,
        ALIBABA_CLOUD_ECS_METADATA_DISABLED: "true",
        ...fakeStsEnv(fake, caFile),
      };
      const get = await exec([NAME, "get"], { env: later, clearEnv: true, stdin: PERSONAL });
      assert.equal(get.code, 0, get.out + get.err);
      assert.equal(JSON.parse(get.out).Secret, fake.issued[0]);
      assert.deepEqual(fake.signers, ["STS.ci"]);

      // A job without id-token: write has no request variables: one line, before anything is installed.
      const denied = await exec(["sh", `${root}scripts/action/setup.sh`], {
        env: { ...step, ACTIONS_ID_TOKEN_REQUEST_URL: "", ACTIONS_ID_TOKEN_REQUEST_TOKEN: "" },
        clearEnv: true,
      });
      assert.equal(denied.code, 1);
      assert.equal(
        denied.err,
        `::error::${NAME} action: this job cannot ask for an ID token: give it "permissions: id-token: write"\n`,
      );
    } finally {
      await github.close();
      await fake.close();
      await http.close();
    }
  },
});
