import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { mainCatching, stdinText } from "../main.ts";

/**
 * Runs the helper as docker does: a subprocess with the release permissions,
 * the server on stdin without a trailing newline, a clean environment.
 *
 * @module
 */

/** The permissions the release binary is compiled with. */
export const RELEASE_FLAGS = [
  "--allow-env",
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-sys=hostname,homedir,uid",
  // Only an aliyun CLI External profile runs anything: the command that profile names (lib/external_process.ts).
  "--allow-run",
];
const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));
/** Deno's cache, as this deno reports it (`~/Library/Caches/deno` on macOS, `%LOCALAPPDATA%\\deno` on Windows). */
const DENO_DIR = Deno.env.get("DENO_DIR") ?? denoDir();

function denoDir(): string {
  const out = new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stdout: "piped", stderr: "null" })
    .outputSync();
  return (JSON.parse(new TextDecoder().decode(out.stdout)) as { denoDir: string }).denoDir;
}

/** What a child needs from the parent's environment to run at all on this platform (Windows: SystemRoot & co). */
function platformEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  const keep = Deno.build.os === "windows"
    ? ["SystemRoot", "SYSTEMROOT", "windir", "TEMP", "TMP", "PATHEXT", "COMSPEC"]
    : [];
  for (const k of keep) {
    const v = Deno.env.get(k);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/**
 * A test that needs a POSIX system (signals, symlinks without privileges, Unix modes and owners): its name says
 * so, and it is skipped on Windows.
 */
export function posixOnly(name: string, why: string): { name: string; ignore: boolean } {
  return { name: `${name} [POSIX: ${why}]`, ignore: Deno.build.os === "windows" };
}

/** A test that needs Linux (namespaces, libfaketime, useradd, util-linux): its name says so; skipped elsewhere. */
export function linuxOnly(name: string, why: string): { name: string; ignore: boolean } {
  return { name: `${name} [Linux: ${why}]`, ignore: Deno.build.os !== "linux" };
}

/** Whether a program is on PATH (or in an sbin directory, where chroot and useradd live). */
export function has(program: string): boolean {
  const sep = Deno.build.os === "windows" ? ";" : ":";
  const dirs = [...(Deno.env.get("PATH") ?? "").split(sep), "/usr/sbin", "/sbin"].filter((d) => d !== "");
  const names = Deno.build.os === "windows" ? [`${program}.exe`, `${program}.cmd`, program] : [program];
  return dirs.some((d) => names.some((n) => statFile(`${d}/${n}`)));
}

function statFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** What a test needs beyond Deno: programs, root, an OS, or anything else a check can tell. */
export interface Needs {
  /** Programs that must be on PATH. */
  tools?: string[];
  root?: boolean;
  os?: "linux" | "posix";
  /** Something else, by name (`libfaketime`), and how to tell it is there. */
  other?: { what: string; present: () => boolean };
}

/**
 * A test that needs what a fresh machine may lack (`shellcheck`, `faketime`, root, namespaces...): its name
 * says so, and it is skipped where that is missing. Under `CI=true` a missing tool or root is a failure, not a
 * skip (a failing test named for what is missing), so CI never goes green by skipping; `.ci/run` installs all
 * of them. `ACR_HELPER_TEST_OPTIONAL` (names, or `all`) lets a CI leg that cannot have some of them skip them.
 * A test for another OS is always skipped.
 *
 * @example
 * ```ts
 * Deno.test({ ...needs("launcher: shellcheck-clean POSIX sh", { tools: ["shellcheck"] }), fn: async () => {} });
 * ```
 */
export function needs(name: string, n: Needs): { name: string; ignore: boolean } {
  const wants = [...(n.tools ?? []), ...(n.root ? ["root"] : []), ...(n.other ? [n.other.what] : [])];
  const label = [...(n.os ? [n.os === "linux" ? "Linux" : "POSIX"] : []), ...wants].join(", ");
  const full = label ? `${name} [needs ${label}]` : name;
  const wrongOs = n.os === "linux" ? Deno.build.os !== "linux" : n.os === "posix" && Deno.build.os === "windows";
  if (wrongOs) return { name: full, ignore: true };
  const missing = [
    ...(n.tools ?? []).filter((t) => !has(t)),
    ...(n.root && Deno.uid() !== 0 ? ["root"] : []),
    ...(n.other && !n.other.present() ? [n.other.what] : []),
  ];
  if (missing.length === 0) return { name: full, ignore: false };
  const optional = (Deno.env.get("ACR_HELPER_TEST_OPTIONAL") ?? "").split(/[\s,]+/);
  const strict = Deno.env.get("CI") === "true" && !optional.includes("all");
  const required = missing.filter((m) => !optional.includes(m));
  if (strict && required.length > 0) {
    Deno.test(`${full}: missing ${required.join(", ")}`, () => {
      throw new Error(`CI=true: ${required.join(", ")} missing; .ci/run installs them (a skip would hide this test)`);
    });
  }
  return { name: full, ignore: true };
}

/** What one run printed. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `main.ts <args>` with `stdin` and only the given environment (plus PATH and DENO_DIR). */
export function runHelper(args: string[], stdin: string | Uint8Array, env: Record<string, string>): Promise<RunResult> {
  return runScript(MAIN, RELEASE_FLAGS, args, stdin, env);
}

/**
 * Runs the CLI's `main()` in this process, with `stdin`, only the given environment (ECS metadata off) and
 * stdout and stderr captured: what {@link runHelper} shows, without a process. For the CLI's logic; the
 * contract only a process can show (permissions, exit, signals, start-up cost) stays with {@link runHelper}.
 */
export async function runMain(
  args: string[],
  stdin: string | Uint8Array,
  env: Record<string, string>,
): Promise<RunResult> {
  const started = performance.now();
  const out: string[] = [];
  const err: string[] = [];
  const bytes = typeof stdin === "string" ? new TextEncoder().encode(stdin) : stdin;
  const code = await mainCatching(args, {
    io: {
      env: { ALIBABA_CLOUD_ECS_METADATA_DISABLED: "true", ...env },
      readStdin: () => stdinText(bytes),
      stdinIsTerminal: () => false,
      out: (t) => void out.push(t),
      err: (t) => void err.push(t),
      uid: () => Deno.uid(),
    },
  });
  return { code, stdout: out.join(""), stderr: err.join(""), ms: performance.now() - started };
}

/** Runs any script the way {@link runHelper} runs the helper (the bench's baseline and RSS probe). */
export async function runScript(
  script: string,
  flags: string[],
  args: string[],
  stdin: string | Uint8Array,
  env: Record<string, string>,
): Promise<RunResult> {
  const started = performance.now();
  const child = spawnScript(script, flags, args, env);
  const w = child.stdin.getWriter();
  // A helper that stops reading early (stdin over its limit) closes the pipe: that is its answer, not an error.
  await w.write(typeof stdin === "string" ? new TextEncoder().encode(stdin) : stdin).catch(() => {});
  await w.close().catch(() => {});
  const out = await child.output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
    ms: performance.now() - started,
  };
}

