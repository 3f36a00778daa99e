/**
 * `configure-docker`: adds `credHelpers` entries to docker's config.json.
 * The edit is pure ({@link addCredHelpers}) and changes only the bytes it
 * owns: the JSON text is edited in place with `jsonc-parser`'s
 * `modify`/`applyEdits` (the VS Code team's library; a parse and
 * re-serialise would turn `1.0` into `1` and cut a 20-digit number), in the
 * file's own indentation. The file is written as docker writes it: through a
 * symlink to its target, atomically, after a backup that is never
 * overwritten.
 *
 * @module
 */
import { applyEdits, modify, type Node, parseTree } from "jsonc-parser";
import { markUserFacing } from "./errors.ts";
import { type Env, homeOf, type Os } from "./platform.ts";
import { makeOwnDir, type Owner } from "./own_dirs.ts";
import { writeAtomic } from "./files.ts";

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
  /** The new file text. */
  text: string;
  /** Hosts that were added or changed. */
  changed: string[];
  /** Hosts that another helper served before, and which. */
  replaced: Array<{ host: string; was: string }>;
  /** Hosts for which `auths` still holds a stored password (docker now asks the helper; podman may not). */
  storedPasswords: string[];
}

/**
 * The key docker looks a registry up by, from what the user typed: docker's `ConvertToHostname` (the scheme
 * and any path dropped, the port kept as written: `host:443` is a different key from `host`), lower-cased.
 */
