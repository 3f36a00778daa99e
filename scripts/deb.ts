/**
 * `deno task deb [--binary FILE] [--arch amd64|arm64] [--version V]`: a Debian package,
 * dist/docker-credential-acr-helper_<version>_<arch>.deb, with the binary in /usr/bin, the man page, LICENSE, the
 * third-party notices, a machine-readable copyright, `Depends: libc6 (>= 2.27)`; reproducible (mtimes and the
 * archive's dates from SOURCE_DATE_EPOCH, default the commit's time).
 *
 * The release passes the verified binary (`--binary`). Without one, where no compiled binary can be built (offline,
 * here), it packages a stand-in that behaves as the binary does: the npm `deno` binary for the target and the bundle
 * in /usr/lib/docker-credential-acr-helper, behind a two-line launcher in /usr/bin.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { RELEASE_FLAGS } from "../tests/util.ts";
import { gitCommit } from "./commit.ts";
import { npmCacheDir, shippedPackages, splitPackage } from "./notices.ts";

const NAME = "docker-credential-acr-helper";
const root = fileURLToPath(new URL("../", import.meta.url));

const { values } = parseArgs({
  options: {
    binary: { type: "string" },
    arch: { type: "string", default: Deno.build.arch === "aarch64" ? "arm64" : "amd64" },
    version: { type: "string" },
    out: { type: "string", default: "dist" },
  },
});
const version = values.version ??
  /export const VERSION = "([^"]+)"/.exec(await Deno.readTextFile(`${root}lib/version.ts`))![1];
const arch = values.arch;
if (arch !== "amd64" && arch !== "arm64") throw new Error(`deb: --arch ${arch}: amd64 or arm64`);
const epoch = Number(Deno.env.get("SOURCE_DATE_EPOCH") ?? await commitTime());

async function run(cmd: string[], env: Record<string, string> = {}): Promise<string> {
  const o = await new Deno.Command(cmd[0], { args: cmd.slice(1), cwd: root, env, stderr: "piped", stdout: "piped" })
    .output();
  if (!o.success) throw new Error(`${cmd.join(" ")}: ${new TextDecoder().decode(o.stderr)}`);
  return new TextDecoder().decode(o.stdout);
}

async function commitTime(): Promise<string> {
  try {
    return (await run(["git", "log", "-1", "--format=%ct"])).trim();
  } catch {
    return "1700000000";
  }
}

const stage = await Deno.makeTempDir({ prefix: "acr-helper-deb-" });
const pkg = `${stage}/pkg`;
const doc = `${pkg}/usr/share/doc/${NAME}`;
await Deno.mkdir(`${pkg}/DEBIAN`, { recursive: true });
await Deno.mkdir(`${pkg}/usr/bin`, { recursive: true });
await Deno.mkdir(doc, { recursive: true });
await Deno.mkdir(`${pkg}/usr/share/man/man1`, { recursive: true });

const standIn = values.binary === undefined;
if (standIn) {
  // The stand-in: deno itself (a program only the launcher runs: /usr/libexec), the bundle (arch-independent
  // data: /usr/share), and a two-line launcher that runs one with the other.
  const libexec = `${pkg}/usr/libexec/${NAME}`;
  const share = `${pkg}/usr/share/${NAME}`;
  await Deno.mkdir(libexec, { recursive: true });
  await Deno.mkdir(share, { recursive: true });
  await run([Deno.execPath(), "task", "--quiet", "bundle"]);
  await Deno.copyFile(Deno.realPathSync(Deno.execPath()), `${libexec}/deno`);
  await Deno.chmod(`${libexec}/deno`, 0o755);
  for (const f of [`${NAME}.js`, `${NAME}.sdk.js`]) {
    // The bundle's CLI file starts with a shebang for direct use; here the launcher runs it, so it is plain data.
    const text = (await Deno.readTextFile(`${root}dist/${f}`)).replace(/^#!.*\n/, "");
    await Deno.writeTextFile(`${share}/${f}`, text);
    await Deno.chmod(`${share}/${f}`, 0o644);
  }
  await Deno.writeTextFile(
    `${pkg}/usr/bin/${NAME}`,
    `#!/bin/sh\nexec /usr/libexec/${NAME}/deno run --quiet --no-prompt ${
      RELEASE_FLAGS.join(" ")
    } /usr/share/${NAME}/${NAME}.js "$@"\n`,
  );
} else {
  await Deno.copyFile(values.binary!, `${pkg}/usr/bin/${NAME}`);
}
await Deno.chmod(`${pkg}/usr/bin/${NAME}`, 0o755);

// Documentation: the man page, notices, the copyright file and a changelog, compressed as Debian wants them.
await gzipTo(`${root}docs/${NAME}.1`, `${pkg}/usr/share/man/man1/${NAME}.1.gz`);
await gzipTo(`${root}THIRD_PARTY_NOTICES`, `${doc}/THIRD_PARTY_NOTICES.gz`);
await Deno.writeTextFile(`${doc}/copyright`, await copyright(standIn));
const date = new Date(epoch * 1000).toUTCString().replace("GMT", "+0000");
await Deno.writeTextFile(
  `${stage}/changelog`,
  `${NAME} (${version}) unstable; urgency=medium\n\n  * Release ${version}${
    (await gitCommit(root)) ? ` (commit ${(await gitCommit(root))!.slice(0, 12)})` : ""
  }.\n\n -- docker-credential-acr-helper authors <maintainers@users.noreply.github.com>  ${date}\n`,
);
await gzipTo(`${stage}/changelog`, `${doc}/changelog.gz`);

const installedKiB = Math.ceil(
  Number((await run(["du", "-sk", "--apparent-size", `${pkg}/usr`])).split("\t")[0]),
);
await Deno.writeTextFile(
  `${pkg}/DEBIAN/control`,
  [
    `Package: ${NAME}`,
    `Version: ${version}`,
    `Architecture: ${arch}`,
    "Maintainer: docker-credential-acr-helper authors <maintainers@users.noreply.github.com>",
    `Installed-Size: ${installedKiB}`,
    "Depends: libc6 (>= 2.27)",
    "Section: admin",
    "Priority: optional",
    "Homepage: https://github.com/acr-helper/docker-credential-acr-helper",
    "Description: Docker credential helper for Alibaba Cloud Container Registry",
    " Docker, podman, skopeo, helm, nerdctl and the kubelet ask it for a login",
    " whenever they talk to an Alibaba Cloud Container Registry (ACR) registry; it",
    " answers with a temporary password from ACR's GetAuthorizationToken API, using",
    " the Alibaba Cloud credential chain (RRSA, access keys, profiles, ECS RAM",
    " role). No docker login and no long-lived registry password.",
    "",
  ].join("\n"),
);
// Lintian overrides, each with its reason (docs: README "Debian package").
await Deno.mkdir(`${pkg}/usr/share/lintian/overrides`, { recursive: true });
await Deno.writeTextFile(
  `${pkg}/usr/share/lintian/overrides/${NAME}`,
  [
    "# The Deno runtime, built upstream, is the stand-in's interpreter and the core of a release binary (deno",
    "# compile appends the program to it): its build flags, sections and embedded libraries are not ours to change.",
    ...[standIn ? `usr/libexec/${NAME}/deno` : `usr/bin/${NAME}`].flatMap((f) => [
      `${NAME}: hardening-no-relro [${f}]`,
      `${NAME}: binary-has-unneeded-section .comment [${f}]`,
      `${NAME}: spelling-error-in-binary * [${f}]`,
      `${NAME}: embedded-library * [${f}]`,
    ]),
    "",
  ].join("\n"),
);

// md5sums, then everything to the same mtime and modes Debian expects, then the archive.
const files: string[] = [];
for await (const f of walk(`${pkg}/usr`)) files.push(f);
files.sort();
const sums: string[] = [];
for (const f of files) sums.push(`${(await run(["md5sum", f])).split(" ")[0]}  ${f.slice(pkg.length + 1)}`);
await Deno.writeTextFile(`${pkg}/DEBIAN/md5sums`, sums.join("\n") + "\n");
for await (const f of walk(pkg, true)) {
  const info = Deno.lstatSync(f);
  if (info.isDirectory) await Deno.chmod(f, 0o755);
  else if (!f.endsWith(`/usr/bin/${NAME}`) && !f.endsWith(`/usr/libexec/${NAME}/deno`)) await Deno.chmod(f, 0o644);
}
await run(["find", pkg, "-exec", "touch", "-h", "-d", `@${epoch}`, "{}", "+"]);
const outDir = values.out.startsWith("/") ? values.out : `${root}${values.out}`;
await Deno.mkdir(outDir, { recursive: true });
const out = `${outDir}/${NAME}_${version}_${arch}.deb`;
await run(["dpkg-deb", "--root-owner-group", "-Zgzip", "-z9", "--build", pkg, out], {
  PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
  SOURCE_DATE_EPOCH: String(epoch),
});
await Deno.remove(stage, { recursive: true });
console.log(out);

async function* walk(dir: string, withDirs = false): AsyncGenerator<string> {
  if (withDirs) yield dir;
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) yield* walk(p, withDirs);
    else yield p;
  }
}

async function gzipTo(from: string, to: string): Promise<void> {
  const o = await new Deno.Command("gzip", { args: ["-9n", "-c", from], stdout: "piped" }).output();
  if (!o.success) throw new Error(`gzip ${from} failed`);
  await Deno.writeFile(to, o.stdout);
}

/**
 * The machine-readable copyright file (DEP-5): ours for everything, then the file that carries the bundled npm
 * packages (and, in the stand-in, Deno itself) with each package named in a comment.
 */
