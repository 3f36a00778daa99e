/**
 * Where the ACR and STS calls go. Nodes that pull from `registry-vpc` hosts
 * often have no route to public endpoints, so a registry on the VPC network
 * tries the region's VPC API endpoint first and falls back to the public one
 * only when the VPC name does not resolve or does not connect (never after an
 * HTTP answer); which one worked is remembered per region.
 *
 * @module
 */
import { withTimeout } from "./timeout.ts";
import type { Cache } from "./cache.ts";
import { cacheKey } from "./cache.ts";
import { type Endpoint, envTransport, parseEndpoint } from "./config.ts";
import { type Env, envFlag } from "./platform.ts";
import type { Registry } from "./registry.ts";

/** Regions whose endpoint list has no `cr-vpc` endpoint: going there first would only cost a failed lookup. */
export const REGIONS_WITHOUT_CR_VPC: ReadonlySet<string> = new Set(["cn-huhehaote", "cn-wulanchabu", "cn-heyuan"]);

/** How a registry's ACR API endpoint is chosen. */
export type ApiRoute =
  | { kind: "fixed"; text: string; why: string }
  | { kind: "vpc-first"; vpc: string; public: string; region: string; why: string };

/** What decides the ACR API endpoint. */
export interface ApiRouteInput {
  registry: Registry;
  /** A config entry's `apiEndpoint`, then `DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT`; `{region}` is replaced. */
  override?: { text: string; from: string };
  /** `ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED=true`. */
  vpcEnabled: boolean;
}

/** True when `ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED` is `true` (as the SDKs read it). */
export function vpcEndpointEnabled(env: Env): boolean {
  return envFlag(env, "ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED");
}

/** Whether the registry host is on the VPC network (its API is then best reached over the VPC too). */
export function onVpcNetwork(r: Registry): boolean {
  switch (r.kind) {
    case "personal":
      return r.network !== "public";
    case "personal-instance":
      return r.vpc;
    case "enterprise":
      return r.vpc || r.p2p;
    case "configured":
      return false;
  }
}

/**
 * The route for a registry's ACR API calls. Pure.
 *
 * @example
 * ```ts
 * apiRoute({ registry, vpcEnabled: false }) // { kind: "vpc-first", vpc: "cr-vpc.cn-hangzhou.aliyuncs.com", ... }
 * ```
 */
export function apiRoute(input: ApiRouteInput): ApiRoute {
  const region = input.registry.region;
  if (input.override) {
    return { kind: "fixed", text: input.override.text.replaceAll("{region}", region), why: input.override.from };
  }
  const vpc = `cr-vpc.${region}.aliyuncs.com`;
  const pub = `cr.${region}.aliyuncs.com`;
  if (input.vpcEnabled) return { kind: "fixed", text: vpc, why: "ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED=true" };
  if (onVpcNetwork(input.registry)) {
    if (REGIONS_WITHOUT_CR_VPC.has(region)) {
      return { kind: "fixed", text: pub, why: `a VPC registry host, but ${region} has no cr-vpc endpoint` };
    }
    return {
      kind: "vpc-first",
      vpc,
      public: pub,
      region,
      why: "a VPC registry host: the VPC endpoint first, the public one when it does not resolve or connect",
    };
  }
  return { kind: "fixed", text: pub, why: "the registry's region" };
}

/** The text a cache key uses for a route: the policy, not the endpoint a probe picked (both serve one account). */
export function routeKeyText(route: ApiRoute): string {
  return route.kind === "fixed" ? route.text : `vpc-first ${route.vpc} ${route.public}`;
}

/** Tries to open a TCP connection; resolves to null when it worked, else why not. */
export type ConnectProbe = (host: string, port: number, timeoutMs: number) => Promise<string | null>;

/** The default probe: resolve and connect (no bytes sent), bounded by `timeoutMs`. */
export const tcpProbe: ConnectProbe = async (host, port, timeoutMs) => {
  const attempt = Deno.connect({ hostname: host, port });
  try {
    const conn = await withTimeout(attempt, timeoutMs, () => {
      throw new Error(`no connection within ${timeoutMs} ms`);
    });
    conn.close();
    return null;
  } catch (err) {
    attempt.then((c) => c.close(), () => {});
    return err instanceof Error ? err.message.split("\n")[0] : String(err);
  }
};

