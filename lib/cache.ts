/**
 * On-disk token and instance-id cache shared by every helper process:
 * one JSON file per key, written atomically (temp file + rename), guarded by
 * a per-key `flock` so concurrent cold `get`s make one API call. Any problem
 * (no HOME, read-only, symlinked or foreign directory, corrupt file) degrades
 * to {@link NullCache}: the helper works, just without a cache.
 *
 * @module
 */

import { withTimeout } from "./timeout.ts";
import { writeAtomic } from "./files.ts";
import { makeOwnDir, notOurDir, type Owner, probeUid, sharedParent } from "./own_dirs.ts";

/** A cached temporary password. */
export interface TokenEntry {
  host: string;
  username: string;
  password: string;
  /** ms since epoch */
  expiresAt: number;
  /** ms since epoch */
  issuedAt: number;
}

/** What the helper needs from a cache. */
export interface Cache {
  readonly kind: "file" | "null";
  getToken(key: string): Promise<TokenEntry | null>;
  putToken(key: string, entry: TokenEntry, now: number): Promise<void>;
  /** Removes every token cached for `host`. */
  eraseHost(host: string): Promise<void>;
  /** Every token entry not yet expired at `now`. */
  listTokens(now: number): Promise<TokenEntry[]>;
  /** A small string record (an Enterprise instance id, a region's working endpoint) unexpired at `now`. */
  getRecord(key: string, now: number): Promise<string | null>;
  putRecord(key: string, value: string, expiresAt: number): Promise<void>;
  dropRecord(key: string): Promise<void>;
  /** Whether a proof (a service account token hash STS accepted) is recorded and unexpired at `now`. */
  hasProof(key: string, now: number): Promise<boolean>;
  /** Records a proof until `expiresAt`, dropping expired ones (`now` for that, default the clock). */
  putProof(key: string, expiresAt: number, now?: number): Promise<void>;
  /** Runs `fn` holding the key's lock; after `waitMs` without it, runs `fn` anyway (`locked` false). */
  withLock<T>(key: string, waitMs: number, fn: (locked: boolean) => Promise<T>): Promise<T>;
}

// 2: entries record their key, so a renamed file is never used for another host.
// 3: token keys cover the whole target (kind, instance, region, token API, endpoint); older entries are ignored.
const VERSION = 3;
const MAX_REUSE_MARGIN_MS = 15 * 60_000;
/** A temp file older than this was left by a killed process (a write takes milliseconds). */
const DEBRIS_AGE_MS = 60_000;

/**
 * A token is reused while its remaining lifetime exceeds min(15 min, half its
 * lifetime); an expired one never is.
 */
export function isFresh(entry: TokenEntry, now: number): boolean {
  const lifetime = entry.expiresAt - entry.issuedAt;
  const margin = Math.min(MAX_REUSE_MARGIN_MS, Math.max(0, lifetime) / 2);
  return entry.expiresAt - now > margin;
}

