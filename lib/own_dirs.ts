/**
 * Creating directories only where they are ours. A helper run as root with a
 * user's `HOME` (`sudo -E docker pull`) must not leave root-owned `~/.cache`
 * or `~/.docker` behind: the user's own tools then fail on them. So a missing
 * directory is created only below an existing directory owned by the
 * effective user, and `$HOME` itself is never created.
 *
 * @module
 */

/** Who we are and where home is. */
export interface Owner {
  /** Effective uid; null when it cannot be told (then nothing is created on a system with owners). */
  uid: number | null;
  /** `$HOME` (or `%USERPROFILE%`), never created. */
  home?: string | null;
}

/**
 * Creates `dir` (mode 0700) and its missing parents when that is safe.
 * Returns null when `dir` exists or was created, else why not (one line).
 * With `create` false, only says whether it could be created (doctor).
 *
 * @example
 * ```ts
 * makeOwnDir(`${home}/.cache/docker-credential-acr-helper`, { uid: Deno.uid(), home }) // null: created
 * ```
 */
export function makeOwnDir(dir: string, owner: Owner, create = true): string | null {
  const home = owner.home ? trimSlash(owner.home) : null;
  const notHome = homeNotOurs(dir, home, owner.uid);
  if (notHome !== null) return notHome;
  const missing: string[] = [];
  let p = trimSlash(dir);
  for (;;) {
    let info: Deno.FileInfo;
    try {
      // Follows symlinks: an ancestor such as macOS's /var -> /private/var is fine; the directory we own is
      // checked (never a symlink) by the caller.
      info = Deno.statSync(p);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) return `${p}: ${err instanceof Error ? err.message : err}`;
      if (home !== null && p === home) return `HOME (${home}) does not exist; not creating it`;
      missing.unshift(p);
      const parent = parentOf(p);
      if (parent === null) return `no existing parent directory for ${dir}`;
      p = parent;
      continue;
    }
    if (missing.length === 0) return null;
    if (!info.isDirectory) return `${p} is not a directory`;
    if (info.uid !== null) {
      if (owner.uid === null) return `cannot tell this process's user; not creating ${missing[0]}`;
      if (info.uid !== owner.uid) {
        return `${p} belongs to uid ${info.uid}, not to this user (uid ${owner.uid}); not creating ${missing[0]} in it`;
      }
    }
    break;
  }
  if (!create) return null;
  for (const m of missing) {
    try {
      Deno.mkdirSync(m, { mode: 0o700 });
    } catch (err) {
      // Another helper may have made it a moment ago: fine, if what is there now is ours (checked below).
      if (!(err instanceof Deno.errors.AlreadyExists)) return `cannot create ${m} (${(err as Error).message})`;
    }
    const why = notOurDir(m, owner.uid);
    if (why !== null) return why;
  }
  return null;
}

/**
 * Null when `dir` is a real directory (not a link) owned by `uid`, checked with lstat right after creating it:
 * what is there may have been swapped by someone who can write the parent, and nothing is used or chmod-ed through
 * a link. Else why not.
 */
export function notOurDir(dir: string, uid: number | null): string | null {
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(dir);
  } catch (err) {
    return `${dir}: ${(err as Error).message}`;
  }
  return notOurs(dir, info, uid);
}

/**
 * The one answer to "is this directory ours", from its lstat: null when it is a real directory (not a link) owned
 * by `uid` (or on a system without owners), else why it is not used. `uid` null where there are owners: we cannot
 * tell, so it is not ours.
 */
export function notOurs(dir: string, info: Deno.FileInfo, uid: number | null): string | null {
  if (info.isSymlink) return `${dir} is a symlink: not used`;
  if (!info.isDirectory) return `${dir} is not a directory: not used`;
  if (info.uid === null) return null; // Windows: no owners to compare
  if (uid === null) return `cannot tell this process's user: ${dir} not used`;
  if (info.uid !== uid) return `${dir} belongs to uid ${info.uid}, not to this user (uid ${uid}): not used`;
  return null;
}

/**
 * Null unless `dir`'s parent can be written by others and has no sticky bit: then anyone could swap `dir` for a link
 * between a check and a use, so the directory is not used at all (fail closed).
 */
export function sharedParent(dir: string): string | null {
  const parent = parentOf(trimSlash(dir));
  if (parent === null) return null;
  try {
    const info = Deno.statSync(parent);
    if (info.mode !== null && (info.mode & 0o002) !== 0 && (info.mode & 0o1000) === 0) {
      return `${parent} can be written by anyone and has no sticky bit: ${dir} in it could be swapped for a link`;
    }
  } catch { /* missing: the walk says so */ }
  return null;
}

/**
 * Under HOME, HOME itself decides: a `~/.cache` that root (or Deno run as root) already made there must not
 * let root go on creating in the user's home. Null when `dir` is not under HOME, or HOME is ours.
 */
function homeNotOurs(dir: string, home: string | null, uid: number | null): string | null {
  if (home === null || !(dir.startsWith(`${home}/`) || dir.startsWith(`${home}\\`))) return null;
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(home);
  } catch {
    return null; // missing: the walk says so
  }
  if (info.uid === null) return null;
  if (uid === null) return `cannot tell this process's user; not creating anything in HOME (${home})`;
  return info.uid === uid
    ? null
    : `HOME (${home}) belongs to uid ${info.uid}, not to this user (uid ${uid}); not creating anything in it`;
}

function trimSlash(p: string): string {
  return p.length > 1 && /[\\/]$/.test(p) ? p.slice(0, -1) : p;
}

function parentOf(p: string): string | null {
  const i = Math.max(p.lastIndexOf("/"), p.lastIndexOf("\\"));
  if (i < 0) return null;
  if (i === 0) return p === "/" ? null : "/";
  const parent = p.slice(0, i);
  return /^[A-Za-z]:$/.test(parent) ? `${parent}\\` : parent;
}

/**
 * Our uid. `Deno.uid()` and /proc/self need permissions not every install
 * grants (`--allow-sys=uid`, `--allow-all`), so: the owner of a file we just
 * created in the system's temp directory (never in a directory that may be
 * someone else's). Null when we cannot create one.
 */
export function probeUid(): number | null {
  let probe: string | undefined;
  try {
    probe = Deno.makeTempFileSync({ prefix: ".acr-helper-uid-" });
    return Deno.lstatSync(probe).uid;
  } catch {
    return null;
  } finally {
    if (probe) {
      try {
        Deno.removeSync(probe);
      } catch { /* already gone */ }
    }
  }
}
