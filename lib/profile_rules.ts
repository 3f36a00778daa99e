/**
 * What the credential chain's profile readers (lib/cli_config.ts,
 * lib/credentials_file.ts) share: the context a step reads through, the
 * answer a profile builds to, and the SDK builders' rules for the fields
 * they have in common (a missing key falls back to its environment variable,
 * as `@alicloud/credentials`' builders do; a session shorter than 900 s is
 * refused).
 *
 * @module
 */
import type { CredentialPlan } from "./credential_plan.ts";

/** What a chain step may read. Everything is passed in, so the chain is tested without files or a network. */
export interface StepContext {
  /** An environment value: blank is unset, padded is trimmed (DESIGN R4). */
  val(name: string): string | undefined;
  /** A file's text; null when absent. Throws when it exists but cannot be read. */
  read(path: string): Promise<string | null>;
  /** An ECS RAM role (named, or else found from the metadata service), or why it cannot be used. */
  ecs(roleName: string | undefined): Promise<Built>;
  /** Now, ms. */
  now(): number;
}

/** A profile built to a plan (with who it is, for the identity), or the reason it cannot be used. */
export type Built =
  | { plan: CredentialPlan; who: string }
  | { reason: string; fix: string };

/** True when `b` is a reason, not a plan. */
export function unusable(b: Built): b is { reason: string; fix: string } {
  return "reason" in b;
}

/** A profile value as the SDK's builders see it: a non-blank string (numbers as text), else unset. */
export function field(p: Record<string, unknown>, key: string): string | undefined {
  const v = p[key];
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return typeof v === "string" && v.trim() !== "" ? v.trim() : undefined;
}

/** The SDK builders' fallbacks: a profile key left out is read from its environment variable. */
export const ENV_FALLBACK: Readonly<Record<string, string>> = {
  access_key_id: "ALIBABA_CLOUD_ACCESS_KEY_ID",
  access_key_secret: "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
  sts_token: "ALIBABA_CLOUD_SECURITY_TOKEN",
  role_arn: "ALIBABA_CLOUD_ROLE_ARN",
  ram_role_arn: "ALIBABA_CLOUD_ROLE_ARN",
  oidc_provider_arn: "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
  oidc_token_file: "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
  role_session_name: "ALIBABA_CLOUD_ROLE_SESSION_NAME",
  ram_session_name: "ALIBABA_CLOUD_ROLE_SESSION_NAME",
};

/** Thrown inside a builder for a required key that is missing; caught where the profile is built. */
export class MissingKey extends Error {
  constructor(readonly key: string) {
    super(`"${key}" is missing`);
  }
}

/** Reads profile keys with the SDK's environment fallbacks. */
export function reader(p: Record<string, unknown>, ctx: StepContext) {
  const opt = (key: string) => field(p, key) ?? (ENV_FALLBACK[key] ? ctx.val(ENV_FALLBACK[key]) : undefined);
  const need = (key: string) => {
    const v = opt(key);
    if (v === undefined) throw new MissingKey(key);
    return v;
  };
  return { opt, need };
}

/** The SDK refuses a session duration under 900 s; null when `value` is acceptable (unset means 3600). */
export function durationProblem(key: string, value: unknown): string | null {
  if (value === undefined || value === null || value === "" || value === 0) return null;
  const n = Number(value);
  return Number.isNaN(n) || n >= 900 ? null : `"${key}" is ${value}: a session must last at least 900 s`;
}