async function copyright(withDeno: boolean): Promise<string> {
  const lock = JSON.parse(await Deno.readTextFile(`${root}deno.lock`));
  const licenses = new Set<string>(["MIT"]);
  const bundled: string[] = [];
  for (const key of shippedPackages(lock)) {
    const [name, v] = splitPackage(key);
    const license = JSON.parse(await Deno.readTextFile(`${npmCacheDir()}/${name}/${v}/package.json`)).license ??
      "UNKNOWN";
    licenses.add(license);
    bundled.push(` ${name} ${v} (${license})`);
  }
  const all = [...licenses].sort();
  const stanzas = [
    "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/",
    `Upstream-Name: ${NAME}`,
    "Source: https://github.com/acr-helper/docker-credential-acr-helper",
    "",
    "Files: *",
    "Copyright: 2026 The docker-credential-acr-helper authors",
    "License: MIT",
    "",
    `Files: ${withDeno ? `usr/share/${NAME}/${NAME}.sdk.js` : `usr/bin/${NAME}`}`,
    "Copyright: 2026 The docker-credential-acr-helper authors",
    " the authors of the bundled npm packages listed below",
    ...(withDeno ? [] : [" 2018-2026 the Deno authors"]),
    `License: ${all.join(" and ")}`,
    "Comment: Bundled npm packages (their license texts: /usr/share/doc/" + NAME + "/THIRD_PARTY_NOTICES.gz):",
    ...bundled,
    "",
  ];
  if (withDeno) {
    stanzas.push(`Files: usr/libexec/${NAME}/deno`, "Copyright: 2018-2026 the Deno authors", "License: MIT", "");
  }
  for (const l of all) {
    stanzas.push(
      `License: ${l}`,
      ` The full text is in /usr/share/doc/${NAME}/THIRD_PARTY_NOTICES.gz${
        l === "Apache-2.0" ? " and /usr/share/common-licenses/Apache-2.0" : ""
      }.`,
      "",
    );
  }
  return stanzas.join("\n");
}
