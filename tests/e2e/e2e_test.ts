/**
 * Real clients authenticate through the helper: skopeo, podman, the docker
 * CLI, dockerd (through the CLI) and helm pull from a TLS registry with
 * htpasswd auth whose only password is the temporary one the (fake) ACR API
 * issues. Run by tests/e2e/run.sh inside private namespaces; see stack.ts.
 */
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { makeTestTls } from "../fake/tls.ts";
import {
  BEARER_ADDR,
  BEARER_HOST,
  CHART,
  CHART_REPO,
  ENTERPRISE,
  HOSTS,
  IMAGE_REPO,
  IMAGE_TAG,
  INSTANCE,
  NODE_KEY,
  NODE_ROLE,
  OTHER,
  PERSONAL,
  POD_ROLE,
  type Ran,
  REGISTRY_PASSWORD,
  REGISTRY_USER,
  sh,
  startStack,
} from "./stack.ts";

const stack = await startStack();
const timings: Array<{ client: string; host: string; ms: number }> = [];

const ref = (host: string) => `${host}/${IMAGE_REPO}:${IMAGE_TAG}`;
const podman = () => [
  "podman",
  `--root=${stack.work}/podman/root`,
  `--runroot=${stack.work}/podman/run`,
  `--tmpdir=${stack.work}/podman/tmp`,
  "--storage-driver=vfs",
  "--cgroup-manager=cgroupfs",
  "--events-backend=none",
];

/** One pull per client; `check` asserts what the user would look at afterwards. */
interface Client {
  name: string;
  pull(host: string, env: Record<string, string>): string[];
  check(host: string, ran: Ran, env: Record<string, string>): Promise<void>;
}
const CLIENTS: Client[] = [
  {
    name: "skopeo inspect",
    pull: (host) => ["skopeo", "inspect", `docker://${ref(host)}`],
    check: (_host, ran) => {
      assert.match(JSON.parse(ran.out).Digest, /^sha256:[0-9a-f]{64}$/);
      return Promise.resolve();
    },
  },
  {
    name: "podman pull",
    pull: (host) => [...podman(), "pull", "--quiet", ref(host)],
    check: async (host, _ran, env) => {
      assert.equal((await sh([...podman(), "image", "exists", ref(host)], env)).code, 0);
    },
  },
  {
    name: "docker manifest inspect",
    pull: (host) => ["docker", "manifest", "inspect", ref(host)],
    check: (_host, ran) => {
      assert.equal(JSON.parse(ran.out).layers.length, 1);
      return Promise.resolve();
    },
  },
  {
    name: "docker pull (dockerd)",
    pull: (host) => ["docker", "pull", ref(host)],
    check: async (host, ran, env) => {
      assert.match(ran.out, /Status: /);
      const inspected = await sh(["docker", "image", "inspect", "--format", "{{.Id}}", ref(host)], env);
      assert.equal(inspected.code, 0, inspected.out);
    },
  },
  {
    name: "helm pull",
    pull: (host) => [
      "helm",
      "pull",
      `oci://${host}/${CHART_REPO}/${CHART.name}`,
      "--version",
      CHART.version,
      "-d",
      `${stack.work}/charts/${host}`,
    ],
    check: async (host) => {
      const stat = await Deno.stat(`${stack.work}/charts/${host}/${CHART.name}-${CHART.version}.tgz`);
      assert.ok(stat.size > 0);
    },
  },
];

/**
 * Every other way a user reaches a registry, through the helper and with no `docker login`: each step is a command;
 * `expectOk` false marks a preparation step that needs no registry (a tag, writing a file).
 */
