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
import { type Cache, cacheKey } from "./cache.ts";
import type { ClientCredential } from "./auth.ts";
import { asHelperError } from "./errors.ts";
import type { Logger } from "./log.ts";

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

/** What {@link proveToken} needs. */
export interface ProveOptions {
  plan: { roleArn: string; providerArn: string; token: string };
  store: Pick<Cache, "hasProof" | "putProof">;
  /** Tokens STS accepted in this process. */
  proven: Set<string>;
  now: () => number;
  log: Logger;
  /** The STS exchange of this very token (the get's credential). */
  exchange: () => Promise<{ credential: ClientCredential }>;
}

/**
 * A pod's (or a CI job's) token must be accepted by STS before any cached password of its role is handed out:
 * in this process, or recorded (by hash) as accepted earlier with credentials still valid. A refusal is final:
 * no cache.
 */
export async function proveToken(o: ProveOptions): Promise<void> {
  const { plan, now, log } = o;
  const pk = await proofKey(plan);
  if (o.proven.has(pk) || await o.store.hasProof(pk, now())) {
    log.debug(`the token for ${plan.roleArn} was accepted by STS before`);
    return;
  }
  let expiresAt: number | undefined;
  try {
    ({ expiresAt } = await (await o.exchange()).credential.getCredential());
  } catch (err) {
    throw asHelperError(err);
  }
  o.proven.add(pk);
  await o.store.putProof(pk, proofExpiry(expiresAt, plan.token, now()), now());
  log.debug(`the token for ${plan.roleArn} accepted by STS`);
}
