/**
 * Finding the ECS instance's RAM role by itself, as the reference helper
 * does: when nothing else is configured, ask the instance metadata service
 * (100.100.100.200) for the role name, IMDSv2 token first, v1 as a fallback
 * unless `ALIBABA_CLOUD_IMDSV1_DISABLED=true`, within 1 s. "Not on ECS" is
 * remembered for 10 minutes so a laptop does not pay that second on every
 * pull; a found role is remembered as long, so a cache hit on a node reads a
 * small file instead of calling the metadata service.
 *
 * The requests are plain HTTP/1.1 over a socket of our own: never through a
 * proxy (the node role's credentials must not cross one in cleartext), and
 * never more than a few KiB read.
 *
 * @module
 */
import { withTimeout } from "./timeout.ts";
import { type Cache, cacheKey } from "./cache.ts";
import { type Env, envFlag } from "./platform.ts";
import { joinChunks } from "./files.ts";

/** The instance metadata service's address. */
export const METADATA_HOST = "100.100.100.200";
const ROLE_TTL_MS = 10 * 60_000;
const MAX_ANSWER_BYTES = 16 * 1024;

/** A metadata answer. */
export interface MetadataAnswer {
  status: number;
  body: string;
}

/** One HTTP request to the metadata service; rejects on network failure or timeout. */
export type MetadataRequest = (
  method: "GET" | "PUT",
  path: string,
  headers: Record<string, string>,
  timeoutMs: number,
) => Promise<MetadataAnswer>;

/** True when `ALIBABA_CLOUD_ECS_METADATA_DISABLED=true` forbids any metadata access. */
export function metadataDisabled(env: Env): boolean {
  return envFlag(env, "ALIBABA_CLOUD_ECS_METADATA_DISABLED");
}

/**
 * The instance's RAM role name from the metadata service, or null when there
 * is none (not on ECS, no role attached, no answer within `timeoutMs`).
 */
export async function askRoleName(
  env: Env,
  request: MetadataRequest = metadataRequest,
  timeoutMs = 1_000,
): Promise<string | null> {
  const until = Date.now() + timeoutMs;
  const left = () => Math.max(1, until - Date.now());
  let token: string | null = null;
  try {
    const t = await request("PUT", "/latest/api/token", { "x-aliyun-ecs-metadata-token-ttl-seconds": "21600" }, left());
    if (t.status === 200 && t.body.trim()) token = t.body.trim();
  } catch {
    // Not reachable at all: not on ECS (or the service is down); v1 would not answer either.
    return null;
  }
  if (token === null && envFlag(env, "ALIBABA_CLOUD_IMDSV1_DISABLED")) return null;
  try {
    const r = await request(
      "GET",
      "/latest/meta-data/ram/security-credentials/",
      token ? { "x-aliyun-ecs-metadata-token": token } : {},
      left(),
    );
    const name = r.status === 200 ? r.body.split("\n")[0].trim() : "";
    return /^[A-Za-z0-9._-]{1,64}$/.test(name) ? name : null;
  } catch {
    return null;
  }
}

/** Options for {@link discoverEcsRole}. */
export interface DiscoverOptions {
  env: Env;
  cache: Cache;
  now: () => number;
  request?: MetadataRequest;
  log?: (message: string) => void;
}

/** The instance's role, remembered 10 minutes either way (see the module doc). */
export async function discoverEcsRole(o: DiscoverOptions): Promise<string | null> {
  const key = await cacheKey("ecs-role", METADATA_HOST);
  const remembered = await o.cache.getRecord(key, o.now());
  if (remembered === "none") return null;
  if (remembered?.startsWith("role:")) return remembered.slice("role:".length);
  const started = o.now();
  const role = await askRoleName(o.env, o.request);
  o.log?.(
    role
      ? `ECS instance metadata: RAM role ${role} (${o.now() - started} ms)`
      : `no ECS RAM role from the instance metadata (${o.now() - started} ms); not asking again for 10 min`,
  );
  await o.cache.putRecord(key, role ? `role:${role}` : "none", o.now() + ROLE_TTL_MS);
  return role;
}

/** The default {@link MetadataRequest}: HTTP/1.1 to 100.100.100.200:80 on a socket of our own. */
export const metadataRequest: MetadataRequest = async (method, path, headers, timeoutMs) => {
  let conn: Deno.TcpConn | undefined;
  const close = () => {
    try {
      conn?.close();
    } catch { /* closed */ }
  };
  const exchange = async (): Promise<MetadataAnswer> => {
    conn = await Deno.connect({ hostname: METADATA_HOST, port: 80 });
    const lines = [`${method} ${path} HTTP/1.1`, `host: ${METADATA_HOST}`, "connection: close", "content-length: 0"];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    await conn.write(new TextEncoder().encode(lines.join("\r\n") + "\r\n\r\n"));
    const chunks: Uint8Array[] = [];
    let size = 0;
    const buf = new Uint8Array(4096);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      size += n;
      if (size > MAX_ANSWER_BYTES) throw new Error("the instance metadata answer is too large");
      chunks.push(buf.slice(0, n));
    }
    const all = joinChunks(chunks, size);
    const text = new TextDecoder().decode(all);
    const headEnd = text.indexOf("\r\n\r\n");
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
    let body = headEnd === -1 ? "" : text.slice(headEnd + 4);
    if (/\r\ntransfer-encoding:\s*chunked/i.test(text.slice(0, headEnd))) body = unchunk(body);
    return { status, body };
  };
  try {
    return await withTimeout(exchange(), timeoutMs, () => {
      close();
      throw new Error(`no answer from the instance metadata within ${timeoutMs} ms`);
    });
  } finally {
    close();
  }
};

function unchunk(body: string): string {
  let out = "";
  let rest = body;
  for (;;) {
    const nl = rest.indexOf("\r\n");
    if (nl === -1) return out;
    const size = parseInt(rest.slice(0, nl), 16);
    if (!(size > 0)) return out;
    out += rest.slice(nl + 2, nl + 2 + size);
    rest = rest.slice(nl + 2 + size + 2);
  }
}
