/**
 * The e2e stack, started inside the private namespaces that tests/e2e/run.sh
 * makes: loopback up, ACR host names mapped to 127.0.0.1 by a bind-mounted
 * /etc/hosts, a loopback-only resolv.conf, a TLS `docker-registry` with
 * htpasswd on 127.0.0.1:443 (test CA from openssl), the fake OpenAPI, and
 * dockerd with private roots and no network setup of its own.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { startFakeAcr } from "../fake/server.ts";
import { makeTestTls, type TestTls } from "../fake/tls.ts";
import { type FakeMetadata, startFakeMetadata } from "../fake/metadata.ts";

const METADATA_ADDR = "100.100.100.200";

export const PERSONAL = "registry.cn-hangzhou.aliyuncs.com";
export const ENTERPRISE = "acme-registry.cn-hangzhou.cr.aliyuncs.com";
export const HOSTS = [PERSONAL, ENTERPRISE];
/** A registry that is not ACR (the same registry under another name): `docker login` there must not be lost. */
export const OTHER = "registry.example.test";
/**
 * The real API and STS names, as a node inside a VPC resolves them: 127.0.0.2 is a TLS fake of ACR and STS on
 * port 443. cn-hangzhou's VPC endpoint works; cn-beijing's does not resolve; cn-shanghai's resolves to an address
 * where nothing listens (does not connect). The public endpoints of all three work.
 */
export const API_ADDR = "127.0.0.2";
export const API_NAMES = [
  "cr-vpc.cn-hangzhou.aliyuncs.com",
  "cr.cn-hangzhou.aliyuncs.com",
  "cr.cn-beijing.aliyuncs.com",
  "cr.cn-shanghai.aliyuncs.com",
  "sts.aliyuncs.com",
  "sts-vpc.cn-hangzhou.aliyuncs.com",
];
/** A pod's RAM role the API fake's STS accepts a service account token for. */
export const POD_ROLE = {
  roleArn: "acs:ram::1234567890:role/e2e-pod",
  providerArn: "acs:ram::1234567890:oidc-provider/e2e",
  token: "e2e-pod-service-account-token",
  issue: { accessKeyId: "STS.e2epod", accessKeySecret: "CANARY-e2e-pod-secret", securityToken: "CANARY-e2e-pod" },
};
/** The node's RAM role the fake metadata service (100.100.100.200 on this namespace's loopback) hands out. */
export const NODE_ROLE = "e2e-node-role";
export const NODE_KEY = {
  accessKeyId: "STS.e2enode",
  accessKeySecret: "CANARY-e2e-node-secret",
  securityToken: "CANARY-e2e-node-token",
};
/** An Enterprise host whose registry speaks the Bearer token protocol (served by the e2e test on 127.0.0.4:443). */
export const BEARER_HOST = "bearer-registry.cn-hangzhou.cr.aliyuncs.com";
export const BEARER_ADDR = "127.0.0.4";
const DEAD_ADDR = "127.0.0.3";
const DEAD_NAMES = ["cr-vpc.cn-shanghai.aliyuncs.com"];
export const IMAGE_REPO = "e2e/hello";
export const IMAGE_TAG = "1";
export const CHART_REPO = "e2e/charts";
export const CHART = { name: "hello-chart", version: "0.1.0" };

/** The registry's only account; the fake issues it as the temporary password. */
export const REGISTRY_USER = "cr_temp_user";
export const REGISTRY_PASSWORD = `e2e-${crypto.randomUUID()}`;
export const KEY = { accessKeyId: "LTAIe2e0000001", accessKeySecret: "CANARY-e2e-secret" };
export const INSTANCE = { instanceId: "cri-e2e00001", instanceName: "acme", region: "cn-hangzhou" };

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const BUNDLE = `${ROOT}dist/docker-credential-acr-helper.js`;
/** The SDK half of the bundle, which the CLI file imports from beside itself on a cache miss. */
export const BUNDLE_SDK = `${ROOT}dist/docker-credential-acr-helper.sdk.js`;
/** The POSIX sh launcher that goes on PATH and runs the CLI file with the release permissions. */
export const LAUNCHER = `${ROOT}dist/docker-credential-acr-helper`;
export const HELM = Deno.env.get("E2E_HELM") ?? `${ROOT}tests/e2e/.tools/helm`;

/** Output of one client command. */
export interface Ran {
  code: number;
  out: string;
  ms: number;
}

