/**
 * A directory of our own that other users cannot steer: every level is
 * checked with lstat before use (a real directory, ours, never a link), it
 * is created 0700 only on the first write and only where creating is safe
 * (lib/own_dirs.ts), and files in it are regular files of ours, written
 * whole (temp file + rename). Any doubt turns the directory off, with one
 * reason, and every call after that does nothing: the caller works without
 * it. Sync calls: in a one-shot CLI they are several times cheaper than their
 * async forms, which matters on a cache hit.
 *
 * @module
 */
import { makeOwnDir, notOurs, sharedParent } from "./own_dirs.ts";
import { writeAtomic } from "./files.ts";
import { messageOf } from "./errors.ts";

/** Reports why the directory is off or a file in it was ignored (to the log, never to stdout). */
export type Warn = (message: string) => void;

/** Options for {@link SafeDir}. */
export interface SafeDirOptions {
  /** Its subdirectories, created with it. */
  subdirs: readonly string[];
  /** Our uid (null: cannot tell; then nothing is used on a system with owners). Called at most once. */
  uid: () => number | null;
  /** `$HOME`: never created. */
  home: string | null;
  warn: Warn;
  os?: typeof Deno.build.os;
}

/** A temp or probe file older than this was left by a killed process (a write takes milliseconds). */
const DEBRIS_AGE_MS = 60_000;

/** See the module's documentation. */
export class SafeDir {
  private uid: number | null | undefined;
  private off = false;
  /** Directories found to be ours. */
  private readonly checked = new Set<string>();
  private prepared = false;
  private readonly windows: boolean;

  constructor(readonly path: string, private readonly o: SafeDirOptions) {
    this.windows = (o.os ?? Deno.build.os) === "windows";
  }

  private ownUid(): number | null {
    if (this.uid === undefined) this.uid = this.windows ? null : this.o.uid();
    return this.uid;
  }

  private disable(why: string): false {
    this.o.warn(`cache disabled: ${this.path}: ${why}`);
    this.off = true;
    return false;
  }

  /** Whether the directory and `sub` exist and are ours. Creates nothing: a hit costs these few lstat calls. */
  usable(sub: string): boolean {
    return this.check(this.path) === "ok" && this.check(`${this.path}/${sub}`) === "ok";
  }

