/**
 * The miss path of one `get`: the SDK side loaded, the transport installed,
 * the STS route chosen, the credential built (once per get: the per-pod proof
 * and the ACR call share its STS exchange) and guarded, the API created on the
 * endpoint the registry's network calls for, and the token fetched. Nothing
 * here runs on a cache hit.
 *
 * @module
 */
import type { AcrApi, AcrApiOptions } from "./acr_api.ts";
import type { AuthOptions, ClientCredential, ResolvedCredentials, Selection } from "./auth.ts";
import type { Cache } from "./cache.ts";
import type { Env } from "./platform.ts";
import { type ConnectProbe, resolveApiEndpoint, stsRoute } from "./endpoints.ts";
import { asHelperError, HelperError, isTransient, isUserFacing, kindOf, markUserFacing, messageOf } from "./errors.ts";
import type { Logger } from "./log.ts";
import type { TokenPlan } from "./target.ts";
import type { FreshToken } from "./token_cache.ts";
import { fetchToken } from "./token_route.ts";

/** The SDK-backed parts, loaded on demand (see `lib/backend.ts`). */
export interface Backend {
  buildCredential(
    selection: Selection,
    opts: Pick<AuthOptions, "stsEndpoint"> & { timeoutMs?: number; stsForced?: boolean },
  ): ClientCredential;
  createAcrApi(opts: AcrApiOptions): AcrApi;
  installTransport(env: Env): void;
}
/** What {@link createMiss} needs: one get's plan, identity, cache and bounds. */
export interface MissOptions {
  env: Env;
  plan: TokenPlan;
  selection: Selection;
  store: Cache;
  /** The get's absolute deadline, ms (read lazily: a hit never parses the variables behind it). */
  deadline: () => number;
  now: () => number;
  /** When the get started, ms (for the log). */
  started: number;
  log: Logger;
  loadBackend: () => Promise<Backend>;
  probe?: ConnectProbe;
}

/** One get's miss path: the credential (built once) and the token fetch the read-through cache calls. */
export interface Miss {
  credential(): Promise<{ backend: Backend; credential: ClientCredential }>;
  fetch(): Promise<FreshToken>;
  /** The service's clock minus ours, when a token was fetched (ms). */
  clockSkewMs(): number | undefined;
}

/** The miss path for one get. */
export function createMiss(o: MissOptions): Miss {
  const { plan, selection, log, now } = o;
  let built: { backend: Backend; credential: ClientCredential } | undefined;
  let skew: number | undefined;
  async function credential() {
    if (built) return built;
    const backend = await o.loadBackend();
    backend.installTransport(o.env);
    const timeoutMs = Math.max(1, o.deadline() - now());
    const sts = stsRoute(o.env, plan.target.registry.region);
    const raw = backend.buildCredential(selection, {
      stsEndpoint: sts.host,
      stsForced: sts.why === "DOCKER_CREDENTIAL_ACR_HELPER_STS_ENDPOINT",
      timeoutMs,
    });
    return (built = { backend, credential: guardCredential({ source: selection.source, credential: raw }) });
  }
  async function fetch(): Promise<FreshToken> {
    log.debug(`calling the ACR API for ${plan.host} as ${selection.source.kind}`);
    try {
      const { backend, credential: cred } = await credential();
      const api = backend.createAcrApi({
        credential: cred,
        endpoint: await resolveApiEndpoint(plan.route, { cache: o.store, now, log: log.info, probe: o.probe }),
        deadline: o.deadline(),
        now,
        onRetry: ({ attempt, delayMs, error }) => log.info(`retry ${attempt} in ${delayMs} ms: ${error.message}`),
      });
      const t = await fetchToken(api, plan, { cache: o.store, identity: selection.source.identity, now, log });
      skew = t.clockSkewMs;
      log.info(
        `token for ${plan.host} fetched in ${now() - o.started} ms, expires ${new Date(t.expiresAt).toISOString()}` +
          (skew ? ` (local clock ${Math.round(-skew / 1000)} s off the service's)` : ""),
      );
      return { username: t.username, password: t.password, expiresAt: t.expiresAt, issuedAt: now() };
    } catch (err) {
      throw asHelperError(err);
    }
  }
  return { credential, fetch, clockSkewMs: () => skew };
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
  const message = messageOf(err);
  const code = /"Code"\s*:\s*"([^"]+)"/.exec(message)?.[1];
  const requestId = /"RequestId"\s*:\s*"([^"]+)"/.exec(message)?.[1];
  if (code) return `${code}${requestId ? ` (request id ${requestId})` : ""}`;
  const sys = (err as { code?: unknown })?.code;
  if (typeof sys === "string" && /^E[A-Z]+$/.test(sys)) return `${sys} ${(err as { path?: string }).path ?? ""}`.trim();
  return message.split("\n", 1)[0].replace(/\{.*$/, "").slice(0, 200).trim() || "unknown error";
}
