/**
 * GitHub Actions' OIDC identity, fetched on every `get`: a job with
 * `permissions: id-token: write` has `ACTIONS_ID_TOKEN_REQUEST_URL` and
 * `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, with which it may ask GitHub for a fresh ID
 * token at any time (`GET <url>&audience=<aud>`, `Authorization: Bearer
 * <request token>`, answer `{"value": "<JWT>"}`). The token is then exchanged
 * with STS `AssumeRoleWithOIDC` as a pod's is, and proven before any cached
 * password of the role is served (jobs of other repositories may share a
 * self-hosted runner and its cache). No secret, no token file, no refresh
 * step, nothing that expires mid-job. Uses `fetch` only (no SDK), so it honours
 * `HTTPS_PROXY`/`NO_PROXY` as Deno does; bounded in time and size, retried
 * like STS. Both tokens are secrets: never printed, logged or written.
 *
 * @module
 */
import { markUserFacing } from "./errors.ts";
import { readBodyCapped } from "./files.ts";
import { retrying } from "./retry.ts";

/** Where the ID token comes from (the request token is kept in memory only). */
export interface GithubOidcRequest {
  url: string;
  requestToken: string;
  audience: string;
}

/** Options for {@link fetchGithubIdToken}. */
export interface FetchIdTokenOptions {
  /** Absolute deadline, ms since the epoch. */
  deadline: number;
  fetch?: typeof fetch;
  now?: () => number;
  /** Largest answer read, bytes (default 64 KiB). */
  maxBytes?: number;
}

/** The default audience: what Alibaba Cloud's STS expects unless the OIDC provider says otherwise. */
export const DEFAULT_AUDIENCE = "sts.aliyuncs.com";

function failure(message: string, transient: boolean): Error {
  return markUserFacing(Object.assign(new Error(message), { transient }), "credential-source");
}

/** The request URL with the audience added to its own query. */
export function idTokenUrl(url: string, audience: string): string {
  const u = new URL(url);
  u.searchParams.set("audience", audience);
  return u.href;
}

/**
 * Asks GitHub for a fresh ID token. Throws one line naming GitHub's ID-token request and its HTTP status (with
 * the permission a 401/403 means), never a token.
 *
 * @example
 * ```ts
 * const jwt = await fetchGithubIdToken({ url, requestToken, audience: "sts.aliyuncs.com" }, { deadline: Date.now() + 10_000 });
 * ```
 */
export async function fetchGithubIdToken(req: GithubOidcRequest, o: FetchIdTokenOptions): Promise<string> {
  const doFetch = o.fetch ?? fetch;
  const now = o.now ?? Date.now;
  const max = o.maxBytes ?? 64 * 1024;
  let href: string;
  try {
    href = idTokenUrl(req.url, req.audience);
    if (!/^https?:$/.test(new URL(href).protocol)) throw new Error("not http");
  } catch {
    throw failure("GitHub's ID-token request: ACTIONS_ID_TOKEN_REQUEST_URL is not an http(s) URL", false);
  }
  const once = async () => {
    const left = o.deadline - now();
    if (left <= 0) throw failure("GitHub's ID-token request: no time left", true);
    let res: Response;
    try {
      res = await doFetch(href, {
        headers: { authorization: `Bearer ${req.requestToken}`, accept: "application/json" },
        signal: AbortSignal.timeout(Math.min(left, 10_000)),
        redirect: "error",
      });
    } catch (err) {
      const why = err instanceof DOMException && err.name === "TimeoutError"
        ? "no answer in time"
        : `network error (${(err as Error).name})`;
      throw failure(`GitHub's ID-token request failed: ${why}`, true);
    }
    const body = await readBodyCapped(res, max);
    if (!res.ok) {
      const perm = res.status === 401 || res.status === 403 ? `; the job needs "permissions: id-token: write"` : "";
      throw failure(
        `GitHub's ID-token request failed: HTTP ${res.status}${perm}`,
        res.status === 429 || res.status >= 500,
      );
    }
    if (body === null) throw failure(`GitHub's ID-token request: the answer is larger than ${max} bytes`, false);
    let value: unknown;
    try {
      value = (JSON.parse(body) as { value?: unknown }).value;
    } catch {
      value = undefined;
    }
    if (typeof value !== "string" || value.split(".").length !== 3) {
      throw failure('GitHub\'s ID-token request: the answer holds no token (no "value" JWT)', false);
    }
    return value;
  };
  return await retrying(once, { deadline: o.deadline, now });
}
