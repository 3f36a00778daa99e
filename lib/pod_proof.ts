/**
 * Proof that a kubelet request's service account token is one STS accepted.
 * The per-pod role's registry password is cached on disk and shared by every
 * pod of that role, so the cache must never be the first thing a request's
 * token meets: a pod that merely *names* a role in its annotations would get
 * the role's password. A token is proven by STS accepting it (in this
 * process), or by a record that STS accepted this very token (by hash)
 * earlier and that its credentials are still valid.
 *
 * @module
 */
import { cacheKey } from "./cache.ts";

/** The record key for a token: its hash with the role and provider it was accepted for (no token on disk). */
export function proofKey(p: { roleArn: string; providerArn: string; token: string }): Promise<string> {
  return cacheKey("proof", p.roleArn, p.providerArn, p.token);
}

/**
 * The `exp` claim of a JWT (ms since the epoch), unverified: used only to
 * shorten a proof's life, never to extend it. Null when absent or unreadable.
 */
export function jwtExpiry(token: string): number | null {
  const payload = token.split(".")[1];
  if (!payload) return null;
  try {
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(payload.length / 4) * 4, "="));
    const exp = (JSON.parse(json) as { exp?: unknown }).exp;
    return typeof exp === "number" && Number.isFinite(exp) ? exp * 1000 : null;
  } catch {
    return null;
  }
}

/** How long a proof holds: until the STS credentials expire, or the token itself, whichever is first. */
export function proofExpiry(stsExpiresAt: number | undefined, token: string, now: number): number {
  const sts = stsExpiresAt ?? now + 15 * 60_000;
  const jwt = jwtExpiry(token);
  return jwt === null ? sts : Math.min(sts, jwt);
}
