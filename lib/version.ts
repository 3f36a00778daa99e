/** The helper's name as installed on PATH. */
export const NAME = "docker-credential-acr-helper";
/** Release version; the release workflow checks it matches the tag. */
export const VERSION = "0.1.0";
/**
 * The commit a build was made from. `deno task bundle` and the release
 * workflow replace the placeholder; a run from a git checkout reads .git.
 */
export const BUILD_COMMIT: string = "@@COMMIT@@";

/**
 * The commit of a source checkout: .git/HEAD, then the ref it names (loose
 * or packed). Null when not in a git checkout or not readable.
 */
export function sourceCommit(repo: URL, read: (path: URL) => string | null): string | null {
  const head = read(new URL(".git/HEAD", repo))?.trim();
  if (!head) return null;
  if (/^[0-9a-f]{40}$/.test(head)) return head;
  const ref = /^ref: (refs\/[\w./-]+)$/.exec(head)?.[1];
  if (!ref) return null;
  const loose = read(new URL(`.git/${ref}`, repo))?.trim();
  if (loose && /^[0-9a-f]{40}$/.test(loose)) return loose;
  const packed = read(new URL(".git/packed-refs", repo)) ?? "";
  for (const line of packed.split("\n")) {
    const [sha, name] = line.split(" ");
    if (name === ref && /^[0-9a-f]{40}$/.test(sha)) return sha;
  }
  return null;
}