/** Cache key: sha256 of identity and host, so neither appears in file names. */
export async function cacheKey(...parts: string[]): Promise<string> {
  const bytes = new TextEncoder().encode(parts.join("\n"));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A cache that holds nothing. */
export class NullCache implements Cache {
  readonly kind = "null";
  getToken() {
    return Promise.resolve(null);
  }
  putToken() {
    return Promise.resolve();
  }
  eraseHost() {
    return Promise.resolve();
  }
  listTokens() {
    return Promise.resolve([]);
  }
  getRecord() {
    return Promise.resolve(null);
  }
  putRecord() {
    return Promise.resolve();
  }
  dropRecord() {
    return Promise.resolve();
  }
  hasProof() {
    return Promise.resolve(false);
  }
  putProof() {
    return Promise.resolve();
  }
  withLock<T>(_key: string, _waitMs: number, fn: (locked: boolean) => Promise<T>) {
    return fn(true);
  }
}

/** Reports why the cache is off or a file was ignored (goes to the log, never to stdout). */
export type CacheWarn = (message: string) => void;

/**
 * The file cache in `dir`, or a {@link NullCache} when `dir` is null. No I/O
 * here: a hit must cost a few synchronous syscalls, so the directory is
 * checked on first use and created (0700) only on the first write.
 */
export function openCache(
  dir: string | null,
  warn: CacheWarn = () => {},
  uid?: () => number | null,
  home?: string | null,
): Cache {
  return dir === null ? new NullCache() : new FileCache(dir, warn, uid ?? (() => null), home ?? null);
}

const SUBDIRS = ["tokens", "instances", "proofs", "locks"] as const;

/**
 * The file cache. Every file is checked before use: a regular file (never a
 * symlink), owned by us, in directories that are ours and not symlinks, and
 * its recorded key must match its name (a renamed file is never used for
 * another host). Sync calls: in a one-shot CLI they are several times
 * cheaper than their async forms, which matters on the hit path.
 */
class FileCache implements Cache {
  readonly kind = "file";
  private uid: number | null = null;
  private bad = false;
  /** Directories (the cache dir and its subdirectories) found to be ours. */
  private readonly checked = new Set<string>();
  private prepared = false;
  constructor(
    private readonly dir: string,
    private readonly warn: CacheWarn,
    /** Our uid when the caller can tell it cheaply (null: probe for it). */
    private readonly knownUid: () => number | null,
    /** `$HOME`: never created. */
    private readonly home: string | null,
  ) {}

  private ownUid(): number | null {
    return this.uid ??= this.knownUid() ?? probeUid();
  }

  private disable(why: string): false {
    this.warn(`cache disabled: ${this.dir}: ${why}`);
    this.bad = true;
    return false;
  }

  /**
   * Whether `dir` and `dir/sub` exist, are directories (not symlinks) and are
   * ours. Creates nothing; a hit costs these few lstat calls.
   */
  private usable(sub: typeof SUBDIRS[number]): boolean {
    return this.checkDir(this.dir) === "ok" && this.checkDir(`${this.dir}/${sub}`) === "ok";
  }

  private checkDir(d: string): "ok" | "missing" | false {
    if (this.bad) return false;
    if (this.checked.has(d)) return "ok";
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(d);
    } catch (err) {
      return err instanceof Deno.errors.NotFound ? "missing" : this.disable(message(err));
    }
    if (info.isSymlink || !info.isDirectory) return this.disable(`${d} is a symlink or not a directory`);
    if (info.uid !== null) { // null on Windows: no owners to compare
      if (this.ownUid() === null) return this.disable("cannot tell this process's user");
      if (info.uid !== this.uid) {
        return this.disable(`${d} belongs to uid ${info.uid}, not to this user (uid ${this.uid})`);
      }
    }
    this.checked.add(d);
    return "ok";
  }

  /** Creates the tree (0700) on the first write; false when the cache cannot be used. */
  private writable(sub: typeof SUBDIRS[number]): boolean {
    if (!this.prepared) {
      this.prepared = true;
      // Never create anything through a symlink or in someone else's directory.
      const state = this.checkDir(this.dir);
      if (state === false) return false;
      if (state === "missing") {
        const why = makeOwnDir(this.dir, { uid: Deno.build.os === "windows" ? null : this.ownUid(), home: this.home });
        if (why !== null) return this.disable(why);
      }
      const uid = Deno.build.os === "windows" ? null : this.ownUid();
      const shared = Deno.build.os === "windows" ? null : sharedParent(this.dir);
      if (shared !== null) return this.disable(shared);
      try {
        // Each level is created (never through a link: mkdir does not follow one) and then checked with lstat
        // before any use; the top is tightened to 0700 only once it is known to be our own directory.
        const top = notOurDir(this.dir, uid);
        if (top !== null) return this.disable(top);
        const mode = Deno.lstatSync(this.dir).mode;
        if (Deno.build.os !== "windows" && mode !== null && (mode & 0o077) !== 0) Deno.chmodSync(this.dir, 0o700);
        for (const s of SUBDIRS) {
          try {
            Deno.mkdirSync(`${this.dir}/${s}`, { mode: 0o700 });
          } catch (err) {
            if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
          }
          const why = notOurDir(`${this.dir}/${s}`, uid);
          if (why !== null) return this.disable(why);
        }
      } catch (err) {
        return this.disable(message(err));
      }
    }
    return this.usable(sub);
  }

  private readJson(sub: typeof SUBDIRS[number], key: string): Record<string, unknown> | null {
    if (!this.usable(sub)) return null;
    const path = `${this.dir}/${sub}/${key}.json`;
    try {
      const info = Deno.lstatSync(path);
      if (!info.isFile) return null; // a symlink planted in our directory is never followed
      if (info.uid !== null && info.uid !== this.uid) return null;
      const value = JSON.parse(Deno.readTextFileSync(path));
      if (typeof value !== "object" || value === null || value.v !== VERSION || value.key !== key) return null;
      return value;
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) this.warn(`ignoring unreadable cache file ${path}`);
      return null;
    }
  }

  private writeJson(sub: typeof SUBDIRS[number], key: string, value: Record<string, unknown>): void {
    if (!this.writable(sub)) return;
    const path = `${this.dir}/${sub}/${key}.json`;
    try {
      writeAtomic(path, JSON.stringify({ v: VERSION, key, ...value }));
    } catch (err) {
      this.warn(`could not write cache file ${path}: ${message(err)}`);
    }
  }

  private tokenPath(key: string) {
    return `${this.dir}/tokens/${key}.json`;
  }

  getToken(key: string): Promise<TokenEntry | null> {
    return Promise.resolve(this.readToken(key));
  }

  private readToken(key: string): TokenEntry | null {
    const v = this.readJson("tokens", key);
    if (
      !v || typeof v.host !== "string" || typeof v.username !== "string" || typeof v.password !== "string" ||
      typeof v.expiresAt !== "number" || typeof v.issuedAt !== "number"
    ) return null;
    return { host: v.host, username: v.username, password: v.password, expiresAt: v.expiresAt, issuedAt: v.issuedAt };
  }

  putToken(key: string, entry: TokenEntry, now: number): Promise<void> {
    const { host, username, password, expiresAt, issuedAt } = entry;
    this.writeJson("tokens", key, { host, username, password, expiresAt, issuedAt });
    this.removeTokens((e) => e === null || e.expiresAt <= now);
    this.removeDebris(now);
    return Promise.resolve();
  }

  /**
   * Removes temp and probe files a killed process left behind. Only old ones:
   * a young temp file may be another process's write in progress.
   */
  private removeDebris(now: number): void {
    const places: Array<[string, RegExp]> = [
      [`${this.dir}/tokens`, /\.tmp$/],
      [`${this.dir}/instances`, /\.tmp$/],
      [`${this.dir}/proofs`, /\.tmp$/],
      [this.dir, /^\.uid-/],
    ];
    for (const [d, pattern] of places) {
      let names: string[];
      try {
        names = [...Deno.readDirSync(d)].filter((e) => e.isFile && pattern.test(e.name)).map((e) => e.name);
      } catch {
        continue; // gone, or not ours to list: nothing to tidy
      }
      for (const name of names) {
        try {
          const info = Deno.lstatSync(`${d}/${name}`);
          if (info.isFile && (info.mtime?.getTime() ?? now) < now - DEBRIS_AGE_MS) Deno.removeSync(`${d}/${name}`);
        } catch { /* removed by another process meanwhile */ }
      }
    }
  }

  /** Removes token files whose entry (null when unusable) matches. */
  private removeTokens(match: (entry: TokenEntry | null) => boolean): void {
    for (const [key, entry] of this.entries()) {
      if (!match(entry)) continue;
      try {
        Deno.removeSync(this.tokenPath(key));
      } catch { /* already gone */ }
    }
  }

  private entries(): Array<[string, TokenEntry | null]> {
    if (!this.usable("tokens")) return [];
    const out: Array<[string, TokenEntry | null]> = [];
    try {
      for (const e of Deno.readDirSync(`${this.dir}/tokens`)) {
        if (!e.isFile || !e.name.endsWith(".json")) continue;
        const key = e.name.slice(0, -".json".length);
        out.push([key, this.readToken(key)]);
      }
    } catch { /* directory vanished: nothing to list */ }
    return out;
  }

  eraseHost(host: string): Promise<void> {
    this.removeTokens((e) => e?.host === host);
    return Promise.resolve();
  }

  listTokens(now: number): Promise<TokenEntry[]> {
    return Promise.resolve(
      this.entries().flatMap(([, e]) => (e && e.expiresAt > now ? [e] : [])),
    );
  }

  getRecord(key: string, now: number): Promise<string | null> {
    const v = this.readJson("instances", key);
    return Promise.resolve(
      v && typeof v.value === "string" && typeof v.expiresAt === "number" && v.expiresAt > now ? v.value : null,
    );
  }

  putRecord(key: string, value: string, expiresAt: number): Promise<void> {
    this.writeJson("instances", key, { value, expiresAt });
    return Promise.resolve();
  }

  dropRecord(key: string): Promise<void> {
    if (this.usable("instances")) {
      try {
        Deno.removeSync(`${this.dir}/instances/${key}.json`);
      } catch { /* already gone */ }
    }
    return Promise.resolve();
  }

  hasProof(key: string, now: number): Promise<boolean> {
    const v = this.readJson("proofs", key);
    return Promise.resolve(v !== null && typeof v.expiresAt === "number" && v.expiresAt > now);
  }

  putProof(key: string, expiresAt: number, now = Date.now()): Promise<void> {
    this.writeJson("proofs", key, { expiresAt });
    // One file per service account token: drop the expired ones so the directory does not grow with every pod.
    try {
      for (const e of Deno.readDirSync(`${this.dir}/proofs`)) {
        if (!e.isFile || !e.name.endsWith(".json")) continue;
        const k = e.name.slice(0, -".json".length);
        const v = this.readJson("proofs", k);
        if (v === null || typeof v.expiresAt !== "number" || v.expiresAt <= now) {
          try {
            Deno.removeSync(`${this.dir}/proofs/${e.name}`);
          } catch { /* already gone */ }
        }
      }
    } catch { /* not listable: nothing to tidy */ }
    return Promise.resolve();
  }

  async withLock<T>(key: string, waitMs: number, fn: (locked: boolean) => Promise<T>): Promise<T> {
    let file: Deno.FsFile;
    try {
      if (!this.writable("locks")) return await fn(true);
      file = Deno.openSync(`${this.dir}/locks/${key}.lock`, { read: true, write: true, create: true, mode: 0o600 });
    } catch {
      return await fn(true);
    }
    // flock(2): the kernel releases it when a holder dies, so a killed process never blocks others.
    const locked = await withTimeout(file.lock(true).then(() => true, () => false), waitMs, () => false);
    try {
      return await fn(locked);
    } finally {
      if (locked) await file.unlock().catch(() => {});
      file.close();
    }
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** What doctor says about a cache directory: usable or not, and why. */
export interface CacheDirStatus {
  ok: boolean;
  text: string;
  fix?: string;
}

/** Whether the cache in `dir` will be used by this user, without creating anything. */
export function cacheDirStatus(dir: string, owner: Owner): CacheDirStatus {
  const fix = "set DOCKER_CREDENTIAL_ACR_HELPER_CACHE_DIR to a directory of this user's, or run as the owner";
  const shared = Deno.build.os === "windows" ? null : sharedParent(dir);
  if (shared !== null) return { ok: false, text: `${dir}: not used, every get calls the API: ${shared}`, fix };
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(dir);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) return { ok: false, text: `${dir}: ${message(err)}`, fix };
    const why = makeOwnDir(dir, owner, false);
    if (why !== null) return { ok: false, text: `${dir}: not used, every get calls the API: ${why}`, fix };
    const cannot = unwritable(nearestExisting(dir));
    return cannot === null
      ? { ok: true, text: `${dir} (created on the first token)` }
      : { ok: false, text: `${dir} cannot be created (${cannot}): every get calls the API`, fix: writableFix };
  }
  if (info.isSymlink) return { ok: false, text: `${dir} is a symlink: not used`, fix };
  if (!info.isDirectory) return { ok: false, text: `${dir} is not a directory: not used`, fix };
  if (info.uid !== null && owner.uid !== null && info.uid !== owner.uid) {
    return { ok: false, text: `${dir} belongs to uid ${info.uid}, not to this user (uid ${owner.uid}): not used`, fix };
  }
  const cannot = unwritable(dir);
  return cannot === null
    ? { ok: true, text: `${dir} (present)` }
    : { ok: false, text: `${dir} cannot be written (${cannot}): every get calls the API`, fix: writableFix };
}

const writableFix = "set DOCKER_CREDENTIAL_ACR_HELPER_CACHE_DIR to a writable directory of this user's";

/** Why nothing can be written in `dir` (a read-only file system, no permission), or null: a probe file, removed. */
function unwritable(dir: string): string | null {
  let probe: string | undefined;
  try {
    probe = Deno.makeTempFileSync({ dir, prefix: ".doctor-probe-" });
    return null;
  } catch (err) {
    return message(err).split(":")[0];
  } finally {
    if (probe) {
      try {
        Deno.removeSync(probe);
      } catch { /* gone */ }
    }
  }
}

/** `dir`, or its nearest ancestor that exists. */
function nearestExisting(dir: string): string {
  let p = dir;
  for (;;) {
    try {
      Deno.statSync(p);
      return p;
    } catch {
      const i = p.lastIndexOf("/");
      if (i <= 0) return "/";
      p = p.slice(0, i);
    }
  }
}