/** Runs a command with `env` (the whole environment), capturing stdout and stderr together. */
export async function sh(cmd: string[], env: Record<string, string>, stdin = ""): Promise<Ran> {
  const started = performance.now();
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    env,
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(stdin)).catch(() => {});
  await w.close().catch(() => {});
  const out = await child.output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.code, out: text, ms: performance.now() - started };
}

async function must(cmd: string[], env: Record<string, string> = { PATH: Deno.env.get("PATH") ?? "" }, stdin = "") {
  const r = await sh(cmd, env, stdin);
  if (r.code !== 0) throw new Error(`${cmd.join(" ")} exited ${r.code}: ${r.out}`);
  return r.out;
}

/**
 * Refuses to go on unless this process is in a mount and network namespace
 * other than the one run.sh started in: the bind mounts below must never
 * reach the real /etc/hosts.
 */
async function enterPrivateNetwork(work: string) {
  const outer = [Deno.env.get("E2E_OUTER_MNT_NS"), Deno.env.get("E2E_OUTER_NET_NS")];
  const inner = [Deno.readLinkSync("/proc/self/ns/mnt"), Deno.readLinkSync("/proc/self/ns/net")];
  if (!outer[0] || !outer[1] || outer[0] === inner[0] || outer[1] === inner[1]) {
    throw new Error("e2e: not inside the private namespaces of tests/e2e/run.sh; refusing to bind-mount /etc/hosts");
  }
  await must(["ip", "link", "set", "lo", "up"]);
  // The ECS metadata address, on this namespace's loopback only (tests/fake/metadata.ts serves it).
  await must(["ip", "addr", "add", `${METADATA_ADDR}/32`, "dev", "lo"]);
  await Deno.writeTextFile(
    `${work}/hosts`,
    `127.0.0.1 localhost\n::1 localhost\n127.0.0.1 ${[...HOSTS, OTHER].join(" ")}\n` +
      `${API_ADDR} ${API_NAMES.join(" ")}\n${DEAD_ADDR} ${DEAD_NAMES.join(" ")}\n${BEARER_ADDR} ${BEARER_HOST}\n`,
  );
  await Deno.writeTextFile(`${work}/resolv.conf`, "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n");
  await must(["mount", "--bind", `${work}/hosts`, "/etc/hosts"]);
  await must(["mount", "--bind", `${work}/resolv.conf`, "/etc/resolv.conf"]);
}

async function waitFor(what: string, ok: () => Promise<boolean>, logFile: string, ms = 30_000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await ok().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  const log = await Deno.readTextFile(logFile).catch(() => "");
  throw new Error(`e2e: ${what} did not start in ${ms} ms:\n${log.slice(-2000)}`);
}