interface Writer {
  name: string;
  steps(host: string, env: Record<string, string>): Promise<string[][]>;
}
const otherHost = (host: string) => HOSTS.find((h) => h !== host)!;
const WRITERS: Writer[] = [
  {
    name: "podman push",
    steps: (host) => Promise.resolve([[...podman(), "push", "--quiet", ref(host), `${host}/e2e/pushed-podman:1`]]),
  },
  {
    name: "skopeo copy between two ACR hosts",
    steps: (host) =>
      Promise.resolve([[
        "skopeo",
        "copy",
        "--quiet",
        `docker://${ref(host)}`,
        `docker://${otherHost(host)}/e2e/copied:1`,
      ]]),
  },
  {
    name: "docker push (dockerd)",
    steps: (host) =>
      Promise.resolve([["docker", "tag", ref(host), `${host}/e2e/pushed-docker:1`], [
        "docker",
        "push",
        `${host}/e2e/pushed-docker:1`,
      ]]),
  },
  {
    name: "helm push",
    steps: (host) =>
      Promise.resolve([[
        "helm",
        "push",
        `${stack.work}/charts/${host}/${CHART.name}-${CHART.version}.tgz`,
        `oci://${host}/e2e/charts-pushed`,
      ]]),
  },
  {
    name: "docker build (legacy builder) FROM a private ACR image",
    steps: async (host) => {
      const dir = await Deno.makeTempDir({ dir: stack.work, prefix: "build-" });
      // No RUN: dockerd here has no network for containers; the point is the authenticated pull of the base.
      await Deno.writeTextFile(`${dir}/Dockerfile`, `FROM ${ref(host)}\nLABEL built-by=e2e\n`);
      return [["docker", "build", "--pull", "--quiet", "-t", `e2e-built-${host.split(".")[0]}:1`, dir]];
    },
  },
  {
    name: "docker-compose pull (docker-py's credential helper client)",
    steps: async (host) => {
      const dir = await Deno.makeTempDir({ dir: stack.work, prefix: "compose-" });
      await Deno.writeTextFile(`${dir}/compose.yml`, `version: "3"\nservices:\n  app:\n    image: ${ref(host)}\n`);
      return [["docker-compose", "--no-ansi", "-f", `${dir}/compose.yml`, "pull"]];
    },
  },
];
/** Legacy builder: the CLI sends credentials for every credHelpers registry along with the build. */
const buildEnv = (env: Record<string, string>) => ({ ...env, DOCKER_BUILDKIT: "0" });

async function runWriter(w: Writer, host: string, env: Record<string, string>): Promise<Ran> {
  let last: Ran = { code: 0, out: "", ms: 0 };
  for (const step of await w.steps(host, env)) {
    last = await sh(step, buildEnv(env));
    if (last.code !== 0) return last;
  }
  return last;
}

async function lines(file: string): Promise<string[]> {
  return (await Deno.readTextFile(file).catch(() => "")).split("\n").filter(Boolean);
}
const logLines = () => lines(stack.helperLog);
const registryLog = () => lines(`${stack.work}/registry.log`);

for (const client of CLIENTS) {
  Deno.test(`e2e: ${client.name} pulls through the helper (Personal and Enterprise hosts)`, async () => {
    for (const host of HOSTS) {
      const before = (await logLines()).length;
      const ran = await sh(client.pull(host, stack.env), stack.env);
      assert.equal(ran.code, 0, `${client.name} ${host}: ${ran.out}`);
      await client.check(host, ran, stack.env);
      const helperRuns = (await logLines()).slice(before).filter((l) => l.includes(host));
      assert.ok(helperRuns.length > 0, `${client.name} did not run the helper for ${host}`);
      timings.push({ client: client.name, host, ms: ran.ms });
    }
    await recordTimings();
  });
}

/**
 * Each client's pull times, for the README's table: dist/e2e-timings.json, rewritten after every client (a report,
 * not a test: the bench measures speed).
 */
async function recordTimings(): Promise<void> {
  const root = fileURLToPath(new URL("../../", import.meta.url));
  await Deno.mkdir(`${root}dist`, { recursive: true });
  await Deno.writeTextFile(`${root}dist/e2e-timings.json`, JSON.stringify(timings, null, 2) + "\n");
}

