/**
 * The bundle's launcher (dist/docker-credential-acr-helper, from scripts/bundle.ts): POSIX sh that works under
 * BusyBox (where `#!/usr/bin/env -S` does not), through a symlink, and says in one line when there is no Deno.
 */
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { startFakeAcr } from "./fake/server.ts";
import { CANARY_KEY, exec, fakeEnv } from "./util.ts";

const root = fileURLToPath(new URL("../", import.meta.url));
const has = (cmd: string) => {
  try {
    return new Deno.Command("sh", { args: ["-c", `command -v ${cmd}`] }).outputSync().success;
  } catch {
    return false; // no sh at all (Windows): the launcher is not for this platform
  }
};

async function install(): Promise<string> {
  const built = await new Deno.Command(Deno.execPath(), { args: ["task", "--quiet", "bundle"], cwd: root }).output();
  assert.ok(built.success, new TextDecoder().decode(built.stderr));
  const dir = await Deno.makeTempDir({ prefix: "acr-helper launcher " }); // a space in the path, on purpose
  await Deno.mkdir(`${dir}/lib`);
  await Deno.mkdir(`${dir}/bin`);
  for (
    const f of [
      "docker-credential-acr-helper",
      "docker-credential-acr-helper.js",
      "docker-credential-acr-helper.sdk.js",
    ]
  ) {
    await Deno.copyFile(`${root}dist/${f}`, `${dir}/lib/${f}`);
  }
  await Deno.chmod(`${dir}/lib/docker-credential-acr-helper`, 0o755);
  await Deno.symlink(`${dir}/lib/docker-credential-acr-helper`, `${dir}/bin/docker-credential-acr-helper`);
  return dir;
}

const run = (cmd: string[], stdin: string, env: Record<string, string>) => exec(cmd, { env, clearEnv: true, stdin });

Deno.test({
  name:
    "launcher: runs under BusyBox sh, through a symlink and from bin/ with lib/, cold and warm, in a path with a space",
  ignore: !has("busybox"),
  fn: async () => {
    const dir = await install();
    const fake = startFakeAcr({ keys: [CANARY_KEY] });
    try {
      const env = {
        ...(await fakeEnv(fake.url)),
        PATH: `${Deno.execPath().replace(/\/[^/]+$/, "")}:/usr/bin:/bin`,
        DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
        ALIBABA_CLOUD_ECS_METADATA_DISABLED: "true",
      };
      // The README's layout: the launcher itself in bin/, the two files in lib/docker-credential-acr-helper/.
      await Deno.mkdir(`${dir}/usr/bin`, { recursive: true });
      await Deno.mkdir(`${dir}/usr/lib/docker-credential-acr-helper`, { recursive: true });
      await Deno.copyFile(`${dir}/lib/docker-credential-acr-helper`, `${dir}/usr/bin/docker-credential-acr-helper`);
      for (const f of ["docker-credential-acr-helper.js", "docker-credential-acr-helper.sdk.js"]) {
        await Deno.copyFile(`${dir}/lib/${f}`, `${dir}/usr/lib/docker-credential-acr-helper/${f}`);
      }
      for (
        const launcher of [`${dir}/bin/docker-credential-acr-helper`, `${dir}/usr/bin/docker-credential-acr-helper`]
      ) {
        for (let i = 0; i < 2; i++) {
          const r = await run(["busybox", "sh", launcher, "get"], "registry.cn-hangzhou.aliyuncs.com", env);
          assert.equal(r.code, 0, r.out + r.err);
          assert.equal(JSON.parse(r.out).Secret, fake.issued[0]);
        }
      }
      assert.equal(fake.calls.personalToken, 1, "every get after the first was a cache hit");
    } finally {
      await fake.close();
    }
  },
});

Deno.test({
  name: "launcher: without Deno anywhere it looks, one line (stdout for docker, stderr for the kubelet), exit 1",
  ignore: Deno.uid() !== 0 || !has("unshare"),
  fn: async () => {
    const dir = await install();
    // A private mount namespace hides the machine's deno from the launcher's fallback paths; never the real ones.
    const hide = ["/usr/bin/deno", "/usr/local/bin/deno"].filter((p) => {
      try {
        return Deno.statSync(p).isFile;
      } catch {
        return false;
      }
    }).map((p) => `mount --bind /dev/null ${p}`).join(" && ");
    const script = `${hide ? `${hide} && ` : ""}exec sh "$0" "$@"`;
    const env = { HOME: dir };
    for (const [args, where] of [[["get"], "stdout"], [["kubelet-credential-provider"], "stderr"]] as const) {
      const r = await run(
        [
          "unshare",
          "--mount",
          "--propagation",
          "private",
          "sh",
          "-c",
          script,
          `${dir}/bin/docker-credential-acr-helper`,
          ...args,
        ],
        "registry.cn-hangzhou.aliyuncs.com",
        { ...env, PATH: "/usr/bin:/bin" },
      ).catch((e) => ({ code: -1, out: String(e), err: "" }));
      // PATH for unshare itself; the launcher then gets PATH=/usr/bin:/bin, where deno is hidden by the bind mounts.
      const line = where === "stdout" ? r.out : r.err;
      assert.equal(r.code, 1, r.out + r.err);
      assert.match(
        line,
        /^docker-credential-acr-helper: deno \(2\.9\.6\) is not on PATH .*use the release binary, which needs no Deno\n$/,
      );
      assert.equal(where === "stdout" ? r.err : r.out, "");
    }
  },
});

Deno.test({
  name: "launcher: shellcheck-clean POSIX sh",
  ignore: !has("shellcheck"),
  fn: async () => {
    await install();
    const r = await new Deno.Command("shellcheck", { args: ["-s", "sh", `${root}dist/docker-credential-acr-helper`] })
      .output();
    assert.ok(r.success, new TextDecoder().decode(r.stdout));
  },
});
