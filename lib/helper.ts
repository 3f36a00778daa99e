/**
 * The one orchestration point: server string -> registry -> credentials ->
 * ACR API -> temporary password. Implements the protocol's
 * {@link CredentialStore}; every dependency with I/O is passed in.
 *
 * @module
 */
import type { AcrApi, AcrApiOptions } from "./acr_api.ts";
import {
  assumeRoleSelection,
  type AuthOptions,
  type ClientCredential,
  podIdentitySelection,
  type ResolvedCredentials,
  selectCredentialSource,
  type Selection,
} from "./auth.ts";
import { type Cache, cacheDir, NullCache, openCache } from "./cache.ts";
import { localFileReader, type ReadTextFile } from "./files.ts";
import { createLogger, type Logger } from "./log.ts";
import {
  type Env,
  envApiEndpointText,
  envTarget,
  envTransport,
  type HelperConfig,
  homeDir,
  loadConfig,
} from "./config.ts";
import { type CredentialStore, HelperError, NotFoundError } from "./protocol.ts";
import { normalizeServer } from "./registry.ts";
import { type PlanSettings, planToken, type Target, tokenKey, type TokenPlan } from "./target.ts";
import { readThrough } from "./token_cache.ts";
import { fetchToken } from "./token_route.ts";
import { type ConnectProbe, resolveApiEndpoint, stsRoute, vpcEndpointEnabled } from "./endpoints.ts";
import { discoverEcsRole, type MetadataRequest } from "./ecs_metadata.ts";
import { proofExpiry, proofKey } from "./pod_proof.ts";
import { NAME } from "./version.ts";
import { fetchGithubIdToken } from "./github_oidc.ts";
import { isTransient, isUserFacing, kindOf, markUserFacing } from "./errors.ts";

export type { PlanSettings, Target, TokenPlan } from "./target.ts";

/** The SDK-backed parts, loaded on demand (see `lib/backend.ts`). */
export interface Backend {
  buildCredential(
    selection: Selection,
    opts: Pick<AuthOptions, "stsEndpoint"> & { timeoutMs?: number; stsForced?: boolean },
  ): ClientCredential;
  createAcrApi(opts: AcrApiOptions): AcrApi;
  installTransport(env: Env): void;
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
  /** Bound on waiting for another process's lock (default: token_cache's LOCK_WAIT_MS). */
  lockWaitMs?: number;
  /** Probes whether a VPC API endpoint connects (default: a TCP connect, lib/endpoints.ts). */
  probe?: ConnectProbe;
  /** Asks the ECS instance metadata service (default: lib/ecs_metadata.ts, 100.100.100.200). */
  metadataRequest?: MetadataRequest;
}

/** Credentials for a registry with the token's expiry (what `get` prints, plus when it stops working). */
export interface TokenCredentials {
  ServerURL: string;
  Username: string;
  Secret: string;
  /** ms since the epoch, on the local clock. */
  expiresAt: number;
  /** When the token was fetched now: the service's clock minus ours, ms (0 or absent: in step). */
  clockSkewMs?: number;
}

/** Options for {@link Helper.token}. */
export interface TokenOptions {
  /** Use this identity instead of the configured chain (the kubelet's per-pod identity). */
  selection?: Selection;
  /** Neither read nor write the cache: a real round trip (doctor). */
  bypassCache?: boolean;
}

/** The helper: the protocol's store plus host resolution for diagnostics. */
export interface Helper extends CredentialStore {
  /** The config file and host-mapping env vars, read once per helper (throws a one-line HelperError). */
  settings(): Promise<PlanSettings>;
  /** How a server string resolves, or null when it is not ours. */
  resolve(server: string): Promise<Target | null>;
  /** The whole plan for a server string (target, endpoint, override), or null when it is not ours. */
  plan(server: string): Promise<TokenPlan | null>;
  /** Which credential source a server's token would be fetched with (no network, no secret). */
  selectionFor(server?: string): Promise<Selection>;
  /** `get`, with the token's expiry; throws NotFoundError for a server that is not ours. */
  token(server: string | TokenPlan, opts?: TokenOptions): Promise<TokenCredentials>;
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
  const readTextFile = opts.readTextFile ?? localFileReader(homeDir(env));
  const loadBackend = opts.loadBackend ?? loadDefaultBackend;
  const log = opts.log ?? createLogger({ env });
  let opened: Cache | undefined;
  const cache = () => (opened ??= opts.cache ?? openCache(cacheDir(env), log.warn, opts.uid, homeDir(env)));
  /** Service account tokens STS accepted in this process. */
  const proven = new Set<string>();

