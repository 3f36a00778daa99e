import assert from "node:assert/strict";
import type { AcrApi } from "../lib/acr_api.ts";
import { parseConfig } from "../lib/config.ts";
import { type Backend, createHelper } from "../lib/helper.ts";
import { summarize } from "../lib/miss.ts";
import { resolveTarget } from "../lib/target.ts";
import { isNotFound } from "../lib/protocol.ts";
import { NullCache } from "../lib/cache.ts";

const NO_CONFIG = parseConfig("{}", "c.json");
const ENV0 = {};

Deno.test("target: the config entry wins over the built-in form and keeps its kind", () => {
  const config = parseConfig(
    JSON.stringify({ registries: { "prod-registry.cn-hangzhou.cr.aliyuncs.com": { instanceId: "cri-x1" } } }),
    "c",
  );
  const t = resolveTarget("prod-registry.cn-hangzhou.cr.aliyuncs.com", config, ENV0);
  assert.equal(t?.registry.kind, "enterprise");
  assert.equal(t?.instanceId, "cri-x1");
});

Deno.test("target: a custom domain without a region is a config error", () => {
  const config = parseConfig(
    JSON.stringify({ registries: { "images.example.com": { instanceId: "cri-x1" } } }),
    "c.json",
  );
  assert.throws(
    () => resolveTarget("images.example.com", config, ENV0),
    /registries\["images\.example\.com"\] needs a "region"/,
  );
});

Deno.test("target: env instance id does not hijack Personal hosts", () => {
  const envs = { ...ENV0, instanceId: "cri-env", region: "cn-beijing" };
  assert.equal(resolveTarget("registry.cn-hangzhou.aliyuncs.com", NO_CONFIG, envs)?.instanceId, undefined);
  assert.equal(
    resolveTarget("x-registry.cn-hangzhou.cr.aliyuncs.com".replace("x-", "xyz-"), NO_CONFIG, envs)?.instanceId,
    "cri-env",
  );
  assert.equal(resolveTarget("anything.example", NO_CONFIG, envs)?.registry.kind, "configured");
  assert.equal(resolveTarget("anything.example", NO_CONFIG, ENV0), null);
});

Deno.test("helper: a non-ACR host never loads the SDK backend", async () => {
  let loaded = 0;
  const helper = createHelper({
    env: {},
    readTextFile: () => Promise.resolve(null),
    loadBackend: () => (loaded++, Promise.reject(new Error("must not load"))),
  });
  const err = await helper.get("ghcr.io").catch((e) => e);
  assert.ok(isNotFound(err));
  assert.equal(loaded, 0);
});

Deno.test("helper: Enterprise host resolves the name, then asks for the instance token", async () => {
  const calls: string[] = [];
  const api: AcrApi = {
    personalToken: (r) => (calls.push(`personal ${r}`), Promise.reject(new Error("no"))),
    instanceToken: (
      r,
      id,
    ) => (calls.push(`instance ${r} ${id}`), Promise.resolve({ username: "u", password: "p", expiresAt: 1 })),
    findInstanceId: (r, n) => (calls.push(`find ${r} ${n}`), Promise.resolve({ instanceId: "cri-found" })),
  };
  const backend: Backend = {
    buildCredential: () => ({ getCredential: () => Promise.resolve({}) }),
    createAcrApi: () => api,
    installTransport: () => {},
  };
  const helper = createHelper({
    env: { ALIBABA_CLOUD_ACCESS_KEY_ID: "id", ALIBABA_CLOUD_ACCESS_KEY_SECRET: "s" },
    cache: new NullCache(),
    readTextFile: () => Promise.resolve(null),
    loadBackend: () => Promise.resolve(backend),
  });
  const creds = await helper.get("team-registry.cn-shanghai.cr.aliyuncs.com");
  assert.deepEqual(creds, { ServerURL: "team-registry.cn-shanghai.cr.aliyuncs.com", Username: "u", Secret: "p" });
  assert.deepEqual(calls, ["find cn-shanghai team", "instance cn-shanghai cri-found"]);
});

Deno.test("summarize: provider errors keep codes and request ids, drop bodies", () => {
  const e = new Error(
    'get sts token failed with OIDC: {"RequestId":"R1","Code":"AuthenticationFail.NoPermission","Message":"x"}',
  );
  assert.equal(summarize(e), "AuthenticationFail.NoPermission (request id R1)");
  assert.equal(
    summarize(Object.assign(new Error("ENOENT: no such file"), { code: "ENOENT", path: "/t" })),
    "ENOENT /t",
  );
});
