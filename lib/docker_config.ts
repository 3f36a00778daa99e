/**
 * `configure-docker`: adds `credHelpers` entries to docker's config.json.
 * The edit is pure ({@link addCredHelpers}); the file handling keeps every
 * other key, writes atomically next to a `.bak`, and never touches a file it
 * cannot parse.
 *
 * @module
 */
import { markUserFacing } from "./errors.ts";
import { type Env, homeOf, type Os } from "./config.ts";
import { makeOwnDir, type Owner } from "./own_dirs.ts";

/** The `credHelpers` value that makes docker run `docker-credential-acr-helper`. */
export const CRED_HELPER_NAME = "acr-helper";
/** The binary docker looks for on PATH. */
export const BINARY_NAME = "docker-credential-acr-helper";

/** Where docker keeps its config: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function dockerConfigPath(env: Env, os: Os = Deno.build.os): string | null {
  if (env.DOCKER_CONFIG) return `${env.DOCKER_CONFIG}/config.json`;
  // Docker's own rule: the user's profile on Windows, whatever HOME a shell set.
  return homeOf(env, ".docker/config.json", os);
}

/** The config file is there but is not a JSON object: it is left alone. */
export class DockerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DockerConfigError";
    markUserFacing(this, "config");
  }
}

/** Result of {@link addCredHelpers}. */
export interface Edit {
  /** The new file text (docker's own layout: tab-indented JSON). */
  text: string;
  /** Hosts that were added or changed. */
  changed: string[];
}

/**
 * Adds `credHelpers[host] = "acr-helper"` for each host to the config text
 * (null: no file yet). Every other key and value is kept, in order.
 */
export function addCredHelpers(existing: string | null, hosts: string[], path: string): Edit {
  let config: Record<string, unknown> = {};
  if (existing !== null && existing.trim() !== "") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(existing);
    } catch (err) {
      const why = err instanceof Error ? err.message.split("\n")[0] : String(err);
      throw new DockerConfigError(`${path} is not valid JSON (${why}); fix it first, nothing was changed`);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new DockerConfigError(`${path} is not a JSON object; fix it first, nothing was changed`);
    }
    config = parsed as Record<string, unknown>;
  }
  const current = config.credHelpers;
  if (current !== undefined && (typeof current !== "object" || current === null || Array.isArray(current))) {
    throw new DockerConfigError(`${path}: "credHelpers" is not an object; fix it first, nothing was changed`);
  }
  const helpers = { ...(current as Record<string, unknown> | undefined) };
  const changed = hosts.filter((h) => helpers[h] !== CRED_HELPER_NAME);
  for (const h of changed) helpers[h] = CRED_HELPER_NAME;
  config.credHelpers = helpers;
  return { text: JSON.stringify(config, null, "\t") + "\n", changed };
}

/** Whether `docker-credential-acr-helper` is found on PATH (with PATHEXT on Windows). */
export function onPath(env: Env, exists: (path: string) => boolean): boolean {
  const windows = Deno.build.os === "windows";
  const sep = windows ? ";" : ":";
  const exts = windows ? (env.PATHEXT ?? ".EXE;.CMD;.BAT").split(";") : [""];
  for (const dir of (env.PATH ?? env.Path ?? "").split(sep)) {
    if (!dir) continue;
    for (const ext of exts) if (exists(`${dir}/${BINARY_NAME}${ext.toLowerCase()}`)) return true;
  }
  return false;
}

/**
 * Writes `text` to `path` atomically (temp file + rename), first copying the
 * current file to `path.bak`. A new file is 0600; an existing one keeps its mode.
 * The directory must be ours, or be created under one of ours (lib/own_dirs.ts).
 */
export function writeDockerConfig(path: string, text: string, owner: Owner): { backup: string | null } {
  const dir = path.slice(0, Math.max(path.lastIndexOf("/"), 0)) || ".";
  // Never create or replace files in another user's directory (root with a user's HOME): they would become root's.
  const why = makeOwnDir(dir, owner);
  if (why !== null) throw new DockerConfigError(why);
  const st = Deno.statSync(dir);
  if (st.uid !== null && owner.uid !== null && st.uid !== owner.uid) {
    throw new DockerConfigError(
      `${dir} belongs to uid ${st.uid}, not to this user (uid ${owner.uid}); run as that user`,
    );
  }
  let mode = 0o600;
  let backup: string | null = null;
  try {
    const st = Deno.statSync(path);
    if (st.mode !== null) mode = st.mode & 0o777;
    backup = `${path}.bak`;
    Deno.copyFileSync(path, backup);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  const tmp = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  try {
    Deno.writeTextFileSync(tmp, text, { mode });
    Deno.renameSync(tmp, path);
  } catch (err) {
    try {
      Deno.removeSync(tmp);
    } catch { /* not created */ }
    throw err;
  }
  return { backup };
}