  /** What planning reads: the config file and the env vars that map hosts and pick the endpoint (read once). */
  let loaded: Promise<PlanSettings> | undefined;
  function settings(): Promise<PlanSettings> {
    return loaded ??= (async () => {
      try {
        return {
          config: await loadConfig({ env, readTextFile }),
          envs: envTarget(env),
          apiEndpointText: envApiEndpointText(env),
          vpcEnabled: vpcEndpointEnabled(env),
        };
      } catch (err) {
        throw userFacing(err);
      }
    })();
  }
  /** STS endpoint and the time bound: parsed on a miss only, so a hit skips the work. */
  function transport() {
    try {
      return envTransport(env);
    } catch (err) {
      throw userFacing(err);
    }
  }

  async function plan(server: string): Promise<TokenPlan | null> {
    if (normalizeServer(server) === null) return null;
    return planToken(server, await settings());
  }

  /** The chain's source, or the profile / role the config file names for the plan's host (none: the chain). */
  async function select(p: TokenPlan | null, config: HelperConfig | null): Promise<Selection> {
    const override = p?.override;
    try {
      const base = await selectCredentialSource({
        env,
        readTextFile,
        profile: override?.profile,
        discoverEcsRole: () =>
          discoverEcsRole({ env, cache: cache(), now, request: opts.metadataRequest, log: log.info }),
        now,
      });
      for (const s of base.skipped ?? []) log.info(`credentials: skipped ${s.source}: ${s.reason}`);
      return override?.roleArn ? assumeRoleSelection(base, override.roleArn) : base;
    } catch (err) {
      if (override?.profile && kindOf(err) === "credential-source") {
        throw new HelperError(`config file ${config?.path}: registries["${p?.host}"]: ${(err as Error).message}`);
      }
      throw userFacing(err);
    }
  }

  async function selectionFor(server?: string): Promise<Selection> {
    if (server === undefined) return await select(null, null);
    const s = await settings();
    const p = planToken(server, s);
    if (p === null) throw new NotFoundError();
    return await select(p, s.config);
  }

  async function get(server: string) {
    const { ServerURL, Username, Secret } = await token(server);
    return { ServerURL, Username, Secret };
  }

  async function token(server: string | TokenPlan, tokenOpts: TokenOptions = {}): Promise<TokenCredentials> {
    let p: TokenPlan | null;
    if (typeof server === "string") {
      if (normalizeServer(server) === null) throw new NotFoundError();
      p = planToken(server, await settings());
    } else p = server;
    if (p === null) throw new NotFoundError();
    const plan = p;
    const started = now();
    const store = tokenOpts.bypassCache ? new NullCache() : cache();
    let net: ReturnType<typeof transport> | undefined;
    const deadline = () => started + (net ??= transport()).timeoutMs;
    const chosen = tokenOpts.selection ?? await select(p, (await settings()).config);
    // GitHub Actions: a fresh ID token for this job, then proven and exchanged as a pod's token is.
    const selection = chosen.plan.type === "github-oidc" ? await githubJob(chosen, deadline()) : chosen;
    const { identity } = selection.source;
    // One credential per get: the per-pod proof and the ACR call share its STS exchange.
    let built: { backend: Backend; credential: ClientCredential } | undefined;
    const credential = async () => {
      if (built) return built;
      const backend = await loadBackend();
      backend.installTransport(env);
      const timeoutMs = Math.max(1, deadline() - now());
      const sts = stsRoute(env, plan.target.registry.region);
      const raw = backend.buildCredential(selection, {
        stsEndpoint: sts.host,
        stsForced: sts.why === "DOCKER_CREDENTIAL_ACR_HELPER_STS_ENDPOINT",
        timeoutMs,
      });
      return (built = { backend, credential: guardCredential({ source: selection.source, credential: raw }) });
    };
    if (selection.plan.type === "oidc-token") await prove(selection.plan, store, credential);
    const key = await tokenKey(p, identity);
    let skew: number | undefined;
    const { entry, outcome } = await readThrough({
      cache: store,
      key,
      host: p.host,
      now,
      deadline,
      lockWaitMs: opts.lockWaitMs,
      log,
      fetch: async () => {
        log.debug(`calling the ACR API for ${p.host} as ${selection.source.kind}`);
        try {
          const { backend, credential: cred } = await credential();
          const api = backend.createAcrApi({
            credential: cred,
            endpoint: await resolveApiEndpoint(plan.route, { cache: store, now, log: log.info, probe: opts.probe }),
            deadline: deadline(),
            now,
            onRetry: ({ attempt, delayMs, error }) => log.info(`retry ${attempt} in ${delayMs} ms: ${error.message}`),
          });
          const t = await fetchToken(api, p, { cache: store, identity, now, log });
          skew = t.clockSkewMs;
          log.info(
            `token for ${p.host} fetched in ${now() - started} ms, expires ${new Date(t.expiresAt).toISOString()}` +
              (skew ? ` (local clock ${Math.round(-skew / 1000)} s off the service's)` : ""),
          );
          return { username: t.username, password: t.password, expiresAt: t.expiresAt, issuedAt: now() };
        } catch (err) {
          throw userFacing(err);
        }
      },
    });
    log.secret(entry.password);
    if (outcome === "hit") log.debug(`served ${p.host} from the cache (${selection.source.kind})`);
    return {
      ServerURL: p.server,
      Username: entry.username,
      Secret: entry.password,
      expiresAt: entry.expiresAt,
      clockSkewMs: skew,
    };
  }

