/**
 * install.sh against a loopback HTTP server laid out exactly as a release (issue 15, point 1). The archives carry
 * the bundle-based stand-in for a binary (its sh launcher, with the two .js files in lib/): no compiled binary can
 * be built here. A good archive installs and answers `get`; a tampered archive, a wrong checksum file and a binary
 * that does not run are each refused and leave nothing behind.
 */
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { startFakeAcr } from "./fake/server.ts";
import { release, serve } from "./fake/release.ts";
import { asNobody, CANARY_KEY, exec, fakeEnv, linuxOnly, needs } from "./util.ts";

const root = fileURLToPath(new URL("../", import.meta.url));
const NAME = "docker-credential-acr-helper";

const sh = (cmd: string[], env: Record<string, string>, cwd?: string) => exec(cmd, { env, clearEnv: true, cwd });

Deno.test(
  linuxOnly(
    "install.sh: checks, installs atomically, upgrades in place, configures docker; refuses what is wrong",
    "sh, GNU tar",
  ),
  async () => {
    const built = await new Deno.Command(Deno.execPath(), { args: ["task", "--quiet", "bundle"], cwd: root }).output();
    assert.ok(built.success);
    const web = await Deno.makeTempDir();
    const http = serve(web);
    const fake = startFakeAcr({ keys: [CANARY_KEY] });
    try {
      const home = await Deno.makeTempDir();
      const prefix = `${home}/prefix with space`;
      const env = {
        PATH: `${Deno.execPath().replace(/\/[^/]+$/, "")}:/usr/bin:/bin`,
        HOME: home,
        DOCKER_CONFIG: `${home}/.docker`,
        ACR_HELPER_SKIP_ATTESTATION: "1",
      };
      const install = (...args: string[]) =>
        sh(["sh", `${root}install.sh`, "--base-url", http.url, "--prefix", prefix, ...args], env);
      const installed = `${prefix}/bin/${NAME}`;
      const nothing = () => {
        try {
          return [...Deno.readDirSync(prefix)].length === 0;
        } catch {
          return true;
        }
      };

      // A tampered archive: the bytes changed after checksums.txt was written.
      const archive = await release(web, "0.1.0");
      const bytes = await Deno.readFile(archive);
      bytes[bytes.length - 10] ^= 0xff;
      await Deno.writeFile(archive, bytes);
      let r = await install();
      assert.equal(r.code, 1);
      assert.match(
        r.err,
        /^install\.sh: docker-credential-acr-helper_0\.1\.0_linux_\w+\.tar\.gz: SHA-256 [0-9a-f]{64} does not match checksums\.txt \([0-9a-f]{64}\); nothing installed\n$/,
      );
      assert.ok(nothing(), "a tampered archive left files behind");

      // A checksum file without an entry for the archive.
      await release(web, "0.1.0");
      await Deno.writeTextFile(`${web}/v0.1.0/checksums.txt`, `${"0".repeat(64)}  other.tar.gz\n`);
      r = await install();
      assert.equal(r.code, 1);
      assert.match(
        r.err,
        /checksums\.txt has no entry for docker-credential-acr-helper_0\.1\.0_linux_\w+\.tar\.gz; nothing installed/,
      );
      assert.ok(nothing());

      // A binary that does not run here.
      await release(web, "0.1.0", { broken: true });
      r = await install();
      assert.equal(r.code, 1);
      assert.match(r.err, /the downloaded binary does not run on this machine .*; nothing installed/);
      assert.ok(nothing());

      // A good release (the latest, found by itself): installed, on PATH or not said so, and it answers get.
      await release(web, "0.1.0");
      r = await install("--configure-docker", "registry.cn-hangzhou.aliyuncs.com");
      assert.equal(r.code, 0, r.out + r.err);
      assert.match(
        r.out,
        new RegExp(`^installed docker-credential-acr-helper 0\\.1\\.0 in ${prefix}/bin\\nnote: .* is not on PATH`),
      );
      assert.match(
        await Deno.readTextFile(`${home}/.docker/config.json`),
        /"registry\.cn-hangzhou\.aliyuncs\.com": "acr-helper"/,
      );
      assert.ok(Deno.statSync(`${prefix}/share/man/man1/${NAME}.1`).isFile);
      const get = await new Deno.Command(installed, {
        args: ["get"],
        env: { ...(await fakeEnv(fake.url)), PATH: env.PATH, ALIBABA_CLOUD_ECS_METADATA_DISABLED: "true" },
        clearEnv: true,
        stdin: "piped",
        stdout: "piped",
      }).spawn();
      const w = get.stdin.getWriter();
      await w.write(new TextEncoder().encode("registry.cn-hangzhou.aliyuncs.com"));
      await w.close();
      const out = await get.output();
      assert.equal(JSON.parse(new TextDecoder().decode(out.stdout)).Secret, fake.issued[0]);

      // Run again for a newer release: upgraded in place, no stray temp files.
      await release(web, "0.1.1");
      r = await install();
      assert.equal(r.code, 0, r.err);
      const v = await sh([installed, "version"], env);
      assert.match(v.out, /^docker-credential-acr-helper 0\.1\.1 /);
      assert.deepEqual([...Deno.readDirSync(`${prefix}/bin`)].map((e) => e.name), [NAME]);

      // A machine it does not support: one line.
      r = await sh(["sh", `${root}install.sh`, "--base-url", http.url, "--prefix", prefix], {
        ...env,
        ACR_HELPER_UNAME_M: "riscv64",
      });
      assert.deepEqual([r.code, r.err], [
        1,
        "install.sh: riscv64 is not supported (linux and darwin, amd64 and arm64)\n",
      ]);
    } finally {
      await fake.close();
      await http.close();
    }
  },
);