for (const writer of WRITERS) {
  Deno.test(`e2e: ${writer.name} through the helper (Personal and Enterprise hosts), no docker login`, async () => {
    for (const host of HOSTS) {
      const before = (await logLines()).length;
      const ran = await runWriter(writer, host, stack.env);
      assert.equal(ran.code, 0, `${writer.name} ${host}: ${ran.out}`);
      const helperRuns = (await logLines()).slice(before);
      assert.ok(helperRuns.length > 0, `${writer.name} did not run the helper for ${host}`);
    }
  });
}

Deno.test("e2e: the whole run made one token call per registry (the cache is shared by every client)", () => {
  const { personalToken, instanceToken, listInstance, rejected } = stack.fake.calls;
  assert.deepEqual({ personalToken, instanceToken, listInstance, rejected }, {
    personalToken: 1,
    instanceToken: 1,
    listInstance: 1,
    rejected: 0,
  });
});

Deno.test("e2e: docker login / logout run the helper's store / erase; logout drops the cached token", async () => {
  const env = stack.env;
  const config = `${env.HOME}/.docker/config.json`;
  const before = (await logLines()).length;
  const login = await sh(
    ["docker", "login", "-u", REGISTRY_USER, "--password-stdin", PERSONAL],
    env,
    REGISTRY_PASSWORD,
  );
  assert.equal(login.code, 0, login.out);
  assert.match(login.out, /Login Succeeded/);
  const saved = await Deno.readTextFile(config);
  assert.ok(!saved.includes(REGISTRY_PASSWORD), "docker kept the password in config.json instead of the helper");
  assert.equal(JSON.parse(saved).credHelpers[PERSONAL], "acr-helper");

  const logout = await sh(["docker", "logout", PERSONAL], env);
  assert.equal(logout.code, 0, logout.out);
  assert.match(logout.out, /Removing login credentials/);
  const helperSaw = (await logLines()).slice(before).map((l) => l.replace(/^\S+ \w+ \[\d+\] /, ""));
  // docker logout erases each spelling of the server it knows (host, https://host), so erase may come twice.
  assert.deepEqual(helperSaw[0], `store for ${PERSONAL}: nothing kept`);
  assert.ok(helperSaw.length >= 2, helperSaw.join("\n"));
  for (const line of helperSaw.slice(1)) assert.equal(line, `erase for ${PERSONAL}: cached tokens dropped`);

  const calls = stack.fake.calls.personalToken;
  const again = await sh(CLIENTS[0].pull(PERSONAL, env), env);
  assert.equal(again.code, 0, again.out);
  assert.equal(stack.fake.calls.personalToken, calls + 1, "logout (erase) should have dropped the cached token");
  // The Enterprise host's token was not erased.
  const other = await sh(CLIENTS[0].pull(ENTERPRISE, env), env);
  assert.equal(other.code, 0, other.out);
  assert.equal(stack.fake.calls.instanceToken, 1);
});

Deno.test("e2e: with credsStore set to the helper, docker login to another registry fails instead of losing the login", async () => {
  const dir = await Deno.makeTempDir({ prefix: "acr-helper-credsstore-" });
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify({ credsStore: "acr-helper" }));
  const env = { ...stack.env, DOCKER_CONFIG: dir };
  const login = await sh(["docker", "login", "-u", REGISTRY_USER, "--password-stdin", OTHER], env, REGISTRY_PASSWORD);
  assert.notEqual(login.code, 0, login.out);
  assert.doesNotMatch(login.out, /Login Succeeded/);
  assert.match(login.out, new RegExp(`${OTHER.replaceAll(".", "\\.")} is not an ACR registry.*"credHelpers"`));
  assert.ok(!(await Deno.readTextFile(`${dir}/config.json`)).includes(REGISTRY_PASSWORD));
  // An ACR registry under the same credsStore still logs in (store is a no-op there).
  const acr = await sh(["docker", "login", "-u", REGISTRY_USER, "--password-stdin", PERSONAL], env, REGISTRY_PASSWORD);
  assert.equal(acr.code, 0, acr.out);
  assert.match(acr.out, /Login Succeeded/);
});

