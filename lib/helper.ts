/**
 * The one orchestration point: server string -> registry -> credentials ->
 * ACR API -> temporary password. Implements the protocol's
 * {@link CredentialStore}; every dependency with I/O is passed in.
 *
 * @module
 */
import type { AcrApi, AcrApiOptions, RegistryToken } from "./acr_api.ts";
import type { AuthOptions, ResolvedCredentials } from "./auth.ts";
import { ConfigError, type Env, type EnvSettings, envSettings, type HelperConfig, loadConfig } from "./config.ts";
import { type CredentialStore, HelperError, NotFoundError } from "./protocol.ts";
import { normalizeServer, parseAcrHost, type Registry } from "./registry.ts";
import type { TokenApi } from "./config.ts";

/** The SDK-backed parts, loaded on demand (see `lib/backend.ts`). */
export interface Backend {
  resolveCredentials(opts: AuthOptions): Promise<ResolvedCredentials>;
  createAcrApi(opts: AcrApiOptions): AcrApi;
  installProxySupport(env: Env): void;
}

/** Options for {@link createHelper}. */
export interface HelperOptions {
  env: Env;
  now?: () => number;
  /** Reads a file as text; throws `Deno.errors.NotFound` when absent. */
  readTextFile?: (path: string) => Promise<string>;
  /** Loads the SDK-backed parts; the default imports `lib/backend.ts`. */
  loadBackend?: () => Promise<Backend>;
}

/** What a host resolves to: a registry plus how to get its token. */
export interface Target {
  registry: Registry;
  /** Known instance id (from config or env), skipping the name lookup. */
  instanceId?: string;
  tokenApi?: TokenApi;
}

/** The helper: the protocol's store plus host resolution for diagnostics. */
export interface Helper extends CredentialStore {
  /** How a server string resolves, or null when it is not ours. */
  resolve(server: string): Promise<Target | null>;
}

// A computed specifier keeps the SDKs out of the start-up module graph.
const BACKEND = "./backend.ts";

/**
 * Creates the helper.
 *
 * @example
 * ```ts
 * const helper = createHelper({ env: Deno.env.toObject() });
 * const creds = await helper.get("registry.cn-hangzhou.aliyuncs.com");
 * ```
 */
export function createHelper(opts: HelperOptions): Helper {
  const env = opts.env;
  const now = opts.now ?? Date.now;
  const readTextFile = opts.readTextFile ?? Deno.readTextFile;
  const loadBackend = opts.loadBackend ?? (() => import(BACKEND) as Promise<Backend>);

  async function settings(): Promise<{ config: HelperConfig; envs: EnvSettings }> {
    try {
      return { config: await loadConfig({ env, readTextFile }), envs: envSettings(env) };
    } catch (err) {
      if (err instanceof ConfigError) throw new HelperError(err.message);
      throw err;
    }
  }

  async function resolve(server: string): Promise<Target | null> {
    const host = normalizeServer(server);
    if (host === null) return null;
    const { config, envs } = await settings();
    return resolveTarget(host, config, envs);
  }

  async function get(server: string) {
    const host = normalizeServer(server);
    if (host === null) throw new NotFoundError();
    const { config, envs } = await settings();
    const target = resolveTarget(host, config, envs);
    if (target === null) throw new NotFoundError();
    const deadline = now() + envs.timeoutMs;
    const backend = await loadBackend();
    backend.installProxySupport(env);
    let resolved: ResolvedCredentials;
    try {
      resolved = await backend.resolveCredentials({ env, readTextFile, stsEndpoint: envs.stsEndpoint });
    } catch (err) {
      throw userFacing(err);
    }
    const api = backend.createAcrApi({
      credential: guardCredential(resolved),
      endpoint: envs.apiEndpoint,
      deadline,
      now,
    });
    let token: RegistryToken;
    try {
      token = await fetchToken(api, target);
    } catch (err) {
      throw userFacing(err);
    }
    return { ServerURL: server.trim(), Username: token.username, Secret: token.password };
  }

  return {
    resolve,
    get,
    store() {
      // `docker login` always calls store; tokens are fetched on demand, so nothing is kept.
      return Promise.resolve();
    },
    erase() {
      return Promise.resolve();
    },
    list() {
      return Promise.resolve({});
    },
  };
}

