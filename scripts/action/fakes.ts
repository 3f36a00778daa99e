/**
 * For the action's workflow (.github/workflows/action.yml): a release of this commit served from loopback (the
 * bundle stand-in, as install.sh's tests use), and fakes of the ACR API and STS whose OIDC role accepts the job's
 * real GitHub ID token (issuer https://token.actions.githubusercontent.com, audience sts.aliyuncs.com), so the
 * action and the helper run exactly as on a user's workflow, with GitHub's own token endpoint, and nothing reaches
 * Alibaba Cloud. Writes the variables later steps need to DIR/env, then DIR/ready, and serves until killed.
 *
 * `deno run -A scripts/action/fakes.ts DIR` (after `deno task bundle`)
 *
 * @module
 */
import { release, serve } from "../../tests/fake/release.ts";
import { startFakeAcr } from "../../tests/fake/server.ts";
import { makeTestTls } from "../../tests/fake/tls.ts";

const dir = Deno.args[0];
if (!dir) throw new Error("usage: fakes.ts DIR");
await Deno.mkdir(`${dir}/web`, { recursive: true });
await release(`${dir}/web`, "0.1.0");
const web = serve(`${dir}/web`);
const tls = await makeTestTls();

/** The claims of a JWT, unverified: the fake only checks that GitHub issued it for STS. */
function claims(jwt: string): Record<string, unknown> {
  try {
    const p = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(p.padEnd(Math.ceil(p.length / 4) * 4, "=")));
  } catch {
    return {};
  }
}
const fake = startFakeAcr({
  keys: [],
  oidc: [{
    roleArn: "acs:ram::1234567890123456:role/ci-push",
    providerArn: "acs:ram::1234567890123456:oidc-provider/github",
    token: "",
    accepts: (t) => {
      const c = claims(t);
      return c.iss === "https://token.actions.githubusercontent.com" && c.aud === "sts.aliyuncs.com";
    },
    issue: { accessKeyId: "STS.ci-push", accessKeySecret: "ci-secret", securityToken: "ci-token" },
  }],
  tls: { cert: tls.cert, key: tls.key },
});
await Deno.writeTextFile(
  `${dir}/env`,
  [
    `ACR_HELPER_TEST_BASE_URL=${web.url}`,
    "ACR_HELPER_SKIP_ATTESTATION=1",
    `DENO_CERT=${tls.caFile}`,
    `DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT=${fake.url}`,
    `DOCKER_CREDENTIAL_ACR_HELPER_STS_ENDPOINT=${fake.stsHost}`,
    "ALIBABA_CLOUD_ECS_METADATA_DISABLED=true",
    "",
  ].join("\n"),
);
await Deno.writeTextFile(`${dir}/ready`, "");
await new Promise(() => {});
