/**
 * aliyun CLI `External` profiles: the process_command runner in-process
 * (split, bounds, failures, owner check), and through the helper as docker
 * runs it (a cold get runs the command once, a hit runs nothing, a
 * ChainableRamRoleArn profile assumes its role with the command's key).
 */
import assert from "node:assert/strict";
import { runProcessCommand, splitCommand } from "../lib/external_process.ts";
import { fakeStsEnv, startFakeAcr } from "./fake/server.ts";
import { makeTestTls } from "./fake/tls.ts";
import { CANARY_KEY, needs, posixOnly, runChecked, tempHome } from "./util.ts";

const PERSONAL = "registry.cn-hangzhou.aliyuncs.com";

/** A home with a CLI config whose profiles run `script` (a POSIX sh body), and a file counting its runs. */
async function homeWith(script: string, profiles: (command: string) => unknown[], current = "ext") {
  const home = await tempHome();
  await Deno.mkdir(`${home}/.aliyun`);
  const runs = `${home}/runs`;
  await Deno.writeTextFile(`${home}/creds.sh`, `echo run >> '${runs}'\n${script}\n`);
  const command = `sh '${home}/creds.sh'`;
  await Deno.writeTextFile(`${home}/.aliyun/config.json`, JSON.stringify({ current, profiles: profiles(command) }));
  return { home, runs: () => Deno.readTextFile(runs).then((t) => t.split("\n").length - 1).catch(() => 0) };
}

const PRINT_KEY = `echo 'CANARY-on-stderr' >&2; printf '{"mode":"AK","access_key_id":"%s","access_key_secret":"%s"}' ` +
  `'${CANARY_KEY.accessKeyId}' '${CANARY_KEY.accessKeySecret}'`;

Deno.test("external: process_command splits as the SDK splits it (quotes, escapes, Windows paths)", () => {
  assert.deepEqual(splitCommand(`get-creds --json`), ["get-creds", "--json"]);
  assert.deepEqual(splitCommand(`'my tool' --name "a \\"b\\"" ''`), ["my tool", "--name", 'a "b"', ""]);
  assert.deepEqual(splitCommand(`a\\ b c`), ["a b", "c"]);
  assert.deepEqual(splitCommand(`C:\\tools\\creds.exe --x`, true), ["C:\\tools\\creds.exe", "--x"]);
  assert.equal(splitCommand(`tool "unclosed`), null);
  assert.equal(splitCommand(`   `), null);
});