/**
 * Maps a normalised host to a target: the config file's entry first (most
 * specific), then the built-in ACR domains, then the reference helper's
 * `DOCKER_CREDENTIAL_ACR_HELPER_INSTANCE_ID`/`_REGION`, which also name the
 * instance of an Enterprise host (skipping ListInstance).
 */
export function resolveTarget(host: string, config: HelperConfig, envs: EnvSettings): Target | null {
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
    if (known.kind === "enterprise" && envs.instanceId && envs.region) {
      return { registry: { ...known, region: envs.region }, instanceId: envs.instanceId };
    }
    return { registry: known };
  }
  if (envs.instanceId && envs.region) {
    return {
      registry: { kind: "configured", host, region: envs.region, instanceId: envs.instanceId },
      instanceId: envs.instanceId,
    };
  }
  return null;
}

async function fetchToken(api: AcrApi, target: Target): Promise<RegistryToken> {
  const { registry, tokenApi } = target;
  const region = registry.region;
  if (tokenApi === "personal") return await api.personalToken(region);
  switch (registry.kind) {
    case "personal":
      return await api.personalToken(region);
    case "configured":
      return target.instanceId ? await api.instanceToken(region, target.instanceId) : await api.personalToken(region);
    case "personal-instance": {
      const id = target.instanceId ?? registry.instanceId;
      if (tokenApi === "instance") return await api.instanceToken(region, id);
      try {
        return await api.instanceToken(region, id);
      } catch (err) {
        // Which API serves crpi- instances is not documented: fall back to /tokens.
        if (isInstanceNotFound(err)) return await api.personalToken(region);
        throw err;
      }
    }
    case "enterprise": {
      const id = target.instanceId ?? await api.findInstanceId(region, registry.instanceName);
      if (id === null) {
        throw new HelperError(
          `no ACR Enterprise instance named "${registry.instanceName}" in ${region} for this account (ListInstance); ` +
            "check the host name, or set instanceId for it in the config file",
        );
      }
      return await api.instanceToken(region, id);
    }
  }
}

function isInstanceNotFound(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { instanceNotFound?: boolean }).instanceNotFound === true;
}

/**
 * Wraps the credential so a failure inside the provider (STS refused the
 * OIDC token, unreadable token file) surfaces as one line naming the
 * source, instead of a bare SDK error.
 */
function guardCredential(resolved: ResolvedCredentials): ResolvedCredentials["credential"] {
  return {
    async getCredential() {
      try {
        return await resolved.credential.getCredential();
      } catch (err) {
        const e = new HelperError(`getting credentials from ${resolved.source.description} failed: ${summarize(err)}`);
        e.name = "CredentialSourceError";
        throw e;
      }
    },
  };
}

/** A short, secret-free summary of a provider error: codes and request ids, not bodies. */
export function summarize(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = /"Code"\s*:\s*"([^"]+)"/.exec(message)?.[1];
  const requestId = /"RequestId"\s*:\s*"([^"]+)"/.exec(message)?.[1];
  if (code) return `${code}${requestId ? ` (request id ${requestId})` : ""}`;
  const sys = (err as { code?: unknown })?.code;
  if (typeof sys === "string" && /^E[A-Z]+$/.test(sys)) return `${sys} ${(err as { path?: string }).path ?? ""}`.trim();
  return message.split("\n", 1)[0].replace(/\{.*$/, "").slice(0, 200).trim() || "unknown error";
}

function userFacing(err: unknown): unknown {
  if (err instanceof HelperError) return err;
  if (err instanceof Error && ["AcrApiError", "NoCredentialsError", "CredentialSourceError"].includes(err.name)) {
    return new HelperError(err.message);
  }
  return err;
}
