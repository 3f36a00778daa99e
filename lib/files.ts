/**
 * The small local files the helper reads (config, credentials files, where
 * "absent" is the common case and not an error) and writes (cache records,
 * docker's config.json: each written whole, atomically).
 *
 * @module
 */

/** Reads a file as text; null when it does not exist. Other failures throw. */
export type ReadTextFile = (path: string) => Promise<string | null>;

/**
 * The default {@link ReadTextFile}. A failed open costs ~0.4 ms the first time
 * in Deno (its error path), more than the rest of a cache hit's file work.
 * So for paths under `home` (where every file the helper looks for lives),
 * absence is seen in directory listings instead, walking down from `home`
 * and stopping at the first missing part.
 */
export function localFileReader(home: string | null | undefined): ReadTextFile {
  const base = home && home.startsWith("/") ? (home.endsWith("/") ? home.slice(0, -1) : home) : null;
  return (path) => {
    try {
      if (base !== null && path.startsWith(`${base}/`) && !listed(base, path.slice(base.length + 1))) {
        return Promise.resolve(null);
      }
      return Promise.resolve(Deno.readTextFileSync(path));
    } catch (err) {
      return err instanceof Deno.errors.NotFound ? Promise.resolve(null) : Promise.reject(err);
    }
  };
}

/**
 * False when some directory from `base` down to `base/rest` does not list
 * the next part; true when all do, or when a listing fails (then the read
 * decides).
 */
function listed(base: string, rest: string): boolean {
  let dir = base;
  for (const part of rest.split("/")) {
    if (part === "" || part === "." || part === "..") return true;
    let found = false;
    try {
      for (const e of Deno.readDirSync(dir)) {
        if (e.name === part) {
          found = true;
          break;
        }
      }
    } catch {
      return true;
    }
    if (!found) return false;
    dir = `${dir}/${part}`;
  }
  return true;
}

/** Chunks read one after another, as one array (`total`: their summed length). */
export function joinChunks(chunks: Uint8Array[], total: number): Uint8Array {
  const all = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.length;
  }
  return all;
}

/**
 * A response body as text, reading no more than `max` bytes: null when it is larger (the reading stops there,
 * so an endless body cannot grow the process).
 */
export async function readBodyCapped(res: Response, max: number): Promise<string | null> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > max) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(joinChunks(chunks, size));
}

/**
 * Writes `text` to `path` atomically: a new file (never an existing one or a link: `createNew`) of `mode` beside
 * it, renamed over it, so a reader sees the old file or the new one, never half of one. When a step fails, the temp
 * file is removed and the error is thrown. Temp names end in `.tmp` (what the cache tidies after a killed writer).
 */
export function writeAtomic(
  path: string,
  text: string,
  mode = 0o600,
  rename: (from: string, to: string) => void = Deno.renameSync,
): void {
  const tmp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    Deno.writeTextFileSync(tmp, text, { mode, createNew: true });
    rename(tmp, path);
  } catch (err) {
    try {
      Deno.removeSync(tmp);
    } catch { /* never created */ }
    throw err;
  }
}
