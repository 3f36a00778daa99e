/**
 * `deno task notices`: THIRD_PARTY_NOTICES from deno.lock. Every npm package
 * whose code can end up in a release (all of the lock's npm packages but
 * type-only ones) with its version, its SPDX license id, and the license text
 * the package ships (its SPDX id alone where it ships none). The release
 * copies the file into every archive; tests/notices_test.ts fails when the
 * lock gains a package the file does not cover.
 *
 * @module
 */
import { fileURLToPath } from "node:url";

const root = new URL("../", import.meta.url);

/** The parts of deno.lock read here. */
export interface Lock {
  npm?: Record<string, { dependencies?: string[] }>;
  workspace?: { dependencies?: string[] };
}

/**
 * The lock's npm packages that can be in a release, as `name@version`, sorted: everything reachable from the
 * project's own imports (the lock's workspace dependencies, i.e. deno.json's import map), type-only packages aside.
 * Packages only the tests import (the workflow linter, the Kubernetes schemas) are not reachable from there.
 */
export function shippedPackages(lock: Lock): string[] {
  const npm = lock.npm ?? {};
  const keys = Object.keys(npm);
  const resolve = (dep: string): string[] => {
    if (npm[dep]) return [dep];
    // A bare name: the lock's one version of it (Deno writes name@version when there are several).
    return keys.filter((k) => splitPackage(k)[0] === dep);
  };
  const seen = new Set<string>();
  const queue = (lock.workspace?.dependencies ?? [])
    .filter((d) => d.startsWith("npm:"))
    .flatMap((d) => resolve(d.slice("npm:".length)));
  while (queue.length) {
    const key = queue.pop()!;
    if (seen.has(key)) continue;
    seen.add(key);
    for (const dep of npm[key]?.dependencies ?? []) queue.push(...resolve(dep));
  }
  return [...seen].filter((k) => !k.startsWith("@types/") && !k.startsWith("undici-types@")).sort();
}

/** `name@version` -> [name, version] (scoped names keep their @). */
export function splitPackage(key: string): [string, string] {
  const at = key.lastIndexOf("@");
  return [key.slice(0, at), key.slice(at + 1).split("_")[0]];
}

/** The notices text for `packages`, reading each from Deno's npm cache under `npmDir`. */
export async function noticesText(packages: string[], npmDir: string): Promise<string> {
  const parts = [
    "Third-party software in docker-credential-acr-helper releases",
    "",
    "Generated from deno.lock by `deno task notices`. Each entry: the package, its version and SPDX license id,",
    "then the license text the package ships (the SPDX id alone where it ships none).",
    "",
  ];
  for (const key of packages) {
    const [name, version] = splitPackage(key);
    const dir = `${npmDir}/${name}/${version}`;
    const pkg = JSON.parse(await Deno.readTextFile(`${dir}/package.json`)) as { license?: unknown };
    const license = typeof pkg.license === "string" ? pkg.license : "UNKNOWN";
    const file = [...Deno.readDirSync(dir)].map((e) => e.name).sort()
      .find((n) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(n));
    parts.push("=".repeat(79), `${name}@${version} (${license})`, "=".repeat(79), "");
    parts.push(file ? (await Deno.readTextFile(`${dir}/${file}`)).trim() : `SPDX-License-Identifier: ${license}`, "");
  }
  return parts.join("\n");
}

/** Deno's npm cache for the registry. */
export function npmCacheDir(): string {
  const denoDir = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`;
  return `${denoDir}/npm/registry.npmjs.org`;
}

if (import.meta.main) {
  const lock = JSON.parse(await Deno.readTextFile(new URL("deno.lock", root)));
  const text = await noticesText(shippedPackages(lock), npmCacheDir());
  await Deno.writeTextFile(new URL("THIRD_PARTY_NOTICES", root), text);
  console.log(fileURLToPath(new URL("THIRD_PARTY_NOTICES", root)));
}