/** Starts `main.ts <args>` as {@link runHelper} does, leaving stdin open (for tests that kill it). */
export function spawnHelper(args: string[], env: Record<string, string>): Deno.ChildProcess {
  return spawnScript(MAIN, RELEASE_FLAGS, args, env);
}

function spawnScript(script: string, flags: string[], args: string[], env: Record<string, string>): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--no-prompt", ...flags, script, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    clearEnv: true,
    env: {
      ...platformEnv(),
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      DENO_DIR,
      NO_COLOR: "1",
      ALIBABA_CLOUD_ECS_METADATA_DISABLED: "true",
      ...env,
    },
  }).spawn();
}

/** A fresh temp HOME. */
export function tempHome(): Promise<string> {
  return Deno.makeTempDir({ prefix: "acr-helper-home-" });
}

/**
 * The environment a test runs the helper in: a fresh HOME, the fake's API
 * endpoint and an access key (the canary key unless another is given).
 */
export async function fakeEnv(
  apiUrl: string,
  key: { accessKeyId: string; accessKeySecret: string } = CANARY_KEY,
  extra: Record<string, string> = {},
): Promise<Record<string, string>> {
  return {
    HOME: await tempHome(),
    DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT: apiUrl,
    ALIBABA_CLOUD_ACCESS_KEY_ID: key.accessKeyId,
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: key.accessKeySecret,
    ...extra,
  };
}

