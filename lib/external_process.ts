/**
 * An aliyun CLI `External` profile's `process_command`, run as the CLI and
 * the SDK run it (split into argv, no shell; it prints
 * `{"mode":"AK"|"StsToken","access_key_id":..,"access_key_secret":..,"sts_token":..}`),
 * but bounded: 15 s, 64 KiB of output, its stderr read and dropped (never on
 * our stdout, never logged: it may hold secrets), and only from a config file
 * owned by the user running the helper (or root), so root with another
 * user's HOME never runs that user's command. Loaded on a miss only.
 *
 * @module
 */
import { markUserFacing } from "./errors.ts";
import { joinChunks } from "./files.ts";

/** The credentials a process_command printed. */
export interface ExternalCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken?: string;
}

/** Options for {@link runProcessCommand}. */
export interface ExternalOptions {
  /** The profile's name, for messages. */
  profile: string;
  command: string;
  /** The CLI config that names the command (its owner is checked). */
  file: string;
  timeoutMs?: number;
  maxBytes?: number;
  /** `Deno.build.os` (the split rules differ on Windows). */
  os?: typeof Deno.build.os;
}

const TIMEOUT_MS = 15_000;
const MAX_BYTES = 64 * 1024;

/** A failure naming the profile, never the output. */
function fail(o: ExternalOptions, problem: string): Error {
  return markUserFacing(
    new Error(`aliyun CLI profile "${o.profile}": process_command ${problem}`),
    "credential-source",
  );
}

/**
 * Splits a process_command into argv: whitespace separates; '…' is literal; "…" keeps `\"`, `\\`, `\$`,
 * `` \` `` escapes and drops backslash-newline; outside quotes a backslash escapes the next character. On
 * Windows a backslash is a path separator, and inside "…" only `\"` is an escape. Null when malformed.
 */
export function splitCommand(command: string, windows = false): string[] | null {
  const args: string[] = [];
  let cur = "";
  let started = false;
  let quote: "'" | '"' | null = null;
  const s = command.trim();
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    const next = s[i + 1];
    if (quote === "'") {
      if (c === "'") quote = null;
      else cur += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === "\\" && next !== undefined && (windows ? next === '"' : '"\\$`\n'.includes(next))) {
        if (next !== "\n") cur += next;
        i++;
      } else cur += c;
    } else if (c === "\\" && !windows) {
      if (next === undefined) return null;
      if (next !== "\n") {
        cur += next;
        started = true;
      }
      i++;
    } else if (c === "'" || c === '"') {
      quote = c;
      started = true;
    } else if (/\s/.test(c)) {
      if (started) args.push(cur);
      cur = "";
      started = false;
    } else {
      cur += c;
      started = true;
    }
  }
  if (quote !== null) return null;
  if (started) args.push(cur);
  return args.length > 0 && args[0] !== "" ? args : null;
}

/** Runs the profile's command and returns the credentials it printed; throws one line naming the profile. */
export async function runProcessCommand(o: ExternalOptions): Promise<ExternalCredentials> {
  checkOwner(o);
  const argv = splitCommand(o.command, (o.os ?? Deno.build.os) === "windows");
  if (argv === null) throw fail(o, "cannot be split into a program and arguments (an unclosed quote?)");
  const max = o.maxBytes ?? MAX_BYTES;
  const timeoutMs = o.timeoutMs ?? TIMEOUT_MS;
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(argv[0], { args: argv.slice(1), stdin: "null", stdout: "piped", stderr: "piped" })
      .spawn();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw fail(o, `${argv[0]} was not found`);
    if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
      throw fail(o, `${argv[0]} may not be run (${err.name}: the helper needs --allow-run for External profiles)`);
    }
    throw fail(o, `${argv[0]} could not be started (${(err as Error).name})`);
  }
  let over = false;
  let timedOut = false;
  const out = child.stdout.getReader();
  const err = child.stderr.getReader();
  // Killing the command may leave its own children holding the pipes: stop reading rather than wait for them.
  const stop = () => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    out.cancel().catch(() => {});
    err.cancel().catch(() => {});
  };
  const timer = setTimeout(() => {
    timedOut = true;
    stop();
  }, timeoutMs);
  try {
    const [stdout, , status] = await Promise.all([
      readCapped(out, max, () => {
        over = true;
        stop();
      }),
      readCapped(err, max, () => {}),
      child.status,
    ]);
    if (timedOut) throw fail(o, `did not finish within ${Math.round(timeoutMs / 1000)} s`);
    if (over) throw fail(o, `printed more than ${max} bytes`);
    if (!status.success) {
      throw fail(o, status.signal ? `was killed by ${status.signal}` : `exited with status ${status.code}`);
    }
    return parseOutput(o, stdout);
  } finally {
    clearTimeout(timer);
  }
}

/** Reads up to `max` bytes; past that calls `onOver` and keeps draining. Ends when the reader is cancelled. */
async function readCapped(reader: ReadableStreamDefaultReader<Uint8Array>, max: number, onOver: () => void) {
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      if (size > max) continue;
      size += r.value.length;
      if (size > max) onOver();
      else chunks.push(r.value);
    }
  } catch { /* cancelled */ }
  return new TextDecoder().decode(joinChunks(chunks, Math.min(size, max)));
}

function parseOutput(o: ExternalOptions, stdout: string): ExternalCredentials {
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(stdout);
  } catch {
    throw fail(o, "did not print JSON");
  }
  const str = (k: string) => (typeof data?.[k] === "string" && data[k] !== "" ? data[k] as string : undefined);
  const accessKeyId = str("access_key_id");
  const accessKeySecret = str("access_key_secret");
  if (!accessKeyId || !accessKeySecret) throw fail(o, "printed no access_key_id or access_key_secret");
  const securityToken = str("sts_token");
  if (data.mode === "StsToken" && !securityToken) throw fail(o, "printed mode StsToken without sts_token");
  return { accessKeyId, accessKeySecret, securityToken };
}

/** Root or the user may own the config; anyone else's command is never run (sudo -E, a root cron job). */
function checkOwner(o: ExternalOptions): void {
  const uid = Deno.uid();
  if (uid === null) return;
  let owner: number | null;
  try {
    owner = Deno.statSync(o.file).uid;
  } catch {
    throw fail(o, `is not run: ${o.file} cannot be checked`);
  }
  if (owner !== null && owner !== uid && owner !== 0) {
    throw fail(o, `is not run: ${o.file} belongs to uid ${owner}, not to this user (uid ${uid})`);
  }
}
