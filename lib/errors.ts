/**
 * Telling a service that could not be reached from a service that said no.
 * The token cache may serve a still-valid cached password only in the first
 * case: after a refused signature, a revoked key or a missing instance, the
 * cached password belongs to a question the service no longer answers yes to.
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
