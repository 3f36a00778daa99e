/**
 * `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` for the Alibaba Cloud SDKs. Their
 * transport (`httpx`) ignores proxy settings and Deno's `node:http` does not
 * read them either, so the one `httpx.request` both SDKs share is wrapped to
 * pass a proxy agent. Loaded only when a proxy variable is set.
 *
 * @module
 */
import * as httpxNs from "httpx";
import { HttpsProxyAgent } from "https-proxy-agent";
import { HttpProxyAgent } from "http-proxy-agent";
import type { Env } from "./config.ts";

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
  const proxy = env[`${scheme}_proxy`] || env[`${scheme.toUpperCase()}_PROXY`] || env.all_proxy || env.ALL_PROXY;
  if (!proxy) return null;
  const host = u.hostname.replace(/^\[|\]$/g, "").toLowerCase();
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

/** True when any proxy variable is set (then {@link installProxySupport} is worth loading). */
export function proxyConfigured(env: Env): boolean {
  return ["https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"].some((k) => env[k]);
}

let installed = false;

/**
 * Wraps `httpx.request` (shared by `@alicloud/openapi-client` and
 * `@alicloud/credentials`) so requests go through the proxy chosen by
 * {@link proxyForUrl}. Idempotent.
 */
export function installProxySupport(env: Env): void {
  if (installed || !proxyConfigured(env)) return;
  installed = true;
  // deno-lint-ignore no-explicit-any -- CJS module object; `request` is replaced in place so every importer sees it.
  const httpx: any = (httpxNs as any).default ?? httpxNs;
  const original = httpx.request;
  const agents = new Map<string, unknown>();
  httpx.request = (url: string, options: Record<string, unknown> = {}) => {
    const proxy = proxyForUrl(url, env);
    if (!proxy || options.agent) return original(url, options);
    const key = `${url.startsWith("https:") ? "https" : "http"} ${proxy}`;
    let agent = agents.get(key);
    if (!agent) {
      agent = url.startsWith("https:") ? new HttpsProxyAgent(proxy) : new HttpProxyAgent(proxy);
      agents.set(key, agent);
    }
    return original(url, { ...options, agent });
  };
}
