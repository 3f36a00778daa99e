/**
 * doctor's checks in-process: whether docker and podman will ask the helper for a host (their files, in their
 * order), a named credentials file that is not there, and a cache that cannot be written (a read-only HOME, in
 * a private mount namespace).
 */
import assert from "node:assert/strict";
import { dockerRoute, podmanFiles, podmanRoute } from "../lib/commands/client_routes.ts";
import { type CommandIO } from "../lib/commands/io.ts";
import { CHECKS, doctorContext } from "../lib/commands/doctor.ts";
import { exec, needs, tempHome } from "./util.ts";
import { cacheDir, envFlag } from "../lib/platform.ts";
import { SETTINGS } from "../lib/settings.ts";
import { vpcEndpointEnabled } from "../lib/endpoints.ts";
import { metadataDisabled } from "../lib/ecs_metadata.ts";

const H = "registry.cn-hangzhou.aliyuncs.com";
const files = (m: Record<string, unknown>) => (p: string) =>
  p in m ? (typeof m[p] === "string" ? m[p] as string : JSON.stringify(m[p])) : null;
const DOCKER = "/h/.docker/config.json";

Deno.test("doctor/docker: credHelpers, then credsStore, then auths, as docker decides", () => {
  const env = { HOME: "/h" };
  const route = (conf: unknown) => dockerRoute(H, env, files(conf === undefined ? {} : { [DOCKER]: conf }), "linux");
  assert.equal(route(undefined).status, "warn");
  assert.match(route(undefined).text, /does not exist: docker will not ask this helper/);
  assert.equal(route({ credHelpers: { [H]: "acr-helper" }, credsStore: "desktop" }).status, "ok");
  const desktop = route({ credsStore: "desktop" });
  assert.equal(desktop.status, "warn");
  assert.match(
    desktop.text,
    /asks docker-credential-desktop for .* \(credsStore in \/h\/\.docker\/config\.json\)/,
  );
  assert.equal(desktop.fix, `docker-credential-acr-helper configure-docker --registry ${H}`);
  assert.equal(route({ credsStore: "acr-helper" }).status, "ok");
  assert.match(
    route({ credHelpers: { [H]: "ecr-login" }, credsStore: "acr-helper" }).text,
    /docker-credential-ecr-login/,
  );
  assert.match(route({ auths: { [`https://${H}`]: { auth: "eDp5" } } }).text, /password stored for .* in "auths"/);
  assert.match(route({ auths: {} }).text, /names no helper .*: docker will pull anonymously/);
  // DOCKER_CONFIG wins, relative as docker takes it (from the working directory).
  assert.equal(
    dockerRoute(H, { HOME: "/h", DOCKER_CONFIG: "rel" }, files({ "rel/config.json": { credsStore: "acr-helper" } }))
      .status,
    "ok",
  );
});

Deno.test("doctor/podman: its own files first; an auths entry in an earlier file wins over a helper later", () => {
  const env = { HOME: "/h", XDG_RUNTIME_DIR: "/run/user/1" };
  assert.deepEqual(podmanFiles(env, "linux"), [
    "/run/user/1/containers/auth.json",
    "/h/.config/containers/auth.json",
    DOCKER,
  ]);
  assert.deepEqual(podmanFiles({ HOME: "/h", XDG_RUNTIME_DIR: "relative", XDG_CONFIG_HOME: "rel" }, "linux"), [
    "/h/.config/containers/auth.json",
    DOCKER,
  ], "relative XDG values are ignored");
  assert.deepEqual(podmanFiles({ HOME: "/h", REGISTRY_AUTH_FILE: "/a.json" }, "linux")[0], "/a.json");
  // No podman file of its own: the docker line says it all.
  assert.equal(podmanRoute(H, env, files({ [DOCKER]: { credHelpers: { [H]: "acr-helper" } } }), "linux"), null);
  const login = podmanRoute(
    H,
    env,
    files({
      "/run/user/1/containers/auth.json": { auths: { [H]: { auth: "eDp5" } } },
      [DOCKER]: { credHelpers: { [H]: "acr-helper" } },
    }),
    "linux",
  )!;
  assert.equal(login.status, "warn");
  assert.match(
    login.text,
    /uses the password stored for .* in "auths" of \/run\/user\/1\/containers\/auth\.json/,
  );
  assert.match(login.fix!, /^podman logout /);
  const ok = podmanRoute(H, env, files({ "/h/.config/containers/auth.json": { credHelpers: { [H]: "acr-helper" } } }));
  assert.equal(ok?.status, "ok");
});

function ioFor(env: Record<string, string>, out: string[]): CommandIO {
  return {
    env,
    // Only what the checks under test touch.
    helper: {} as CommandIO["helper"],
    version: "test",
    readStdin: () => Promise.resolve(""),
    out: (t) => void out.push(t),
    err: () => {},
  };
}

Deno.test("doctor: a named credentials file that does not exist is a warning even when another source is used", async () => {
  const out: string[] = [];
  const c = doctorContext(ioFor({ ALIBABA_CLOUD_CREDENTIALS_FILE: "/nope/credentials" }, out), undefined);
  const check = CHECKS.find((f) => f.name === "credentialsFileCheck")!;
  await check(c);
  assert.deepEqual(out, [
    "warn credentials: ALIBABA_CLOUD_CREDENTIALS_FILE names /nope/credentials, which does not exist\n" +
    "     fix: fix the path, or unset ALIBABA_CLOUD_CREDENTIALS_FILE\n",
  ]);
});