  private check(d: string): "ok" | "missing" | false {
    if (this.off) return false;
    if (this.checked.has(d)) return "ok";
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(d);
    } catch (err) {
      return err instanceof Deno.errors.NotFound ? "missing" : this.disable(messageOf(err));
    }
    const why = notOurs(d, info, info.uid === null ? null : this.ownUid());
    if (why !== null) return this.disable(why);
    this.checked.add(d);
    return "ok";
  }

  /** Creates the tree (0700) on the first write; false when it cannot be used. */
  writable(sub: string): boolean {
    if (!this.prepared) {
      this.prepared = true;
      const why = this.ensure();
      if (why !== null) return this.disable(why);
    }
    return this.usable(sub);
  }

  /** Never creates anything through a link or in someone else's directory; null when the tree is there and ours. */
  private ensure(): string | null {
    const state = this.check(this.path);
    if (state === false) return null; // already off, with its reason
    const uid = this.ownUid();
    if (state === "missing") {
      const why = makeOwnDir(this.path, { uid, home: this.o.home });
      if (why !== null) return why;
    }
    const shared = this.windows ? null : sharedParent(this.path);
    if (shared !== null) return shared;
    try {
      // Each level is created (mkdir never follows a link) and then checked with lstat before any use; the top is
      // tightened to 0700 only once it is known to be our own directory.
      const top = Deno.lstatSync(this.path);
      const why = notOurs(this.path, top, uid);
      if (why !== null) return why;
      if (!this.windows && top.mode !== null && (top.mode & 0o077) !== 0) Deno.chmodSync(this.path, 0o700);
      for (const s of this.o.subdirs) {
        try {
          Deno.mkdirSync(`${this.path}/${s}`, { mode: 0o700 });
        } catch (err) {
          if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
        }
        const why = notOurs(`${this.path}/${s}`, Deno.lstatSync(`${this.path}/${s}`), uid);
        if (why !== null) return why;
      }
    } catch (err) {
      return messageOf(err);
    }
    return null;
  }

  /** `sub/name.json` parsed, when it is a regular file of ours holding a JSON object; else null. */
  readJson(sub: string, name: string): Record<string, unknown> | null {
    if (!this.usable(sub)) return null;
    const path = `${this.path}/${sub}/${name}.json`;
    try {
      const info = Deno.lstatSync(path);
      if (!info.isFile) return null; // a link planted in our directory is never followed
      if (info.uid !== null && info.uid !== this.ownUid()) return null;
      const value = JSON.parse(Deno.readTextFileSync(path));
      return typeof value === "object" && value !== null && !Array.isArray(value) ? value : null;
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) this.o.warn(`ignoring unreadable cache file ${path}`);
      return null;
    }
  }

  /** Writes `sub/name.json` whole (0600); a failure is a warning, never an error. */
  writeJson(sub: string, name: string, value: unknown): void {
    if (!this.writable(sub)) return;
    const path = `${this.path}/${sub}/${name}.json`;
    try {
      writeAtomic(path, JSON.stringify(value));
    } catch (err) {
      this.o.warn(`could not write cache file ${path}: ${messageOf(err)}`);
    }
  }

  /** The names (without `.json`) of the JSON files in `sub`. */
  list(sub: string): string[] {
    if (!this.usable(sub)) return [];
    try {
      return [...Deno.readDirSync(`${this.path}/${sub}`)]
        .filter((e) => e.isFile && e.name.endsWith(".json"))
        .map((e) => e.name.slice(0, -".json".length));
    } catch {
      return []; // vanished: nothing to list
    }
  }

  remove(sub: string, name: string): void {
    if (!this.usable(sub)) return;
    try {
      Deno.removeSync(`${this.path}/${sub}/${name}.json`);
    } catch { /* already gone */ }
  }

  /**
   * Removes temp and probe files a killed process left behind, only old ones (a young temp file may be another
   * process's write in progress), and the files of `retired` subdirectories an older version used, then those.
   */
  prune(now: number, retired: readonly string[] = []): void {
    if (this.check(this.path) !== "ok") return;
    const places: Array<[string, RegExp]> = [
      ...this.o.subdirs.map((s): [string, RegExp] => [`${this.path}/${s}`, /\.tmp$/]),
      [this.path, /^\.uid-/],
    ];
    for (const [d, pattern] of places) removeFiles(d, (name, info) => pattern.test(name) && old(info, now));
    for (const r of retired) {
      const d = `${this.path}/${r}`;
      try {
        if (notOurs(d, Deno.lstatSync(d), this.ownUid()) !== null) continue;
      } catch {
        continue; // not there: the usual case
      }
      removeFiles(d, () => true);
      try {
        Deno.removeSync(d);
      } catch { /* not empty: someone else's file, left alone */ }
    }
  }
}

function old(info: Deno.FileInfo, now: number): boolean {
  return (info.mtime?.getTime() ?? now) < now - DEBRIS_AGE_MS;
}

/** Removes the regular files (never links) in `d` that `pick` chooses. */
function removeFiles(d: string, pick: (name: string, info: Deno.FileInfo) => boolean): void {
  let names: string[];
  try {
    names = [...Deno.readDirSync(d)].filter((e) => e.isFile).map((e) => e.name);
  } catch {
    return; // gone, or not ours to list: nothing to tidy
  }
  for (const name of names) {
    try {
      const info = Deno.lstatSync(`${d}/${name}`);
      if (info.isFile && pick(name, info)) Deno.removeSync(`${d}/${name}`);
    } catch { /* removed by another process meanwhile */ }
  }
}
