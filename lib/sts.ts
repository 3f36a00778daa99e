/**
 * STS `AssumeRoleWithOIDC` with a token held in memory: the kubelet hands the
 * helper a pod's service account token on stdin, and `@alicloud/credentials`
 * only reads OIDC tokens from a file (writing a pod's token to disk to satisfy
 * it would be worse). The call is anonymous (the token is the proof), a form
 * POST over HTTPS, the same request the library makes.
 *
 * @module
 */
import { localExpiry } from "./clock.ts";
import { readBodyCapped } from "./files.ts";

/** STS credentials. */
export interface StsCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken: string;
  /** ms since the epoch. */
  expiresAt: number;
}

/** Options for {@link assumeRoleWithOIDC}. */
export interface OidcExchange {
  /** `host[:port]`; always HTTPS. */
  endpoint: string;
  roleArn: string;
  providerArn: string;
  token: string;
  sessionName: string;
  /** Bound on the call, ms. */
  timeoutMs: number;
  fetch?: typeof fetch;
}

/** Exchanges the token; errors name the STS code and request id, never the token. */
export async function assumeRoleWithOIDC(o: OidcExchange): Promise<StsCredentials> {
  const query = new URLSearchParams({
    Action: "AssumeRoleWithOIDC",
    Version: "2015-04-01",
    Format: "JSON",
    Timestamp: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
  });
  const body = new URLSearchParams({
    OIDCProviderArn: o.providerArn,
    OIDCToken: o.token,
    RoleArn: o.roleArn,
    RoleSessionName: o.sessionName,
    DurationSeconds: "3600",
  });
  const doFetch = o.fetch ?? fetch;
  let res: Response;
  try {
    res = await doFetch(`https://${o.endpoint}/?${query}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body,
      signal: AbortSignal.timeout(o.timeoutMs),
    });
  } catch (err) {
    const why = err instanceof DOMException && err.name === "TimeoutError"
      ? `no answer in ${o.timeoutMs} ms`
      : (err instanceof Error ? err.message.split("\n")[0] : String(err));
    throw stsError(`STS AssumeRoleWithOIDC at ${o.endpoint}: ${why}`, true);
  }
  const answeredAt = Date.now();
  const text = await readCapped(res, MAX_BODY_BYTES);
  let data: Record<string, unknown> = {};
  try {
    data = JSON.parse(text);
  } catch {
    throw stsError(`STS AssumeRoleWithOIDC: HTTP ${res.status} with a non-JSON body`, res.status >= 500);
  }
  const c = data.Credentials as Record<string, unknown> | undefined;
  if (
    !res.ok || !c || typeof c.AccessKeyId !== "string" || typeof c.AccessKeySecret !== "string" ||
    typeof c.SecurityToken !== "string"
  ) {
    const code = typeof data.Code === "string" ? data.Code : `HTTP ${res.status}`;
    const id = typeof data.RequestId === "string" ? ` (request id ${data.RequestId})` : "";
    // An answer that says no (invalid token, unknown role) is final; throttling and 5xx are the service being busy.
    const busy = res.status === 429 || res.status >= 500 || /^Throttling|ServiceUnavailable|InternalError/.test(code);
    throw stsError(`STS AssumeRoleWithOIDC failed: ${code}${id}`, busy);
  }
  const expiration = typeof c.Expiration === "string" ? Date.parse(c.Expiration) : NaN;
  return {
    accessKeyId: c.AccessKeyId,
    accessKeySecret: c.AccessKeySecret,
    securityToken: c.SecurityToken,
    // On our clock: STS states the expiry on its own.
    expiresAt: Number.isFinite(expiration)
      ? localExpiry(expiration, res.headers.get("date"), answeredAt)
      : answeredAt + 900_000,
  };
}

function stsError(message: string, transient: boolean): Error {
  return Object.assign(new Error(message), { transient });
}

const MAX_BODY_BYTES = 1 << 20;

/** The body as text, refusing to read past `max` bytes (an endless body must not grow the helper). */
async function readCapped(res: Response, max: number): Promise<string> {
  const text = await readBodyCapped(res, max);
  if (text === null) {
    throw stsError(`STS AssumeRoleWithOIDC: the answer is too large (over 1 MiB, HTTP ${res.status})`, false);
  }
  return text;
}
