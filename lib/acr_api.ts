/**
 * ACR OpenAPI calls through `@alicloud/openapi-client` (`callApi`): the
 * Personal Edition `/tokens` (cr 2016-06-07), `GetAuthorizationToken` and
 * `ListInstance` (cr 2018-12-01). Retries (lib/retry.ts), timeouts and error
 * wording (lib/api_errors.ts) are ours: the SDK's `autoretry` does nothing.
 *
 * @module
 */
import * as openapiNs from "@alicloud/openapi-client";
import type { ClientCredential } from "./auth.ts";
import type { Endpoint } from "./config.ts";

import { NAME, VERSION } from "./version.ts";
import { clockSkew, localExpiry } from "./clock.ts";
import { AcrApiError, apiError, checkSuccess, DeadlineError, requestIdOf, toApiError } from "./api_errors.ts";
import { retrying } from "./retry.ts";
import { withTimeout } from "./timeout.ts";
import { clearLastResponse, lastResponse } from "./transport.ts";

/** A temporary registry password. */
export interface RegistryToken {
  username: string;
  password: string;
  /** Expiry, ms since the epoch, on the local clock (moved there from the service's by its `Date` header). */
  expiresAt: number;
  /** The service's clock minus ours when it answered, ms (0 when in step or unknown). */
  clockSkewMs?: number;
}

/** The calls the helper makes. */
export interface AcrApi {
  /** Personal Edition (classic) token for the caller's account in `region`. */
  personalToken(region: string): Promise<RegistryToken>;
  /** Token for an instance (`cri-...` Enterprise or `crpi-...` Personal). */
  instanceToken(region: string, instanceId: string): Promise<RegistryToken>;
  /** Instance id for an Enterprise instance name (null when there is none), and the last page's request id. */
  findInstanceId(region: string, instanceName: string): Promise<InstanceLookup>;
}

/** What ListInstance found for a name. */
export interface InstanceLookup {
  instanceId: string | null;
  /** Of the last page read: what a user quotes to support when a name is not found. */
  requestId?: string;
}

/** Options for {@link createAcrApi}. */
export interface AcrApiOptions {
  credential: ClientCredential;
  /** Overrides `cr.<region>.aliyuncs.com` for every call. */
  endpoint?: Endpoint;
  /** Absolute deadline (ms since epoch) for everything this API object does. */
  deadline: number;
  /** Attempts per call, including the first. */
  maxAttempts?: number;
  /** Base backoff, ms (doubled per attempt, full jitter). */
  backoffMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Called before each retry, for logging. */
  onRetry?: (info: { attempt: number; delayMs: number; error: AcrApiError }) => void;
}

const CONNECT_TIMEOUT_MS = 5_000;
const READ_TIMEOUT_MS = 10_000;
const PAGE_SIZE = 100;
const MAX_PAGES = 1_000;

// deno-lint-ignore no-explicit-any -- CJS interop: `default` is module.exports; its `default` is the Client class.
const openapi: any = (openapiNs as any).default ?? openapiNs;

/**
 * Creates the API client.
 *
 * @example
 * ```ts
 * const api = createAcrApi({ credential, deadline: Date.now() + 30_000 });
 * const token = await api.personalToken("cn-hangzhou");
 * ```
 */
export function createAcrApi(opts: AcrApiOptions): AcrApi {
  const call = caller(opts);
  return {
    personalToken: (region) => personalToken(call, region),
    instanceToken: (region, instanceId) => instanceToken(call, region, instanceId),
    findInstanceId: (region, instanceName) => findInstanceId(call, region, instanceName),
  };
}

/** One API call: its region, what it is called in messages, the SDK's parameters and the query. */
type Call = (region: string, what: string, params: Record<string, string>, query: Record<string, string>) => Promise<
  Answer
>;

const PERSONAL_TOKEN = {
  action: "GetAuthorizationToken",
  version: "2016-06-07",
  pathname: "/tokens",
  method: "GET",
  style: "ROA",
  reqBodyType: "json",
};

function rpc(action: string) {
  return { action, version: "2018-12-01", pathname: "/", method: "POST", style: "RPC", reqBodyType: "formData" };
}

async function personalToken(call: Call, region: string): Promise<RegistryToken> {
  const what = `GetAuthorizationToken (Personal Edition, ${region})`;
  const answer = await call(region, what, PERSONAL_TOKEN, {});
  const data = (answer.body.data ?? {}) as Record<string, unknown>;
  return tokenFrom(what, answer, data.tempUserName, data.authorizationToken, data.expireDate);
}

async function instanceToken(call: Call, region: string, instanceId: string): Promise<RegistryToken> {
  const what = `GetAuthorizationToken (${instanceId}, ${region})`;
  const answer = await call(region, what, rpc("GetAuthorizationToken"), { InstanceId: instanceId });
  const body = answer.body;
  return tokenFrom(what, answer, body.TempUsername, body.AuthorizationToken, body.ExpireTime);
}