Deno.test({
  ...needs("install.sh: shellcheck-clean POSIX sh", { os: "linux", tools: ["shellcheck"] }),
  fn: async () => {
    const r = await new Deno.Command("shellcheck", { args: ["-s", "sh", `${root}install.sh`] }).output();
    assert.ok(r.success, new TextDecoder().decode(r.stdout));
  },
});

Deno.test({
  ...needs(
    "install.sh as root: refuses a prefix another user owns or anyone can write; replaces links, never follows",
    {
      os: "linux",
      tools: ["setpriv"],
      root: true,
    },
  ),
  fn: async () => {
    const built = await new Deno.Command(Deno.execPath(), { args: ["task", "--quiet", "bundle"], cwd: root }).output();
    assert.ok(built.success);
    const web = await Deno.makeTempDir();
    const http = serve(web);
    const base = await Deno.makeTempDir();
    await Deno.chmod(base, 0o755);
    try {
      await release(web, "0.1.0");
      const env = { PATH: `${Deno.execPath().replace(/\/[^/]+$/, "")}:/usr/bin:/bin`, HOME: base };
      const install = (prefix: string) =>
        sh(["sh", `${root}install.sh`, "--base-url", http.url, "--prefix", prefix], {
          ...env,
          ACR_HELPER_SKIP_ATTESTATION: "1",
        });
      const victim = `${base}/victim`;
      await Deno.writeTextFile(victim, "secret\n");
      await Deno.chmod(victim, 0o600);
      const untouched = async () => {
        assert.equal(await Deno.readTextFile(victim), "secret\n");
        assert.equal((await Deno.stat(victim)).mode! & 0o777, 0o600);
      };

      // A prefix whose bin/ another user (uid 65534) owns: refused before anything is written.
      const theirs = `${base}/theirs`;
      await Deno.mkdir(`${theirs}/bin`, { recursive: true });
      await Deno.chown(`${theirs}/bin`, 65534, 65534);
      let r = await install(theirs);
      assert.equal(r.code, 1);
      assert.match(
        r.err,
        /^install\.sh: .*\/theirs\/bin belongs to uid 65534, not to this user \(uid 0\) or root; nothing installed\n$/,
      );
      assert.deepEqual([...Deno.readDirSync(`${theirs}/bin`)], []);

      // A root-owned bin/ anyone can write, while another user plants links to the victim at every name it can
      // guess: refused (and the victim untouched), however the race goes.
      const open = `${base}/open`;
      await Deno.mkdir(`${open}/bin`, { recursive: true });
      await Deno.chmod(`${open}/bin`, 0o777);
      const planter = asNobody(
        `while :; do for n in "$N" ".$N.new.1" ".$N.new.2"; do ln -sfn "$V" "$B/$n" 2>/dev/null; done; done`,
        { N: NAME, V: victim, B: `${open}/bin` },
      );
      try {
        for (let i = 0; i < 5; i++) {
          r = await install(open);
          assert.equal(r.code, 1);
          assert.match(r.err, /bin can be written by anyone and has no sticky bit; nothing installed\n$/);
        }
      } finally {
        planter.kill("SIGKILL");
        await planter.status;
      }
      await untouched();

      // A link already at the binary's, a lib file's and the man page's names (root's own dir): replaced, not followed.
      const mine = `${base}/mine`;
      for (const d of ["bin", `lib/${NAME}`, "share/man/man1"]) await Deno.mkdir(`${mine}/${d}`, { recursive: true });
      for (const p of [`bin/${NAME}`, `lib/${NAME}/${NAME}.js`, `share/man/man1/${NAME}.1`]) {
        await Deno.symlink(victim, `${mine}/${p}`);
      }
      r = await install(mine);
      assert.equal(r.code, 0, r.err);
      await untouched();
      for (const p of [`bin/${NAME}`, `lib/${NAME}/${NAME}.js`, `share/man/man1/${NAME}.1`]) {
        assert.ok(Deno.lstatSync(`${mine}/${p}`).isFile, `${p} is a file of its own now`);
      }
      assert.deepEqual([...Deno.readDirSync(`${mine}/bin`)].map((e) => e.name), [NAME], "no stage left behind");
    } finally {
      await http.close();
      await Deno.remove(base, { recursive: true });
      await Deno.remove(web, { recursive: true });
    }
  },
});