Deno.test("e2e: with the fake issuing a password the registry rejects, every client fails", async () => {
  const wrong = stack.wrongPasswordFake();
  try {
    const env = {
      ...stack.env,
      DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT: wrong.url,
      DOCKER_CREDENTIAL_ACR_HELPER_CACHE_DIR: `${stack.work}/cache-wrong-password`,
    };
    for (const client of CLIENTS) {
      for (const host of HOSTS) {
        const before = (await registryLog()).length;
        const ran = await sh(client.pull(host, env), env);
        assert.notEqual(ran.code, 0, `${client.name} ${host} succeeded with a wrong password: ${ran.out}`);
        // The client did send the helper's password, and the registry refused it (docker manifest
        // inspect, for one, reports "no such manifest" rather than the 401).
        const rejected = (await registryLog()).slice(before).filter((l) =>
          l.includes(`error authenticating user \\"${REGISTRY_USER}\\": authentication failure`) &&
          l.includes(`http.request.host=${host} `)
        );
        assert.ok(rejected.length > 0, `${client.name} ${host}: the registry saw no rejected password: ${ran.out}`);
      }
    }
    for (const writer of WRITERS) {
      for (const host of HOSTS) {
        const before = (await registryLog()).length;
        const ran = await runWriter(writer, host, env);
        assert.notEqual(ran.code, 0, `${writer.name} ${host} succeeded with a wrong password: ${ran.out}`);
        const rejected = (await registryLog()).slice(before).filter((l) =>
          l.includes(`error authenticating user \\"${REGISTRY_USER}\\": authentication failure`)
        );
        assert.ok(rejected.length > 0, `${writer.name} ${host}: the registry saw no rejected password: ${ran.out}`);
      }
    }
    // The helper did answer (a token per registry), so each failure is the registry's rejection.
    assert.equal(wrong.calls.personalToken, 1);
    assert.equal(wrong.calls.instanceToken, 1);
  } finally {
    await wrong.close();
  }
});

/** The helper as a node inside a VPC runs it: no endpoint override, the real names (tests/e2e/stack.ts API_NAMES). */
async function vpcNodeEnv(extra: Record<string, string> = {}): Promise<Record<string, string>> {
  const home = await Deno.makeTempDir({ dir: stack.work, prefix: "vpc-node-" });
  const env: Record<string, string> = { ...stack.env, HOME: home, DENO_CERT: stack.apiCa, ...extra };
  delete env.DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT;
  env.DOCKER_CREDENTIAL_ACR_HELPER_LOG_FILE = `${home}/helper.log`;
  return env;
}