  /** The job's ID token from GitHub, as the per-pod selection the rest of the token path knows. */
  async function githubJob(s: Selection, deadline: number): Promise<Selection> {
    const plan = s.plan as Extract<Selection["plan"], { type: "github-oidc" }>;
    log.secret(plan.requestToken);
    let token: string;
    try {
      token = await fetchGithubIdToken(plan, { deadline, now });
    } catch (err) {
      throw userFacing(err);
    }
    log.secret(token);
    log.debug(`GitHub ID token for ${plan.roleArn} received`);
    const job = podIdentitySelection({ roleArn: plan.roleArn, providerArn: plan.providerArn, token });
    return { ...job, source: s.source };
  }

  /**
   * A pod's token must be accepted by STS before any cached password of its
   * role is handed out: in this process, or recorded (by hash) as accepted
   * earlier with credentials still valid. A refusal is final: no cache.
   */
  async function prove(
    plan: Extract<Selection["plan"], { type: "oidc-token" }>,
    store: Cache,
    credential: () => Promise<{ credential: ClientCredential }>,
  ): Promise<void> {
    const pk = await proofKey(plan);
    if (proven.has(pk) || await store.hasProof(pk, now())) {
      log.debug(`service account token for ${plan.roleArn} was accepted by STS before`);
      return;
    }
    let expiresAt: number | undefined;
    try {
      ({ expiresAt } = await (await credential()).credential.getCredential());
    } catch (err) {
      throw userFacing(err);
    }
    proven.add(pk);
    await store.putProof(pk, proofExpiry(expiresAt, plan.token, now()), now());
    log.debug(`service account token for ${plan.roleArn} accepted by STS`);
  }

  return {
    settings,
    resolve: async (server) => (await plan(server))?.target ?? null,
    plan,
    selectionFor,
    token,
    get,
    async store(credentials) {
      // `docker login` always calls store. For our registries tokens are fetched on demand, so nothing is kept;
      // for any other, saying yes would make docker print "Login Succeeded" and lose the password (credsStore).
      const host = normalizeServer(credentials.ServerURL);
      if (await plan(credentials.ServerURL) === null) {
        throw new HelperError(
          `store: ${host ?? credentials.ServerURL.trim().slice(0, 100)} is not an ACR registry; ${NAME} keeps no ` +
            `passwords, so nothing was saved. Use "credHelpers" for your ACR registries instead of "credsStore" ` +
            `(${NAME} configure-docker)`,
        );
      }
      log.debug(`store for ${host}: nothing kept`);
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
        // An error that already names its source in a line of its own (an External profile's command) stays as is.
        const named = isUserFacing(err) && kindOf(err) === "credential-source";
        const e = markUserFacing(
          new HelperError(
            named ? err.message : `getting credentials from ${resolved.source.description} failed: ${summarize(err)}`,
          ),
          "credential-source",
        );
        // STS unreachable may fall back to a cached password; STS refusing the identity never does.
        throw Object.assign(e, { transient: isTransient(err) });
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
  if (isUserFacing(err)) {
    // Keep whether the service was unreachable (the token cache decides its fallback on it) and the kind.
    // Keep the sources the chain skipped too (doctor warns about each).
    const skipped = (err as { skipped?: unknown }).skipped;
    return markUserFacing(
      Object.assign(new HelperError(err.message), { transient: isTransient(err), ...(skipped ? { skipped } : {}) }),
      kindOf(err),
    );
  }
  return err;
}
