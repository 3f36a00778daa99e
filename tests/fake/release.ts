/**
 * A release laid out as GitHub serves one (v<version>/<archive>.tar.gz, checksums.txt, `latest`), with the
 * bundle-based stand-in for a binary (its sh launcher, the two .js files in lib/): no compiled binary can be built
 * here. Served from loopback for install.sh's and the action's tests, and by the action's workflow.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { exec } from "../util.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const NAME = "docker-credential-acr-helper";
const ARCH = Deno.build.arch === "aarch64" ? "arm64" : "amd64";
const sh = (cmd: string[], env: Record<string, string>, cwd?: string) => exec(cmd, { env, clearEnv: true, cwd });

/** A release directory: v<version>/<archive>.tar.gz and checksums.txt, and `latest`. */
export async function release(web: string, version: string, tweak: { broken?: boolean } = {}): Promise<string> {
  const stage = await Deno.makeTempDir();
  const dir = `${stage}/${NAME}_${version}_linux_${ARCH}`;
  await Deno.mkdir(`${dir}/lib`, { recursive: true });
  if (tweak.broken) {
    // A binary that does not run here (as a wrong-architecture or musl binary would not).
    await Deno.writeTextFile(`${dir}/${NAME}`, "#!/nonexistent/interpreter\n");
  } else {
    await Deno.copyFile(`${root}dist/${NAME}`, `${dir}/${NAME}`);
  }
  await Deno.chmod(`${dir}/${NAME}`, 0o755);
  // The stand-in for a newer release: the same bundle saying another version (lib/version.ts's VERSION).
  const js = (await Deno.readTextFile(`${root}dist/${NAME}.js`)).replace(
    /(var VERSION\d* = )"0\.1\.0"/,
    `$1"${version}"`,
  );
  await Deno.writeTextFile(`${dir}/lib/${NAME}.js`, js);
  await Deno.copyFile(`${root}dist/${NAME}.sdk.js`, `${dir}/lib/${NAME}.sdk.js`);
  for (const f of ["LICENSE", "THIRD_PARTY_NOTICES", "README.md"]) await Deno.copyFile(`${root}${f}`, `${dir}/${f}`);
  await Deno.copyFile(`${root}docs/${NAME}.1`, `${dir}/${NAME}.1`);
  await Deno.mkdir(`${web}/v${version}`, { recursive: true });
  const archive = `${NAME}_${version}_linux_${ARCH}.tar.gz`;
  const r = await sh(
    ["bash", `${root}scripts/release/package.sh`, dir, `${web}/v${version}/${archive}`, "1700000000"],
    {
      PATH: Deno.env.get("PATH")!,
    },
  );
  assert.equal(r.code, 0, r.err);
  const sum = (await sh(["sha256sum", archive], { PATH: Deno.env.get("PATH")! }, `${web}/v${version}`)).out;
  await Deno.writeTextFile(`${web}/v${version}/checksums.txt`, sum);
  await Deno.writeTextFile(`${web}/latest`, `v${version}\n`);
  return `${web}/v${version}/${archive}`;
}

/** Serves `dir` over HTTP on loopback (the files only; anything else is a 404). */
export function serve(dir: string) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = decodeURIComponent(new URL(req.url).pathname);
    try {
      return new Response(await Deno.readFile(`${dir}${path}`));
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
}
