/**
 * Runs a built helper as users will, on the machine at hand:
 * `deno run -A scripts/release/smoke.ts COMMAND [ARGS...]` (the binary, or the bundle's launcher).
 *
 * `version`; `get` for Docker Hub (docker's exact not-found line); `get` and
 * `kubelet-credential-provider` against the fake ACR API started here; and a
 * cache hit (no API call). The release runs it on every OS and architecture
 * before publishing; `.ci/run` runs it on the bundle (tests/release_test.ts).
 *
 * @module
 */
import { startFakeAcr } from "../../tests/fake/server.ts";
import { exec } from "../../tests/util.ts";

const KEY = { accessKeyId: "LTAIsmoke", accessKeySecret: "smoke-secret" };
const HOST = "registry.cn-hangzhou.aliyuncs.com";

/** One check's outcome. */
export interface SmokeResult {
  ok: boolean;
  lines: string[];
}

/** Runs the checks on `command`; never throws. */
export async function smoke(command: string[], expectVersion?: string): Promise<SmokeResult> {
  const fake = startFakeAcr({ keys: [KEY] });
  const lines: string[] = [];
  let ok = true;
  const check = (what: string, good: boolean, detail = "") => {
    lines.push(`${good ? "ok  " : "FAIL"} ${what}${detail ? `: ${detail}` : ""}`);
    ok &&= good;
  };
  const home = await Deno.makeTempDir({ prefix: "acr-helper-smoke-" });
  const env: Record<string, string> = {
    HOME: home,
    USERPROFILE: home,
    LOCALAPPDATA: `${home}/AppData/Local`,
    APPDATA: `${home}/AppData/Roaming`,
    DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT: fake.url,
    ALIBABA_CLOUD_ACCESS_KEY_ID: KEY.accessKeyId,
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: KEY.accessKeySecret,
    ALIBABA_CLOUD_ECS_METADATA_DISABLED: "true",
  };
  // Keep what the platform needs to run a program (Windows: SystemRoot and friends), and PATH for the launcher.
  for (const k of ["PATH", "SystemRoot", "SYSTEMROOT", "windir", "TEMP", "TMP", "DENO_DIR", "PATHEXT"]) {
    const v = Deno.env.get(k);
    if (v !== undefined) env[k] = v;
  }
  const run = (args: string[], stdin: string) =>
    exec([...command, ...args], { env, clearEnv: true, stdin })
      .catch((err) => ({ code: -1, out: "", err: String(err) }));
  try {
    const v = await run(["version"], "");
    const version = /^docker-credential-acr-helper (\d+\.\d+\.\d+\S*) \(commit ([0-9a-f]{12}|unknown)\)\n$/.exec(v.out);
    check(
      "version",
      v.code === 0 && version !== null && (!expectVersion || version[1] === expectVersion),
      v.out.trim() || v.err.trim(),
    );
    const hub = await run(["get"], "https://index.docker.io/v1/");
    check(
      "get Docker Hub: docker's not-found",
      hub.code === 1 && hub.out === "credentials not found in native keychain\n" && hub.err === "",
      JSON.stringify(hub.out),
    );
    const cold = await run(["get"], HOST);
    let secret = "";
    try {
      secret = JSON.parse(cold.out).Secret;
    } catch { /* checked below */ }
    check(
      "get (cold, the fake API)",
      cold.code === 0 && secret === fake.issued[0],
      cold.code === 0 ? "" : cold.out.trim() || cold.err.trim(),
    );
    const calls = fake.calls.total;
    const warm = await run(["get"], HOST);
    check("get (cache hit, no API call)", warm.code === 0 && warm.out === cold.out && fake.calls.total === calls);
    const k = await run(
      ["kubelet-credential-provider"],
      JSON.stringify({
        apiVersion: "credentialprovider.kubelet.k8s.io/v1",
        kind: "CredentialProviderRequest",
        image: `${HOST}/ns/app:1`,
      }),
    );
    let kubeletPassword = "";
    try {
      kubeletPassword = JSON.parse(k.out).auth[HOST].password;
    } catch { /* checked below */ }
    check("kubelet-credential-provider", k.code === 0 && kubeletPassword === secret, k.code === 0 ? "" : k.err.trim());
  } finally {
    await fake.close();
    await Deno.remove(home, { recursive: true }).catch(() => {});
  }
  return { ok, lines };
}

if (import.meta.main) {
  const expect = Deno.env.get("SMOKE_EXPECT_VERSION") || undefined;
  const r = await smoke(Deno.args, expect);
  for (const l of r.lines) console.log(l);
  Deno.exit(r.ok ? 0 : 1);
}