function background(cmd: string[], logFile: string): Deno.ChildProcess {
  // Through a shell so the server's own output goes to a file nobody has to drain.
  const quoted = cmd.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" ");
  return new Deno.Command("bash", {
    args: ["-c", `exec ${quoted} >'${logFile}' 2>&1`],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
}

async function startRegistry(work: string, tls: TestTls) {
  await Deno.writeTextFile(`${work}/registry.crt`, tls.cert);
  await Deno.writeTextFile(`${work}/registry.key`, tls.key);
  await must(["htpasswd", "-Bbc", `${work}/htpasswd`, REGISTRY_USER, REGISTRY_PASSWORD]);
  await Deno.writeTextFile(
    `${work}/registry.yml`,
    `version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: ${work}/registry-data
http:
  addr: 127.0.0.1:443
  tls:
    certificate: ${work}/registry.crt
    key: ${work}/registry.key
auth:
  htpasswd:
    realm: e2e
    path: ${work}/htpasswd
`,
  );
  const log = `${work}/registry.log`;
  const proc = background(["docker-registry", "serve", `${work}/registry.yml`], log);
  const ca = await Deno.readTextFile(tls.caFile);
  const client = Deno.createHttpClient({ caCerts: [ca] });
  await waitFor("docker-registry", async () => {
    const r = await fetch(`https://${PERSONAL}/v2/`, { client });
    await r.body?.cancel();
    return r.status === 401;
  }, log);
  client.close();
  return proc;
}

async function startDockerd(work: string, env: Record<string, string>) {
  const root = `${work}/dockerd`;
  const log = `${work}/dockerd.log`;
  const proc = background([
    "dockerd",
    `--data-root=${root}/data`,
    `--exec-root=${root}/exec`,
    `--pidfile=${root}/dockerd.pid`,
    `--host=${env.DOCKER_HOST}`,
    "--iptables=false",
    "--ip6tables=false",
    "--bridge=none",
    "--storage-driver=vfs",
  ], log);
  await waitFor("dockerd", async () => (await sh(["docker", "version"], env)).code === 0, log, 60_000);
  return proc;
}

/** Writes a one-layer OCI image layout for `skopeo copy` (no network, no daemon). */
async function makeImage(dir: string): Promise<string> {
  const src = `${dir}/src`;
  const layout = `${dir}/oci`;
  await Deno.mkdir(src, { recursive: true });
  await Deno.mkdir(`${layout}/blobs/sha256`, { recursive: true });
  await Deno.writeTextFile(`${src}/hello.txt`, "pulled through docker-credential-acr-helper\n");
  await must(["tar", "--mtime=@0", "--owner=0", "--group=0", "-cf", `${dir}/layer.tar`, "-C", src, "hello.txt"]);
  const tar = await Deno.readFile(`${dir}/layer.tar`);
  const gz = new Uint8Array(
    await new Response(new Blob([tar]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer(),
  );
  const blob = async (bytes: Uint8Array) => {
    const digest = `sha256:${await sha256(bytes)}`;
    await Deno.writeFile(`${layout}/blobs/sha256/${digest.slice(7)}`, bytes);
    return { digest, size: bytes.length };
  };
  const arch = Deno.build.arch === "aarch64" ? "arm64" : "amd64";
  const config = await blob(json({
    architecture: arch,
    os: "linux",
    config: { Cmd: ["/hello.txt"] },
    rootfs: { type: "layers", diff_ids: [`sha256:${await sha256(tar)}`] },
    history: [{ created_by: "tests/e2e/stack.ts" }],
  }));
  const layer = await blob(gz);
  const manifest = await blob(json({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layer }],
  }));
  await Deno.writeTextFile(`${layout}/oci-layout`, JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await Deno.writeTextFile(
    `${layout}/index.json`,
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        ...manifest,
        annotations: { "org.opencontainers.image.ref.name": IMAGE_TAG },
      }],
    }),
  );
  return layout;
}

function json(v: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(v));
}
async function sha256(b: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", b as BufferSource));
  return Array.from(d, (x) => x.toString(16).padStart(2, "0")).join("");
}

/**
 * Seeds both hosts with the image and a helm chart, with the registry's own
 * account (not through the helper), so the token calls counted later are the
 * clients' alone.
 */
async function seed(work: string, env: Record<string, string>) {
  const layout = await makeImage(`${work}/image`);
  const creds = `${REGISTRY_USER}:${REGISTRY_PASSWORD}`;
  await must(["helm", "create", `${work}/${CHART.name}`], env);
  await must(["helm", "package", `${work}/${CHART.name}`, "-d", work, "--version", CHART.version], env);
  const seedConfig = `${work}/seed-auth.json`;
  const auth = btoa(creds);
  await Deno.writeTextFile(
    seedConfig,
    JSON.stringify({ auths: Object.fromEntries(HOSTS.map((h) => [h, { auth }])) }),
  );
  for (const host of HOSTS) {
    await must([
      "skopeo",
      "copy",
      "--quiet",
      "--dest-creds",
      creds,
      `oci:${layout}:${IMAGE_TAG}`,
      `docker://${host}/${IMAGE_REPO}:${IMAGE_TAG}`,
    ], env);
    await must([
      "helm",
      "push",
      "--registry-config",
      seedConfig,
      `${work}/${CHART.name}-${CHART.version}.tgz`,
      `oci://${host}/${CHART_REPO}`,
    ], env);
  }
}

/** Everything the tests use. */
export interface Stack {
  work: string;
  /** The environment every client runs with (and so the helper they start). */
  env: Record<string, string>;
  fake: ReturnType<typeof startFakeAcr>;
  helperLog: string;
  /** Starts a second fake that issues a password the registry rejects; returns its endpoint. */
  wrongPasswordFake(): ReturnType<typeof startFakeAcr>;
  /** The TLS fake of the real endpoint names on 127.0.0.2:443 ({@link API_NAMES}). */
  apiFake: ReturnType<typeof startFakeAcr>;
  /** The CA the API fake's certificate is signed with (for DENO_CERT). */
  apiCa: string;
  /** The fake ECS metadata service on 100.100.100.200:80. */
  metadata: FakeMetadata;
}

