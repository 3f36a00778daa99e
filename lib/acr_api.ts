/**
 * ACR OpenAPI calls through `@alicloud/openapi-client` (`callApi`): the
 * Personal Edition `/tokens` (cr 2016-06-07), `GetAuthorizationToken` and
 * `ListInstance` (cr 2018-12-01). Retries, timeouts and error wording are
 * ours: the SDK's `autoretry` does nothing.
 *
 * @module
 */
import * as openapiNs from "@alicloud/openapi-client";
import type { ClientCredential } from "./auth.ts";
import type { Endpoint } from "./config.ts";
import { NAME, VERSION } from "./version.ts";
import { clockSkew, localExpiry } from "./clock.ts";
import { hintFor, isTransient, kindOf, markUserFacing } from "./errors.ts";
import { clearLastResponse, lastResponse, type ResponseNote } from "./transport.ts";

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

/** A failed API call, worded for the user. */
export class AcrApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly requestId: string | undefined,
    readonly status: number | undefined,
    readonly retryable: boolean,
    /** The service could not be reached or answer now (a cached password may stand in). */
    readonly transient: boolean = retryable,
  ) {
    super(message);
    this.name = "AcrApiError";
    markUserFacing(this, "api");
  }

  /** The same error, saying how many attempts were made before giving up. */
  after(attempts: number): AcrApiError {
    return new AcrApiError(
      `${this.message}; gave up after ${attempts} attempts`,
      this.code,
      this.requestId,
      this.status,
      false,
      this.transient,
    );
  }

  /** The instance id is unknown to the API called. */
  get instanceNotFound(): boolean {
    return /instance.?not.?(exist|found)|InvalidInstance/i.test(this.code);
  }
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
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = opts.random ?? Math.random;
  const maxAttempts = opts.maxAttempts ?? 3;
  const backoffMs = opts.backoffMs ?? 300;
  // deno-lint-ignore no-explicit-any -- untyped SDK client, one per endpoint host.
  const clients = new Map<string, any>();

  function client(region: string) {
    const endpoint = opts.endpoint ?? { protocol: "https", host: `cr.${region}.aliyuncs.com` };
    const key = `${endpoint.protocol}://${endpoint.host}`;
    let c = clients.get(key);
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
      clients.set(key, c);
    }
    return { client: c, protocol: endpoint.protocol.toUpperCase() };
  }

  async function call(
    region: string,
    what: string,
    params: Record<string, string>,
    query: Record<string, string>,
  ): Promise<Answer> {
    const { client: c, protocol } = client(region);
    // RPC answers carry IsSuccess/Code: checked inside the loop, so SYSTEM_ERROR and throttling in a 200 are retried.
    const rpcStyle = params.style === "RPC";
    for (let attempt = 1;; attempt++) {
      const remaining = opts.deadline - now();
      if (remaining <= 0) {
        throw new AcrApiError(
          `${what}: gave up after the time limit (DOCKER_CREDENTIAL_ACR_HELPER_TIMEOUT)`,
          "Timeout",
          undefined,
          undefined,
          false,
          true,
        );
      }
      const readTimeout = Math.max(1, Math.min(READ_TIMEOUT_MS, remaining));
      const runtime = {
        readTimeout,
        // The SDK applies connectTimeout as an idle timeout over the whole request.
        connectTimeout: Math.max(1, Math.min(CONNECT_TIMEOUT_MS, readTimeout)),
      };
      clearLastResponse();
      try {
        const res: { body?: unknown; headers?: Record<string, string> } = await withDeadline(
          c.callApi(
            { ...params, protocol, authType: "AK", bodyType: "json" },
            new openapi.OpenApiRequest({ query }),
            runtime,
          ),
          remaining,
        );
        const body = (res?.body ?? {}) as Record<string, unknown>;
        if (rpcStyle) checkSuccess(body, what, params.action, res?.headers?.["x-acs-request-id"]);
        return { body, date: res?.headers?.date, at: now() };
      } catch (err) {
        const error = toApiError(err, what, runtime.connectTimeout, lastResponse(), params.action);
        const delay = Math.round(random() * backoffMs * 2 ** (attempt - 1));
        if (!error.retryable || attempt >= maxAttempts || now() + delay >= opts.deadline) {
          throw attempt === 1 ? error : error.after(attempt);
        }
        opts.onRetry?.({ attempt, delayMs: delay, error });
        await sleep(delay);
      }
    }
  }

  function rpc(action: string) {
    return { action, version: "2018-12-01", pathname: "/", method: "POST", style: "RPC", reqBodyType: "formData" };
  }

  return {
    async personalToken(region) {
      const what = `GetAuthorizationToken (Personal Edition, ${region})`;
      const answer = await call(region, what, {
        action: "GetAuthorizationToken",
        version: "2016-06-07",
        pathname: "/tokens",
        method: "GET",
        style: "ROA",
        reqBodyType: "json",
      }, {});
      const data = (answer.body.data ?? {}) as Record<string, unknown>;
      return tokenFrom(what, answer, data.tempUserName, data.authorizationToken, data.expireDate);
    },

    async instanceToken(region, instanceId) {
      const what = `GetAuthorizationToken (${instanceId}, ${region})`;
      const answer = await call(region, what, rpc("GetAuthorizationToken"), { InstanceId: instanceId });
      const body = answer.body;
      return tokenFrom(what, answer, body.TempUsername, body.AuthorizationToken, body.ExpireTime);
    },

    async findInstanceId(region, instanceName) {
      const what = `ListInstance (${region})`;
      let seen = 0;
      for (let page = 1; page <= MAX_PAGES; page++) {
        const { body } = await call(region, what, rpc("ListInstance"), {
          PageNo: String(page),
          PageSize: String(PAGE_SIZE),
        });
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
    },
  };
}

