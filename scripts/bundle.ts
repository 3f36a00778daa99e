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

/**
 * The oldest Deno the bundle runs on: checked here with a real get against the fake (2.8.0 and 2.9.0 answer;
 * 2.6.0 times out in the SDK's HTTP layer, 2.3.0 and older lack Node built-ins it uses).
 */
export const MIN_DENO = "2.8.0";

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
await Deno.writeTextFile(out, shebang + denoVersionCheck(MIN_DENO) + stampCommit(text, commit).replace(/^#!.*\n/, ""));
await Deno.chmod(out, 0o755);

// The launcher users put on PATH: POSIX sh, so it runs where `env -S` does not (BusyBox, older coreutils), finds
// deno where a kubelet's or systemd's short PATH would miss it, and says so in one line when there is none.
const launcher = new URL("docker-credential-acr-helper", dist);
await Deno.writeTextFile(launcher, launcherScript(RELEASE_FLAGS));
await Deno.chmod(launcher, 0o755);
const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
console.log(
  `${fileURLToPath(out)} (${kib(text.length)}) + ${SDK_FILE} (${kib(sdkText.length)}), commit ${
    commit?.slice(0, 12) ?? "unknown"
  }`,
);

/**
 * The CLI file's first statement: on an older Deno, one line naming both versions (stdout for docker, stderr
 * for the kubelet) instead of an "unexpected TypeError" from deep inside. No fork, no import: a few comparisons.
 */
export function denoVersionCheck(min: string): string {
  return `{const min=${JSON.stringify(min)},have=(globalThis.Deno?.version?.deno??"0.0.0");` +
    `const a=have.split(/[.+-]/).map(Number),b=min.split(".").map(Number);` +
    `let old=false;for(let i=0;i<3;i++){if((a[i]||0)!==b[i]){old=(a[i]||0)<b[i];break;}}` +
    `if(old){const t=new TextEncoder().encode("docker-credential-acr-helper: needs Deno "+min+" or newer, ` +
    `found Deno "+have+": upgrade Deno (deno upgrade), or use the release binary, which needs none\\n");` +
    `(Deno.args[0]==="kubelet-credential-provider"?Deno.stderr:Deno.stdout).writeSync(t);Deno.exit(1);}}\n`;
}

/** The launcher's text (shellcheck-clean POSIX sh; tests/launcher_test.ts runs it under BusyBox). */
export function launcherScript(flags: string[]): string {
  return `#!/bin/sh
# docker-credential-acr-helper: runs the bundle's CLI file, found beside this file's real path, in lib/ or in
# ../lib/docker-credential-acr-helper/, with the release permissions.
# Generated by scripts/bundle.ts.
# Builtins only on the common path (every fork is a measurable part of a cache hit): readlink for a symlink alone.
self=$0
if [ -L "$self" ]; then self=$(readlink -f "$self" 2>/dev/null) || self=$0; fi
dir=\${self%/*}
[ "$dir" = "$self" ] && dir=.
js="$dir/docker-credential-acr-helper.js"
[ -f "$js" ] || js="$dir/lib/docker-credential-acr-helper.js"
[ -f "$js" ] || js="$dir/../lib/docker-credential-acr-helper/docker-credential-acr-helper.js"
say() {
  # docker and podman read stdout; the kubelet reads stderr and wants stdout empty.
  if [ "\${1:-}" = kubelet-credential-provider ]; then echo "$msg" >&2; else echo "$msg"; fi
  exit 1
}
if [ ! -f "$js" ]; then
  msg="docker-credential-acr-helper: docker-credential-acr-helper.js is not beside $self, in lib/ or in ../lib/docker-credential-acr-helper/; reinstall both files of the bundle"
  say "$@"
fi
deno=
if command -v deno >/dev/null 2>&1; then
  deno=deno
else
  for d in "\${DENO_INSTALL:-$HOME/.deno}/bin/deno" /usr/local/bin/deno /usr/bin/deno /opt/deno/bin/deno; do
    if [ -x "$d" ]; then deno=$d; break; fi
  done
fi
if [ -z "$deno" ]; then
  msg="docker-credential-acr-helper: deno (2.9.6) is not on PATH or in ~/.deno/bin, /usr/local/bin, /usr/bin; install it, or use the release binary, which needs no Deno"
  say "$@"
fi
# Root with a user's HOME (sudo -E, a root cron job): Deno would make its cache, root-owned, in that home. A
# DENO_DIR that cannot be created (under /dev/null) keeps it out; Deno then runs without its code cache.
if [ -z "\${DENO_DIR:-}" ] && { { [ -n "\${HOME:-}" ] && [ -e "$HOME" ] && [ ! -O "$HOME" ]; } ||
  { [ -n "\${XDG_CACHE_HOME:-}" ] && [ -e "$XDG_CACHE_HOME" ] && [ ! -O "$XDG_CACHE_HOME" ]; }; }; then
  DENO_DIR=/dev/null/deno
  export DENO_DIR
fi
exec "$deno" run --quiet --no-prompt ${flags.join(" ")} "$js" "$@"
`;
}
