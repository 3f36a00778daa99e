/**
 * `deno task bundle`: the helper as two files that need no npm cache and no
 * network to start:
 * - dist/docker-credential-acr-helper.js: the CLI (docker's protocol and the
 *   token path), with a shebang that runs it with the release permissions
 *   (what goes on PATH);
 * - dist/docker-credential-acr-helper.sdk.js: the Alibaba Cloud SDK side and
 *   the subcommands (doctor, configure-docker, the kubelet provider), imported
 *   from beside the first on a cache miss or a subcommand only. A hit never
 *   parses it: a one-file bundle's hit was about 6 ms slower, and the
 *   subcommands in the first file cost a hit about 0.3 ms of parsing.
 *
 * Two edits to the bundler's output, both checked here so an upgrade that
 * changes them fails the build instead of shipping something slower:
 * - the bundler loads `node:module` at the top of any bundle holding npm
 *   CommonJS code, which starts Deno's Node layer (~20 ms) on every run; it
 *   is made lazy, on the first `require` (misses only);
 * - the commit placeholder in lib/version.ts is replaced.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { RELEASE_FLAGS } from "../tests/util.ts";
import { gitCommit, stampCommit } from "./commit.ts";

const root = new URL("../", import.meta.url);
const dist = new URL("dist/", root);
const out = new URL("docker-credential-acr-helper.js", dist);
// scripts/bundle_entry.ts imports it by this name (checked below).
const SDK_FILE = "docker-credential-acr-helper.sdk.js";
const sdk = new URL(SDK_FILE, dist);
await Deno.mkdir(dist, { recursive: true });

async function bundle(entry: string, to: URL): Promise<string> {
  const built = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--quiet", "--platform", "deno", "-o", fileURLToPath(to), entry],
    cwd: fileURLToPath(root),
  }).output();
  if (!built.success) {
    console.error(new TextDecoder().decode(built.stderr));
    Deno.exit(1);
  }
  return await Deno.readTextFile(to);
}

const EAGER = `import { createRequire as __deno_internal_createRequire } from "node:module";
var __require = __deno_internal_createRequire(import.meta.url);`;
const LAZY = `var __nodeRequire;
var __require = (id) => (__nodeRequire ??= globalThis.process.getBuiltinModule("node:module").createRequire(import.meta.url))(id);`;

const commit = await gitCommit(fileURLToPath(root));

let sdkText = await bundle("scripts/bundle_sdk_entry.ts", sdk);
if (!sdkText.includes(EAGER)) {
  throw new Error("bundle: the bundler's createRequire preamble changed; update scripts/bundle.ts");
}
sdkText = sdkText.replace(EAGER, LAZY);
await Deno.writeTextFile(sdk, sdkText);

const text = await bundle("scripts/bundle_entry.ts", out);
// The file every run loads: no npm code, no Node layer, nothing of the SDK.
if (/from "node:|from "npm:|@alicloud/.test(text)) {
  throw new Error("bundle: the CLI file pulled in npm or node: code; keep it behind lib/backend.ts");
}
if (!text.includes(`"${SDK_FILE}"`)) throw new Error(`bundle: scripts/bundle_entry.ts no longer loads ${SDK_FILE}`);
if (text.includes("kubelet-credential-provider takes no arguments")) {
  throw new Error("bundle: the subcommands ended up in the CLI file; they belong in the second file");
}
const shebang = `#!/usr/bin/env -S deno run --quiet --no-prompt ${RELEASE_FLAGS.join(" ")}\n`;
await Deno.writeTextFile(out, shebang + stampCommit(text, commit).replace(/^#!.*\n/, ""));
await Deno.chmod(out, 0o755);
const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
console.log(
  `${fileURLToPath(out)} (${kib(text.length)}) + ${SDK_FILE} (${kib(sdkText.length)}), commit ${
    commit?.slice(0, 12) ?? "unknown"
  }`,
);