/** Canary secrets: none may ever appear on any output, in a log or in the cache. */
export const CANARY_KEY = { accessKeyId: "LTAIcanaryid", accessKeySecret: "CANARY-ak-secret-4f1e" };
/** An STS canary (security token included). */
export const CANARY_STS = {
  accessKeyId: "STS.canary",
  accessKeySecret: "CANARY-sts-secret-77aa",
  securityToken: "CANARY-sts-token-9b2c",
};
const CANARIES = [
  CANARY_KEY.accessKeySecret,
  CANARY_STS.accessKeySecret,
  CANARY_STS.securityToken,
  "oidc-jwt-canary",
  "CANARY-",
];

/** Fails when any canary secret appears in any of `outputs`. */
export function assertNoSecrets(...outputs: string[]): void {
  for (const out of outputs) {
    for (const secret of CANARIES) assert.ok(!out.includes(secret), `secret leaked: ${secret}`);
  }
}

/** Every file under the cache directory's tokens/ and records/, as text. */
export function cacheFiles(cacheDir: string): string[] {
  const out: string[] = [];
  for (const sub of ["tokens", "records"]) {
    try {
      for (const f of Deno.readDirSync(`${cacheDir}/${sub}`)) {
        out.push(Deno.readTextFileSync(`${cacheDir}/${sub}/${f.name}`));
      }
    } catch { /* no cache */ }
  }
  return out;
}

/**
 * {@link runHelper} at debug level with a log file (unless the caller set a
 * level), then checks: no canary secret on stdout, stderr, in the log or the
 * cache; no issued temporary password in stderr or the log, and on stdout only
 * for `get`.
 */
export async function runChecked(
  args: string[],
  stdin: string | Uint8Array,
  e: Record<string, string>,
  issued: readonly string[],
  run: typeof runHelper = runHelper,
): Promise<RunResult> {
  const logged = "DOCKER_CREDENTIAL_ACR_HELPER_LOG_LEVEL" in e;
  const logFile = `${e.HOME || await tempHome()}/canary-${crypto.randomUUID()}.log`;
  const r = await run(
    args,
    stdin,
    logged ? e : {
      ...e,
      DOCKER_CREDENTIAL_ACR_HELPER_LOG_LEVEL: "debug",
      DOCKER_CREDENTIAL_ACR_HELPER_LOG_FILE: logFile,
    },
  );
  const log = await Deno.readTextFile(logFile).catch(() => "");
  if (!logged && r.code === 0 && args[0] === "get") {
    assert.match(log, /cache (hit|miss|filled by another process)|not ours/, "debug log written");
  }
  const cacheDir = e.DOCKER_CREDENTIAL_ACR_HELPER_CACHE_DIR ?? `${e.HOME}/.cache/docker-credential-acr-helper`;
  assertNoSecrets(r.stdout, r.stderr, log, ...cacheFiles(cacheDir));
  for (const password of issued) {
    for (const [where, text] of [["stderr", r.stderr], ["log", log]]) {
      assert.ok(!text.includes(password), `temporary password in ${where}`);
    }
    if (args[0] !== "get") assert.ok(!r.stdout.includes(password), "temporary password on stdout");
  }
  return r;
}

/** What a finished command printed. */
export interface Executed {
  code: number;
  out: string;
  err: string;
}

/**
 * Runs any command to completion with `stdin` written and closed: its exit code and output as text. With
 * `clearEnv`, `env` is the whole environment; otherwise it is added to this process's.
 */
export async function exec(
  cmd: string[],
  o: { env?: Record<string, string>; clearEnv?: boolean; cwd?: string; stdin?: string } = {},
): Promise<Executed> {
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    env: o.env,
    clearEnv: o.clearEnv,
    cwd: o.cwd,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  // A command that exits without reading closes the pipe: that is its answer, not an error.
  await w.write(new TextEncoder().encode(o.stdin ?? "")).catch(() => {});
  await w.close().catch(() => {});
  const r = await child.output();
  return { code: r.code, out: new TextDecoder().decode(r.stdout), err: new TextDecoder().decode(r.stderr) };
}

/** A second user (uid 65534, through setpriv) running `script` in sh until killed: the attacker of a race test. */
export function asNobody(script: string, env: Record<string, string>): Deno.ChildProcess {
  return new Deno.Command("setpriv", {
    args: ["--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-c", script],
    env,
    stdout: "null",
    stderr: "null",
  }).spawn();
}
