/**
 * Telling a service that could not be reached from a service that said no.
 * The token cache may serve a still-valid cached password only in the first
 * case: after a refused signature, a revoked key or a missing instance, the
 * cached password belongs to a question the service no longer answers yes to.
 *
 * It is also the one error model: which errors are worded for users (marked
 * with a registry-wide symbol, so the mark survives the two-file bundle, where
 * `instanceof` and class names do not), and the one table of hints `get`,
 * `kubelet-credential-provider` and `doctor` share.
 *
 * Errors carry a `transient` boolean property rather than being recognised by
 * class: the SDK side is a separate file in the bundle, so `instanceof` across
 * the two files is not reliable.
 *
 * @module
 */

const NETWORK_CODES =
  /^(ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|EAI_AGAIN|ENOTFOUND|ECONNABORTED|EHOSTUNREACH|ENETUNREACH|UND_ERR_.*)$/;
const TRANSIENT_CODES =
  /^(Throttling.*|ServiceUnavailable|InternalError|SystemError|SYSTEM_ERROR|Timeout|NetworkError|MalformedResponse)$/i;
const TRANSIENT_TEXT =
  /timed? ?out|timeout|no answer|did not answer|socket hang up|connection (reset|closed|refused)|ECONNRESET|ECONNREFUSED|ENOTFOUND|EAI_AGAIN|network error|Throttling|ServiceUnavailable|HTTP 5\d\d/i;

/**
 * True when `err` says the service could not be reached or could not answer
 * now (network failure, timeout, HTTP 5xx, throttling), false when it is an
 * answer that says no (bad signature, unknown key, no privilege, unknown
 * instance, invalid OIDC token, expired STS token) or a local problem.
 *
 * @example
 * ```ts
 * isTransient(Object.assign(new Error("x"), { transient: true })) // true
 * isTransient(new Error("SignatureDoesNotMatch (HTTP 400)")) // false
 * ```
 */
export function isTransient(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  const e = err as { transient?: unknown; code?: unknown; statusCode?: unknown; message?: unknown };
  if (typeof e.transient === "boolean") return e.transient;
  const status = Number(e.statusCode);
  if (status === 429 || status >= 500) return true;
  if (status >= 400) return false;
  const code = typeof e.code === "string" ? e.code : "";
  if (NETWORK_CODES.test(code) || TRANSIENT_CODES.test(code)) return true;
  const message = typeof e.message === "string" ? e.message : "";
  // A body's Code wins over words in its message ("...Expired, try again later" is still a no).
  const bodyCode = /"Code"\s*:\s*"([^"]+)"/.exec(message)?.[1];
  if (bodyCode) return TRANSIENT_CODES.test(bodyCode);
  return TRANSIENT_TEXT.test(message);
}

// Symbol.for: one symbol per process, whichever bundle file created the error.
const USER_FACING = Symbol.for("docker-credential-acr-helper/user-facing");
const KIND = Symbol.for("docker-credential-acr-helper/kind");

/** Kinds of user-facing errors other modules act on. */
export type ErrorKind = "credential-source" | "config" | "api" | "no-credentials" | "kubelet-request" | "not-found";

/**
 * Marks `err` as worded for the user (one line, no secret), optionally with a
 * kind; returns it.
 *
 * @example
 * ```ts
 * throw markUserFacing(new Error("config file x: not valid JSON"), "config");
 * ```
 */
export function markUserFacing<T extends Error>(err: T, kind?: ErrorKind): T {
  Object.defineProperty(err, USER_FACING, { value: true, configurable: true });
  if (kind) Object.defineProperty(err, KIND, { value: kind, configurable: true });
  return err;
}

/** True for an error whose message may be shown to the user as it is. */
export function isUserFacing(err: unknown): err is Error {
  return err instanceof Error && (err as unknown as Record<symbol, unknown>)[USER_FACING] === true;
}

