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
  "--allow-sys=hostname,homedir",
];
const MAIN = new URL("../main.ts", import.meta.url).pathname;
const DENO_DIR = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`;

/** What one run printed. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `main.ts <args>` with `stdin` and only the given environment (plus PATH and DENO_DIR). */
export function runHelper(args: string[], stdin: string, env: Record<string, string>): Promise<RunResult> {
  return runScript(MAIN, RELEASE_FLAGS, args, stdin, env);
}

/** Runs any script the way {@link runHelper} runs the helper (the bench's baseline and RSS probe). */
export async function runScript(
  script: string,
  flags: string[],
  args: string[],
  stdin: string,
  env: Record<string, string>,
): Promise<RunResult> {
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--no-prompt", ...flags, script, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      DENO_DIR,
      NO_COLOR: "1",
      ALIBABA_CLOUD_ECS_METADATA_DISABLED: "true",
      ...env,
    },
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(stdin));
  await w.close();
  const out = await child.output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
    ms: performance.now() - started,
  };
}

/** A fresh temp HOME. */
export function tempHome(): Promise<string> {
  return Deno.makeTempDir({ prefix: "acr-helper-home-" });
}