export function dockerKey(input: string): string {
  let s = input.trim();
  s = s.replace(/^https?:\/\//i, "");
  return s.split("/", 1)[0].toLowerCase();
}

/**
 * Adds `credHelpers[host] = "acr-helper"` for each host to the config text (null: no file yet), changing no
 * other byte. Refuses text that is not one strict JSON object, and duplicate `credHelpers` keys (which one
 * docker would use is not obvious to the user).
 */
export function addCredHelpers(existing: string | null, hosts: string[], path: string): Edit {
  const text = existing !== null && existing.trim() !== "" ? existing : "{}";
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    const why = err instanceof Error ? err.message.split("\n")[0] : String(err);
    throw new DockerConfigError(`${path} is not valid JSON (${why}); fix it first, nothing was changed`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new DockerConfigError(`${path} is not a JSON object; fix it first, nothing was changed`);
  }
  const config = parsed as Record<string, unknown>;
  const tree = parseTree(text)!;
  const dupTop = duplicateKeys(tree);
  if (dupTop.includes("credHelpers")) {
    throw new DockerConfigError(`${path} has "credHelpers" twice; merge them into one first, nothing was changed`);
  }
  const current = config.credHelpers;
  if (current !== undefined && (typeof current !== "object" || current === null || Array.isArray(current))) {
    throw new DockerConfigError(`${path}: "credHelpers" is not an object; fix it first, nothing was changed`);
  }
  const helpersNode = tree.children?.find((p) => p.children?.[0].value === "credHelpers")?.children?.[1];
  const dupHosts = helpersNode ? duplicateKeys(helpersNode) : [];
  if (dupHosts.length > 0) {
    throw new DockerConfigError(
      `${path}: credHelpers has "${dupHosts[0]}" twice; keep one first, nothing was changed`,
    );
  }
  const helpers = (current ?? {}) as Record<string, unknown>;
  const changed = hosts.filter((h) => helpers[h] !== CRED_HELPER_NAME);
  const replaced = changed.filter((h) => typeof helpers[h] === "string").map((h) => ({
    host: h,
    was: String(helpers[h]),
  }));
  const formattingOptions = formatOf(text);
  let out = text;
  for (const h of changed) {
    out = applyEdits(out, modify(out, ["credHelpers", h], CRED_HELPER_NAME, { formattingOptions }));
  }
  if (existing === null || existing.trim() === "") out += formattingOptions.eol;
  const auths = config.auths;
  const stored = auths && typeof auths === "object" && !Array.isArray(auths)
    ? Object.keys(auths as Record<string, unknown>).map(dockerKey)
    : [];
  return { text: out, changed, replaced, storedPasswords: hosts.filter((h) => stored.includes(h)) };
}

/** Property names that occur more than once in an object node. */
function duplicateKeys(obj: Node): string[] {
  const seen = new Set<string>();
  const dups: string[] = [];
  for (const prop of obj.children ?? []) {
    const key = prop.children?.[0]?.value;
    if (typeof key !== "string") continue;
    if (seen.has(key) && !dups.includes(key)) dups.push(key);
    seen.add(key);
  }
  return dups;
}

/** The file's own layout: its indentation and line ends (docker's own: tabs, LF). */
function formatOf(text: string): { insertSpaces: boolean; tabSize: number; eol: string } {
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  const indent = /\n([ \t]+)\S/.exec(text)?.[1];
  if (indent === undefined || indent.startsWith("\t")) return { insertSpaces: false, tabSize: 1, eol };
  return { insertSpaces: true, tabSize: indent.length, eol };
}

/** Whether `docker-credential-acr-helper` is found on PATH (with PATHEXT on Windows). */
export function onPath(env: Env, exists: (path: string) => boolean = isFile): boolean {
  const windows = Deno.build.os === "windows";
  const sep = windows ? ";" : ":";
  const exts = windows ? (env.PATHEXT ?? ".EXE;.CMD;.BAT").split(";") : [""];
  for (const dir of (env.PATH ?? env.Path ?? "").split(sep)) {
    if (!dir) continue;
    for (const ext of exts) if (exists(`${dir}/${BINARY_NAME}${ext.toLowerCase()}`)) return true;
  }
  return false;
}

/** What {@link writeDockerConfig} did. */
export interface Written {
  /** The file written: the symlink's target when config.json is a link (dotfiles), as docker writes. */
  target: string;
  /** The copy of the previous file (a new name when an older backup exists), or null for a new file. */
  backup: string | null;
}

/**
 * Writes `text` to `path` atomically (temp file + rename in the same directory), through a symlink to its
 * target, first copying the current file to a backup that does not overwrite an older one (`.bak`, else
 * `.bak.1`, ...). A new file is 0600; an existing one keeps its mode. The directory must be ours, or be created
 * under one of ours (lib/own_dirs.ts). When the write fails, the backup it made is removed and the OS's reason
 * is in the error.
 */
export function writeDockerConfig(
  path: string,
  text: string,
  owner: Owner,
  fs: { rename: (from: string, to: string) => void } = { rename: Deno.renameSync },
): Written {
  const target = linkTarget(path);
  const dir = target.slice(0, Math.max(target.lastIndexOf("/"), 0)) || ".";
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
    const cur = Deno.statSync(target);
    if (cur.mode !== null) mode = cur.mode & 0o777;
    backup = freeName(`${target}.bak`);
    Deno.copyFileSync(target, backup);
  } catch (err) {
    if (backup !== null) throw new DockerConfigError(`cannot back up ${target} to ${backup} (${reason(err)})`);
    if (!(err instanceof Deno.errors.NotFound)) throw new DockerConfigError(`cannot read ${target} (${reason(err)})`);
  }
  try {
    writeAtomic(target, text, mode, fs.rename);
  } catch (err) {
    if (backup !== null) {
      try {
        Deno.removeSync(backup);
      } catch { /* not created */ }
    }
    throw new DockerConfigError(`cannot write ${target} (${reason(err)})`);
  }
  return { target, backup };
}

/** The file a symlinked config.json points to (followed as docker follows it); the path itself otherwise. */
function linkTarget(path: string): string {
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(path);
  } catch {
    return path;
  }
  if (!info.isSymlink) return path;
  try {
    return Deno.realPathSync(path);
  } catch (err) {
    throw new DockerConfigError(`${path} is a symlink to a file that is not there (${reason(err)}); fix the link`);
  }
}

/** `base`, or `base.1`, `base.2`... : the first name not taken, so no backup is ever overwritten. */
function freeName(base: string): string {
  for (let i = 0;; i++) {
    const name = i === 0 ? base : `${base}.${i}`;
    try {
      Deno.lstatSync(name);
    } catch {
      return name;
    }
  }
}

/** The OS's reason, without Deno's wrapping: "Permission denied (os error 13)". */
function reason(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m.split(":")[0].trim() || m;
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}
