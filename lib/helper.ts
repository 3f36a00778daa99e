/**
 * The one orchestration point: server string -> registry -> credentials ->
 * ACR API -> temporary password. Implements the protocol's
 * {@link CredentialStore}; every dependency with I/O is passed in.
 *
 * @module
 */
import { assumeRoleSelection, podIdentitySelection, selectCredentialSource, type Selection } from "./auth.ts";
import { type Cache, NullCache, openCache } from "./cache.ts";
import { cacheDir, type Env, homeDir } from "./platform.ts";
import { localFileReader, type ReadTextFile } from "./files.ts";
import { createLogger, type Logger } from "./log.ts";
import { envApiEndpointText, envTarget, envTransport, type HelperConfig, loadConfig } from "./config.ts";
import type { CredentialStore } from "./protocol.ts";
import { normalizeServer } from "./registry.ts";
import { type PlanSettings, planToken, type Target, tokenKey, type TokenPlan } from "./target.ts";
import { readThrough } from "./token_cache.ts";
import { type ConnectProbe, vpcEndpointEnabled } from "./endpoints.ts";
import { discoverEcsRole, type MetadataRequest } from "./ecs_metadata.ts";
import { proveToken } from "./pod_proof.ts";
import { type Backend, createMiss } from "./miss.ts";
import { NAME } from "./version.ts";
import { fetchGithubIdToken } from "./github_oidc.ts";
import { asHelperError, HelperError, kindOf, NotFoundError } from "./errors.ts";

export type { PlanSettings, Target, TokenPlan } from "./target.ts";

export type { Backend } from "./miss.ts";

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
  const h = context(opts);
  return {
    settings: h.settings,
    resolve: async (server) => (await planFor(h, server))?.target ?? null,
    plan: (server) => planFor(h, server),
    selectionFor: (server) => selectionFor(h, server),
    token: (server, o) => token(h, server, o),
    async get(server) {
      const { ServerURL, Username, Secret } = await token(h, server);
      return { ServerURL, Username, Secret };
    },
    store: (credentials) => store(h, credentials),
    erase: (server) => erase(h, server),
    async list() {
      const out: Record<string, string> = {};
      for (const e of await h.cache().listTokens(h.now())) out[e.host] = e.username;
      return out;
    },
  };
}

/** One helper's dependencies, with their defaults, and what it keeps between calls. */
interface Context {
  opts: HelperOptions;
  env: Env;
  now: () => number;
  readTextFile: ReadTextFile;
  loadBackend: () => Promise<Backend>;
  log: Logger;
  /** Opened on first use: a get that fails before needs no cache. */
  cache(): Cache;
  /** The config file and the env vars that map hosts and pick the endpoint: read once. */
  settings(): Promise<PlanSettings>;
  /** Service account tokens STS accepted in this process. */
  proven: Set<string>;
}

function context(opts: HelperOptions): Context {
  const env = opts.env;
  const readTextFile = opts.readTextFile ?? localFileReader(homeDir(env));
  const log = opts.log ?? createLogger({ env });
  let opened: Cache | undefined;
  let loaded: Promise<PlanSettings> | undefined;
  return {
    opts,
    env,
    now: opts.now ?? Date.now,
    readTextFile,
    loadBackend: opts.loadBackend ?? loadDefaultBackend,
    log,
    cache: () => (opened ??= opts.cache ?? openCache(cacheDir(env), log.warn, opts.uid, homeDir(env))),
    settings: () => loaded ??= readSettings(env, readTextFile),
    proven: new Set(),
  };
}

async function readSettings(env: Env, readTextFile: ReadTextFile): Promise<PlanSettings> {
  try {
    return {
      config: await loadConfig({ env, readTextFile }),
      envs: envTarget(env),
      apiEndpointText: envApiEndpointText(env),
      vpcEnabled: vpcEndpointEnabled(env),
    };
  } catch (err) {
    throw asHelperError(err);
  }
}

/** The get's absolute deadline: the STS endpoint and the time bound are parsed on a miss only (a hit skips it). */
function deadlineFrom(env: Env, started: number): () => number {
  let timeoutMs: number | undefined;
  return () => {
    try {
      return started + (timeoutMs ??= envTransport(env).timeoutMs);
    } catch (err) {
      throw asHelperError(err);
    }
  };
}

async function planFor(h: Context, server: string): Promise<TokenPlan | null> {
  if (normalizeServer(server) === null) return null;
  return planToken(server, await h.settings());
}

async function planOrNotFound(h: Context, server: string): Promise<TokenPlan> {
  const p = await planFor(h, server);
  if (p === null) throw new NotFoundError();
  return p;
}