function requestIdOf(body: Record<string, unknown>): string | undefined {
  const id = body.RequestId ?? body.requestId;
  return typeof id === "string" ? id : undefined;
}

function checkSuccess(body: Record<string, unknown>, what: string, action: string, headerId?: string): void {
  // HTTP 200 with IsSuccess:false is a failure: the real code is in the body.
  if (body.IsSuccess === false || (typeof body.Code === "string" && body.Code.toLowerCase() !== "success")) {
    const code = typeof body.Code === "string" ? body.Code : "IsSuccessFalse";
    const requestId = requestIdOf(body) ?? headerId;
    throw new AcrApiError(
      `${what} failed: ${code}${requestId ? ` (request id ${requestId})` : ""}${hintFor(code, action)}`,
      code,
      requestId,
      200,
      RETRYABLE_CODES.test(code),
    );
  }
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
    throw new AcrApiError(
      `${what}: the response has no token${requestId ? ` (request id ${requestId})` : ""}`,
      "MalformedResponse",
      requestId,
      200,
      false,
    );
  }
  return {
    username: user,
    password,
    expiresAt: localExpiry(expiresAt, answer.date, answer.at),
    clockSkewMs: clockSkew(answer.date, answer.at),
  };
}

const RETRYABLE_CODES = /^(Throttling.*|ServiceUnavailable|InternalError|SystemError|SYSTEM_ERROR|Unknown.*Error)$/i;
const NETWORK_CODES = /^(ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|EAI_AGAIN|ENOTFOUND|ECONNABORTED|UND_ERR_.*)$/;

/**
 * Turns whatever the SDK threw into an {@link AcrApiError} with one clear
 * line; `idleTimeoutMs` is the attempt's timeout, named when it ran out.
 */
