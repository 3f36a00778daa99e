/**
 * `deno task demo`: the helper's main job with no cloud account. Starts the
 * fake ACR OpenAPI on 127.0.0.1, then runs `docker-credential-acr-helper get`
 * exactly as docker does (server on stdin) and shows what docker receives.
 *
 * @module
 */
import { startFakeAcr } from "./server.ts";
import { runHelper, tempHome } from "../util.ts";

const key = { accessKeyId: "LTAIdemo000000", accessKeySecret: "demo-secret-not-real" };
const fake = startFakeAcr({
  keys: [key],
  instances: [{ instanceId: "cri-demo0001", instanceName: "acme", region: "cn-hangzhou" }],
});
const env = {
  HOME: await tempHome(),
  DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT: fake.url,
  ALIBABA_CLOUD_ACCESS_KEY_ID: key.accessKeyId,
  ALIBABA_CLOUD_ACCESS_KEY_SECRET: key.accessKeySecret,
};

console.log(`Fake ACR OpenAPI listening on ${fake.url} (it verifies ACS3-HMAC-SHA256 signatures).`);
console.log(`Credentials: ALIBABA_CLOUD_ACCESS_KEY_ID=${key.accessKeyId} (from the environment)\n`);

const servers = [
  "registry.cn-hangzhou.aliyuncs.com",
  "acme-registry-vpc.cn-hangzhou.cr.aliyuncs.com",
  "https://index.docker.io/v1/",
];
let failures = 0;
for (const server of servers) {
  fake.reset();
  console.log(`$ printf '${server}' | docker-credential-acr-helper get`);
  const r = await runHelper(["get"], server, env);
  console.log(r.stdout.trimEnd());
  const calls = Object.entries(fake.calls).filter(([k, v]) => v > 0 && k !== "total").map(([k, v]) => `${k}=${v}`);
  console.log(`  exit ${r.code}, ${Math.round(r.ms)} ms, API calls: ${calls.join(", ") || "none"}\n`);
  const expectOk = !server.includes("docker.io");
  if ((r.code === 0) !== expectOk) failures++;
}
console.log(
  "Docker uses Username/Secret as a temporary login for that registry; for Docker Hub the helper answers\n" +
    '"credentials not found" so docker goes on anonymously. Configure it with credHelpers (see README).',
);
await fake.close();
Deno.exit(failures === 0 ? 0 : 1);
