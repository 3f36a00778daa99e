/**
 * The one orchestration point: server string -> registry -> credentials ->
 * ACR API -> temporary password. Implements the protocol's
 * {@link CredentialStore}; every dependency with I/O is passed in.
 *
 * @module
 */
import type { AcrApi, AcrApiOptions, RegistryToken } from "./acr_api.ts";
import {
  assumeRoleSelection,
  type AuthOptions,
  type ClientCredential,
  type ResolvedCredentials,
  selectCredentialSource,
  type Selection,
} from "./auth.ts";
import { type Cache, cacheDir, cacheKey, isFresh, openCache, type TokenEntry } from "./cache.ts";
import { localFileReader, type ReadTextFile } from "./files.ts";
import { createLogger, type Logger } from "./log.ts";
import {
  ConfigError,
  type Env,
  type EnvSettings,
  envTarget,
  envTransport,
  type HelperConfig,
  loadConfig,
} from "./config.ts";
import { type CredentialStore, HelperError, NotFoundError } from "./protocol.ts";
import { normalizeServer, parseAcrHost, type Registry } from "./registry.ts";
import type { TokenApi } from "./config.ts";

/** The SDK-backed parts, loaded on demand (see `lib/backend.ts`). */
export interface Backend {
  buildCredential(
    selection: Selection,
    opts: Pick<AuthOptions, "stsEndpoint"> & { timeoutMs?: number },
  ): ClientCredential;
  createAcrApi(opts: AcrApiOptions): AcrApi;
  installProxySupport(env: Env): void;
}

/** Options for {@link createHelper}. */
export interface HelperOptions {
  env: Env;
  now?: () => number;
  /** Reads a file as text; null when absent (default {@link localFileReader}). */
  readTextFile?: ReadTextFile;
  /** Loads the SDK-backed parts; the default imports `lib/backend.ts`. */
  loadBackend?: () => Promise<Backend>;
  /** The cache; default: the file cache in {@link cacheDir}, or none when unusable. */
  cache?: Cache;
  /**
   * Our uid, when the caller can tell it without a prompt (the CLI, granted
   * `--allow-sys=uid`); null or absent: the cache finds it with a probe file.
   */
  uid?: () => number | null;
  log?: Logger;
}

const INSTANCE_ID_TTL_MS = 24 * 3600_000;

/** What a host resolves to: a registry plus how to get its token. */
export interface Target {
  registry: Registry;
  /** Known instance id (from config or env), skipping the name lookup. */
  instanceId?: string;
  tokenApi?: TokenApi;
}

/** Credentials for a registry with the token's expiry (what `get` prints, plus when it stops working). */
export interface TokenCredentials {
  ServerURL: string;
  Username: string;
  Secret: string;
  /** ms since the epoch. */
  expiresAt: number;
}

/** Options for {@link Helper.token}. */
export interface TokenOptions {
  /** Use this identity instead of the configured chain (the kubelet's per-pod identity). */
  selection?: Selection;
}

/** The helper: the protocol's store plus host resolution for diagnostics. */
export interface Helper extends CredentialStore {
  /** How a server string resolves, or null when it is not ours. */
  resolve(server: string): Promise<Target | null>;
  /** Which credential source a server's token would be fetched with (no network, no secret). */
  selectionFor(server: string): Promise<Selection>;
  /** `get`, with the token's expiry; throws NotFoundError for a server that is not ours. */
  token(server: string, opts?: TokenOptions): Promise<TokenCredentials>;
}

