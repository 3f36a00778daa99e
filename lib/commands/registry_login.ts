/**
 * Proving a temporary password works: log in to the registry as a client
 * would. `GET /v2/`; on 401, answer the challenge: `Basic` with the password,
 * or `Bearer realm=...,service=...` by asking the realm for a token with Basic
 * auth (the Docker token protocol ACR uses). The password is sent only to the
 * registry host itself and to a realm on HTTPS.
 *
 * @module
 */

/** What the registry said. */
export interface LoginResult {
  accepted: boolean;
  /** For people: "accepted by the registry (Bearer token from https://...)" or the status and message. */
  detail: string;
}

/** Options for {@link registryLogin}. */
export interface LoginOptions {
  /** Normalised `host[:port]`. */
  host: string;
  username: string;
  password: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/**
 * Logs in to `https://host/v2/` with the credentials.
 *
 * @example
 * ```ts
 * const r = await registryLogin({ host: "registry.cn-hangzhou.aliyuncs.com", username, password });
 * ```
 */
export async function registryLogin(o: LoginOptions): Promise<LoginResult> {
  const doFetch = o.fetch ?? fetch;
  const signal = AbortSignal.timeout(o.timeoutMs ?? 10_000);
  const basic = `Basic ${btoa(`${o.username}:${o.password}`)}`;
  const base = `https://${o.host}/v2/`;
  try {
    const first = await doFetch(base, { signal, redirect: "manual" });
    await first.body?.cancel();
    if (first.ok) return { accepted: false, detail: `${base} needs no login (HTTP ${first.status}): nothing to prove` };
    if (first.status !== 401) return { accepted: false, detail: `${base} answered HTTP ${first.status}` };
    const challenge = parseChallenge(first.headers.get("www-authenticate") ?? "");
    if (challenge?.scheme === "basic") {
      const r = await doFetch(base, { signal, headers: { authorization: basic }, redirect: "manual" });
      return r.ok
        ? (await r.body?.cancel(), { accepted: true, detail: "accepted by the registry (Basic auth)" })
        : { accepted: false, detail: `rejected by the registry: HTTP ${r.status}${await messageOf(r)}` };
    }
    if (challenge?.scheme === "bearer" && challenge.params.realm) {
      const realm = new URL(challenge.params.realm);
      if (realm.protocol !== "https:") {
        return { accepted: false, detail: `the registry's token realm ${realm.origin} is not HTTPS; not sending it` };
      }
      if (challenge.params.service) realm.searchParams.set("service", challenge.params.service);
      const r = await doFetch(realm, { signal, headers: { authorization: basic }, redirect: "manual" });
      if (!r.ok) {
        return {
          accepted: false,
          detail: `rejected by the registry's token service ${realm.origin}: HTTP ${r.status}${await messageOf(r)}`,
        };
      }
      const body = await r.json().catch(() => ({})) as { token?: unknown; access_token?: unknown };
      const token = typeof body.token === "string" ? body.token : body.access_token;
      if (typeof token !== "string" || token === "") {
        return { accepted: false, detail: `the token service ${realm.origin} answered without a token` };
      }
      const check = await doFetch(base, { signal, headers: { authorization: `Bearer ${token}` }, redirect: "manual" });
      await check.body?.cancel();
      return check.ok
        ? { accepted: true, detail: `accepted by the registry (Bearer token from ${realm.origin})` }
        : { accepted: false, detail: `the registry refused its own token service's token: HTTP ${check.status}` };
    }
    return { accepted: false, detail: `${base} asks for an unknown login (${first.headers.get("www-authenticate")})` };
  } catch (err) {
    const why = err instanceof DOMException && err.name === "TimeoutError"
      ? "no answer in time"
      : (err instanceof Error ? err.message.split("\n")[0] : String(err));
    return { accepted: false, detail: `could not reach ${base}: ${why}` };
  }
}

/** `Basic realm="x"` / `Bearer realm="...",service="..."` */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } | null {
  const m = /^\s*(\w+)\s*(.*)$/.exec(header);
  if (!m) return null;
  const params: Record<string, string> = {};
  for (const p of m[2].matchAll(/(\w+)\s*=\s*(?:"([^"]*)"|([^,\s]*))/g)) params[p[1].toLowerCase()] = p[2] ?? p[3];
  return { scheme: m[1].toLowerCase(), params };
}

/** The registry's error message (Docker's `{"errors":[{"code","message"}]}`), as ": CODE message". */
async function messageOf(r: Response): Promise<string> {
  const text = (await r.text().catch(() => "")).slice(0, 4096);
  try {
    const e = (JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> }).errors?.[0];
    if (e) return `: ${[e.code, e.message].filter(Boolean).join(" ")}`;
  } catch { /* not JSON */ }
  return "";
}
