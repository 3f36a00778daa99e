/**
 * The shapes the credential chain works in: a selected source (with the
 * non-secret identity that keys the cache), how its provider is built, and a
 * source that was configured but skipped. Types only, so the chain's steps
 * (lib/auth.ts, lib/cli_config.ts) and the provider builder
 * (lib/providers.ts) share them without importing each other.
 *
 * @module
 */

/** Where credentials come from, without any secret. */
export interface CredentialSourceInfo {
  kind: "oidc" | "env" | "credentials-file" | "credentials-uri" | "cli-profile" | "ecs-ram-role";
  /** For people: "environment variables ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET". */
  description: string;
  /** Stable and non-secret: who the caller is, for cache keys. */
  identity: string;
}

/** How a selection's provider is built (see lib/providers.ts). */
export type CredentialPlan =
  | {
    type: "oidc";
    roleArn: string;
    providerArn: string;
    tokenFile: string;
    sessionName?: string;
    /** An aliyun CLI profile's own STS endpoint (its `sts_endpoint`, or `sts_region` with `enable_vpc`). */
    stsEndpoint?: string;
  }
  | { type: "static"; accessKeyId: string; accessKeySecret: string; securityToken?: string }
  | {
    type: "ram-role-arn";
    accessKeyId: string;
    accessKeySecret: string;
    roleArn: string;
    sessionName?: string;
    policy?: string;
    stsEndpoint?: string;
  }
  | { type: "ecs"; roleName?: string }
  /** CloudSSO and OAuth profiles: the library's CLI provider builds them. */
  | { type: "cli"; profile: string }
  /** An aliyun CLI `External` profile: its `process_command` prints the credentials (lib/external_process.ts). */
  | { type: "external"; profile: string; command: string; file: string }
  /** `ALIBABA_CLOUD_CREDENTIALS_URI`: a local service that hands out STS credentials (the SDK's URI provider). */
  | { type: "uri"; uri: string }
  /**
   * GitHub Actions' OIDC: an ID token asked for on each get (lib/github_oidc.ts), then exchanged as a pod's is.
   * The request token is a secret held in memory only.
   */
  | { type: "github-oidc"; roleArn: string; providerArn: string; url: string; requestToken: string; audience: string }
  /** A pod's service account token exchanged with STS (kubelet per-pod identity); the token is in memory. */
  | { type: "oidc-token"; roleArn: string; providerArn: string; token: string }
  /** `base` assumes `roleArn` (config file `registries.<host>.roleArn`, or a ChainableRamRoleArn profile). */
  | { type: "assume-role"; base: CredentialPlan; roleArn: string; sessionName?: string; stsEndpoint?: string };

/** A source that is configured but unusable, so the chain went on (as the SDK's does). Never holds a secret. */
export interface SkippedSource {
  /** Which source: `credentials file /h/.alibabacloud/credentials [default]`. */
  source: string;
  /** Why it was skipped: `"access_key_secret" is missing`. */
  reason: string;
  /** What to do about it. */
  fix: string;
}

/** A chosen source and how to build its provider. */
export interface Selection {
  source: CredentialSourceInfo;
  plan: CredentialPlan;
  /** Sources before this one that were configured but skipped (logged by `get`, warned by `doctor`). */
  skipped?: SkippedSource[];
}

/** One step's answer: a selection, a configured source it skipped, or "not configured" (with what it looked at). */
export type StepOutcome =
  | { selection: Selection }
  | { skip: SkippedSource }
  | { absent: string };
