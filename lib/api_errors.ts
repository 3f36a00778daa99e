/**
 * What went wrong with an ACR API call, in one line a user can act on:
 * {@link AcrApiError}, its named kinds, and {@link toApiError}, which turns
 * whatever the SDK threw (or an RPC body that says it failed) into one.
 *
 * @module
 */
import { hintFor, isTransient, kindOf, markUserFacing } from "./errors.ts";
import type { ResponseNote } from "./transport.ts";

/** What an {@link AcrApiError} carries besides its message. */
export interface AcrApiErrorInit {
  /** The service's error code, or ours ("Timeout", "NetworkError", "HTTP502"...). */
  code: string;
  requestId?: string;
  status?: number;
  /** Another attempt may succeed (default false). */
  retryable?: boolean;
  /** The service could not be reached or answer now, so a cached password may stand in (default: retryable). */
  transient?: boolean;
}

/** A failed API call, worded for the user. */
export class AcrApiError extends Error {
  readonly code: string;
  readonly requestId: string | undefined;
  readonly status: number | undefined;
  readonly retryable: boolean;
  readonly transient: boolean;

  constructor(message: string, init: AcrApiErrorInit) {
    super(message);
    this.name = "AcrApiError";
    this.code = init.code;
    this.requestId = init.requestId;
    this.status = init.status;
    this.retryable = init.retryable ?? false;
    this.transient = init.transient ?? this.retryable;
    markUserFacing(this, "api");
  }

  /** The same error, saying how many attempts were made before giving up. */
  after(attempts: number): AcrApiError {
    const { code, requestId, status, transient } = this;
    return new AcrApiError(`${this.message}; gave up after ${attempts} attempts`, {
      code,
      requestId,
      status,
      transient,
    });
  }

  /** The instance id is unknown to the API called. */
  get instanceNotFound(): boolean {
    return /instance.?not.?(exist|found)|InvalidInstance/i.test(this.code);
  }
}

const TIME_LIMIT = "the time limit (DOCKER_CREDENTIAL_ACR_HELPER_TIMEOUT)";

/** The named kinds of {@link AcrApiError}: each builds its own wording. */
export const apiError = {
  /** The helper's deadline passed before an attempt could start. */
  outOfTime: (what: string) =>
    new AcrApiError(`${what}: gave up after ${TIME_LIMIT}`, { code: "Timeout", transient: true }),
  /** The helper's deadline passed while waiting for an answer. */
  noAnswerInTime: (what: string) =>
    new AcrApiError(`${what}: no answer within ${TIME_LIMIT}`, { code: "Timeout", transient: true }),
  /** The SDK's idle timeout: connect or read, nothing came back within one attempt's bound. */
  idle: (what: string, idleTimeoutMs: number) =>
    new AcrApiError(`${what}: the API did not answer within ${Math.ceil(idleTimeoutMs / 1000)} s`, {
      code: "Timeout",
      retryable: true,
    }),
  network: (what: string, code: string, detail: string) =>
    new AcrApiError(`${what}: network error (${code || detail})`, { code: code || "NetworkError", retryable: true }),
  /** The proxy refused CONNECT; its answer was replayed as if the API had sent it. */
  proxyRefused: (what: string, proxy: string, status: number) =>
    new AcrApiError(
      `${what}: the proxy ${proxy} refused to connect to the API: HTTP ${status}${
        status === 407 ? " (proxy authentication required: check the user and password in HTTPS_PROXY)" : ""
      }`,
      { code: "ProxyRefused", status, transient: true },
    ),
  tooLarge: (what: string, note: ResponseNote | null) =>
    new AcrApiError(
      `${what}: the answer is too large (over 1 MiB${note?.status ? `, HTTP ${note.status}` : ""}); not read further`,
      { code: "ResponseTooLarge", requestId: note?.requestId, status: note?.status },
    ),
  /** A 200 without the token's fields. */
  noToken: (what: string, requestId: string | undefined) =>
    new AcrApiError(`${what}: the response has no token${idText(requestId)}`, {
      code: "MalformedResponse",
      requestId,
      status: 200,
    }),
  /** The credential provider failed (STS, token file): its message already names the source. */
  credentialSource: (err: Error) =>
    new AcrApiError(err.message, { code: "CredentialSourceError", transient: isTransient(err) }),
  /** The service said no, with its code: worth another attempt only when it was busy. */
  service: (what: string, code: string, o: { status?: number; requestId?: string; action: string }) =>
    new AcrApiError(
      `${what} failed: ${code}${o.status ? ` (HTTP ${o.status})` : ""}${idText(o.requestId)}${hintFor(code, o.action)}`,
      {
        code,
        requestId: o.requestId,
        status: o.status,
        retryable: o.status === 429 || (o.status !== undefined && o.status >= 500) || RETRYABLE_CODES.test(code),
      },
    ),
};

/** Thrown by the caller's own time bound on an attempt (lib/timeout.ts), classified as {@link apiError.noAnswerInTime}. */
export class DeadlineError extends Error {
  override name = "DeadlineError";
}

const RETRYABLE_CODES = /^(Throttling.*|ServiceUnavailable|InternalError|SystemError|SYSTEM_ERROR|Unknown.*Error)$/i;
const NETWORK_CODES = /^(ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|EAI_AGAIN|ENOTFOUND|ECONNABORTED|UND_ERR_.*)$/;

/** The request id of an answer's body, either spelling. */
export function requestIdOf(body: Record<string, unknown>): string | undefined {
  const id = body.RequestId ?? body.requestId;
  return typeof id === "string" ? id : undefined;
}

