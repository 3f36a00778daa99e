/**
 * On-disk token and instance-id cache shared by every helper process:
 * one JSON file per key, written atomically (temp file + rename), guarded by
 * a per-key `flock` so concurrent cold `get`s make one API call. Any problem
 * (no HOME, read-only, symlinked or foreign directory, corrupt file) degrades
 * to {@link NullCache}: the helper works, just without a cache.
 *
 * @module
 */
import type { Env } from "./config.ts";

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
  getInstanceId(key: string, now: number): Promise<string | null>;
  putInstanceId(key: string, instanceId: string, expiresAt: number): Promise<void>;
  dropInstanceId(key: string): Promise<void>;
  /** Runs `fn` holding the key's lock; after `waitMs` without it, runs `fn` anyway. */
  withLock<T>(key: string, waitMs: number, fn: () => Promise<T>): Promise<T>;
}

const VERSION = 1;
const MAX_REUSE_MARGIN_MS = 15 * 60_000;

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

/**
 * The cache directory: `DOCKER_CREDENTIAL_ACR_HELPER_CACHE_DIR`, else
 * `$XDG_CACHE_HOME/docker-credential-acr-helper`, else
 * `~/.cache/docker-credential-acr-helper`; null when disabled or no home.
 */
export function cacheDir(env: Env): string | null {
  const disabled = env.DOCKER_CREDENTIAL_ACR_HELPER_DISABLE_CACHE?.toLowerCase();
  if (disabled && disabled !== "0" && disabled !== "false") return null;
  if (env.DOCKER_CREDENTIAL_ACR_HELPER_CACHE_DIR) return env.DOCKER_CREDENTIAL_ACR_HELPER_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return `${env.XDG_CACHE_HOME}/docker-credential-acr-helper`;
  const home = env.HOME || env.USERPROFILE;
  return home ? `${home}/.cache/docker-credential-acr-helper` : null;
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
  getInstanceId() {
    return Promise.resolve(null);
  }
  putInstanceId() {
    return Promise.resolve();
  }
  dropInstanceId() {
    return Promise.resolve();
  }
  withLock<T>(_key: string, _waitMs: number, fn: () => Promise<T>) {
    return fn();
  }
}

/** Reports why the cache is off or a file was ignored (goes to the log, never to stdout). */
export type CacheWarn = (message: string) => void;

/**
 * Opens the file cache in `dir`, creating it 0700. Returns a {@link NullCache}
 * when `dir` is null or unusable: a symlink, not ours, not writable.
 */
export async function openCache(dir: string | null, warn: CacheWarn = () => {}): Promise<Cache> {
  if (dir === null) return new NullCache();
  try {
    await Deno.mkdir(`${dir}/tokens`, { recursive: true, mode: 0o700 });
    await Deno.mkdir(`${dir}/instances`, { recursive: true, mode: 0o700 });
    await Deno.mkdir(`${dir}/locks`, { recursive: true, mode: 0o700 });
    const uid = await ownUid(dir);
    for (const d of [dir, `${dir}/tokens`, `${dir}/instances`, `${dir}/locks`]) {
      const info = await Deno.lstat(d);
      if (info.isSymlink || !info.isDirectory) throw new Error(`${d} is a symlink or not a directory`);
      if (uid !== null && info.uid !== null && info.uid !== uid) throw new Error(`${d} belongs to another user`);
    }
    if (Deno.build.os !== "windows") await Deno.chmod(dir, 0o700);
    return new FileCache(dir, uid, warn);
  } catch (err) {
    warn(`cache disabled: ${dir}: ${err instanceof Error ? err.message : String(err)}`);
    return new NullCache();
  }
}

/**
 * Our uid without `--allow-sys=uid` (the release grants only hostname and
 * homedir): the owner of /proc/self on Linux, else of a file we create.
 */
async function ownUid(dir: string): Promise<number | null> {
  try {
    return (await Deno.stat("/proc/self")).uid;
  } catch { /* not Linux */ }
  const probe = `${dir}/.uid-${crypto.randomUUID()}`;
  try {
    await Deno.writeTextFile(probe, "", { createNew: true, mode: 0o600 });
    return (await Deno.lstat(probe)).uid;
  } finally {
    await Deno.remove(probe).catch(() => {});
  }
}