/** Sets up the namespace, registry, fake, dockerd, the helper on PATH, and seeds the registry. */
export async function startStack(): Promise<Stack> {
  const work = await Deno.makeTempDir({ prefix: "acr-helper-e2e-" });
  await enterPrivateNetwork(work);
  const tls = await makeTestTls([...HOSTS, OTHER]);

  // The helper exactly as users install it: the launcher on PATH (a symlink), the bundle's two files beside its target.
  const bin = `${work}/bin`;
  const lib = `${work}/lib/docker-credential-acr-helper`;
  await Deno.mkdir(bin);
  await Deno.mkdir(lib, { recursive: true });
  await Deno.copyFile(LAUNCHER, `${lib}/docker-credential-acr-helper`);
  await Deno.chmod(`${lib}/docker-credential-acr-helper`, 0o755);
  await Deno.copyFile(BUNDLE, `${lib}/docker-credential-acr-helper.js`);
  await Deno.copyFile(BUNDLE_SDK, `${lib}/docker-credential-acr-helper.sdk.js`);
  await Deno.symlink(`${lib}/docker-credential-acr-helper`, `${bin}/docker-credential-acr-helper`);
  await Deno.symlink(HELM, `${bin}/helm`);

  const home = `${work}/home`;
  await Deno.mkdir(`${home}/.docker`, { recursive: true });
  const dockerConfig = `${home}/.docker/config.json`;
  await Deno.writeTextFile(
    dockerConfig,
    JSON.stringify({ credHelpers: Object.fromEntries(HOSTS.map((h) => [h, "acr-helper"])) }, null, 2),
  );
  const fake = startFakeAcr({
    keys: [KEY],
    instances: [INSTANCE],
    tokenUsername: REGISTRY_USER,
    tokenPassword: REGISTRY_PASSWORD,
  });
  const helperLog = `${work}/helper.log`;
  const env: Record<string, string> = {
    PATH: `${bin}:${Deno.env.get("PATH")}`,
    HOME: home,
    // Go clients (docker, dockerd, skopeo, podman, helm) trust the test CA through this alone.
    SSL_CERT_FILE: tls.caFile,
    DOCKER_HOST: `unix://${work}/docker.sock`,
    // skopeo and podman: the same docker config, so its credHelpers apply (a root user's default
    // auth file lives in /run, outside this run's control).
    REGISTRY_AUTH_FILE: dockerConfig,
    HELM_REGISTRY_CONFIG: dockerConfig,
    // The bundle needs no npm package: an empty Deno cache proves it.
    DENO_DIR: `${work}/deno-dir`,
    NO_COLOR: "1",
    TMPDIR: `${work}/tmp`,
    DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT: fake.url,
    ALIBABA_CLOUD_ECS_METADATA_DISABLED: "true",
    ALIBABA_CLOUD_ACCESS_KEY_ID: KEY.accessKeyId,
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: KEY.accessKeySecret,
    DOCKER_CREDENTIAL_ACR_HELPER_LOG_LEVEL: "debug",
    DOCKER_CREDENTIAL_ACR_HELPER_LOG_FILE: helperLog,
  };
  await Deno.mkdir(env.TMPDIR);
  for (const host of HOSTS) await Deno.mkdir(`${work}/charts/${host}`, { recursive: true });
  // The real endpoint names, served over TLS on 127.0.0.2:443 (VPC endpoint and metadata tests).
  const apiTls = await makeTestTls(API_NAMES);
  const metadata = startFakeMetadata({ hostname: METADATA_ADDR, port: 80, role: NODE_ROLE, key: NODE_KEY });
  const apiFake = startFakeAcr({
    keys: [KEY, NODE_KEY],
    instances: [INSTANCE],
    tokenUsername: REGISTRY_USER,
    tokenPassword: REGISTRY_PASSWORD,
    tls: { cert: apiTls.cert, key: apiTls.key },
    tlsListen: { hostname: API_ADDR, port: 443 },
    oidc: POD_ROLE,
  });
  await startRegistry(work, tls);
  await startDockerd(work, env);
  await seed(work, env);
  return {
    work,
    env,
    fake,
    helperLog,
    apiFake,
    apiCa: apiTls.caFile,
    metadata,
    wrongPasswordFake: () =>
      startFakeAcr({
        keys: [KEY],
        instances: [INSTANCE],
        tokenUsername: REGISTRY_USER,
        tokenPassword: "not-the-registry-password",
      }),
  };
}
