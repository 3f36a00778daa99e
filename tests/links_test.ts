/**
 * Files written through someone else's link (issue 20): the log file and the cache directories, attacked by a
 * second user (uid 65534, through setpriv) in a shared directory without the sticky bit, with the kernel's
 * fs.protected_symlinks left as it is (it guards only sticky directories). A user's own log file and cache keep
 * working.
 */
import assert from "node:assert/strict";
import { createLogger, openLogFile } from "../lib/log.ts";
import { startFakeAcr } from "./fake/server.ts";
import { asNobody, CANARY_KEY, fakeEnv, needs, posixOnly, runHelper, tempHome } from "./util.ts";

const PERSONAL = "registry.cn-hangzhou.aliyuncs.com";
const NOBODY = 65534;

/** A directory anyone can write to, without the sticky bit (where protected_symlinks does not help). */
async function sharedDir(): Promise<string> {
  const base = await tempHome();
  await Deno.chmod(base, 0o755);
  const shared = `${base}/shared`;
  await Deno.mkdir(shared);
  await Deno.chmod(shared, 0o777);
  return shared;
}

/** A victim file root owns: what an attacker would have root append to or chmod. */
async function victimFile(dir: string): Promise<string> {
  const victim = `${dir}/victim`;
  await Deno.writeTextFile(victim, "root:x:0:0\n");
  await Deno.chmod(victim, 0o644);
  return victim;
}

Deno.test(
  needs("log file: a link planted at the path, or a file another user owns, is never written or chmod-ed", {
    os: "linux",
    root: true,
  }),
  async () => {
    const shared = await sharedDir();
    const victim = await victimFile(`${shared}/..`);
    const log = (path: string) =>
      createLogger({
        env: { DOCKER_CREDENTIAL_ACR_HELPER_LOG_LEVEL: "debug", DOCKER_CREDENTIAL_ACR_HELPER_LOG_FILE: path },
      });
    // A link planted where the log file will be.
    await Deno.symlink(victim, `${shared}/helper.log`);
    log(`${shared}/helper.log`).warn("appended through a link");
    // A file another user made there.
    await Deno.writeTextFile(`${shared}/theirs.log`, "");
    await Deno.chown(`${shared}/theirs.log`, NOBODY, NOBODY);
    await Deno.chmod(`${shared}/theirs.log`, 0o666);
    log(`${shared}/theirs.log`).warn("appended to another user's file");
    assert.equal(await Deno.readTextFile(victim), "root:x:0:0\n");
    assert.equal((await Deno.stat(victim)).mode! & 0o777, 0o644, "the victim's mode is unchanged");
    assert.equal(await Deno.readTextFile(`${shared}/theirs.log`), "");
    assert.equal((await Deno.stat(`${shared}/theirs.log`)).mode! & 0o777, 0o666);
    await Deno.remove(`${shared}/..`, { recursive: true });
  },
);

Deno.test(
  posixOnly("log file: a new one is 0600; an existing own file is appended to and keeps its mode", "modes"),
  async () => {
    const home = await tempHome();
    const log = (path: string) =>
      createLogger({
        env: { DOCKER_CREDENTIAL_ACR_HELPER_LOG_LEVEL: "info", DOCKER_CREDENTIAL_ACR_HELPER_LOG_FILE: path },
      });
    const fresh = log(`${home}/new.log`);
    fresh.info("one");
    fresh.info("two");
    assert.match(await Deno.readTextFile(`${home}/new.log`), /info .* one\n.*info .* two\n$/);
    assert.equal((await Deno.stat(`${home}/new.log`)).mode! & 0o777, 0o600);
    await Deno.writeTextFile(`${home}/mine.log`, "before\n");
    await Deno.chmod(`${home}/mine.log`, 0o640);
    log(`${home}/mine.log`).info("after");
    assert.match(await Deno.readTextFile(`${home}/mine.log`), /^before\n.*after\n$/);
    assert.equal((await Deno.stat(`${home}/mine.log`)).mode! & 0o777, 0o640, "never chmod-ed");
    // The file opened must be the one checked.
    assert.equal(openLogFile(`${home}`), null, "a directory is not a log file");
    await Deno.remove(home, { recursive: true });
  },
);

Deno.test(
  needs("cache: root never creates or chmods its cache directories where another user can swap in a link", {
    os: "linux",
    tools: ["setpriv"],
    root: true,
  }),
  async () => {
    const shared = await sharedDir();
    const victimDir = `${shared}/../victim-dir`;
    await Deno.mkdir(victimDir, { mode: 0o755 });
    await Deno.chmod(victimDir, 0o755);
    const cache = `${shared}/cache`;
    // A second user flips the cache path between a directory and a link to the victim, as fast as it can.
    const flipper = asNobody(
      `while :; do mkdir "$C" 2>/dev/null; rmdir "$C" 2>/dev/null; ln -sfn "$V" "$C"; rm -f "$C"; done`,
      { C: cache, V: victimDir },
    );
    const fake = startFakeAcr({ keys: [CANARY_KEY] });
    try {
      const env = { ...(await fakeEnv(fake.url)), DOCKER_CREDENTIAL_ACR_HELPER_CACHE_DIR: cache };
      const deadline = Date.now() + 20_000;
      for (let i = 0; i < 30 && Date.now() < deadline; i++) {
        const r = await runHelper(["get"], PERSONAL, env);
        assert.equal(r.code, 0, r.stdout + r.stderr);
      }
      assert.deepEqual([...Deno.readDirSync(victimDir)].map((e) => e.name), [], "nothing created in the victim");
      assert.equal(Deno.statSync(victimDir).mode! & 0o777, 0o755, "the victim's mode is unchanged");
      const doctor = await runHelper(["doctor"], "", env);
      assert.match(doctor.stdout, /^warn cache: .*can be written by anyone and has no sticky bit/m);
    } finally {
      flipper.kill("SIGKILL");
      await flipper.status;
      await fake.close();
      await Deno.remove(`${shared}/..`, { recursive: true });
    }
  },
);
