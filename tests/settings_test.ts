/**
 * One table of settings (lib/settings.ts): every variable the code reads is in it, and README, the man page and
 * doctor cover every entry.
 */
import assert from "node:assert/strict";
import { runDoctor } from "../lib/commands/doctor.ts";
import { createHelper } from "../lib/helper.ts";
import { describeSet, SETTINGS } from "../lib/settings.ts";
import { tempHome } from "./util.ts";

const root = new URL("../", import.meta.url);

Deno.test("settings: every variable the code reads is in the table", async () => {
  const names = new Set<string>();
  const walk = async (dir: URL) => {
    for await (const e of Deno.readDir(dir)) {
      if (e.isDirectory) await walk(new URL(`${e.name}/`, dir));
      else if (e.name.endsWith(".ts")) {
        const text = await Deno.readTextFile(new URL(e.name, dir));
        // The helper's and the SDK's prefixes, GitHub's ID-token pair, and the proxy variables (either case).
        const re =
          /\b((?:ALIBABA_CLOUD|DOCKER_CREDENTIAL_ACR_HELPER|ACTIONS_ID_TOKEN)_[A-Z0-9_]*[A-Z0-9]|(?:https|http|all|no)_proxy|(?:HTTPS|HTTP|ALL|NO)_PROXY)\b/g;
        for (const m of text.matchAll(re)) {
          names.add(m[1].toUpperCase());
        }
      }
    }
  };
  await walk(new URL("lib/", root));
  const known = new Set(SETTINGS.map((s) => s.name));
  const missing = [...names].filter((n) => !known.has(n) && !/_(ACCESS_KEY|LOG|IMDSV)$/.test(n));
  assert.deepEqual(missing, [], "read by the code but not in lib/settings.ts");
});

Deno.test("settings: the docs (README, docs/reference.md) and the man page name every variable in the table", async () => {
  const readme = await Deno.readTextFile(new URL("README.md", root)) +
    await Deno.readTextFile(new URL("docs/reference.md", root));
  const man = (await Deno.readTextFile(new URL("docs/docker-credential-acr-helper.1", root))).replaceAll("\\-", "-");
  for (const s of SETTINGS) {
    assert.ok(readme.includes(s.name), `README does not mention ${s.name}`);
    assert.ok(man.includes(s.name), `the man page does not mention ${s.name}`);
  }
});

Deno.test("settings: doctor shows every variable that is set, secrets as (set)", async () => {
  const env: Record<string, string> = { HOME: await tempHome() };
  for (const s of SETTINGS) env[s.name] = s.secret ? "CANARY-value" : "1";
  env.DOCKER_CREDENTIAL_ACR_HELPER_CONFIG = `${env.HOME}/none.json`;
  env.DOCKER_CREDENTIAL_ACR_HELPER_LOG_FILE = `${env.HOME}/log`;
  let out = "";
  await runDoctor([], {
    env,
    helper: createHelper({
      env,
      readTextFile: () => Promise.resolve(null),
      metadataRequest: () => Promise.reject(new Error("no metadata in tests")),
    }),
    version: "test",
    readStdin: () => Promise.resolve(""),
    out: (t) => void (out += t),
    err: (t) => void (out += t),
  });
  const line = out.split("\n").find((l) => l.startsWith("ok   environment: ")) ?? "";
  for (const s of SETTINGS) assert.ok(line.includes(`${s.name}=`), `doctor does not show ${s.name}`);
  assert.ok(!out.includes("CANARY-value"), "a secret value was shown");
  assert.deepEqual(describeSet({ https_proxy: "http://u:p@proxy:1" }), ["https_proxy=(set)"]);
});

Deno.test("docs/architecture.md names every module in lib/ and no module that is gone", () => {
  const map = Deno.readTextFileSync(new URL("docs/architecture.md", root));
  const modules: string[] = [];
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(new URL(dir, root))) {
      if (e.isDirectory) walk(`${dir}${e.name}/`);
      else if (e.name.endsWith(".ts")) modules.push(`${dir}${e.name}`);
    }
  };
  walk("lib/");
  const named = [...map.matchAll(/`(lib\/[a-z_/]+\.ts)`/g)].map((m) => m[1]);
  assert.deepEqual(modules.filter((m) => !named.includes(m)).sort(), [], "modules missing from the map");
  assert.deepEqual(named.filter((m) => !modules.includes(m)).sort(), [], "the map names modules that are gone");
});
