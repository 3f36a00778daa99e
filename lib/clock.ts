/**
 * Lifetimes on the service's clock. ACR and STS say when a password expires
 * in their own time; a local clock minutes off would then serve an expired
 * password, or never reuse a good one. The HTTP `Date` header says what time
 * the service thought it was when it answered, so an expiry is moved onto the
 * local clock by the difference.
 *
 * @module
 */

/** Differences under this are the `Date` header's one-second resolution and the trip, not skew. */
const NOISE_MS = 2_000;
/** The documented default lifetime of a temporary password, used when nothing else tells. */
export const DEFAULT_TOKEN_LIFETIME_MS = 3_600_000;
/** `ExpiresInHours` tops out at 24: anything longer is a clock, not a token. */
const MAX_LIFETIME_MS = 24 * 3_600_000;

/** The service's clock minus ours (ms), from a `Date` header read at `localNow`; 0 when unknown or noise. */
export function clockSkew(dateHeader: string | null | undefined, localNow: number): number {
  if (!dateHeader) return 0;
  const server = Date.parse(dateHeader);
  if (!Number.isFinite(server)) return 0;
  const skew = server - localNow;
  return Math.abs(skew) < NOISE_MS ? 0 : skew;
}

/**
 * An expiry the service gave (its clock) as a time on ours.
 *
 * With a `Date` header the skew is known and subtracted. Without one, an
 * expiry that is already past or more than a day ahead on our clock says our
 * clock is off, so the token is taken to live the default hour from now.
 *
 * @example
 * ```ts
 * // The service is 10 min ahead of us: its expiry is 10 min earlier on our clock.
 * localExpiry(serviceExpiry, "Sun, 29 Nov 2026 20:10:00 GMT", localNow)
 * ```
 */
export function localExpiry(serviceExpiry: number, dateHeader: string | null | undefined, localNow: number): number {
  const skew = clockSkew(dateHeader, localNow);
  if (dateHeader && Number.isFinite(Date.parse(dateHeader))) return serviceExpiry - skew;
  const remaining = serviceExpiry - localNow;
  if (remaining <= 0 || remaining > MAX_LIFETIME_MS) return localNow + DEFAULT_TOKEN_LIFETIME_MS;
  return serviceExpiry;
}
