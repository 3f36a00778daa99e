import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { startFakeAcr } from "./fake/server.ts";
import { posixOnly, RELEASE_FLAGS, runScript, tempHome } from "./util.ts";

const KEY = { accessKeyId: "LTAIbundle", accessKeySecret: "CANARY-bundle-secret" };

Deno.test(
  posixOnly("bundle: two files, run through a symlink from elsewhere, with no npm cache, offline", "symlink, shebang"),
  async () => {
    const root = fileURLToPath(new URL("../", import.meta.url));
    const built = await new Deno.Command(Deno.execPath(), { args: ["task", "--quiet", "bundle"], cwd: root }).output();
    assert.ok(built.success, new TextDecoder().decode(built.stderr));
    // Installed as a user would: both files in a lib directory, the CLI linked into a bin directory.
    const dir = await Deno.makeTempDir();
    await Deno.mkdir(`${dir}/lib`);
    await Deno.mkdir(`${dir}/bin`);
    for (const name of ["docker-credential-acr-helper.js", "docker-credential-acr-helper.sdk.js"]) {
      await Deno.copyFile(`${root}/dist/${name}`, `${dir}/lib/${name}`);
    }
    const file = `${dir}/bin/docker-credential-acr-helper`;
    await Deno.symlink(`${dir}/lib/docker-credential-acr-helper.js`, file);
    const text = await Deno.readTextFile(file);
    assert.ok(text.startsWith(`#!/usr/bin/env -S deno run --quiet --no-prompt ${RELEASE_FLAGS.join(" ")}\n`));
    assert.ok(!/from "npm:|from "node:|@alicloud/.test(text), "the file every run loads holds no npm or node: code");

    const fake = startFakeAcr({ keys: [KEY] });
    try {
      const env = {
        HOME: await tempHome(),
        DENO_DIR: `${dir}/empty-deno-dir`,
        DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT: fake.url,
        ALIBABA_CLOUD_ACCESS_KEY_ID: KEY.accessKeyId,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET: KEY.accessKeySecret,
      };
      const flags = ["--cached-only", ...RELEASE_FLAGS];
      const host = "registry.cn-hangzhou.aliyuncs.com";
      const cold = await runScript(file, flags, ["get"], host, env);
      assert.equal(cold.code, 0, cold.stdout + cold.stderr);
      assert.equal(JSON.parse(cold.stdout).Secret, fake.issued[0]);
      const warm = await runScript(file, flags, ["get"], host, env);
      assert.equal(warm.stdout, cold.stdout);
      assert.equal(fake.calls.total, 1);
      // Errors made in the SDK file keep their identity in the CLI file (one line, the fallback rules), not
      // "unexpected AcrApiError": the mark is a registry-wide symbol, not a class both files would need to share.
      const wrong = await runScript(file, flags, ["get"], "registry.cn-shanghai.aliyuncs.com", {
        ...env,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET: "wrong",
      });
      assert.equal(wrong.code, 1);
      assert.match(
        wrong.stdout,
        /^GetAuthorizationToken \(Personal Edition, cn-shanghai\) failed: SignatureDoesNotMatch/,
      );
      fake.reset();
      const notOurs = await runScript(file, flags, ["get"], "ghcr.io", env);
      assert.deepEqual([notOurs.code, notOurs.stdout], [1, "credentials not found in native keychain\n"]);
      // The subcommands module is in the bundle too.
      const dry = await runScript(file, flags, ["configure-docker", "--registry", host, "--dry-run"], "", env);
      assert.equal(dry.code, 0, dry.stdout + dry.stderr);
      assert.match(dry.stdout, /"registry\.cn-hangzhou\.aliyuncs\.com": "acr-helper"/);
      // Installed without the SDK file: a hit still works, a miss says what is missing.
      await Deno.remove(`${dir}/lib/docker-credential-acr-helper.sdk.js`);
      assert.equal((await runScript(file, flags, ["get"], host, env)).stdout, cold.stdout);
      const lone = await runScript(file, flags, ["get"], "registry.cn-beijing.aliyuncs.com", env);
      assert.deepEqual([lone.code, lone.stderr], [1, ""]);
      assert.equal(
        lone.stdout,
        `${dir}/lib/docker-credential-acr-helper.sdk.js is missing: install both files of the bundle\n`,
      );
      const v = await runScript(file, flags, ["version"], "", env);
      assert.match(v.stdout, /^docker-credential-acr-helper 0\.1\.0 \(commit ([0-9a-f]{12}|unknown)\)\n$/);
    } finally {
      await fake.close();
    }
  },
);