async function findInstanceId(call: Call, region: string, instanceName: string): Promise<InstanceLookup> {
  const what = `ListInstance (${region})`;
  let seen = 0;
  for (let page = 1; page <= MAX_PAGES; page++) {
    const query = { PageNo: String(page), PageSize: String(PAGE_SIZE) };
    const { body } = await call(region, what, rpc("ListInstance"), query);
    const instances = Array.isArray(body.Instances) ? body.Instances as Array<Record<string, unknown>> : [];
    // The InstanceName filter is deprecated: match exactly, client side.
    const hit = instances.find((i) => i?.InstanceName === instanceName);
    const requestId = requestIdOf(body);
    if (hit && typeof hit.InstanceId === "string") return { instanceId: hit.InstanceId, requestId };
    // The server may cap the page size: count what came back, not what was asked.
    seen += instances.length;
    if (instances.length === 0 || seen >= Number(body.TotalCount ?? 0)) return { instanceId: null, requestId };
  }
  return { instanceId: null };
}

/** {@link Call}, retried while the service is busy or unreachable and the deadline allows. */
function caller(opts: AcrApiOptions): Call {
  const attempt = attempter(opts);
  return async (region, what, params, query) => {
    let attempts = 0;
    try {
      return await retrying(() => {
        attempts++;
        return attempt(region, what, params, query);
      }, {
        attempts: opts.maxAttempts ?? 3,
        deadline: opts.deadline,
        backoffMs: opts.backoffMs ?? 300,
        now: opts.now,
        sleep: opts.sleep,
        random: opts.random,
        retryable: (err) => err instanceof AcrApiError && err.retryable,
        onRetry: (attempt, delayMs, error) => opts.onRetry?.({ attempt, delayMs, error: error as AcrApiError }),
      });
    } catch (err) {
      throw attempts > 1 && err instanceof AcrApiError ? err.after(attempts) : err;
    }
  };
}

/** One attempt of a {@link Call}, bounded by what is left of the deadline; any failure becomes an AcrApiError. */
function attempter(opts: AcrApiOptions): Call {
  const now = opts.now ?? Date.now;
  const client = clients(opts);
  return async (region, what, params, query) => {
    const remaining = opts.deadline - now();
    if (remaining <= 0) throw apiError.outOfTime(what);
    const { client: c, protocol } = client(region);
    const readTimeout = Math.max(1, Math.min(READ_TIMEOUT_MS, remaining));
    // The SDK applies connectTimeout as an idle timeout over the whole request.
    const runtime = { readTimeout, connectTimeout: Math.max(1, Math.min(CONNECT_TIMEOUT_MS, readTimeout)) };
    const request = { ...params, protocol, authType: "AK", bodyType: "json" };
    clearLastResponse();
    try {
      const res: { body?: unknown; headers?: Record<string, string> } = await withTimeout(
        c.callApi(request, new openapi.OpenApiRequest({ query }), runtime),
        remaining,
        () => {
          throw new DeadlineError();
        },
      );
      const body = (res?.body ?? {}) as Record<string, unknown>;
      // RPC answers carry IsSuccess/Code: checked here, so SYSTEM_ERROR and throttling in a 200 are retried.
      if (params.style === "RPC") checkSuccess(body, what, params.action, res?.headers?.["x-acs-request-id"]);
      return { body, date: res?.headers?.date, at: now() };
    } catch (err) {
      throw toApiError(err, what, runtime.connectTimeout, lastResponse(), params.action);
    }
  };
}

/** The SDK client for a region's endpoint (or the override), one per endpoint. */
function clients(opts: AcrApiOptions) {
  // deno-lint-ignore no-explicit-any -- untyped SDK client.
  const made = new Map<string, any>();
  return (region: string) => {
    const endpoint = opts.endpoint ?? { protocol: "https", host: `cr.${region}.aliyuncs.com` };
    const key = `${endpoint.protocol}://${endpoint.host}`;
    let c = made.get(key);
    if (!c) {
      c = new openapi.default(
        new openapi.Config({
          credential: opts.credential,
          endpoint: endpoint.host,
          protocol: endpoint.protocol,
          regionId: region,
          userAgent: `${NAME}/${VERSION}`,
        }),
      );
      made.set(key, c);
    }
    return { client: c, protocol: endpoint.protocol.toUpperCase() };
  };
}

/** A successful answer: its body, its `Date` header and when (local clock) it arrived. */
interface Answer {
  body: Record<string, unknown>;
  date?: string;
  at: number;
}

function tokenFrom(what: string, answer: Answer, user: unknown, password: unknown, expire: unknown): RegistryToken {
  const requestId = requestIdOf(answer.body);
  const expiresAt = typeof expire === "string" ? Number(expire) : expire;
  if (
    typeof user !== "string" || user === "" || typeof password !== "string" || password === "" ||
    typeof expiresAt !== "number" || !Number.isFinite(expiresAt)
  ) {
    throw apiError.noToken(what, requestId);
  }
  return {
    username: user,
    password,
    expiresAt: localExpiry(expiresAt, answer.date, answer.at),
    clockSkewMs: clockSkew(answer.date, answer.at),
  };
}
