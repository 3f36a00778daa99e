/**
 * The bundle's launcher (dist/docker-credential-acr-helper, from scripts/bundle.ts): POSIX sh that works under
 * BusyBox (where `#!/usr/bin/env -S` does not), through a symlink, and says in one line when there is no Deno.
 */
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { startFakeAcr } from "./fake/server.ts";
import { CANARY_KEY, exec, fakeEnv, needs } from "./util.ts";

const root = fileURLToPath(new URL("../", import.meta.url));
const PERSONAL = "registry.cn-hangzhou.aliyuncs.com";

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
  ...needs(
    "launcher: runs under BusyBox sh, through a symlink and from bin/ with lib/, cold and warm, in a path with a space",
    { os: "posix", tools: ["busybox"] },
  ),
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
  ...needs("launcher: a missing file or an old Deno is one line naming it, where docker or the kubelet reads", {
    os: "posix",
  }),
  fn: async () => {
    const dir = await install();
    const launcher = `${dir}/bin/docker-credential-acr-helper`;
    const env = {
      PATH: `${Deno.execPath().replace(/\/[^/]+$/, "")}:/usr/bin:/bin`,
      HOME: dir,
      DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
    };
    // Without the second file: every subcommand names it (the kubelet on stderr, stdout empty).
    await Deno.rename(`${dir}/lib/docker-credential-acr-helper.sdk.js`, `${dir}/sdk.away`);
    for (const args of [["doctor"], ["configure-docker"], ["kubelet-credential-provider"]]) {
      const r = await run(["sh", launcher, ...args], "{}", env);
      assert.equal(r.code, 1);
      const [said, quiet] = args[0] === "kubelet-credential-provider" ? [r.err, r.out] : [r.out, r.err];
      assert.match(
        said,
        /^docker-credential-acr-helper: .*docker-credential-acr-helper\.sdk\.js is missing: install both files of the bundle\n$/,
      );
      assert.equal(quiet, "");
    }
    // An older Deno than the bundle needs (here: a bundle that needs Deno 99): both versions named.
    const cli = `${dir}/lib/docker-credential-acr-helper.js`;
    const text = await Deno.readTextFile(cli);
    await Deno.writeTextFile(cli, text.replace(/const min="[0-9.]+"/, 'const min="99.0.0"'));
    for (const args of [["get"], ["kubelet-credential-provider"]]) {
      const r = await run(["sh", launcher, ...args], PERSONAL, env);
      assert.equal(r.code, 1);
      const said = args[0] === "get" ? r.out : r.err;
      assert.equal(
        said,
        `docker-credential-acr-helper: needs Deno 99.0.0 or newer, found Deno ${Deno.version.deno}: ` +
          "upgrade Deno (deno upgrade), or use the release binary, which needs none\n",
      );
    }
    // Without the CLI file at all.
    await Deno.remove(cli);
    const r = await run(["sh", launcher, "get"], PERSONAL, env);
    assert.equal(r.code, 1);
    assert.match(
      r.out,
      /^docker-credential-acr-helper: docker-credential-acr-helper\.js is not beside .*; reinstall both files of the bundle\n$/,
    );
    assert.equal(r.err, "");
  },
});

/** Files and directories under `dir` owned by `uid`. */
function ownedBy(dir: string, uid: number): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    const p = `${dir}/${e.name}`;
    const info = Deno.lstatSync(p);
    if (info.uid === uid) out.push(p);
    if (info.isDirectory) out.push(...ownedBy(p, uid));
  }
  return out;
}

Deno.test({
  ...needs("launcher: root with a user's HOME and no DENO_DIR leaves nothing of root's in that home, cold or warm", {
    os: "linux",
    tools: ["useradd", "userdel"],
    root: true,
  }),
  fn: async () => {
    const dir = await install();
    const fake = startFakeAcr({ keys: [CANARY_KEY] });
    const name = `acrl${Date.now() % 100000}`;
    const home = `${dir}/home/${name}`;
    await Deno.mkdir(`${dir}/home`);
    const made = await exec(["useradd", "-m", "-d", home, "-s", "/usr/sbin/nologin", name], {});
    assert.equal(made.code, 0, made.err);
    try {
      const uid = Deno.statSync(home).uid!;
      // As sudo -E or a root cron job runs it: the user's HOME and XDG_CACHE_HOME, no DENO_DIR.
      const env = {
        ...(await fakeEnv(fake.url)),
        HOME: home,
        XDG_CACHE_HOME: `${home}/.cache`,
        PATH: `${Deno.execPath().replace(/\/[^/]+$/, "")}:/usr/bin:/bin`,
        ALIBABA_CLOUD_ECS_METADATA_DISABLED: "true",
      };
      for (const args of [["get"], ["get"], ["doctor", "--no-login"]]) {
        const r = await run(["sh", `${dir}/bin/docker-credential-acr-helper`, ...args], PERSONAL, env);
        if (args[0] === "get") assert.equal(r.code, 0, r.out + r.err);
        assert.equal(r.err, "", "nothing from Deno on stderr");
      }
      assert.deepEqual(ownedBy(home, 0), [], "root left files in the user's home");
      // A ~/.cache that root already made (an older run): the helper still creates nothing in it.
      await Deno.mkdir(`${home}/.cache`, { mode: 0o755 });
      const r = await run(["sh", `${dir}/bin/docker-credential-acr-helper`, "get"], PERSONAL, env);
      assert.equal(r.code, 0, r.out + r.err);
      assert.deepEqual(ownedBy(home, 0), [`${home}/.cache`]);
      assert.ok(ownedBy(home, uid).length > 0);
    } finally {
      await fake.close();
      await exec(["userdel", "-r", name], {});
    }
  },
});

Deno.test({
  ...needs("launcher: without Deno anywhere it looks, one line (stdout for docker, stderr for the kubelet), exit 1", {
    os: "linux",
    tools: ["unshare"],
    root: true,
  }),
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
  ...needs("launcher: shellcheck-clean POSIX sh", { os: "posix", tools: ["shellcheck"] }),
  fn: async () => {
    await install();
    const r = await new Deno.Command("shellcheck", { args: ["-s", "sh", `${root}dist/docker-credential-acr-helper`] })
      .output();
    assert.ok(r.success, new TextDecoder().decode(r.stdout));
  },
});