Deno.test("e2e: VPC hosts call cr-vpc first, fall back only when it does not resolve or connect, and remember it", async () => {
  const env = await vpcNodeEnv();
  const get = (host: string) => sh(["docker-credential-acr-helper", "get"], env, host);
  stack.apiFake.reset();
  for (
    const host of [
      "registry-vpc.cn-hangzhou.aliyuncs.com", // cr-vpc connects
      "registry-vpc.cn-beijing.aliyuncs.com", // cr-vpc does not resolve
      "registry-vpc.cn-shanghai.aliyuncs.com", // cr-vpc resolves, nothing listens
      "registry.cn-hangzhou.aliyuncs.com", // a public host: the public endpoint, no probe
    ]
  ) {
    const r = await get(host);
    assert.equal(r.code, 0, `${host}: ${r.out}`);
    assert.equal(JSON.parse(r.out).Secret, REGISTRY_PASSWORD);
  }
  assert.deepEqual(stack.apiFake.hosts, [
    "cr-vpc.cn-hangzhou.aliyuncs.com",
    "cr.cn-beijing.aliyuncs.com",
    "cr.cn-shanghai.aliyuncs.com",
    "cr.cn-hangzhou.aliyuncs.com",
  ]);
  // The region's answer is remembered: a new token for cn-beijing costs no second failed lookup.
  assert.equal(
    (await sh(["docker-credential-acr-helper", "erase"], env, "registry-vpc.cn-beijing.aliyuncs.com")).code,
    0,
  );
  assert.equal((await get("registry-vpc.cn-beijing.aliyuncs.com")).code, 0);
  assert.equal(stack.apiFake.hosts.at(-1), "cr.cn-beijing.aliyuncs.com");
  const log = await Deno.readTextFile(env.DOCKER_CREDENTIAL_ACR_HELPER_LOG_FILE);
  assert.equal(log.match(/cr-vpc\.cn-beijing\.aliyuncs\.com does not resolve or connect/g)?.length, 1, log);
  assert.match(log, /cr-vpc\.cn-shanghai\.aliyuncs\.com does not resolve or connect/);
  assert.match(log, /cr-vpc\.cn-hangzhou\.aliyuncs\.com connects: using the VPC endpoint for cn-hangzhou/);
});

Deno.test("e2e: ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED sends ACR calls to cr-vpc and STS calls to sts-vpc", async () => {
  const request = JSON.stringify({
    apiVersion: "credentialprovider.kubelet.k8s.io/v1",
    kind: "CredentialProviderRequest",
    image: `${PERSONAL}/team/app:1`,
    serviceAccountToken: POD_ROLE.token,
    serviceAccountAnnotations: { "docker-credential-acr-helper/role-arn": POD_ROLE.roleArn },
  });
  const run = async (extra: Record<string, string>) => {
    const env = await vpcNodeEnv({ ALIBABA_CLOUD_OIDC_PROVIDER_ARN: POD_ROLE.providerArn, ...extra });
    stack.apiFake.reset();
    const r = await sh(["docker-credential-acr-helper", "kubelet-credential-provider"], env, request);
    assert.equal(r.code, 0, r.out);
    assert.equal(
      JSON.parse(r.out.split("\n").find((l) => l.startsWith("{"))!).auth[PERSONAL].password,
      REGISTRY_PASSWORD,
    );
    return [...stack.apiFake.hosts];
  };
  assert.deepEqual(await run({}), ["sts.aliyuncs.com", "cr.cn-hangzhou.aliyuncs.com"]);
  assert.deepEqual(await run({ ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED: "true" }), [
    "sts-vpc.cn-hangzhou.aliyuncs.com",
    "cr-vpc.cn-hangzhou.aliyuncs.com",
  ]);
});

Deno.test("e2e: on ECS with nothing configured, the node's RAM role is found (IMDSv2) and never asked through a proxy", async () => {
  const env = await vpcNodeEnv({
    // A proxy that does not exist: metadata traffic must not try it (the API call goes direct through NO_PROXY).
    HTTP_PROXY: "http://127.0.0.9:3128",
    HTTPS_PROXY: "http://127.0.0.9:3128",
    NO_PROXY: "aliyuncs.com",
  });
  delete env.ALIBABA_CLOUD_ACCESS_KEY_ID;
  delete env.ALIBABA_CLOUD_ACCESS_KEY_SECRET;
  delete env.ALIBABA_CLOUD_ECS_METADATA_DISABLED;
  stack.apiFake.reset();
  stack.metadata.requests.length = 0;
  const r = await sh(["docker-credential-acr-helper", "get"], env, PERSONAL);
  assert.equal(r.code, 0, r.out);
  assert.equal(JSON.parse(r.out).Secret, REGISTRY_PASSWORD);
  assert.deepEqual(stack.apiFake.signers, [NODE_KEY.accessKeyId], "the ACR call is signed with the node role's key");
  assert.deepEqual(stack.metadata.requests.slice(0, 2), [
    "PUT /latest/api/token",
    "GET /latest/meta-data/ram/security-credentials/ v2",
  ]);
  assert.ok(stack.metadata.requests.includes(`GET /latest/meta-data/ram/security-credentials/${NODE_ROLE} v2`));
  const doctor = await sh(["docker-credential-acr-helper", "doctor"], env);
  assert.match(doctor.out, new RegExp(`credentials: ECS RAM role ${NODE_ROLE} \\(found from the instance metadata\\)`));
  // A warm get asks the metadata service nothing: the role name is remembered.
  const before = stack.metadata.requests.length;
  assert.equal((await sh(["docker-credential-acr-helper", "get"], env, PERSONAL)).code, 0);
  assert.equal(stack.metadata.requests.length, before);
});

