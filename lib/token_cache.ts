/**
 * The read-through token cache policy, in one place: a fresh entry is a hit;
 * otherwise take the key's lock (waiting a bounded time: a stopped holder
 * must not stall everyone), look again (another process may have filled it),
 * fetch, and store. When the fetch fails, a cached password that is still
 * valid is served only if the service could not be reached; an answer that
 * says no is never papered over with an old password.
 *
 * @module
 */
import { type Cache, isFresh, type TokenEntry } from "./cache.ts";
import { isTransient, messageOf } from "./errors.ts";
import type { Logger } from "./log.ts";

/** How long a `get` waits for another process's lock before going on without it. */
export const LOCK_WAIT_MS = 5_000;
/** A fallback password must stay valid at least this long: a pull takes time. */
const FALLBACK_MIN_REMAINING_MS = 60_000;

/** A freshly fetched token, its times on the local clock. */
export type FreshToken = Omit<TokenEntry, "host">;

/** How the answer was found. */
export type Outcome = "hit" | "filled" | "fetched" | "fallback";

/** Options for {@link readThrough}. */
export interface ReadThroughOptions {
  cache: Cache;
  key: string;
  /** Normalised host, for the entry and the log. */
  host: string;
  now: () => number;
  /** Absolute deadline of the whole `get`, ms since the epoch (asked for on a miss only). */
  deadline: () => number;
  /** Bound on waiting for the lock (default {@link LOCK_WAIT_MS}). */
  lockWaitMs?: number;
  log: Logger;
  /** The miss: fetches a new token. */
  fetch: () => Promise<FreshToken>;
}

/**
 * Returns the cached token or a new one, and how it was found.
 *
 * @example
 * ```ts
 * const { entry } = await readThrough({ cache, key, host, now: Date.now, deadline: () => deadline, log, fetch });
 * ```
 */
export async function readThrough(o: ReadThroughOptions): Promise<{ entry: TokenEntry; outcome: Outcome }> {
  const { cache, key, host, now, log } = o;
  const hit = await cache.getToken(key);
  if (hit && isFresh(hit, now())) {
    log.debug(`cache hit for ${host}`);
    return { entry: hit, outcome: "hit" };
  }
  const waitMs = Math.max(0, Math.min(o.lockWaitMs ?? LOCK_WAIT_MS, o.deadline() - now()));
  return await cache.withLock(key, waitMs, async (locked) => {
    if (!locked) log.warn(`lock for ${host} not acquired in ${waitMs} ms (holder stopped?); going on without it`);
    const held = await cache.getToken(key);
    if (held && isFresh(held, now())) {
      log.debug(`cache filled by another process for ${host}`);
      return { entry: held, outcome: "filled" as const };
    }
    log.debug(`cache miss for ${host}`);
    let fresh: FreshToken;
    try {
      fresh = await o.fetch();
    } catch (err) {
      const usable = held ?? hit;
      const why = messageOf(err);
      if (usable && usable.expiresAt - now() > FALLBACK_MIN_REMAINING_MS) {
        if (isTransient(err)) {
          log.warn(`refresh failed, the service could not be reached; using the cached token for ${host}: ${why}`);
          return { entry: usable, outcome: "fallback" as const };
        }
        log.warn(`refresh refused by the service; not using the cached token for ${host}: ${why}`);
      }
      throw err;
    }
    const entry: TokenEntry = { host, ...fresh };
    await cache.putToken(key, entry, now());
    return { entry, outcome: "fetched" as const };
  });
}