class FileCache implements Cache {
  readonly kind = "file";
  constructor(private readonly dir: string, private readonly uid: number | null, private readonly warn: CacheWarn) {}

  private async readJson(path: string): Promise<Record<string, unknown> | null> {
    try {
      const info = await Deno.lstat(path);
      if (!info.isFile) return null; // a symlink planted in our directory is never followed
      if (this.uid !== null && info.uid !== null && info.uid !== this.uid) return null;
      const value = JSON.parse(await Deno.readTextFile(path));
      if (typeof value !== "object" || value === null || value.v !== VERSION) return null;
      return value;
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) this.warn(`ignoring unreadable cache file ${path}`);
      return null;
    }
  }

  private async writeJson(path: string, value: Record<string, unknown>): Promise<void> {
    const tmp = `${path}.${crypto.randomUUID()}.tmp`;
    try {
      await Deno.writeTextFile(tmp, JSON.stringify({ v: VERSION, ...value }), { mode: 0o600, createNew: true });
      await Deno.rename(tmp, path);
    } catch (err) {
      await Deno.remove(tmp).catch(() => {});
      this.warn(`could not write cache file ${path}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  async getToken(key: string): Promise<TokenEntry | null> {
    const v = await this.readJson(`${this.dir}/tokens/${key}.json`);
    if (
      !v || typeof v.host !== "string" || typeof v.username !== "string" || typeof v.password !== "string" ||
      typeof v.expiresAt !== "number" || typeof v.issuedAt !== "number"
    ) return null;
    return { host: v.host, username: v.username, password: v.password, expiresAt: v.expiresAt, issuedAt: v.issuedAt };
  }

  async putToken(key: string, entry: TokenEntry, now: number): Promise<void> {
    await this.writeJson(`${this.dir}/tokens/${key}.json`, { ...entry });
    await this.prune(now);
  }

  private async *entries(): AsyncGenerator<[string, TokenEntry | null]> {
    try {
      for await (const e of Deno.readDir(`${this.dir}/tokens`)) {
        if (!e.isFile || !e.name.endsWith(".json")) continue;
        const key = e.name.slice(0, -".json".length);
        yield [key, await this.getToken(key)];
      }
    } catch { /* directory vanished: nothing to list */ }
  }

  private async prune(now: number): Promise<void> {
    for await (const [key, entry] of this.entries()) {
      if (entry === null || entry.expiresAt <= now) await Deno.remove(`${this.dir}/tokens/${key}.json`).catch(() => {});
    }
  }

  async eraseHost(host: string): Promise<void> {
    for await (const [key, entry] of this.entries()) {
      if (entry?.host === host) await Deno.remove(`${this.dir}/tokens/${key}.json`).catch(() => {});
    }
  }

  async listTokens(now: number): Promise<TokenEntry[]> {
    const out: TokenEntry[] = [];
    for await (const [, entry] of this.entries()) if (entry && entry.expiresAt > now) out.push(entry);
    return out;
  }

  async getInstanceId(key: string, now: number): Promise<string | null> {
    const v = await this.readJson(`${this.dir}/instances/${key}.json`);
    return v && typeof v.instanceId === "string" && typeof v.expiresAt === "number" && v.expiresAt > now
      ? v.instanceId
      : null;
  }

  putInstanceId(key: string, instanceId: string, expiresAt: number): Promise<void> {
    return this.writeJson(`${this.dir}/instances/${key}.json`, { instanceId, expiresAt });
  }

  async dropInstanceId(key: string): Promise<void> {
    await Deno.remove(`${this.dir}/instances/${key}.json`).catch(() => {});
  }

  async withLock<T>(key: string, waitMs: number, fn: () => Promise<T>): Promise<T> {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(`${this.dir}/locks/${key}.lock`, { read: true, write: true, create: true, mode: 0o600 });
    } catch {
      return await fn();
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    // flock(2): the kernel releases it when a holder dies, so a killed process never blocks others.
    const locked = await Promise.race([
      file.lock(true).then(() => true, () => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), waitMs))),
    ]);
    clearTimeout(timer);
    try {
      if (!locked) this.warn(`lock ${key} not acquired in ${waitMs} ms; going on without it`);
      return await fn();
    } finally {
      if (locked) await file.unlock().catch(() => {});
      file.close();
    }
  }
}
