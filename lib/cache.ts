/**
 * The on-disk cache shared by every helper process: tokens, small records
 * and proofs, one JSON file per key, each kind a {@link RecordStore} in one
 * {@link SafeDir}, and a per-key file lock so concurrent cold `get`s make one
 * API call. Any problem (no HOME, read-only, symlinked or foreign directory,
 * corrupt file) degrades to no cache: the helper works, just without one.
 * Also what doctor says about the directory ({@link cacheDirStatus}).
 *
 * @module
 */
import { messageOf } from "./errors.ts";
import { makeOwnDir, notOurs, type Owner, probeUid, sharedParent } from "./own_dirs.ts";
import { SafeDir } from "./safe_dir.ts";
import { RecordStore } from "./record_store.ts";
import { withFileLock } from "./file_lock.ts";

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

/**
 * The subdirectories: tokens, small records (Enterprise instance ids, a region's working endpoint, the ECS role),
 * proofs (service account token hashes STS accepted), locks.
 */
const SUBDIRS = ["tokens", "records", "proofs", "locks"] as const;
/** Where versions before 0.2 kept the records: removed when tokens are tidied. */
const RETIRED = ["instances"] as const;

type Expiring = { expiresAt: number };
type Record_ = Expiring & { value: string };

function parseToken(v: Record<string, unknown>): TokenEntry | null {
  const { host, username, password, expiresAt, issuedAt } = v;
  if (
    typeof host !== "string" || typeof username !== "string" || typeof password !== "string" ||
    typeof expiresAt !== "number" || typeof issuedAt !== "number"
  ) return null;
  return { host, username, password, expiresAt, issuedAt };
}

function parseRecord(v: Record<string, unknown>): Record_ | null {
  return typeof v.value === "string" && typeof v.expiresAt === "number"
    ? { value: v.value, expiresAt: v.expiresAt }
    : null;
}

function parseExpiring(v: Record<string, unknown>): Expiring | null {
  return typeof v.expiresAt === "number" ? { expiresAt: v.expiresAt } : null;
}

/**
 * The file cache: a {@link SafeDir} (every file and directory checked before use), a {@link RecordStore} per kind
 * of record, and a {@link withFileLock} per key.
 */
class FileCache implements Cache {
  readonly kind = "file";
  private readonly dir: SafeDir;
  private readonly tokens: RecordStore<TokenEntry>;
  private readonly records: RecordStore<Record_>;
  private readonly proofs: RecordStore<Expiring>;

  constructor(path: string, warn: CacheWarn, knownUid: () => number | null, home: string | null) {
    this.dir = new SafeDir(path, { subdirs: SUBDIRS, uid: () => knownUid() ?? probeUid(), home, warn });
    this.tokens = new RecordStore(this.dir, "tokens", VERSION, parseToken);
    this.records = new RecordStore(this.dir, "records", VERSION, parseRecord);
    this.proofs = new RecordStore(this.dir, "proofs", VERSION, parseExpiring);
  }

  getToken(key: string): Promise<TokenEntry | null> {
    return Promise.resolve(this.tokens.get(key));
  }

  putToken(key: string, entry: TokenEntry, now: number): Promise<void> {
    const { host, username, password, expiresAt, issuedAt } = entry;
    this.tokens.put(key, { host, username, password, expiresAt, issuedAt });
    this.tokens.prune((e) => e === null || e.expiresAt <= now);
    this.dir.prune(now, RETIRED);
    return Promise.resolve();
  }

  eraseHost(host: string): Promise<void> {
    this.tokens.prune((e) => e?.host === host);
    return Promise.resolve();
  }

  listTokens(now: number): Promise<TokenEntry[]> {
    return Promise.resolve(this.tokens.entries().flatMap(([, e]) => (e && e.expiresAt > now ? [e] : [])));
  }

  getRecord(key: string, now: number): Promise<string | null> {
    const r = this.records.get(key);
    return Promise.resolve(r && r.expiresAt > now ? r.value : null);
  }

  putRecord(key: string, value: string, expiresAt: number): Promise<void> {
    this.records.put(key, { value, expiresAt });
    return Promise.resolve();
  }

  dropRecord(key: string): Promise<void> {
    this.records.remove(key);
    return Promise.resolve();
  }

  hasProof(key: string, now: number): Promise<boolean> {
    const p = this.proofs.get(key);
    return Promise.resolve(p !== null && p.expiresAt > now);
  }

  putProof(key: string, expiresAt: number, now = Date.now()): Promise<void> {
    this.proofs.put(key, { expiresAt });
    // One file per service account token: drop the expired ones so the directory does not grow with every pod.
    this.proofs.prune((p) => p === null || p.expiresAt <= now);
    return Promise.resolve();
  }

  withLock<T>(key: string, waitMs: number, fn: (locked: boolean) => Promise<T>): Promise<T> {
    return withFileLock(this.dir, "locks", key, waitMs, fn);
  }
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
    if (!(err instanceof Deno.errors.NotFound)) return { ok: false, text: `${dir}: ${messageOf(err)}`, fix };
    const why = makeOwnDir(dir, owner, false);
    if (why !== null) return { ok: false, text: `${dir}: not used, every get calls the API: ${why}`, fix };
    const cannot = unwritable(nearestExisting(dir));
    return cannot === null
      ? { ok: true, text: `${dir} (created on the first token)` }
      : { ok: false, text: `${dir} cannot be created (${cannot}): every get calls the API`, fix: writableFix };
  }
  const why = notOurs(dir, info, owner.uid);
  if (why !== null) return { ok: false, text: why, fix };
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
    return messageOf(err).split(":")[0];
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
