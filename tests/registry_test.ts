import assert from "node:assert/strict";
import { normalizeServer, parseAcrHost } from "../lib/registry.ts";

type Case = [input: string, expected: null | Record<string, unknown>];

// What real clients send, and what must never match.
const CASES: Case[] = [
  // Personal Edition (classic), every network form
  ["registry.cn-hangzhou.aliyuncs.com", { kind: "personal", region: "cn-hangzhou", intl: false, network: "public" }],
  ["registry-vpc.cn-shanghai.aliyuncs.com", { kind: "personal", region: "cn-shanghai", network: "vpc" }],
  ["registry-internal.cn-beijing.aliyuncs.com", { kind: "personal", region: "cn-beijing", network: "internal" }],
  ["registry-intl.ap-southeast-1.aliyuncs.com", {
    kind: "personal",
    region: "ap-southeast-1",
    intl: true,
    network: "public",
  }],
  ["registry-intl-vpc.eu-central-1.aliyuncs.com", {
    kind: "personal",
    region: "eu-central-1",
    intl: true,
    network: "vpc",
  }],
  ["registry-intl-internal.us-west-1.aliyuncs.com", { kind: "personal", region: "us-west-1", network: "internal" }],
  ["registry.cn-shanghai-finance-1.aliyuncs.com", { kind: "personal", region: "cn-shanghai-finance-1" }],
  ["registry-vpc.cn-shenzhen-finance-1.aliyuncs.com", {
    kind: "personal",
    region: "cn-shenzhen-finance-1",
    network: "vpc",
  }],
  ["registry.cn-hongkong.aliyuncs.com", { kind: "personal", region: "cn-hongkong" }],
  // Personal instances (2024+)
  ["crpi-abc123xyz.cn-hangzhou.personal.cr.aliyuncs.com", {
    kind: "personal-instance",
    instanceId: "crpi-abc123xyz",
    vpc: false,
  }],
  ["crpi-abc123xyz-vpc.cn-hangzhou.personal.cr.aliyuncs.com", {
    kind: "personal-instance",
    instanceId: "crpi-abc123xyz",
    vpc: true,
  }],
  ["crpi-q1w2e3.ap-northeast-1.personal.cr.aliyuncs.com", { kind: "personal-instance", region: "ap-northeast-1" }],
  // Enterprise Edition
  ["myinst-registry.cn-hangzhou.cr.aliyuncs.com", {
    kind: "enterprise",
    instanceName: "myinst",
    vpc: false,
    p2p: false,
  }],
  ["myinst-registry-vpc.cn-hangzhou.cr.aliyuncs.com", { kind: "enterprise", instanceName: "myinst", vpc: true }],
  ["my-team-01-registry.us-east-1.cr.aliyuncs.com", {
    kind: "enterprise",
    instanceName: "my-team-01",
    region: "us-east-1",
  }],
  ["prod-registry-registry.cn-beijing.cr.aliyuncs.com", { kind: "enterprise", instanceName: "prod-registry" }],
  ["prod-registry-registry-vpc.cn-beijing.cr.aliyuncs.com", {
    kind: "enterprise",
    instanceName: "prod-registry",
    vpc: true,
  }],
  ["abc-registry.cn-shanghai-finance-1.cr.aliyuncs.com", { kind: "enterprise", region: "cn-shanghai-finance-1" }],
  ["myinst-registry-vpc.distributed.cn-hangzhou.cr.aliyuncs.com:65001", {
    kind: "enterprise",
    instanceName: "myinst",
    p2p: true,
    vpc: true,
  }],
  ["myinst-registry-vpc.distributed.cn-hangzhou.cr.aliyuncs.com", { kind: "enterprise", p2p: true }],
  // What clients send: schemes, ports, paths, case
  ["https://registry.cn-hangzhou.aliyuncs.com", { kind: "personal", host: "registry.cn-hangzhou.aliyuncs.com" }],
  ["https://registry.cn-hangzhou.aliyuncs.com/", { kind: "personal" }],
  ["http://registry.cn-hangzhou.aliyuncs.com/v2/", { kind: "personal" }],
  ["registry.cn-hangzhou.aliyuncs.com:443", { kind: "personal", host: "registry.cn-hangzhou.aliyuncs.com" }],
  ["myinst-registry.cn-hangzhou.cr.aliyuncs.com/ns/app", {
    kind: "enterprise",
    host: "myinst-registry.cn-hangzhou.cr.aliyuncs.com",
  }],
  ["oci://myinst-registry.cn-hangzhou.cr.aliyuncs.com/charts", { kind: "enterprise" }],
  ["REGISTRY.CN-HANGZHOU.ALIYUNCS.COM", { kind: "personal", region: "cn-hangzhou" }],
  ["  registry.cn-hangzhou.aliyuncs.com\n", { kind: "personal" }],
  ["HTTPS://MyInst-Registry.CN-Hangzhou.CR.Aliyuncs.com:443/v2/", { kind: "enterprise", instanceName: "myinst" }],
  // Not ours: Docker Hub and others
  ["https://index.docker.io/v1/", null],
  ["docker.io", null],
  ["ghcr.io", null],
  ["cr.cn-hangzhou.aliyuncs.com", null],
  ["", null],
  // Lookalikes that must never match
  ["registry.cn-hangzhou.aliyuncs.com.evil.com", null],
  ["registry.cn-hangzhou.aliyuncs.com.", null],
  ["user@registry.cn-hangzhou.aliyuncs.com", null],
  ["https://user:pass@registry.cn-hangzhou.aliyuncs.com/", null],
  ["registry.cn-hangzhou.aliyuncs.com@evil.com", null],
  ["registry.cn-hangzhou.cr.aliyuncs.com", null],
  ["foo-registry.personal.cr.aliyuncs.com", null],
  ["evilregistry.cn-hangzhou.aliyuncs.com", null],
  ["xregistry.cn-hangzhou.aliyuncs.com", null],
  ["registry.cn-hangzhou.aliyuncs.com.cn", null],
  ["registry.cn-hangzhou.aliyuncs.co", null],
  ["registry.cn_hangzhou.aliyuncs.com", null],
  ["registry.hangzhou.aliyuncs.com", null],
  ["registry.cn-hangzhou.evil.aliyuncs.com", null],
  ["a.registry.cn-hangzhou.aliyuncs.com", null],
  ["registry.cn-hangzhou.aliyuncs.com:5000", null],
  ["registry.cn-hangzhou.aliyuncs.com:99999", null],
  ["registry.cn-hangzhou.aliyuncs.com:0443", null],
  ["myinst-registry.cn-hangzhou.cr.aliyuncs.com:8443", null],
  ["my-registry.cn-hangzhou.cr.aliyuncs.com.evil.com", null],
  ["-registry.cn-hangzhou.cr.aliyuncs.com", null],
  ["abc-registry.cn-hangzhou.cr.aliyuncs.com", { kind: "enterprise", instanceName: "abc" }],
  ["ab-registry.cn-hangzhou.cr.aliyuncs.com", null],
  ["a-registry.cn-hangzhou.cr.aliyuncs.com", null],
  ["x".repeat(31) + "-registry.cn-hangzhou.cr.aliyuncs.com", null],
  ["-myinst-registry.cn-hangzhou.cr.aliyuncs.com", null],
  ["myinst-registry.distributed.cn-hangzhou.cr.aliyuncs.com", null],
  ["crpi-abc.cn-hangzhou.cr.aliyuncs.com", null],
  ["crpi-.cn-hangzhou.personal.cr.aliyuncs.com", null],
  ["crpi-abc.cn-hangzhou.personal.cr.aliyuncs.com.evil.com", null],
  ["crpi-abc_def.cn-hangzhou.personal.cr.aliyuncs.com", null],
  ["[::1]:443", null],
  ["127.0.0.1", null],
  ["registry.cn-hangzhou.aliyuncs.com\u0000", null],
  ["registry.cn-hangzhou.aliyuncs.com\nevil.com", null],
  ["registry.cn-hangzhou.аliyuncs.com", null], // Cyrillic a
  ["xn--registry-cn-hangzhou.aliyuncs.com", null],
  ["ftp://registry.cn-hangzhou.aliyuncs.com", null],
];