Deno.test("e2e: doctor HOST logs in to the registry with the token: Basic auth, and a Bearer token service", async () => {
  // Basic: the docker-registry of the stack (htpasswd) accepts the fake's password.
  const basicEnv = { ...stack.env, DENO_CERT: stack.env.SSL_CERT_FILE };
  const ok = await sh(["docker-credential-acr-helper", "doctor", PERSONAL], basicEnv);
  assert.equal(ok.code, 0, ok.out);
  assert.match(ok.out, /^ok {3}registry login: accepted by the registry \(Basic auth\)$/m);

  // Bearer: a registry whose challenge names a token realm, as ACR's do; the realm takes the password with Basic auth.
  const tls = await makeTestTls([BEARER_HOST]);
  const issued = `bearer-${crypto.randomUUID()}`;
  const seen: string[] = [];
  const server = Deno.serve(
    { hostname: BEARER_ADDR, port: 443, cert: tls.cert, key: tls.key, onListen: () => {} },
    (req) => {
      const url = new URL(req.url);
      const auth = req.headers.get("authorization") ?? "";
      seen.push(`${url.pathname} ${auth.split(" ")[0] || "-"}`);
      if (url.pathname === "/auth") {
        return auth === `Basic ${btoa(`${REGISTRY_USER}:${REGISTRY_PASSWORD}`)}`
          ? Response.json({ token: issued })
          : Response.json({ errors: [{ code: "UNAUTHORIZED", message: "bad password" }] }, { status: 401 });
      }
      if (auth === `Bearer ${issued}`) return Response.json({});
      return new Response("{}", {
        status: 401,
        headers: { "www-authenticate": `Bearer realm="https://${BEARER_HOST}/auth",service="bearer-e2e"` },
      });
    },
  );
  try {
    const ca = `${stack.work}/bearer-ca.pem`;
    await Deno.writeTextFile(ca, await Deno.readTextFile(tls.caFile));
    const env = { ...stack.env, DENO_CERT: ca, DOCKER_CREDENTIAL_ACR_HELPER_INSTANCE_ID: INSTANCE.instanceId };
    const bearer = await sh(["docker-credential-acr-helper", "doctor", BEARER_HOST], env);
    assert.equal(bearer.code, 0, bearer.out);
    assert.match(
      bearer.out,
      new RegExp(
        `^ok {3}registry login: accepted by the registry \\(Bearer token from https://${
          BEARER_HOST.replaceAll(".", "\\.")
        }\\)$`,
        "m",
      ),
    );
    assert.deepEqual(seen, ["/v2/ -", "/auth Basic", "/v2/ Bearer"]);
    // A password the registry refuses: FAIL with the registry's own status and message.
    const wrong = stack.wrongPasswordFake();
    try {
      const refused = await sh(["docker-credential-acr-helper", "doctor", BEARER_HOST], {
        ...env,
        DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT: wrong.url,
      });
      assert.equal(refused.code, 1);
      assert.match(
        refused.out,
        /^FAIL registry login: rejected by the registry's token service .*HTTP 401: UNAUTHORIZED bad password$/m,
      );
    } finally {
      await wrong.close();
    }
  } finally {
    await server.shutdown();
  }
});
