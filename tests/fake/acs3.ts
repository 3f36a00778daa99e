/**
 * ACS3-HMAC-SHA256 request signing as the OpenAPI gateway checks it, from the
 * public spec. Used by the fake server to reject wrong secrets exactly as the
 * service does.
 *
 * @module
 */

/** RFC 3986 encoding as the spec requires (`!'()*` escaped too). */
export function acsEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

/** Hex SHA-256. */
export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource)));
}

/** Hex HMAC-SHA256. */
export async function hmacHex(secret: string, data: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return hex(new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(data))));
}

/** Base64 HMAC-SHA1 (the RPC signature STS AssumeRole uses). */
export async function hmacSha1Base64(secret: string, data: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-1" },
    false,
    ["sign"],
  );
  const sig = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(data)));
  return btoa(String.fromCharCode(...sig));
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** A parsed `Authorization: ACS3-HMAC-SHA256 ...` header. */
export interface Acs3Authorization {
  accessKeyId: string;
  signedHeaders: string[];
  signature: string;
}

/** Parses the Authorization header, or null when it is not ACS3-HMAC-SHA256. */
export function parseAuthorization(value: string | null): Acs3Authorization | null {
  const m = /^ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]*),Signature=([0-9a-f]+)$/.exec(value ?? "");
  if (!m) return null;
  return { accessKeyId: m[1], signedHeaders: m[2].split(";").filter(Boolean), signature: m[3] };
}

/**
 * The signature a request should carry, computed from what arrived.
 */
export async function expectedSignature(
  req: { method: string; url: URL; headers: Headers; signedHeaders: string[] },
  secret: string,
): Promise<string> {
  const query = [...req.url.searchParams.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${acsEncode(v)}`)
    .join("&");
  const headers = req.signedHeaders.map((h) => `${h}:${(req.headers.get(h) ?? "").trim()}\n`).join("");
  const canonical = [
    req.method,
    req.url.pathname,
    query,
    headers,
    req.signedHeaders.join(";"),
    req.headers.get("x-acs-content-sha256") ?? "",
  ].join("\n");
  return await hmacHex(secret, `ACS3-HMAC-SHA256\n${await sha256Hex(canonical)}`);
}