Deno.test(
  posixOnly("external: a command's output is parsed; failures say the profile and why, never the output", "sh"),
  async () => {
    const home = await tempHome();
    const file = `${home}/config.json`;
    await Deno.writeTextFile(file, "{}");
    const run = (script: string, extra: { timeoutMs?: number; maxBytes?: number } = {}) =>
      runProcessCommand({ profile: "ext", command: `sh -c '${script.replaceAll("'", `'"'"'`)}'`, file, ...extra });
    assert.deepEqual(await run(`echo '{"access_key_id":"AK","access_key_secret":"S","sts_token":"T"}'`), {
      accessKeyId: "AK",
      accessKeySecret: "S",
      securityToken: "T",
    });
    const cases: Array<[string, RegExp, { timeoutMs?: number; maxBytes?: number }?]> = [
      ["echo CANARY-x >&2; exit 3", /^aliyun CLI profile "ext": process_command exited with status 3$/],
      ["echo not json CANARY-y", /process_command did not print JSON$/],
      [`echo '{"access_key_id":"AK"}'`, /printed no access_key_id or access_key_secret$/],
      [`echo '{"mode":"StsToken","access_key_id":"A","access_key_secret":"CANARY-s"}'`, /without sts_token$/],
      ["sleep 60", /did not finish within 0 s$/, { timeoutMs: 200 }],
      ["head -c 100000 /dev/zero", /printed more than 1000 bytes$/, { maxBytes: 1000 }],
    ];
    for (const [script, want, extra] of cases) {
      const started = Date.now();
      const err = await run(script, extra).catch((e) => e);
      assert.match(err.message, want, script);
      assert.ok(!err.message.includes("CANARY") && !err.message.includes("\n"), err.message);
      assert.ok(Date.now() - started < 20_000, "bounded, far from the command's minute"); // loose: slow CI
    }
    const missing = await runProcessCommand({ profile: "ext", command: "no-such-tool-xyz --json", file })
      .catch((e) => e);
    assert.match(missing.message, /process_command no-such-tool-xyz was not found$/);
    await Deno.remove(home, { recursive: true });
  },
);

Deno.test(
  needs("external: root never runs a command from a config another user owns", { os: "posix", root: true }),
  async () => {
    const home = await tempHome();
    const file = `${home}/config.json`;
    await Deno.writeTextFile(file, "{}");
    await Deno.chown(file, 65534, 65534);
    const err = await runProcessCommand({ profile: "ext", command: `touch ${home}/ran`, file }).catch((e) => e);
    assert.match(err.message, /is not run: .* belongs to uid 65534, not to this user \(uid 0\)$/);
    assert.equal(await Deno.stat(`${home}/ran`).then(() => true, () => false), false);
    await Deno.remove(home, { recursive: true });
  },
);

Deno.test(posixOnly("get: an External CLI profile's command runs once on a miss, never on a hit", "sh"), async () => {
  const fake = startFakeAcr({ keys: [CANARY_KEY] });
  try {
    const { home, runs } = await homeWith(PRINT_KEY, (command) => [
      { name: "ext", mode: "External", process_command: command },
    ]);
    const env = { HOME: home, DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT: fake.url };
    for (let i = 0; i < 2; i++) {
      const r = await runChecked(["get"], PERSONAL, env, fake.issued);
      assert.equal(r.code, 0, r.stdout);
      assert.equal(r.stderr, "", "the command's stderr is not ours to show");
    }
    assert.equal(fake.calls.total, 1, "the second get is a hit");
    assert.equal(await runs(), 1, "the command ran once");
    assert.deepEqual(fake.signers, [CANARY_KEY.accessKeyId]);
  } finally {
    await fake.close();
  }
});

Deno.test(posixOnly("get: a ChainableRamRoleArn profile over an External one assumes its role", "sh"), async () => {
  const tls = await makeTestTls();
  const role = "acs:ram::1234:role/chained";
  const issue = { accessKeyId: "STS.chained", accessKeySecret: "CANARY-chained", securityToken: "CANARY-chained-t" };
  const fake = startFakeAcr({ keys: [CANARY_KEY], roles: { [role]: issue }, tls: { cert: tls.cert, key: tls.key } });
  try {
    const { home, runs } = await homeWith(PRINT_KEY, (command) => [
      { name: "ext", mode: "External", process_command: command },
      { name: "chain", mode: "ChainableRamRoleArn", source_profile: "ext", ram_role_arn: role },
    ], "chain");
    const r = await runChecked(["get"], PERSONAL, {
      HOME: home,
      ...fakeStsEnv(fake, tls.caFile),
    }, fake.issued);
    assert.equal(r.code, 0, r.stdout);
    assert.equal(fake.calls.assumeRole, 1);
    assert.deepEqual(fake.signers, ["STS.chained"]);
    assert.equal(await runs(), 1);
  } finally {
    await fake.close();
  }
});

Deno.test(
  posixOnly("get: a failing External command is one line naming the profile and its status", "sh"),
  async () => {
    const fake = startFakeAcr({ keys: [CANARY_KEY] });
    try {
      const { home } = await homeWith("echo CANARY-secret-on-stderr >&2; exit 7", (command) => [
        { name: "ext", mode: "External", process_command: command },
      ]);
      const r = await runChecked(
        ["get"],
        PERSONAL,
        { HOME: home, DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT: fake.url },
        [],
      );
      assert.equal(r.code, 1);
      assert.equal(r.stdout, 'aliyun CLI profile "ext": process_command exited with status 7\n');
      assert.equal(fake.calls.total, 0);
    } finally {
      await fake.close();
    }
  },
);