/** The chain's source, or the profile / role the config file names for the plan's host (none: the chain). */
async function select(h: Context, p: TokenPlan | null, config: HelperConfig | null): Promise<Selection> {
  const override = p?.override;
  const { env, now, log } = h;
  try {
    const base = await selectCredentialSource({
      env,
      readTextFile: h.readTextFile,
      profile: override?.profile,
      discoverEcsRole: () =>
        discoverEcsRole({ env, cache: h.cache(), now, request: h.opts.metadataRequest, log: log.info }),
      now,
    });
    for (const s of base.skipped ?? []) log.info(`credentials: skipped ${s.source}: ${s.reason}`);
    return override?.roleArn ? assumeRoleSelection(base, override.roleArn) : base;
  } catch (err) {
    if (override?.profile && kindOf(err) === "credential-source") {
      throw new HelperError(`config file ${config?.path}: registries["${p?.host}"]: ${(err as Error).message}`);
    }
    throw asHelperError(err);
  }
}

async function selectionFor(h: Context, server?: string): Promise<Selection> {
  if (server === undefined) return await select(h, null, null);
  const s = await h.settings();
  const p = planToken(server, s);
  if (p === null) throw new NotFoundError();
  return await select(h, p, s.config);
}

/** A get: the plan, the identity (proven when it is a pod's or a CI job's), then the cache or the API. */
async function token(h: Context, server: string | TokenPlan, o: TokenOptions = {}): Promise<TokenCredentials> {
  const p = typeof server === "string" ? await planOrNotFound(h, server) : server;
  const { env, now, log } = h;
  const started = now();
  const store = o.bypassCache ? new NullCache() : h.cache();
  const deadline = deadlineFrom(env, started);
  const chosen = o.selection ?? await select(h, p, (await h.settings()).config);
  // GitHub Actions: a fresh ID token for this job, then proven and exchanged as a pod's token is.
  const selection = chosen.plan.type === "github-oidc" ? await githubJob(h, chosen, deadline()) : chosen;
  const { loadBackend, opts: { probe, lockWaitMs } } = h;
  const miss = createMiss({ env, plan: p, selection, store, deadline, now, started, log, loadBackend, probe });
  if (selection.plan.type === "oidc-token") {
    await proveToken({ plan: selection.plan, store, proven: h.proven, now, log, exchange: miss.credential });
  }
  const key = await tokenKey(p, selection.source.identity);
  const read = { cache: store, key, host: p.host, now, deadline, lockWaitMs, log, fetch: miss.fetch };
  const { entry, outcome } = await readThrough(read);
  log.secret(entry.password);
  if (outcome === "hit") log.debug(`served ${p.host} from the cache (${selection.source.kind})`);
  const { username: Username, password: Secret, expiresAt } = entry;
  return { ServerURL: p.server, Username, Secret, expiresAt, clockSkewMs: miss.clockSkewMs() };
}

/** The job's ID token from GitHub, as the per-pod selection the rest of the token path knows. */
async function githubJob(h: Context, s: Selection, deadline: number): Promise<Selection> {
  const plan = s.plan as Extract<Selection["plan"], { type: "github-oidc" }>;
  h.log.secret(plan.requestToken);
  let token: string;
  try {
    token = await fetchGithubIdToken(plan, { deadline, now: h.now });
  } catch (err) {
    throw asHelperError(err);
  }
  h.log.secret(token);
  h.log.debug(`GitHub ID token for ${plan.roleArn} received`);
  const job = podIdentitySelection({ roleArn: plan.roleArn, providerArn: plan.providerArn, token });
  return { ...job, source: s.source };
}

/**
 * `docker login` always calls store. For our registries tokens are fetched on demand, so nothing is kept; for any
 * other, saying yes would make docker print "Login Succeeded" and lose the password (credsStore).
 */
async function store(h: Context, credentials: { ServerURL: string }): Promise<void> {
  const host = normalizeServer(credentials.ServerURL);
  if (await planFor(h, credentials.ServerURL) === null) {
    throw new HelperError(
      `store: ${host ?? credentials.ServerURL.trim().slice(0, 100)} is not an ACR registry; ${NAME} keeps no ` +
        `passwords, so nothing was saved. Use "credHelpers" for your ACR registries instead of "credsStore" ` +
        `(${NAME} configure-docker)`,
    );
  }
  h.log.debug(`store for ${host}: nothing kept`);
}

async function erase(h: Context, server: string): Promise<void> {
  const host = normalizeServer(server);
  if (host !== null) await h.cache().eraseHost(host);
  h.log.debug(`erase for ${host ?? "a non-ACR server"}: cached tokens dropped`);
}
