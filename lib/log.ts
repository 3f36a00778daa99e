/**
 * Opt-in logging: off unless `DOCKER_CREDENTIAL_ACR_HELPER_LOG_LEVEL` is set;
 * to `DOCKER_CREDENTIAL_ACR_HELPER_LOG_FILE`, else stderr. Every line passes
 * the redactor: registered secrets, and anything shaped like a password,
 * secret, security token or Authorization header.
 *
 * @module
 */
import { type Env, grantedUid } from "./platform.ts";

/** Log levels, most verbose first. */
export const LEVELS = ["debug", "info", "warn", "error"] as const;
/** One of {@link LEVELS}. */
export type Level = typeof LEVELS[number];

/** The logger every module receives. */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** Registers a value that must never be written (a token, a secret). */
  secret(value: string | undefined): void;
}

const PATTERNS: RegExp[] = [
  /("(?:Secret|password|Password|AuthorizationToken|authorizationToken|AccessKeySecret|accessKeySecret|SecurityToken|securityToken|OIDCToken)"\s*:\s*")[^"]*(")/g,
  /((?:authorization|x-acs-security-token|x-acs-bearer-token)\s*[:=]\s*)[^\s,;]+(?:[^\n]*)/gi,
  /((?:secret|password|token)=)[^&\s]+/gi,
];

/** Redacts registered secrets and secret-shaped fields from a line. */
export function redact(line: string, secrets: Iterable<string>): string {
  let out = line;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join("[REDACTED]");
  for (const re of PATTERNS) {
    out = out.replace(re, (_m, a: string, b?: string) => `${a}[REDACTED]${typeof b === "string" ? b : ""}`);
  }
  return out;
}

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  env: Env;
  /** Where lines go; default: the log file or stderr. */
  sink?: (line: string) => void;
  /** stderr, when there is no log file (default: the process's). */
  stderr?: (text: string) => void;
  now?: () => number;
}

/**
 * Creates the logger from the environment; a no-op when no level is set.
 *
 * @example
 * ```ts
 * const log = createLogger({ env: Deno.env.toObject() });
 * log.debug("cache miss");
 * ```
 */
export function createLogger({ env, sink, stderr, now = Date.now }: LoggerOptions): Logger {
  const wanted = env.DOCKER_CREDENTIAL_ACR_HELPER_LOG_LEVEL?.trim().toLowerCase();
  const min = LEVELS.indexOf(wanted as Level);
  const secrets = new Set<string>();
  const file = env.DOCKER_CREDENTIAL_ACR_HELPER_LOG_FILE;
  let opened: Deno.FsFile | null | undefined;
  const write = sink ?? ((line: string) => {
    try {
      if (!file) (stderr ?? ((t: string) => Deno.stderr.writeSync(new TextEncoder().encode(t))))(line);
      else if ((opened ??= openLogFile(file)) !== null) opened.writeSync(new TextEncoder().encode(line));
    } catch { /* logging must never break a pull */ }
  });
  const at = (level: Level) => (message: string) => {
    if (min === -1 || LEVELS.indexOf(level) < min) return;
    const line = `${new Date(now()).toISOString()} ${level} [${Deno.pid}] ${message.replace(/\r?\n/g, " ")}\n`;
    write(redact(line, secrets));
  };
  return {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    secret(value) {
      if (value) secrets.add(value);
    },
  };
}

/**
 * Opens the log file for appending without ever following a link or changing a file that is not ours: a new
 * file is created exclusively (O_EXCL: a link planted at the path makes that fail) with mode 0600; an existing one
 * must be a regular file we own, and the file opened must be the very one checked (same device and inode), so a
 * link swapped in between is never written through. Nothing is ever chmod-ed. Null: no log.
 */
export function openLogFile(path: string): Deno.FsFile | null {
  try {
    return Deno.openSync(path, { write: true, createNew: true, mode: 0o600 });
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) return null;
  }
  let before: Deno.FileInfo;
  try {
    before = Deno.lstatSync(path);
  } catch {
    return null;
  }
  const uid = grantedUid();
  if (!before.isFile || (before.uid !== null && uid !== null && before.uid !== uid)) return null;
  let f: Deno.FsFile;
  try {
    f = Deno.openSync(path, { append: true });
  } catch {
    return null;
  }
  const now = f.statSync();
  if (now.ino !== before.ino || now.dev !== before.dev || !now.isFile) {
    f.close();
    return null;
  }
  return f;
}
