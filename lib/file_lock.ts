/**
 * A per-key lock between processes: `flock(2)` on a file in a
 * {@link SafeDir}, so concurrent cold `get`s make one API call. The kernel
 * releases it when a holder dies, so a killed process never blocks others;
 * a lock that cannot be had in time, or at all, never blocks the caller.
 *
 * @module
 */
import type { SafeDir } from "./safe_dir.ts";
import { withTimeout } from "./timeout.ts";

/** Runs `fn` holding `sub/key.lock`; after `waitMs` without it (or with no lock to take), runs `fn` anyway. */
export async function withFileLock<T>(
  dir: SafeDir,
  sub: string,
  key: string,
  waitMs: number,
  fn: (locked: boolean) => Promise<T>,
): Promise<T> {
  let file: Deno.FsFile;
  try {
    if (!dir.writable(sub)) return await fn(true);
    file = Deno.openSync(`${dir.path}/${sub}/${key}.lock`, { read: true, write: true, create: true, mode: 0o600 });
  } catch {
    return await fn(true);
  }
  const locked = await withTimeout(file.lock(true).then(() => true, () => false), waitMs, () => false);
  try {
    return await fn(locked);
  } finally {
    if (locked) await file.unlock().catch(() => {});
    file.close();
  }
}
