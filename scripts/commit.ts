/**
 * The commit a build is stamped with (lib/version.ts's `@@COMMIT@@`).
 *
 * @module
 */

/** `git rev-parse HEAD` in `dir`, or null outside a git checkout. */
export async function gitCommit(dir: string): Promise<string | null> {
  try {
    const r = await new Deno.Command("git", { args: ["rev-parse", "HEAD"], cwd: dir, stderr: "null" }).output();
    return r.success ? new TextDecoder().decode(r.stdout).trim() : null;
  } catch {
    return null;
  }
}

/** `source` with the commit placeholder replaced; throws when the placeholder is gone (a build would lie). */
export function stampCommit(source: string, commit: string | null): string {
  if (!source.includes("@@COMMIT@@")) throw new Error("build: commit placeholder @@COMMIT@@ not found");
  return commit === null ? source : source.replace("@@COMMIT@@", commit);
}
