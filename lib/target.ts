/**
 * A server string resolved once into a plan: the normalised host, the
 * registry it names, the config file's override for it, the instance, the
 * token API, the API endpoint, and the cache keys that cover all of them.
 * `get`, `kubelet-credential-provider` and `doctor` all go through
 * {@link planToken}, so they cannot disagree about what a host means.
 *
 * @module
 */
import { cacheKey } from "./cache.ts";
import type { EnvSettings, HelperConfig, RegistryOverride, TokenApi } from "./config.ts";
import { type ApiRoute, apiRoute, routeKeyText } from "./endpoints.ts";
import { HelperError } from "./errors.ts";
import { normalizeServer, parseAcrHost, type Registry } from "./registry.ts";

/** What a host resolves to: a registry plus how to get its token. */
export interface Target {
  registry: Registry;
  /** Known instance id (from config or env), skipping the name lookup. */
  instanceId?: string;
  tokenApi?: TokenApi;
}

/** What planning needs: the config file and the env vars that map hosts and pick the endpoint. */
export interface PlanSettings {
  config: HelperConfig;
  envs: Pick<EnvSettings, "instanceId" | "region">;
  /**
   * `DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT` as written, when set. Kept as text: a cache hit keys on it,
   * and only a miss (or doctor) pays for parsing it.
   */
  apiEndpointText?: string;
  /** `ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED=true`. */
  vpcEnabled?: boolean;
}

/** One `get`'s whole question, answered without any I/O. */
export interface TokenPlan {
  /** The server string as the caller gave it (echoed in `ServerURL`). */
  server: string;
  /** Normalised host. */
  host: string;
  target: Target;
  /** The config file's entry for the host, if any (profile, roleArn). */
  override?: RegistryOverride;
  /** How the ACR API endpoint is chosen (lib/endpoints.ts): fixed, or the VPC endpoint first. */
  route: ApiRoute;
  /** The route as the cache key sees it. */
  endpointText: string;
}

/**
 * Resolves a server string, or returns null when it is not a registry the
 * helper serves. Throws {@link HelperError} for a config entry it cannot use.
 *
 * @example
 * ```ts
 * const plan = planToken("registry.cn-hangzhou.aliyuncs.com", { config, envs: {} });
 * plan?.route // { kind: "fixed", text: "cr.cn-hangzhou.aliyuncs.com", why: "the registry's region" }
 * ```
 */
export function planToken(server: string, settings: PlanSettings): TokenPlan | null {
  const host = normalizeServer(server);
  if (host === null) return null;
  const target = resolveTarget(host, settings.config, settings.envs);
  if (target === null) return null;
  const override = settings.config.registries.get(host);
  const route = apiRoute({
    registry: target.registry,
    override: override?.apiEndpoint
      ? { text: override.apiEndpoint, from: `config file: registries["${host}"].apiEndpoint` }
      : settings.apiEndpointText
      ? { text: settings.apiEndpointText, from: "DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT" }
      : undefined,
    vpcEnabled: settings.vpcEnabled ?? false,
  });
  return { server: server.trim(), host, target, override, route, endpointText: routeKeyText(route) };
}

/**
 * Maps a normalised host to a target: the config file's entry first (most
 * specific), then the built-in ACR domains, then the reference helper's
 * `DOCKER_CREDENTIAL_ACR_HELPER_INSTANCE_ID`/`_REGION`, which also name the
 * instance of an Enterprise host (skipping ListInstance; the region is the
 * host's when `_REGION` is not set) and map any other host (which needs `_REGION`).
 */
export function resolveTarget(
  host: string,
  config: HelperConfig,
  envs: Pick<EnvSettings, "instanceId" | "region">,
): Target | null {
  const known = parseAcrHost(host);
  const override = config.registries.get(host);
  if (override) {
    if (known) {
      return {
        registry: override.region ? { ...known, region: override.region } : known,
        instanceId: override.instanceId,
        tokenApi: override.tokenApi,
      };
    }
    if (!override.region) {
      throw new HelperError(`config file ${config.path}: registries["${host}"] needs a "region"`);
    }
    return {
      registry: { kind: "configured", host, region: override.region, instanceId: override.instanceId },
      instanceId: override.instanceId,
      tokenApi: override.tokenApi,
    };
  }
  if (known) {
    if (known.kind === "enterprise" && envs.instanceId) {
      // The reference helper takes the region from the host when only the instance id is set.
      return { registry: { ...known, region: envs.region ?? known.region }, instanceId: envs.instanceId };
    }
    return { registry: known };
  }
  if (envs.instanceId) {
    if (!envs.region) {
      throw new HelperError(
        `DOCKER_CREDENTIAL_ACR_HELPER_INSTANCE_ID is set, but ${host} is not an ACR domain, so its region cannot be ` +
          "read from it: set DOCKER_CREDENTIAL_ACR_HELPER_REGION too",
      );
    }
    return {
      registry: { kind: "configured", host, region: envs.region, instanceId: envs.instanceId },
      instanceId: envs.instanceId,
    };
  }
  return null;
}

/** The instance a plan names: an id, or an Enterprise name still to look up, or "" for a region's Personal token. */
function instanceOf(t: Target): string {
  if (t.instanceId) return `id:${t.instanceId}`;
  const r = t.registry;
  if (r.kind === "personal-instance") return `id:${r.instanceId}`;
  if (r.kind === "enterprise") return `name:${r.instanceName}`;
  return "";
}

/**
 * The token cache key: who asks (the credential identity) and everything
 * that decides which password the answer is (host, registry kind, instance,
 * region, token API, endpoint). Changing any of them is a different entry.
 */
export function tokenKey(plan: TokenPlan, identity: string): Promise<string> {
  const { target } = plan;
  return cacheKey(
    "token",
    identity,
    plan.host,
    target.registry.kind,
    instanceOf(target),
    target.registry.region,
    target.tokenApi ?? "",
    plan.endpointText,
  );
}

/** The key of an Enterprise name's instance id, as seen by one identity through one endpoint. */
export function instanceKey(plan: TokenPlan, identity: string, instanceName: string): Promise<string> {
  return cacheKey("instance", identity, plan.target.registry.region, instanceName, plan.endpointText);
}
