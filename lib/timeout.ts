/**
 * Racing work against a timer, written once: the timer never outlives the
 * race, and the loser's late failure is nobody's business (never an
 * unhandled rejection after our answer).
 *
 * @module
 */

/**
 * `work`'s result, or after `ms` what `onTimeout` returns (or throws). `onTimeout` is where the caller gives up:
 * closes a socket, names the bound in its error, or answers a fallback value.
 *
 * @example
 * ```ts
 * await withTimeout(file.lock(true).then(() => true), 5_000, () => false) // false: not locked in time
 * ```
 */
export function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  work.catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<T>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(onTimeout());
      } catch (err) {
        reject(err);
      }
    }, ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