/** The kind a user-facing error was marked with. */
export function kindOf(err: unknown): ErrorKind | undefined {
  return err instanceof Error ? (err as unknown as Record<symbol, ErrorKind | undefined>)[KIND] : undefined;
}

/** One entry of the hints table: the codes it covers, the hint appended to the error, doctor's fix line. */
interface Hint {
  codes: RegExp;
  hint(action: string): string;
  fix: string;
}

/** The one table of hints, most specific first. */
export const HINTS: readonly Hint[] = [
  {
    // The clock first: InvalidTimeStamp.Expired is about the request's time, not an STS token.
    codes: /InvalidTimeStamp/i,
    hint: () => "the request's time is off: check this machine's clock (NTP)",
    fix: "synchronise the clock (NTP: chrony or systemd-timesyncd)",
  },
  {
    codes: /SignatureDoesNotMatch|InvalidAccessKeyId/i,
    hint: () => "check the access key id and secret",
    fix: "check the access key id and secret",
  },
  {
    codes: /SecurityToken|Expired/i,
    hint: () => "the STS token is invalid or expired, refresh it",
    fix: "refresh the STS token (ALIBABA_CLOUD_SECURITY_TOKEN)",
  },
  {
    codes: /USER_NOT_EXIST/i,
    hint: () => "the RAM user has not used ACR yet: set its registry password once in the console",
    fix: "sign in to the ACR console once as this RAM user and set its registry password",
  },
  {
    codes: /NoPrivilege|Forbidden|NoPermission|Unauthorized|AccessDenied/i,
    hint: (action) => `this identity lacks the RAM action cr:${action}: grant it (README#ram-permissions)`,
    fix: "grant cr:GetAuthorizationToken (and cr:ListInstance for Enterprise hosts) (README#ram-permissions)",
  },
  {
    codes: /did not answer|timed out|no answer|network error|ECONN|ENOTFOUND|proxy/i,
    hint: () => "",
    fix: "check the network, HTTPS_PROXY / NO_PROXY, or the endpoint (doctor shows which)",
  },
];

/** The hint for an API error code, as a `; ...` suffix ("" when none). */
export function hintFor(code: string, action: string): string {
  const h = HINTS.find((x) => x.codes.test(code))?.hint(action);
  return h ? `; ${h}` : "";
}

/** Doctor's fix line for an error message, from the same table. */
export function fixFor(message: string): string | undefined {
  return HINTS.find((x) => x.codes.test(message))?.fix;
}

/** Docker's exact text for "no credentials here": callers then go anonymous. */
export const NOT_FOUND_MESSAGE = "credentials not found in native keychain";

/** The server is not one we hold credentials for (docker's "not found"). */
export class NotFoundError extends Error {
  constructor() {
    super(NOT_FOUND_MESSAGE);
    this.name = "NotFoundError";
    markUserFacing(this, "not-found");
  }
}

/** A failure whose message is fit to show a user as it is: one line, no secret. */
export class HelperError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "HelperError";
    markUserFacing(this);
  }
}

/** True for the standard "credentials not found" error. */
export function isNotFound(err: unknown): err is NotFoundError {
  // By mark, not class: the subcommands live in the bundle's second file, with their own copy of this class.
  return kindOf(err) === "not-found";
}

/** An error's message, or the thrown value as text. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Any error as the one a user sees: a user-facing error becomes a {@link HelperError} that keeps whether the
 * service was unreachable (the token cache decides its fallback on it), its kind, and the sources the chain
 * skipped (doctor warns about each); anything else is left as it is (main says "unexpected error").
 */
export function asHelperError(err: unknown): unknown {
  if (err instanceof HelperError) return err;
  if (isUserFacing(err)) {
    const skipped = (err as { skipped?: unknown }).skipped;
    return markUserFacing(
      Object.assign(new HelperError(err.message), { transient: isTransient(err), ...(skipped ? { skipped } : {}) }),
      kindOf(err),
    );
  }
  return err;
}
