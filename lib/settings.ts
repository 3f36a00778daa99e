/**
 * Every environment variable the helper reads, in one table: name, meaning,
 * default, and whether its value is a secret. README, the man page and
 * `doctor` are checked against it (tests/settings_test.ts), so a new variable
 * cannot go undocumented. The parsing lives with the code that uses each one;
 * this table is what users are told.
 *
 * @module
 */
import { type Env, flagValueNotBoolean } from "./platform.ts";

/** One environment variable. */
export interface Setting {
  name: string;
  meaning: string;
  default: string;
  /** Its value is never shown (doctor prints "(set)"). */
  secret?: boolean;
  /** A boolean read by envFlag() (lib/platform.ts): only `true` turns it on. */
  flag?: boolean;
}

/** The table. */
export const SETTINGS: readonly Setting[] = [
  {
    name: "DOCKER_CREDENTIAL_ACR_HELPER_INSTANCE_ID",
    meaning: "instance for custom domains and Enterprise hosts",
    default: "none",
  },
  {
    name: "DOCKER_CREDENTIAL_ACR_HELPER_REGION",
    meaning: "region of that instance (an ACR host's own by default)",
    default: "the host's",
  },
  { name: "DOCKER_CREDENTIAL_ACR_HELPER_CONFIG", meaning: "config file", default: "~/.config/.../config.json" },
  {
    name: "DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT",
    meaning: "ACR API endpoint ({region} filled in)",
    default: "cr[-vpc].<region>.aliyuncs.com",
  },
  {
    name: "DOCKER_CREDENTIAL_ACR_HELPER_STS_ENDPOINT",
    meaning: "STS endpoint for every STS call",
    default: "SDK rules",
  },
  { name: "DOCKER_CREDENTIAL_ACR_HELPER_TIMEOUT", meaning: "bound on one get, seconds", default: "30" },
  { name: "DOCKER_CREDENTIAL_ACR_HELPER_CACHE_DIR", meaning: "token cache directory", default: "~/.cache/..." },
  { name: "DOCKER_CREDENTIAL_ACR_HELPER_DISABLE_CACHE", meaning: "true: no cache", default: "false", flag: true },
  { name: "DOCKER_CREDENTIAL_ACR_HELPER_LOG_LEVEL", meaning: "debug, info, warn or error", default: "off" },
  { name: "DOCKER_CREDENTIAL_ACR_HELPER_LOG_FILE", meaning: "log file", default: "stderr" },
  { name: "ALIBABA_CLOUD_ROLE_ARN", meaning: "RRSA role", default: "none" },
  { name: "ALIBABA_CLOUD_OIDC_PROVIDER_ARN", meaning: "RRSA OIDC provider", default: "none" },
  { name: "ALIBABA_CLOUD_OIDC_TOKEN_FILE", meaning: "RRSA token file", default: "none" },
  { name: "ALIBABA_CLOUD_ROLE_SESSION_NAME", meaning: "STS session name", default: "generated" },
  {
    name: "ACTIONS_ID_TOKEN_REQUEST_URL",
    meaning: "GitHub Actions' ID-token endpoint (set by the runner with id-token: write)",
    default: "none",
  },
  {
    name: "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    meaning: "the job's token for that endpoint (set by the runner)",
    default: "none",
    secret: true,
  },
  {
    name: "DOCKER_CREDENTIAL_ACR_HELPER_OIDC_AUDIENCE",
    meaning: "audience asked for in GitHub's ID token",
    default: "sts.aliyuncs.com",
  },
  { name: "ALIBABA_CLOUD_ACCESS_KEY_ID", meaning: "access key id", default: "none" },
  { name: "ALIBABA_CLOUD_ACCESS_KEY_SECRET", meaning: "access key secret", default: "none", secret: true },
  { name: "ALIBABA_CLOUD_SECURITY_TOKEN", meaning: "STS security token", default: "none", secret: true },
  { name: "ALIBABA_CLOUD_CREDENTIALS_FILE", meaning: "credentials file", default: "~/.alibabacloud/credentials" },
  { name: "ALIBABA_CLOUD_PROFILE", meaning: "profile in the credentials files and CLI config", default: "default" },
  { name: "ALIBABA_CLOUD_CREDENTIALS_URI", meaning: "local credentials service", default: "none", secret: true },
  {
    name: "ALIBABA_CLOUD_CLI_PROFILE_DISABLED",
    meaning: "true: skip the aliyun CLI profile",
    default: "false",
    flag: true,
  },
  { name: "ALIBABA_CLOUD_ECS_METADATA", meaning: "ECS RAM role name", default: "found from the metadata" },
  { name: "ALIBABA_CLOUD_ECS_METADATA_DISABLED", meaning: "true: no metadata access", default: "false", flag: true },
  { name: "ALIBABA_CLOUD_IMDSV1_DISABLED", meaning: "true: IMDSv2 only", default: "false", flag: true },
  {
    name: "ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED",
    meaning: "true: VPC endpoints for ACR and STS",
    default: "false",
    flag: true,
  },
  { name: "ALIBABA_CLOUD_STS_ENDPOINT", meaning: "STS endpoint (SDK rule)", default: "none" },
  { name: "ALIBABA_CLOUD_STS_REGION", meaning: "STS region (SDK rule)", default: "none" },
  { name: "HTTPS_PROXY", meaning: "proxy for HTTPS calls (either case)", default: "none", secret: true },
  { name: "HTTP_PROXY", meaning: "proxy for HTTP calls (either case)", default: "none", secret: true },
  { name: "NO_PROXY", meaning: "hosts not proxied (either case)", default: "none" },
  {
    name: "ALL_PROXY",
    meaning: "proxy for calls when HTTPS_PROXY / HTTP_PROXY is unset (either case)",
    default: "none",
    secret: true,
  },
];

/**
 * The settings set in `env`, as `doctor` shows them: `NAME=value`, or
 * `NAME=(set)` for a secret. Proxy variables are matched in either case.
 */
export function describeSet(env: Env): string[] {
  const out: string[] = [];
  for (const s of SETTINGS) {
    const names = s.name.endsWith("_PROXY") ? [s.name, s.name.toLowerCase()] : [s.name];
    for (const n of names) {
      const v = env[n];
      if (v === undefined || v.trim() === "") continue;
      out.push(`${n}=${s.secret ? "(set)" : v.trim().slice(0, 120)}`);
    }
  }
  return out;
}

/** For doctor: each boolean setting whose value will read as off although it looks meant (`1`, `yes`). */
export function misreadFlags(env: Env): string[] {
  return SETTINGS.flatMap((s) => (s.flag ? [flagValueNotBoolean(env, s.name)] : [])).filter((m): m is string =>
    m !== null
  );
}
