/**
 * Retrying a call that failed because the service was busy or unreachable,
 * within a deadline: the STS exchanges (per-pod, RRSA, roles) have no retries
 * of their own. A failed attempt is never remembered: each retry calls again.
 *
 * @module
 */
import { isTransient } from "./errors.ts";

/** Options for {@link retrying}. */
export interface RetryOptions {
  /** Attempts, the first included (default 3). */
  attempts?: number;
  /** Absolute deadline, ms since the epoch: no attempt starts after it. */
  deadline: number;
  /** Base backoff, ms, doubled per attempt with full jitter (default 300). */
  backoffMs?: number;
  /** Which failures are worth another attempt (default {@link isTransient}). */
  retryable?: (err: unknown) => boolean;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Called before each wait for another attempt (for logging): the attempt that failed, the wait, the failure. */
  onRetry?: (attempt: number, delayMs: number, err: unknown) => void;
}

/**
 * Calls `fn` until it succeeds, fails for good, runs out of attempts or would
 * pass the deadline; throws the last failure.
 *
 * @example
 * ```ts
 * const creds = await retrying(() => assumeRoleWithOIDC(exchange), { deadline: Date.now() + 10_000 });
 * ```
 */
export async function retrying<T>(fn: () => Promise<T>, o: RetryOptions): Promise<T> {
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = o.random ?? Math.random;
  const attempts = o.attempts ?? 3;
  const retryable = o.retryable ?? isTransient;
  for (let attempt = 1;; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const delay = Math.round(random() * (o.backoffMs ?? 300) * 2 ** (attempt - 1));
      if (attempt >= attempts || !retryable(err) || now() + delay >= o.deadline) throw err;
      o.onRetry?.(attempt, delay, err);
      await sleep(delay);
    }
  }
}