Deno.test({
  ...needs("doctor: a read-only HOME is a cache warning (every get calls the API), not 'created on the first token'", {
    os: "linux",
    tools: ["unshare", "mount"],
    root: true,
  }),
  fn: async () => {
    const home = await tempHome();
    const main = new URL("../main.ts", import.meta.url).pathname;
    const flags = "--allow-env --allow-net --allow-read --allow-write --allow-sys=hostname,homedir,uid --allow-run";
    const script = `mount --bind "$H" "$H" && mount -o remount,bind,ro "$H" && ` +
      `"$DENO" run --quiet ${flags} "$MAIN" doctor --no-login`;
    const r = await exec(["unshare", "-m", "sh", "-c", script], {
      env: {
        H: home,
        HOME: home,
        DENO: Deno.execPath(),
        MAIN: decodeURIComponent(main),
        DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
        ALIBABA_CLOUD_ACCESS_KEY_ID: "LTAIx",
        ALIBABA_CLOUD_ACCESS_KEY_SECRET: "x",
        ALIBABA_CLOUD_ECS_METADATA_DISABLED: "true",
      },
    });
    assert.match(
      r.out,
      /^warn cache: .*docker-credential-acr-helper cannot be created \(Read-only file system.*\): every get calls the API\n {5}fix: set DOCKER_CREDENTIAL_ACR_HELPER_CACHE_DIR to a writable directory/m,
      r.out + r.err,
    );
    await Deno.remove(home, { recursive: true });
  },
});

Deno.test("doctor: docker's 'ok' comes with a PATH warning when docker could not run the helper it names", async () => {
  const check = CHECKS.find((f) => f.name === "clientsCheck")!;
  const bin = await tempHome();
  const run = async (PATH: string) => {
    const out: string[] = [];
    const c = doctorContext(ioFor({ HOME: "/h", PATH }, out), H);
    c.plan = {} as NonNullable<typeof c.plan>; // only its presence matters to this check
    c.read = files({ [DOCKER]: { credHelpers: { [H]: "acr-helper" } } });
    await check(c);
    return out.join("");
  };
  const missing = await run("/usr/bin:/bin");
  assert.match(missing, /^ok {3}docker: asks this helper for registry\.cn-hangzhou\.aliyuncs\.com/m);
  assert.match(
    missing,
    /^warn PATH: docker-credential-acr-helper is not on PATH, so docker and podman cannot run it$/m,
  );
  await Deno.writeTextFile(`${bin}/docker-credential-acr-helper`, "#!/bin/sh\n");
  assert.doesNotMatch(await run(`${bin}:/usr/bin`), /PATH/);
  await Deno.remove(bin, { recursive: true });
});

Deno.test("boolean variables: one rule, the SDKs' (true in any case, padded); doctor names a value that reads as off", async () => {
  const flags = [
    "DOCKER_CREDENTIAL_ACR_HELPER_DISABLE_CACHE",
    "ALIBABA_CLOUD_CLI_PROFILE_DISABLED",
    "ALIBABA_CLOUD_ECS_METADATA_DISABLED",
    "ALIBABA_CLOUD_IMDSV1_DISABLED",
    "ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED",
  ];
  assert.deepEqual(SETTINGS.filter((s) => s.flag).map((s) => s.name).sort(), [...flags].sort());
  for (const name of flags) {
    for (const on of ["true", "TRUE", " True "]) assert.equal(envFlag({ [name]: on }, name), true, `${name}=${on}`);
    for (const off of ["false", "1", "yes", "", undefined]) {
      assert.equal(envFlag({ [name]: off }, name), false, `${name}=${off}`);
    }
  }
  // Each reader goes through the one rule.
  assert.equal(cacheDir({ HOME: "/h", DOCKER_CREDENTIAL_ACR_HELPER_DISABLE_CACHE: " TRUE " }), null);
  assert.equal(cacheDir({ HOME: "/h", DOCKER_CREDENTIAL_ACR_HELPER_DISABLE_CACHE: "1" }) !== null, true);
  assert.equal(vpcEndpointEnabled({ ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED: "True" }), true);
  assert.equal(metadataDisabled({ ALIBABA_CLOUD_ECS_METADATA_DISABLED: "1" }), false);

  const out: string[] = [];
  const env = { HOME: "/h", DOCKER_CREDENTIAL_ACR_HELPER_DISABLE_CACHE: "1", ALIBABA_CLOUD_IMDSV1_DISABLED: "false" };
  const c = doctorContext(ioFor(env, out), undefined);
  await CHECKS.find((f) => f.name === "environmentCheck")!(c);
  const text = out.join("");
  assert.match(
    text,
    /warn environment: DOCKER_CREDENTIAL_ACR_HELPER_DISABLE_CACHE="1" reads as false: only "true" turns it on\n {5}fix: set it to true or false/,
  );
  assert.doesNotMatch(text, /IMDSV1_DISABLED="false" reads/);
});
