/**
 * The Homebrew formula and the aqua registry entry a release writes (issue 15, point 4): the formula parses as Ruby
 * (`ruby -c`) and carries each archive's checksum; the aqua entry follows aqua's registry schema (the rules below
 * restate aquaproj/aqua json-schema/registry.json for the keys used) and names assets the release really has.
 */
import assert from "node:assert/strict";
import { aquaEntry, FORMULA, homebrewFormula, parseChecksums } from "../scripts/release/packagers.ts";
import { archiveName, TARGETS } from "../scripts/release/targets.ts";
import { needs } from "./util.ts";

const VERSION = "1.2.3";
const sums = new Map(
  TARGETS.map((t, i) => [`${archiveName(VERSION, t)}.${t.os === "windows" ? "zip" : "tar.gz"}`, `${i}`.repeat(64)]),
);
const checksums = [...sums].map(([f, s]) => `${s}  ${f}`).join("\n") + "\n";

function ruby(args: string[], stdin: string) {
  const child = new Deno.Command("ruby", { args, stdin: "piped", stdout: "piped", stderr: "piped" }).spawn();
  const w = child.stdin.getWriter();
  w.write(new TextEncoder().encode(stdin)).then(() => w.close());
  return child.output().then((o) => ({
    code: o.code,
    out: new TextDecoder().decode(o.stdout),
    err: new TextDecoder().decode(o.stderr),
  }));
}

Deno.test({
  ...needs("packagers: the Homebrew formula is valid Ruby, per-platform URLs and checksums, not the Go helper", {
    tools: ["ruby"],
  }),
  fn: async () => {
    const formula = homebrewFormula(VERSION, parseChecksums(checksums));
    const r = await ruby(["-c"], formula);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /Syntax OK/);
    assert.match(formula, /^class AcrCredentialHelper < Formula$/m);
    assert.equal(FORMULA, "acr-credential-helper");
    for (const t of TARGETS.filter((x) => x.os !== "windows")) {
      const file = `${archiveName(VERSION, t)}.tar.gz`;
      assert.ok(formula.includes(`/v${VERSION}/${file}"\n      sha256 "${sums.get(file)}"`), file);
    }
    assert.match(formula, /conflicts_with "docker-credential-acr-helper"/);
    assert.throws(
      () => homebrewFormula(VERSION, new Map()),
      /checksums\.txt has no docker-credential-acr-helper_1\.2\.3_darwin_arm64\.tar\.gz/,
    );
  },
});

// The parts of aqua's registry schema the entry uses: allowed keys and enums per object.
const PACKAGE_KEYS = new Set([
  "name",
  "aliases",
  "search_words",
  "type",
  "repo_owner",
  "repo_name",
  "description",
  "link",
  "asset",
  "crate",
  "url",
  "path",
  "format",
  "version_filter",
  "version_prefix",
  "go_version_path",
  "rosetta2",
  "windows_arm_emulation",
  "no_asset",
  "version_source",
  "complete_windows_ext",
  "windows_ext",
  "private",
  "append_ext",
  "cargo",
  "build",
  "overrides",
  "format_overrides",
  "files",
  "replacements",
  "supported_envs",
  "checksum",
  "cosign",
  "slsa_provenance",
  "minisign",
  "github_artifact_attestations",
  "github_immutable_release",
  "vars",
  "version_constraint",
  "version_overrides",
]);
const TYPES = ["github_release", "github_content", "github_archive", "http", "go", "go_install", "cargo", "go_build"];
const ENVS = [
  "all",
  "darwin",
  "linux",
  "windows",
  "amd64",
  "arm64",
  "darwin/amd64",
  "darwin/arm64",
  "linux/amd64",
  "linux/arm64",
  "windows/amd64",
  "windows/arm64",
];
const only = (o: Record<string, unknown>, keys: string[], where: string) => {
  for (const k of Object.keys(o)) assert.ok(keys.includes(k), `${where}: "${k}" is not in aqua's schema`);
};

Deno.test({
  ...needs("packagers: the aqua entry follows aqua's registry schema and names the release's real assets", {
    tools: ["ruby"],
  }),
  fn: async () => {
    const r = await ruby(["-ryaml", "-rjson", "-e", "puts JSON.generate(YAML.safe_load($stdin.read))"], aquaEntry());
    assert.equal(r.code, 0, r.err);
    const doc = JSON.parse(r.out) as { packages: Array<Record<string, unknown>> };
    only(doc, ["packages"], "registry");
    assert.equal(doc.packages.length, 1);
    const p = doc.packages[0];
    for (const k of Object.keys(p)) assert.ok(PACKAGE_KEYS.has(k), `package: "${k}" is not in aqua's schema`);
    assert.ok(TYPES.includes(p.type as string));
    for (const f of p.files as Array<Record<string, unknown>>) {
      only(f, ["name", "src", "dir", "link", "hard"], "files[]");
    }
    for (const o of p.format_overrides as Array<Record<string, unknown>>) {
      only(o, ["goos", "format"], "format_overrides[]");
      assert.ok(["darwin", "linux", "windows"].includes(o.goos as string));
    }
    for (const e of p.supported_envs as string[]) assert.ok(ENVS.includes(e), e);
    const c = p.checksum as Record<string, unknown>;
    only(c, [
      "type",
      "asset",
      "url",
      "file_format",
      "algorithm",
      "pattern",
      "enabled",
      "replacements",
      "cosign",
      "minisign",
      "github_artifact_attestations",
    ], "checksum");
    assert.ok(["github_release", "http"].includes(c.type as string));
    assert.ok(["md5", "sha1", "sha256", "sha512"].includes(c.algorithm as string));
    only(p.github_artifact_attestations as Record<string, unknown>, [
      "enabled",
      "predicate_type",
      "signer_workflow",
      "signer-workflow",
    ], "github_artifact_attestations");
    // The asset template, filled in as aqua does, names exactly the archives the release attaches.
    for (const t of TARGETS) {
      const format = t.os === "windows" ? "zip" : "tar.gz";
      const asset = (p.asset as string).replace("{{trimV .Version}}", VERSION).replace("{{.OS}}", t.os)
        .replace("{{.Arch}}", t.arch).replace("{{.Format}}", format);
      assert.ok(sums.has(asset), `aqua would ask for ${asset}`);
    }
  },
});
