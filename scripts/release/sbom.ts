/**
 * A CycloneDX 1.5 SBOM (JSON) of what a release ships, from deno.lock: the
 * npm packages the notices cover, with their versions, package URLs and
 * licenses. `deno run --allow-read --allow-env scripts/release/sbom.ts > sbom.cdx.json`
 *
 * @module
 */
import { type Lock, npmCacheDir, shippedPackages, splitPackage } from "../notices.ts";

/** The SBOM for `lock`, reading licenses from Deno's npm cache when it has the package. */
export async function sbom(lock: Lock, version: string, npmDir: string) {
  const components = [];
  for (const key of shippedPackages(lock)) {
    const [name, v] = splitPackage(key);
    let license: string | undefined;
    try {
      const pkg = JSON.parse(await Deno.readTextFile(`${npmDir}/${name}/${v}/package.json`));
      if (typeof pkg.license === "string") license = pkg.license;
    } catch { /* not installed: no license field */ }
    const purl = `pkg:npm/${name.replace("@", "%40")}@${v}`;
    components.push({
      type: "library",
      "bom-ref": purl,
      name,
      version: v,
      purl,
      ...(license ? { licenses: [{ license: { id: license } }] } : {}),
    });
  }
  return {
    bomFormat: "CycloneDX",
    specVersion: "1.5",
    version: 1,
    metadata: {
      component: {
        type: "application",
        "bom-ref": `pkg:generic/docker-credential-acr-helper@${version}`,
        name: "docker-credential-acr-helper",
        version,
        licenses: [{ license: { id: "MIT" } }],
      },
      tools: { components: [{ type: "application", name: "scripts/release/sbom.ts" }] },
    },
    components,
  };
}

if (import.meta.main) {
  const root = new URL("../../", import.meta.url);
  const lock = JSON.parse(await Deno.readTextFile(new URL("deno.lock", root)));
  const version = /export const VERSION = "([^"]+)"/.exec(await Deno.readTextFile(new URL("lib/version.ts", root)))![1];
  console.log(JSON.stringify(await sbom(lock, version, npmCacheDir()), null, 2));
}