/** Options for {@link resolveApiEndpoint}. */
export interface ResolveOptions {
  cache: Cache;
  now: () => number;
  probe?: ConnectProbe;
  /** Bound on the probe (default 1 s). */
  probeTimeoutMs?: number;
  log?: (message: string) => void;
}

const VPC_WORKS_TTL_MS = 24 * 3600_000;
const VPC_FAILS_TTL_MS = 3600_000;

/**
 * The endpoint a miss calls. A fixed route is parsed; a VPC-first route uses
 * the region's remembered choice, or probes the VPC endpoint (resolve and
 * connect, within 1 s) and remembers the answer: a working VPC endpoint for a
 * day, a missing one for an hour, so a region without it costs one failed
 * lookup an hour, not a timeout on every pull.
 */
export async function resolveApiEndpoint(route: ApiRoute, o: ResolveOptions): Promise<Endpoint> {
  if (route.kind === "fixed") return parseEndpoint(route.text, route.why);
  const key = await cacheKey("vpc-endpoint", route.vpc);
  const remembered = await o.cache.getRecord(key, o.now());
  if (remembered === "vpc" || remembered === "public") {
    return { protocol: "https", host: remembered === "vpc" ? route.vpc : route.public };
  }
  const why = await (o.probe ?? tcpProbe)(route.vpc, 443, o.probeTimeoutMs ?? 1_000);
  if (why === null) {
    o.log?.(`${route.vpc} connects: using the VPC endpoint for ${route.region}`);
    await o.cache.putRecord(key, "vpc", o.now() + VPC_WORKS_TTL_MS);
    return { protocol: "https", host: route.vpc };
  }
  o.log?.(`${route.vpc} does not resolve or connect (${why}): using ${route.public} for ${route.region} for an hour`);
  await o.cache.putRecord(key, "public", o.now() + VPC_FAILS_TTL_MS);
  return { protocol: "https", host: route.public };
}

/** Where STS calls go, and why. */
export interface StsRoute {
  /** `host[:port]`, always HTTPS. */
  host: string;
  why: string;
}

/**
 * The STS endpoint, by `@alicloud/credentials`' rules: `ALIBABA_CLOUD_STS_ENDPOINT`, then
 * `ALIBABA_CLOUD_STS_REGION` with the VPC flag, then `sts.aliyuncs.com`; with the VPC flag and no STS region, the
 * registry's region's VPC endpoint. `DOCKER_CREDENTIAL_ACR_HELPER_STS_ENDPOINT` overrides all of them.
 */
export function stsRoute(env: Env, registryRegion?: string): StsRoute {
  const val = (k: string) => env[k]?.trim() || undefined;
  // Parsed by the one rule envTransport validates with: `https://host/` is the host, never "https://https://host//".
  if (val("DOCKER_CREDENTIAL_ACR_HELPER_STS_ENDPOINT")) {
    return { host: envTransport(env).stsEndpoint!, why: "DOCKER_CREDENTIAL_ACR_HELPER_STS_ENDPOINT" };
  }
  const sdk = val("ALIBABA_CLOUD_STS_ENDPOINT");
  if (sdk) return { host: sdk, why: "ALIBABA_CLOUD_STS_ENDPOINT" };
  const vpc = vpcEndpointEnabled(env);
  const region = val("ALIBABA_CLOUD_STS_REGION");
  if (region) {
    return vpc
      ? {
        host: `sts-vpc.${region}.aliyuncs.com`,
        why: "ALIBABA_CLOUD_STS_REGION with ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED",
      }
      : { host: `sts.${region}.aliyuncs.com`, why: "ALIBABA_CLOUD_STS_REGION" };
  }
  if (vpc && registryRegion) {
    return {
      host: `sts-vpc.${registryRegion}.aliyuncs.com`,
      why: "ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED, the registry's region",
    };
  }
  return { host: "sts.aliyuncs.com", why: "default" };
}
