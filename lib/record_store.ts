/**
 * Keyed JSON records in one subdirectory of a {@link SafeDir}: each file
 * records its format version and its own key, so a file renamed (or copied
 * from another user's cache) is never read as another key's record, and an
 * older format is ignored rather than misread.
 *
 * @module
 */
import type { SafeDir } from "./safe_dir.ts";

/** See the module's documentation. `T` is what one record holds; `parse` says whether a stored value is one. */
export class RecordStore<T extends object> {
  constructor(
    private readonly dir: SafeDir,
    private readonly sub: string,
    private readonly version: number,
    private readonly parse: (stored: Record<string, unknown>) => T | null,
  ) {}

  /** The record for `key`, or null when it is missing, another key's, another version's or not a `T`. */
  get(key: string): T | null {
    const v = this.dir.readJson(this.sub, key);
    if (v === null || v.v !== this.version || v.key !== key) return null;
    return this.parse(v);
  }

  put(key: string, record: T): void {
    this.dir.writeJson(this.sub, key, { v: this.version, key, ...record });
  }

  remove(key: string): void {
    this.dir.remove(this.sub, key);
  }

  /** Every key with its record (null: unusable). */
  entries(): Array<[string, T | null]> {
    return this.dir.list(this.sub).map((key) => [key, this.get(key)]);
  }

  /** Removes every record `drop` chooses (null: unusable), and returns how many. */
  prune(drop: (record: T | null) => boolean): number {
    let n = 0;
    for (const [key, record] of this.entries()) {
      if (!drop(record)) continue;
      this.remove(key);
      n++;
    }
    return n;
  }
}