/** Throws when an RPC answer with HTTP 200 says it failed (`IsSuccess: false`, a `Code` other than success). */
export function checkSuccess(body: Record<string, unknown>, what: string, action: string, headerId?: string): void {
  if (body.IsSuccess === false || (typeof body.Code === "string" && body.Code.toLowerCase() !== "success")) {
    const code = typeof body.Code === "string" ? body.Code : "IsSuccessFalse";
    const requestId = requestIdOf(body) ?? headerId;
    throw new AcrApiError(`${what} failed: ${code}${idText(requestId)}${hintFor(code, action)}`, {
      code,
      requestId,
      status: 200,
      retryable: RETRYABLE_CODES.test(code),
    });
  }
}

/** Where an SDK failure is read from: its fields, and the transport's note of the last response. */
interface Failure {
  what: string;
  action: string;
  note: ResponseNote | null;
  name: string;
  message: string;
  status?: number;
  requestId?: string;
  sysCode: string;
  // deno-lint-ignore no-explicit-any -- the SDK's error `data`: ad-hoc fields.
  data: Record<string, any>;
}

/**
 * Turns whatever the SDK threw into an {@link AcrApiError} with one clear line; `idleTimeoutMs` is the attempt's
 * timeout, named when it ran out. The first rule that recognises the failure decides.
 */
export function toApiError(
  err: unknown,
  what: string,
  idleTimeoutMs: number,
  note: ResponseNote | null = null,
  action = "GetAuthorizationToken",
): AcrApiError {
  if (err instanceof AcrApiError) return err;
  if (kindOf(err) === "credential-source") return apiError.credentialSource(err as Error);
  const f = failureOf(err, what, note, action);
  if (note?.proxy) return apiError.proxyRefused(what, note.proxy, note.status);
  if (f.name === "ResponseTooLargeError" || f.sysCode === "ResponseTooLarge") return apiError.tooLarge(what, note);
  if (f.name === "DeadlineError") return apiError.noAnswerInTime(what);
  if (f.name === "RequestTimeoutError" || /Timeout/.test(f.message) && !f.status) {
    return apiError.idle(what, idleTimeoutMs);
  }
  if (f.name === "SyntaxError") return notJson(f);
  if (!f.status && (NETWORK_CODES.test(f.sysCode) || NETWORK_WORDS.test(f.message))) {
    return apiError.network(what, f.sysCode, firstLine(f.message));
  }
  const code = String(f.data.Code ?? f.data.code ?? (f.sysCode || "UnknownError"));
  return apiError.service(what, code, { status: f.status, requestId: f.requestId, action });
}

const NETWORK_WORDS = /socket hang up|connection (reset|closed|refused)|ECONNRESET|network/i;

function failureOf(err: unknown, what: string, note: ResponseNote | null, action: string): Failure {
  // deno-lint-ignore no-explicit-any -- SDK errors carry ad-hoc fields.
  const e = (err ?? {}) as any;
  const data = (e.data && typeof e.data === "object") ? e.data : {};
  return {
    what,
    action,
    note,
    name: String(e.name ?? ""),
    message: String(e.message ?? ""),
    status: Number(e.statusCode ?? data.statusCode) || undefined,
    // `/tokens` (cr 2016-06-07) sends its request id only in the x-acs-request-id header.
    requestId: data.RequestId ?? data.requestId ?? note?.requestId ?? undefined,
    sysCode: String(e.code ?? ""),
    data,
  };
}

/** A body that is not JSON. The SDK keeps no status for it; the transport's note does. */
function notJson(f: Failure): AcrApiError {
  const { note, what } = f;
  const kind = note ? bodyKind(note) : (/token '<'|"\s*</.test(f.message) ? "html" : "text");
  const code = kind === "xml" ? /<Code>([^<]{1,100})<\/Code>/.exec(note!.head)?.[1] : undefined;
  const xmlId = kind === "xml" ? /<RequestId>([^<]{1,100})<\/RequestId>/.exec(note!.head)?.[1] : undefined;
  const id = note?.requestId ?? xmlId;
  const httpStatus = note?.status ?? f.status;
  if (httpStatus !== undefined && httpStatus >= 400) {
    // An error status is never lost. Only 408, 429 and 5xx are worth another attempt.
    const busy = httpStatus === 408 || httpStatus === 429 || httpStatus >= 500;
    const gateway = kind === "html" ? " (a proxy or gateway in the way?)" : "";
    return new AcrApiError(
      code
        ? `${what} failed: ${code} (HTTP ${httpStatus})${idText(id)}${hintFor(code, f.action)}`
        : `${what} failed: HTTP ${httpStatus} with ${KIND_TEXT[kind]}${idText(id)}${gateway}`,
      {
        code: code ?? `HTTP${httpStatus}`,
        requestId: id,
        status: httpStatus,
        retryable: busy || (code !== undefined && RETRYABLE_CODES.test(code)),
      },
    );
  }
  return new AcrApiError(
    `${what}: the API answered with ${kind === "html" ? "an HTML page" : "a body that is not JSON"}${
      idText(id)
    } (MalformedResponse; a proxy or gateway in the way?)`,
    { code: "MalformedResponse", requestId: id, status: httpStatus, retryable: true },
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

function idText(requestId: string | undefined): string {
  return requestId ? ` (request id ${requestId})` : "";
}

function firstLine(s: string): string {
  return s.split("\n", 1)[0].slice(0, 200);
}
