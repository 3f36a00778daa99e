/**
 * `deno task installer-image [--binary FILE] [--context DIR] [--build TAG]`: the node installer image's build context
 * (default dist/installer-context): a static BusyBox with the applets the install script uses, the install script, and
 * the plugin: the release binary given with --binary, or, offline, the bundle (its sh launcher and the two .js files
 * in lib/, which need Deno on the node). With --build, `podman build --network=none` of deploy/installer/Containerfile.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = fileURLToPath(new URL("../", import.meta.url));
const NAME = "docker-credential-acr-helper";
const APPLETS = ["sh", "cp", "mv", "mkdir", "chroot", "rm", "sleep", "chmod", "dirname", "basename", "cat", "echo"];

const { values } = parseArgs({
  options: {
    binary: { type: "string" },
    context: { type: "string", default: `${root}dist/installer-context` },
    build: { type: "string" },
    "podman-root": { type: "string" },
  },
});

async function run(cmd: string[]): Promise<string> {
  const o = await new Deno.Command(cmd[0], { args: cmd.slice(1), cwd: root, stdout: "piped", stderr: "piped" })
    .output();
  if (!o.success) throw new Error(`${cmd.join(" ")}: ${new TextDecoder().decode(o.stderr).trim()}`);
  return new TextDecoder().decode(o.stdout);
}

/** A BusyBox that needs no libc in the image: Debian's busybox-static. */
async function staticBusybox(): Promise<string> {
  for (const p of ["/bin/busybox", "/usr/bin/busybox"]) {
    try {
      const real = Deno.realPathSync(p);
      if ((await run(["file", "-b", "-L", real])).includes("statically linked")) return real;
    } catch { /* look on */ }
  }
  throw new Error("installer-image: no static busybox; install Debian's busybox-static");
}

const ctx = values.context;
await Deno.remove(ctx, { recursive: true }).catch(() => {});
await Deno.mkdir(`${ctx}/bin`, { recursive: true });
await Deno.mkdir(`${ctx}/opt/acr-helper`, { recursive: true });
await Deno.copyFile(await staticBusybox(), `${ctx}/bin/busybox`);
await Deno.chmod(`${ctx}/bin/busybox`, 0o755);
for (const a of APPLETS) await Deno.symlink("busybox", `${ctx}/bin/${a}`);
await Deno.copyFile(`${root}deploy/installer/install-plugin.sh`, `${ctx}/opt/acr-helper/install-plugin.sh`);
if (values.binary) {
  await Deno.copyFile(values.binary, `${ctx}/opt/acr-helper/${NAME}`);
} else {
  await run([Deno.execPath(), "task", "--quiet", "bundle"]);
  await Deno.copyFile(`${root}dist/${NAME}`, `${ctx}/opt/acr-helper/${NAME}`);
  await Deno.mkdir(`${ctx}/opt/acr-helper/lib`);
  for (const f of [`${NAME}.js`, `${NAME}.sdk.js`]) {
    await Deno.copyFile(`${root}dist/${f}`, `${ctx}/opt/acr-helper/lib/${f}`);
  }
}
await Deno.chmod(`${ctx}/opt/acr-helper/${NAME}`, 0o755);
console.log(ctx);

if (values.build) {
  const storage = values["podman-root"]
    ? [`--root=${values["podman-root"]}/root`, `--runroot=${values["podman-root"]}/run`, "--storage-driver=vfs"]
    : [];
  await run([
    "podman",
    ...storage,
    "build",
    "--network=none",
    "--quiet",
    "-t",
    values.build,
    "-f",
    `${root}deploy/installer/Containerfile`,
    ctx,
  ]);
  console.log(values.build);
}