export function toApiError(
  err: unknown,
  what: string,
  idleTimeoutMs: number,
  note: ResponseNote | null = null,
  action = "GetAuthorizationToken",
): AcrApiError {
  if (err instanceof AcrApiError) return err;
  if (kindOf(err) === "credential-source") {
    // The credential provider failed (STS, token file): its message already names the source.
    return new AcrApiError(
      (err as Error).message,
      "CredentialSourceError",
      undefined,
      undefined,
      false,
      isTransient(err),
    );
  }
  // deno-lint-ignore no-explicit-any -- SDK errors carry ad-hoc fields.
  const e = (err ?? {}) as any;
  const data = (e.data && typeof e.data === "object") ? e.data : {};
  const status: number | undefined = Number(e.statusCode ?? data.statusCode) || undefined;
  // `/tokens` (cr 2016-06-07) sends its request id only in the x-acs-request-id header.
  const requestId: string | undefined = data.RequestId ?? data.requestId ?? note?.requestId ?? undefined;
  const rid = requestId ? ` (request id ${requestId})` : "";
  const name = String(e.name ?? "");
  const message = String(e.message ?? "");
  if (note?.proxy) {
    // The proxy refused CONNECT; its answer was replayed as if the API had sent it.
    return new AcrApiError(
      `${what}: the proxy ${note.proxy} refused to connect to the API: HTTP ${note.status}${
        note.status === 407 ? " (proxy authentication required: check the user and password in HTTPS_PROXY)" : ""
      }`,
      "ProxyRefused",
      undefined,
      note.status,
      false,
      true,
    );
  }
  if (name === "ResponseTooLargeError" || e.code === "ResponseTooLarge") {
    return new AcrApiError(
      `${what}: the answer is too large (over 1 MiB${note?.status ? `, HTTP ${note.status}` : ""}); not read further`,
      "ResponseTooLarge",
      note?.requestId,
      note?.status,
      false,
      false,
    );
  }
  if (name === "DeadlineError") {
    return new AcrApiError(
      `${what}: no answer within the time limit (DOCKER_CREDENTIAL_ACR_HELPER_TIMEOUT)`,
      "Timeout",
      undefined,
      undefined,
      false,
      true,
    );
  }
  if (name === "RequestTimeoutError" || /Timeout/.test(message) && !status) {
    // The SDK's connectTimeout is an idle timeout over the whole exchange: connect or read, nothing came back.
    return new AcrApiError(
      `${what}: the API did not answer within ${Math.ceil(idleTimeoutMs / 1000)} s`,
      "Timeout",
      undefined,
      undefined,
      true,
    );
  }
  if (name === "SyntaxError") {
    // A body that is not JSON. The SDK keeps no status for it; the transport's note does.
    const kind = note ? bodyKind(note) : (/token '<'|"\s*</.test(message) ? "html" : "text");
    const code = kind === "xml" ? /<Code>([^<]{1,100})<\/Code>/.exec(note!.head)?.[1] : undefined;
    const xmlId = kind === "xml" ? /<RequestId>([^<]{1,100})<\/RequestId>/.exec(note!.head)?.[1] : undefined;
    const id = note?.requestId ?? xmlId;
    const idText = id ? ` (request id ${id})` : "";
    const gateway = kind === "html" ? " (a proxy or gateway in the way?)" : "";
    const httpStatus = note?.status ?? status;
    if (httpStatus !== undefined && httpStatus >= 400) {
      // An error status is never lost. Only 408, 429 and 5xx are worth another attempt.
      const busy = httpStatus === 408 || httpStatus === 429 || httpStatus >= 500;
      const retry = busy || (code !== undefined && RETRYABLE_CODES.test(code));
      return new AcrApiError(
        code
          ? `${what} failed: ${code} (HTTP ${httpStatus})${idText}${hintFor(code, action)}`
          : `${what} failed: HTTP ${httpStatus} with ${KIND_TEXT[kind]}${idText}${gateway}`,
        code ?? `HTTP${httpStatus}`,
        id,
        httpStatus,
        retry,
      );
    }
    return new AcrApiError(
      `${what}: the API answered with ${
        kind === "html" ? "an HTML page" : "a body that is not JSON"
      }${idText} (MalformedResponse; a proxy or gateway in the way?)`,
      "MalformedResponse",
      id,
      httpStatus,
      true,
    );
  }
  const sysCode = String(e.code ?? "");
  if (
    !status &&
    (NETWORK_CODES.test(sysCode) ||
      /socket hang up|connection (reset|closed|refused)|ECONNRESET|network/i.test(message))
  ) {
    return new AcrApiError(
      `${what}: network error (${sysCode || firstLine(message)})`,
      sysCode || "NetworkError",
      undefined,
      undefined,
      true,
    );
  }
  const code = String(data.Code ?? data.code ?? (sysCode || "UnknownError"));
  const retryable = status === 429 || (status !== undefined && status >= 500) || RETRYABLE_CODES.test(code);
  return new AcrApiError(
    `${what} failed: ${code}${status ? ` (HTTP ${status})` : ""}${rid}${hintFor(code, action)}`,
    code,
    requestId,
    status,
    retryable,
  );
}

const KIND_TEXT = { empty: "an empty body", html: "an HTML page", xml: "an XML body", text: "a plain-text body" };

/** What kind of body a response had, from its content type and first bytes. */
function bodyKind(note: ResponseNote): keyof typeof KIND_TEXT {
  const head = note.head.trimStart().slice(0, 64).toLowerCase();
  if (note.size === 0 || head === "") return "empty";
  if (/html/i.test(note.contentType) || head.startsWith("<!doctype html") || head.startsWith("<html")) return "html";
  if (/xml/i.test(note.contentType) || head.startsWith("<?xml") || head.startsWith("<error")) return "xml";
  return "text";
}

function firstLine(s: string): string {
  return s.split("\n", 1)[0].slice(0, 200);
}

class DeadlineError extends Error {
  override name = "DeadlineError";
}

function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  // The losing call may still fail later; that is no longer anyone's business.
  p.catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError()), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
