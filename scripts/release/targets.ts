/**
 * The release targets: Deno's compile triples, their archive names, and what
 * `file(1)` must say about each binary before it is archived.
 *
 * @module
 */

/** One release target. */
export interface Target {
  triple: string;
  os: "linux" | "darwin" | "windows";
  arch: "amd64" | "arm64";
  /** What `file -b` prints for a binary of this target. */
  fileType: RegExp;
}

/** Every target the release builds (all of `deno compile`'s, Windows arm64 included). */
export const TARGETS: readonly Target[] = [
  {
    triple: "x86_64-unknown-linux-gnu",
    os: "linux",
    arch: "amd64",
    fileType: /^ELF 64-bit LSB (pie )?executable, x86-64\b/,
  },
  {
    triple: "aarch64-unknown-linux-gnu",
    os: "linux",
    arch: "arm64",
    fileType: /^ELF 64-bit LSB (pie )?executable, ARM aarch64\b/,
  },
  { triple: "x86_64-apple-darwin", os: "darwin", arch: "amd64", fileType: /^Mach-O 64-bit x86_64 executable\b/ },
  { triple: "aarch64-apple-darwin", os: "darwin", arch: "arm64", fileType: /^Mach-O 64-bit arm64 executable\b/ },
  {
    triple: "x86_64-pc-windows-msvc",
    os: "windows",
    arch: "amd64",
    fileType: /^PE32\+ executable \(console\) x86-64\b/,
  },
  {
    triple: "aarch64-pc-windows-msvc",
    os: "windows",
    arch: "arm64",
    fileType: /^PE32\+ executable \(console\) Aarch64\b/,
  },
];

/** The archive's base name for a version and target. */
export function archiveName(version: string, t: Target): string {
  return `docker-credential-acr-helper_${version}_${t.os}_${t.arch}`;
}

/**
 * Checks a built binary's format and architecture with `file -b`; returns
 * null when it matches, else what `file` said.
 */
export function checkFileType(fileOutput: string, t: Target): string | null {
  return t.fileType.test(fileOutput.trim()) ? null : fileOutput.trim();
}

if (import.meta.main && Deno.args[0] === "--list") {
  // `targets.ts --list`: one `triple:os:arch` line per target, for the release workflow's loop.
  for (const t of TARGETS) console.log(`${t.triple}:${t.os}:${t.arch}`);
} else if (import.meta.main) {
  // `deno run --allow-run scripts/release/targets.ts FILE TRIPLE`: exit 1 unless FILE is a binary for TRIPLE.
  const [file, triple] = Deno.args;
  const t = TARGETS.find((x) => x.triple === triple);
  if (!file || !t) {
    console.error(`usage: targets.ts FILE TRIPLE (one of ${TARGETS.map((x) => x.triple).join(", ")})`);
    Deno.exit(2);
  }
  const out = new TextDecoder().decode((await new Deno.Command("file", { args: ["-b", file] }).output()).stdout);
  const wrong = checkFileType(out, t);
  if (wrong !== null) {
    console.error(`${file} is not a ${triple} binary: file says "${wrong}"`);
    Deno.exit(1);
  }
  console.log(`${file}: ${out.trim().split(",").slice(0, 2).join(",")}`);
}