// A computed specifier keeps the SDKs out of the start-up module graph.
const BACKEND = "./backend.ts";
/** Imports `lib/backend.ts` (the SDKs). */
export function loadDefaultBackend(): Promise<Backend> {
  return import(BACKEND) as Promise<Backend>;
}

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
  const readTextFile = opts.readTextFile ?? localFileReader(env.HOME);
  const loadBackend = opts.loadBackend ?? loadDefaultBackend;

  /** Settings a cache hit needs: the config file and the env vars that map hosts. */
  async function settings(): Promise<{ config: HelperConfig; envs: Pick<EnvSettings, "instanceId" | "region"> }> {
    try {
      return { config: await loadConfig({ env, readTextFile }), envs: envTarget(env) };
    } catch (err) {
      throw userFacing(err);
    }
  }
  /** Endpoints and the time bound: parsed on a miss only, so a hit skips the work. */
  function transport() {
    try {
      return envTransport(env);
    } catch (err) {
      throw userFacing(err);
    }
  }

  async function resolve(server: string): Promise<Target | null> {
    const host = normalizeServer(server);
    if (host === null) return null;
    const { config, envs } = await settings();
    return resolveTarget(host, config, envs);
  }

  const log = opts.log ?? createLogger({ env });
  let opened: Cache | undefined;
  const cache = () => (opened ??= opts.cache ?? openCache(cacheDir(env), log.warn, opts.uid));

  /** The chain's source, or the profile / role the config file names for this host. */
  async function select(host: string, config: HelperConfig): Promise<Selection> {
    const override = config.registries.get(host);
    try {
      const base = await selectCredentialSource({ env, readTextFile, profile: override?.profile });
      return override?.roleArn ? assumeRoleSelection(base, override.roleArn) : base;
    } catch (err) {
      if (override?.profile && err instanceof Error && err.name === "CredentialSourceError") {
        throw new HelperError(`config file ${config.path}: registries["${host}"]: ${err.message}`);
      }
      throw userFacing(err);
    }
  }

  async function selectionFor(server: string): Promise<Selection> {
    const host = normalizeServer(server);
    if (host === null) throw new NotFoundError();
    return await select(host, (await settings()).config);
  }

  async function get(server: string) {
    const { ServerURL, Username, Secret } = await token(server);
    return { ServerURL, Username, Secret };
  }

  async function token(server: string, tokenOpts: TokenOptions = {}): Promise<TokenCredentials> {
    const host = normalizeServer(server);
    if (host === null) throw new NotFoundError();
    const { config, envs } = await settings();
    const target = resolveTarget(host, config, envs);
    if (target === null) throw new NotFoundError();
    const started = now();
    const selection = tokenOpts.selection ?? await select(host, config);
    const { identity } = selection.source;
    const key = await cacheKey("token", identity, host);
    const store = cache();
    const answer = (t: { username: string; password: string; expiresAt: number }): TokenCredentials => {
      log.secret(t.password);
      return { ServerURL: server.trim(), Username: t.username, Secret: t.password, expiresAt: t.expiresAt };
    };
    const hit = await store.getToken(key);
    if (hit && isFresh(hit, now())) {
      log.debug(`cache hit for ${host} (${selection.source.kind})`);
      return answer(hit);
    }
    const net = transport();
    const deadline = started + net.timeoutMs;
    return await store.withLock(key, Math.max(0, deadline - now()), async () => {
      // Another process may have fetched it while we waited for the lock.
      const held = await store.getToken(key);
      if (held && isFresh(held, now())) {
        log.debug(`cache filled by another process for ${host}`);
        return answer(held);
      }
      log.debug(`cache miss for ${host}; calling the ACR API as ${selection.source.kind}`);
      const backend = await loadBackend();
      backend.installProxySupport(env);
      let token: RegistryToken;
      try {
        const credential = backend.buildCredential(selection, {
          stsEndpoint: net.stsEndpoint,
          timeoutMs: Math.max(1, deadline - now()),
        });
        const api = backend.createAcrApi({
          credential: guardCredential({ source: selection.source, credential }),
          endpoint: net.apiEndpoint,
          deadline,
          now,
          onRetry: ({ attempt, delayMs, error }) => log.info(`retry ${attempt} in ${delayMs} ms: ${error.message}`),
        });
        token = await fetchToken(api, target, { cache: store, identity, now, log });
      } catch (err) {
        const usable = held ?? hit;
        if (usable && usable.expiresAt > now()) {
          log.warn(`refresh failed, using the cached token for ${host}: ${err instanceof Error ? err.message : err}`);
          return answer(usable);
        }
        throw userFacing(err);
      }
      const entry: TokenEntry = {
        host,
        username: token.username,
        password: token.password,
        expiresAt: token.expiresAt,
        issuedAt: now(),
      };
      await store.putToken(key, entry, now());
      log.info(
        `token for ${host} fetched in ${now() - started} ms, expires ${new Date(token.expiresAt).toISOString()}`,
      );
      return answer(token);
    });
  }

  return {
    resolve,
    selectionFor,
    token,
    get,
    store(credentials) {
      // `docker login` always calls store; tokens are fetched on demand, so nothing is kept.
      log.debug(`store for ${normalizeServer(credentials.ServerURL) ?? "a non-ACR server"}: nothing kept`);
      return Promise.resolve();
    },
    async erase(server: string) {
      const host = normalizeServer(server);
      if (host !== null) await cache().eraseHost(host);
      log.debug(`erase for ${host ?? "a non-ACR server"}: cached tokens dropped`);
    },
    async list() {
      const out: Record<string, string> = {};
      for (const e of await cache().listTokens(now())) out[e.host] = e.username;
      return out;
    },
  };
}

/**
 * Maps a normalised host to a target: the config file's entry first (most
 * specific), then the built-in ACR domains, then the reference helper's
 * `DOCKER_CREDENTIAL_ACR_HELPER_INSTANCE_ID`/`_REGION`, which also name the
 * instance of an Enterprise host (skipping ListInstance).
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

interface FetchContext {
  cache: Cache;
  identity: string;
  now: () => number;
  log: Logger;
}

async function fetchToken(api: AcrApi, target: Target, ctx: FetchContext): Promise<RegistryToken> {
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
      if (target.instanceId) return await api.instanceToken(region, target.instanceId);
      const idKey = await cacheKey("instance", ctx.identity, region, registry.instanceName);
      const lookUp = async () => {
        const { instanceId: id, requestId } = await api.findInstanceId(region, registry.instanceName);
        if (id === null) {
          throw new HelperError(
            `no ACR Enterprise instance named "${registry.instanceName}" in ${region} for this account ` +
              `(ListInstance${requestId ? `, request id ${requestId}` : ""}); ` +
              "check the host name, or set instanceId for it in the config file",
          );
        }
        await ctx.cache.putInstanceId(idKey, id, ctx.now() + INSTANCE_ID_TTL_MS);
        return id;
      };
      const cached = await ctx.cache.getInstanceId(idKey, ctx.now());
      if (cached === null) return await api.instanceToken(region, await lookUp());
      try {
        return await api.instanceToken(region, cached);
      } catch (err) {
        if (!isInstanceNotFound(err)) throw err;
        // The instance was recreated under the same name: resolve the name once more.
        ctx.log.info(`cached instance ${cached} is gone; looking "${registry.instanceName}" up again`);
        await ctx.cache.dropInstanceId(idKey);
        return await api.instanceToken(region, await lookUp());
      }
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
  if (err instanceof ConfigError) return new HelperError(err.message);
  if (err instanceof Error && ["AcrApiError", "NoCredentialsError", "CredentialSourceError"].includes(err.name)) {
    return new HelperError(err.message);
  }
  return err;
}
