/**
 * `deno task bench`: warm and cold `get` against the local fake, as ratios to
 * an empty `deno run` measured in the same run, both as installed from the
 * bundle (`deno task bundle`) and from source; API calls per get; 32
 * concurrent cold gets. Prints a table and writes bench/results.json.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { startFakeAcr } from "../tests/fake/server.ts";
import { RELEASE_FLAGS, runHelper, runScript, tempHome } from "../tests/util.ts";

const RUNS = 31;
const key = { accessKeyId: "LTAIbench", accessKeySecret: "bench-secret" };
const fake = startFakeAcr({
  keys: [key],
  instances: [{ instanceId: "cri-bench001", instanceName: "bench", region: "cn-hangzhou" }],
});
const PERSONAL = "registry.cn-hangzhou.aliyuncs.com";
const ENTERPRISE = "bench-registry.cn-hangzhou.cr.aliyuncs.com";
const baseEnv = async () => ({
  HOME: await tempHome(),
  DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT: fake.url,
  ALIBABA_CLOUD_ACCESS_KEY_ID: key.accessKeyId,
  ALIBABA_CLOUD_ACCESS_KEY_SECRET: key.accessKeySecret,
});
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// The baseline lives in this project, so both runs load the same deno.json and lock file.
const EMPTY = fileURLToPath(new URL("./empty.ts", import.meta.url));
const BUNDLE = fileURLToPath(new URL("../dist/docker-credential-acr-helper.js", import.meta.url));
const bundled = await new Deno.Command(Deno.execPath(), {
  args: ["task", "--quiet", "bundle"],
  cwd: fileURLToPath(new URL("../", import.meta.url)),
  stdout: "null",
}).output();
if (!bundled.success) throw new Error("bench: deno task bundle failed");
/** One `get` of the bundle, started as its shebang starts it. */
function bundleGet(host: string, env: Record<string, string>) {
  return runScript(BUNDLE, RELEASE_FLAGS, ["get"], host, env);
}
const RSS = fileURLToPath(new URL("./rss.ts", import.meta.url));
const LAUNCHER = fileURLToPath(new URL("../dist/docker-credential-acr-helper", import.meta.url));
/** One `get` through the launcher users put on PATH (POSIX sh, then deno on the CLI file). */
async function launcherGet(host: string, env: Record<string, string>): Promise<number> {
  const started = performance.now();
  const child = new Deno.Command(LAUNCHER, {
    args: ["get"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
      NO_COLOR: "1",
      ALIBABA_CLOUD_ECS_METADATA_DISABLED: "true",
      ...env,
    },
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(host));
  await w.close();
  const out = await child.output();
  if (!out.success) throw new Error(`bench: the launcher failed: ${new TextDecoder().decode(out.stdout)}`);
  return performance.now() - started;
}
async function emptyRun(): Promise<number> {
  return (await runScript(EMPTY, RELEASE_FLAGS, [], PERSONAL, {})).ms;
}
/** Peak RSS in MiB of one `get` (bench/rss.ts runs main() and reads VmHWM; Linux only). */
async function peakRssMiB(env: Record<string, string>): Promise<number | null> {
  const r = await runScript(RSS, ["-A"], ["get"], PERSONAL, env);
  const kb = /peak-rss-kb (\d+)/.exec(r.stderr)?.[1];
  return kb ? +(Number(kb) / 1024).toFixed(1) : null;
}

const env = await baseEnv();
await runHelper(["get"], PERSONAL, env); // fill the cache
const baseline: number[] = [];
const warm: number[] = [];
const warmBundle: number[] = [];
const warmLauncher: number[] = [];
for (let i = 0; i < RUNS; i++) {
  baseline.push(await emptyRun());
  warm.push((await runHelper(["get"], PERSONAL, env)).ms);
  warmBundle.push((await bundleGet(PERSONAL, env)).ms);
  warmLauncher.push(await launcherGet(PERSONAL, env));
}
const warmRss = await peakRssMiB(env);
fake.reset();
const coldRss = await peakRssMiB(await baseEnv());
fake.reset();
const cold: number[] = [];
for (let i = 0; i < 5; i++) cold.push((await runHelper(["get"], PERSONAL, await baseEnv())).ms);
const coldCalls = fake.calls.total / 5;
const coldBundle: number[] = [];
for (let i = 0; i < 5; i++) coldBundle.push((await bundleGet(PERSONAL, await baseEnv())).ms);

fake.reset();
const warmEnv = await baseEnv();
await runHelper(["get"], PERSONAL, warmEnv);
const personalCold = fake.calls.total;
await runHelper(["get"], PERSONAL, warmEnv);
const personalWarm = fake.calls.total - personalCold;

fake.reset();
const eeEnv = await baseEnv();
await runHelper(["get"], ENTERPRISE, eeEnv);
const eeFirst = { ...fake.calls };
await runHelper(["erase"], ENTERPRISE, eeEnv);
await runHelper(["get"], ENTERPRISE, eeEnv);
const eeSecond = {
  listInstance: fake.calls.listInstance - eeFirst.listInstance,
  instanceToken: fake.calls.instanceToken - eeFirst.instanceToken,
};
const beforeWarm = fake.calls.total;
await runHelper(["get"], ENTERPRISE, eeEnv);
const eeWarm = fake.calls.total - beforeWarm;

fake.reset();
const concEnv = await baseEnv();
const t0 = performance.now();
const conc = await Promise.all(Array.from({ length: 32 }, () => runHelper(["get"], PERSONAL, concEnv)));
const concMs = performance.now() - t0;

const results = {
  date: new Date().toISOString(),
  deno: Deno.version.deno,
  emptyScriptMedianMs: Math.round(median(baseline)),
  warmGetMedianMs: Math.round(median(warm)),
  warmRatio: +(median(warm) / median(baseline)).toFixed(2),
  warmOverheadMs: +(median(warm) - median(baseline)).toFixed(1),
  coldGetMedianMs: Math.round(median(cold)),
  coldRatio: +(median(cold) / median(baseline)).toFixed(2),
  bundle: {
    warmGetMedianMs: Math.round(median(warmBundle)),
    warmRatio: +(median(warmBundle) / median(baseline)).toFixed(2),
    warmOverheadMs: +(median(warmBundle) - median(baseline)).toFixed(1),
    coldGetMedianMs: Math.round(median(coldBundle)),
    launcherWarmGetMedianMs: Math.round(median(warmLauncher)),
    launcherWarmRatio: +(median(warmLauncher) / median(baseline)).toFixed(2),
    launcherWarmOverheadMs: +(median(warmLauncher) - median(baseline)).toFixed(1),
  },
  apiCalls: {
    personalCold: personalCold,
    personalWarm: personalWarm,
    coldAverage: coldCalls,
    enterpriseFirst: { listInstance: eeFirst.listInstance, instanceToken: eeFirst.instanceToken },
    enterpriseAfterErase: eeSecond,
    enterpriseWarm: eeWarm,
  },
  concurrent32: {
    tokenCalls: fake.calls.personalToken,
    wallMs: Math.round(concMs),
    allSucceeded: conc.every((r) => r.code === 0),
  },
  peakRssMiB: { warm: warmRss, cold: coldRss },
};
await Deno.writeTextFile(new URL("./results.json", import.meta.url), JSON.stringify(results, null, 2) + "\n");
const rows: Array<[string, string, string]> = [
  ["empty `deno run` (baseline)", `${results.emptyScriptMedianMs} ms`, "1.00x"],
  [
    "warm `get` (cache hit), bundle's CLI file run by deno",
    `${results.bundle.warmGetMedianMs} ms (+${results.bundle.warmOverheadMs} ms)`,
    `${results.bundle.warmRatio}x (target <= 1.2x)`,
  ],
  [
    "warm `get` (cache hit), bundle as installed, through its sh launcher",
    `${results.bundle.launcherWarmGetMedianMs} ms (+${results.bundle.launcherWarmOverheadMs} ms)`,
    `${results.bundle.launcherWarmRatio}x`,
  ],
  [
    "warm `get` (cache hit), from source",
    `${results.warmGetMedianMs} ms (+${results.warmOverheadMs} ms)`,
    `${results.warmRatio}x`,
  ],
  ["cold `get` (fake API): bundle / source", `${results.bundle.coldGetMedianMs} / ${results.coldGetMedianMs} ms`, ""],
  ["API calls: Personal cold / warm", `${personalCold} / ${personalWarm}`, "target warm 0"],
  ["Enterprise first: ListInstance + token", `${eeFirst.listInstance} + ${eeFirst.instanceToken}`, ""],
  [
    "Enterprise after erase: ListInstance + token",
    `${eeSecond.listInstance} + ${eeSecond.instanceToken}`,
    "target 0 ListInstance",
  ],
  ["Enterprise warm", `${eeWarm}`, "target 0"],
  ["32 concurrent cold gets: token calls", `${results.concurrent32.tokenCalls}`, "target 1"],
  [
    "32 concurrent cold gets: wall / all ok",
    `${results.concurrent32.wallMs} ms / ${results.concurrent32.allSucceeded}`,
    "",
  ],
  ["peak RSS: warm / cold `get`", `${warmRss ?? "n/a"} / ${coldRss ?? "n/a"} MiB`, "VmHWM, Linux"],
];
console.log("| measure | value | note |\n| --- | --- | --- |");
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
await fake.close();