for (const [input, expected] of CASES) {
  Deno.test(`registry: ${JSON.stringify(input)} -> ${expected ? expected.kind : "not ours"}`, () => {
    const host = normalizeServer(input);
    const reg = host === null ? null : parseAcrHost(host);
    if (expected === null) {
      assert.equal(reg, null);
      return;
    }
    assert.ok(reg, `expected a match for ${input}`);
    for (const [k, v] of Object.entries(expected)) assert.deepEqual((reg as Record<string, unknown>)[k], v, k);
  });
}

Deno.test("registry: the table covers every kind and network, intl hosts, ports, schemes and hosts that are not ACR", () => {
  const matched = CASES.flatMap(([, e]) => (e ? [e as Record<string, unknown>] : []));
  const kinds = new Set(matched.map((e) => e.kind));
  for (const k of ["personal", "enterprise"]) assert.ok(kinds.has(k), `no ${k} case`);
  const networks = new Set(matched.map((e) => e.network));
  for (const n of ["public", "vpc", "internal"]) assert.ok(networks.has(n), `no ${n} case`);
  assert.ok(matched.some((e) => e.intl === true), "no intl case");
  assert.ok(CASES.some(([input]) => /:\d+/.test(input)), "no case with a port");
  assert.ok(CASES.some(([input]) => input.startsWith("https://")), "no case with a scheme");
  assert.ok(CASES.some(([, e]) => e === null), "no host that is not ACR");
});

Deno.test("normalizeServer keeps a non-default port and strips :443", () => {
  assert.equal(normalizeServer("https://example.com:5000/v2/"), "example.com:5000");
  assert.equal(normalizeServer("example.com:443"), "example.com");
  assert.equal(normalizeServer("Example.COM"), "example.com");
  assert.equal(normalizeServer("user@example.com"), null);
});

Deno.test("normalize: non-ASCII never lower-cases into one of our hosts (Kelvin sign K -> k)", () => {
  assert.equal(normalizeServer("\u212acme-registry.cn-hangzhou.cr.aliyuncs.com"), null);
  assert.equal(normalizeServer("registry.cn-hangzhou.aliyuncs.com\u200b"), null);
  assert.equal(
    normalizeServer("kcme-registry.cn-hangzhou.cr.aliyuncs.com"),
    "kcme-registry.cn-hangzhou.cr.aliyuncs.com",
  );
});
