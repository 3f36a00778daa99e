/**
 * Which proxy a request goes through: `HTTPS_PROXY` / `HTTP_PROXY` /
 * `NO_PROXY`, read as curl and Go read them. Pure: the SDK side
 * (lib/transport.ts) applies it, and doctor shows it.
 *
 * @module
 */
import type { Env } from "./platform.ts";

/**
 * The proxy URL for a request URL, following curl's conventions: the
 * scheme's `*_PROXY` (either case), skipped for hosts matched by `NO_PROXY`
 * (`*`, exact names, domain suffixes with or without a leading dot, optional
 * `:port`).
 *
 * @example
 * ```ts
 * proxyForUrl("https://cr.cn-hangzhou.aliyuncs.com/", { HTTPS_PROXY: "http://proxy:3128", NO_PROXY: ".internal" })
 * // "http://proxy:3128"
 * ```
 */
export function proxyForUrl(url: string, env: Env): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  const scheme = u.protocol.replace(":", "");
  const raw = env[`${scheme}_proxy`] || env[`${scheme.toUpperCase()}_PROXY`] || env.all_proxy || env.ALL_PROXY;
  if (!raw?.trim()) return null;
  // `host:port` without a scheme means an HTTP proxy, as curl and Go read it.
  const proxy = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw.trim()) ? raw.trim() : `http://${raw.trim()}`;
  const host = u.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  // The metadata service, loopback and link-local addresses are never proxied: the node role's secret must not
  // cross a proxy, and a proxy cannot reach this machine's own services anyway.
  if (isLocal(host)) return null;
  const port = u.port || (scheme === "https" ? "443" : "80");
  const noProxy = (env.no_proxy ?? env.NO_PROXY ?? "").toLowerCase();
  for (const raw of noProxy.split(/[,\s]+/)) {
    if (!raw) continue;
    if (raw === "*") return null;
    const m = /^(.*?)(?::(\d+))?$/.exec(raw)!;
    const entry = m[1].replace(/^\*?\./, "");
    if (m[2] && m[2] !== port) continue;
    if (host === entry || host.endsWith("." + entry)) return null;
  }
  return proxy;
}

/** True when any proxy variable is set (doctor shows the proxy in use). */
export function proxyConfigured(env: Env): boolean {
  return ["https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"].some((k) => env[k]);
}

/** Loopback, link-local (the ECS metadata service 100.100.100.200 included) and `localhost`. */
export function isLocal(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h.endsWith(".localhost") || h === "100.100.100.200" || /^127\./.test(h) ||
    /^169\.254\./.test(h) || h === "::1" || /^fe[89ab][0-9a-f]?:/.test(h);
}
