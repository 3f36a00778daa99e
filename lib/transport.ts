/**
 * The one HTTP hook both Alibaba Cloud SDKs share: `httpx.request`. Wrapped
 * once per process (on a cache miss) to:
 *
 * - send requests through the proxy {@link proxyForUrl} picks (the SDKs and
 *   Deno's `node:http` ignore proxy variables), never for metadata, loopback
 *   or link-local hosts;
 * - cap every response body at 1 MiB: the SDKs read bodies whole, so an
 *   endless body would otherwise grow the helper without bound;
 * - note each response's status, content type, request id header and first
 *   bytes, because the SDK loses them when a body is not JSON (an HTML error
 *   page surfaces as a bare SyntaxError). lib/acr_api.ts reads the note.
 *
 * @module
 */
import * as httpxNs from "httpx";
import { HttpsProxyAgent } from "https-proxy-agent";
import { HttpProxyAgent } from "http-proxy-agent";
import type { Env } from "./platform.ts";
import { proxyForUrl } from "./proxy.ts";

/** The largest response body read, in bytes. */
export const MAX_BODY_BYTES = 1 << 20;

/** What the last response looked like (the SDK keeps none of it when its body is not JSON). */
export interface ResponseNote {
  url: string;
  status: number;
  contentType: string;
  /** `x-acs-request-id`, when the service sent one. */
  requestId?: string;
  /** The first bytes of the body, as text. */
  head: string;
  /** Body bytes seen so far. */
  size: number;
  /** The proxy answered instead of the service (it refused CONNECT): its URL without credentials. */
  proxy?: string;
}

let last: ResponseNote | null = null;
let installed = false;

/**
 * The last response seen in this process. The token path makes one request at
 * a time, so this is the response of the call that just failed.
 */
export function lastResponse(): ResponseNote | null {
  return last;
}

/** Forgets the last response (before a call, so an old note is never blamed for a new failure). */
export function clearLastResponse(): void {
  last = null;
}

/**
 * Wraps `httpx.request` (shared by `@alicloud/openapi-client` and
 * `@alicloud/credentials`). Idempotent.
 */
export function installTransport(env: Env, maxBodyBytes = MAX_BODY_BYTES): void {
  if (installed) return;
  installed = true;
  // deno-lint-ignore no-explicit-any -- CJS module object; `request` is replaced in place so every importer sees it.
  const httpx: any = (httpxNs as any).default ?? httpxNs;
  const original = httpx.request;
  const agents = new Map<string, { agent: unknown; refused: { status: number } | null }>();
  httpx.request = async (url: string, options: Record<string, unknown> = {}) => {
    const proxy = options.agent ? null : proxyForUrl(url, env);
    let via: { agent: unknown; refused: { status: number } | null } | undefined;
    if (proxy) {
      const key = `${url.startsWith("https:") ? "https" : "http"} ${proxy}`;
      via = agents.get(key);
      if (!via) {
        const agent = url.startsWith("https:") ? new HttpsProxyAgent(proxy) : new HttpProxyAgent(proxy);
        const entry: { agent: unknown; refused: { status: number } | null } = { agent, refused: null };
        // A proxy that refuses CONNECT (407, 403) has its answer replayed as if the service had sent it.
        (agent as { on(e: string, f: (c: { statusCode: number }) => void): void }).on("proxyConnect", (c) => {
          entry.refused = c.statusCode === 200 ? null : { status: c.statusCode };
        });
        via = entry;
        agents.set(key, via);
      }
      via.refused = null;
    }
    // deno-lint-ignore no-explicit-any -- node's IncomingMessage, untyped here.
    const res: any = await original(url, via ? { ...options, agent: via.agent } : options);
    last = noted(res, url, via?.refused ? redactProxy(proxy!) : undefined, maxBodyBytes);
    return res;
  };
}

/** The response's note (status, content type, request id, the body's first bytes and size); caps the body. */
// deno-lint-ignore no-explicit-any -- node's IncomingMessage, untyped here.
function noted(res: any, url: string, refusedBy: string | undefined, maxBodyBytes: number): ResponseNote {
  const header = (name: string) => {
    const v = res.headers?.[name];
    return Array.isArray(v) ? v[0] : typeof v === "string" ? v : undefined;
  };
  const note: ResponseNote = {
    url,
    status: Number(res.statusCode) || 0,
    contentType: header("content-type") ?? "",
    requestId: header("x-acs-request-id"),
    head: "",
    size: 0,
    proxy: refusedBy,
  };
  const emit = res.emit;
  // Counting in emit leaves the stream's mode alone: both SDKs attach their own 'data' listeners later.
  res.emit = function (event: string, ...args: unknown[]) {
    if (event === "data") {
      const chunk = args[0] as Uint8Array;
      note.size += chunk.length;
      if (note.head.length < 512) note.head += new TextDecoder().decode(chunk.subarray(0, 512 - note.head.length));
      if (note.size > maxBodyBytes) {
        res.emit = emit;
        const err = Object.assign(new Error(`response too large (over ${maxBodyBytes >> 20} MiB)`), {
          name: "ResponseTooLargeError",
          code: "ResponseTooLarge",
        });
        res.destroy(err);
        return false;
      }
    }
    return emit.call(this, event, ...args);
  };
  return note;
}

function redactProxy(proxy: string): string {
  try {
    const u = new URL(proxy);
    return `${u.protocol}//${u.host}`;
  } catch {
    return "the proxy";
  }
}
