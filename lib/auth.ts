/**
 * The Alibaba Cloud credential chain, in the reference helper's order, built
 * on the `@alicloud/credentials` providers:
 *
 * 1. RRSA OIDC (`ALIBABA_CLOUD_ROLE_ARN`, `_OIDC_PROVIDER_ARN`, `_OIDC_TOKEN_FILE`)
 * 2. `ALIBABA_CLOUD_ACCESS_KEY_ID` / `_SECRET` (+ `ALIBABA_CLOUD_SECURITY_TOKEN`)
 * 3. the file named by `ALIBABA_CLOUD_CREDENTIALS_FILE`
 * 4. `~/.alibabacloud/credentials`
 * 5. `ALIBABA_CLOUD_CREDENTIALS_URI` (a local credentials service)
 * 6. the aliyun CLI profile, `~/.aliyun/config.json` (unless `ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true`)
 * 7. the ECS RAM role: `ALIBABA_CLOUD_ECS_METADATA`, else found from the instance metadata (when the caller
 *    passes `discoverEcsRole`) unless `ALIBABA_CLOUD_ECS_METADATA_DISABLED=true`
 *
 * Selection reads the environment and files passed in, so it is testable and
 * yields a non-secret identity for the cache; only then is the library's
 * provider built. The library's own default chain is not used: its order
 * differs and it always probes ECS metadata.
 *
 * @module
 */
import { markUserFacing } from "./errors.ts";
import { type Env, homeOf, type Os } from "./config.ts";
import type { ReadTextFile } from "./files.ts";
import { type IniData, parseIni } from "./ini.ts";

// Computed specifiers keep the npm packages out of the start-up module graph:
// selecting a source (for the cache key) must not load the SDK.

/** Where credentials come from, without any secret. */
export interface CredentialSourceInfo {
  kind: "oidc" | "env" | "credentials-file" | "credentials-uri" | "cli-profile" | "ecs-ram-role";
  /** For people: "environment variables ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET". */
  description: string;
  /** Stable and non-secret: who the caller is, for cache keys. */
  identity: string;
}

/** What the OpenAPI client needs: the `@alicloud/credentials` client interface. */
export interface ClientCredential {
  getCredential(): Promise<
    {
      accessKeyId?: string;
      accessKeySecret?: string;
      securityToken?: string; /** ms, local clock */
      expiresAt?: number;
    }
  >;
}

/** A selected source and the credential built from it. */
export interface ResolvedCredentials {
  source: CredentialSourceInfo;
  credential: ClientCredential;
}

/** Nothing in the chain is configured; the message lists what was tried. */
export class NoCredentialsError extends Error {
  constructor(readonly tried: string[]) {
    super(
      `no Alibaba Cloud credentials found (tried: ${tried.join("; ")}); ` +
        "set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, or see README#credentials",
    );
    this.name = "NoCredentialsError";
    markUserFacing(this, "no-credentials");
  }
}

/** A source is configured but unusable (bad file, unsupported mode). */
export class CredentialSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CredentialSourceError";
    markUserFacing(this, "credential-source");
  }
}

/** Options for {@link selectCredentialSource} and {@link resolveCredentials}. */
export interface AuthOptions {
  env: Env;
  /** Reads a file; null when absent. */
  readTextFile: ReadTextFile;
  /** STS endpoint (host[:port], HTTPS) for role assumption; default: the library's. */
  stsEndpoint?: string;
  /**
   * A profile the config file names for one registry: only the credentials
   * files and the aliyun CLI config are searched, and it must exist there.
   */
  profile?: string;
  /**
   * The last step: the ECS instance's RAM role from the metadata service, when nothing else is configured
   * (lib/ecs_metadata.ts). Absent: that step is skipped.
   */
  discoverEcsRole?: () => Promise<string | null>;
  /** The OS whose home rule applies (default: this one). */
  os?: Os;
}

// Provider settings, one variant per way of building the library provider.
type Plan =
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
  | { type: "cli"; profile: string }
  /** `ALIBABA_CLOUD_CREDENTIALS_URI`: a local service that hands out STS credentials (the SDK's URI provider). */
  | { type: "uri"; uri: string }
  /** A pod's service account token exchanged with STS (kubelet per-pod identity); the token is in memory. */
  | { type: "oidc-token"; roleArn: string; providerArn: string; token: string }
  /** `base` assumes `roleArn` (config file `registries.<host>.roleArn`). */
  | { type: "assume-role"; base: Plan; roleArn: string; sessionName?: string; stsEndpoint?: string };

/** How a selection's provider is built (see lib/providers.ts). */
export type CredentialPlan = Plan;

/** A chosen source and how to build its provider. */
export interface Selection {
  source: CredentialSourceInfo;
  plan: Plan;
}

/**
 * Walks the chain and returns the first configured source, or throws
 * {@link NoCredentialsError} naming everything tried. No network access.
 */
export async function selectCredentialSource(opts: AuthOptions): Promise<Selection> {
  const { env } = opts;
  const val = (k: string) => (env[k]?.trim() ? env[k]!.trim() : undefined);
  const tried: string[] = [];
  if (opts.profile !== undefined) return await profileSelection(opts, opts.profile);
  const profileName = val("ALIBABA_CLOUD_PROFILE");

  // 1. RRSA OIDC
  const oidc = ["ALIBABA_CLOUD_ROLE_ARN", "ALIBABA_CLOUD_OIDC_PROVIDER_ARN", "ALIBABA_CLOUD_OIDC_TOKEN_FILE"];
  const missing = oidc.filter((k) => !val(k));
  if (missing.length === 0) {
    const [roleArn, providerArn, tokenFile] = oidc.map((k) => val(k)!);
    return {
      source: { kind: "oidc", description: `RRSA OIDC role ${roleArn}`, identity: `oidc:${roleArn}|${providerArn}` },
      plan: { type: "oidc", roleArn, providerArn, tokenFile, sessionName: val("ALIBABA_CLOUD_ROLE_SESSION_NAME") },
    };
  }
  tried.push(missing.length === 3 ? "RRSA OIDC (not set)" : `RRSA OIDC (${missing.join(", ")} not set)`);

  // 2. Access key in the environment
  const akId = val("ALIBABA_CLOUD_ACCESS_KEY_ID");
  const akSecret = val("ALIBABA_CLOUD_ACCESS_KEY_SECRET");
  if (akId && akSecret) {
    const sts = val("ALIBABA_CLOUD_SECURITY_TOKEN");
    return {
      source: {
        kind: "env",
        description: `environment variables ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET${sts ? "/SECURITY_TOKEN" : ""}`,
        identity: `env:${akId}`,
      },
      plan: { type: "static", accessKeyId: akId, accessKeySecret: akSecret, securityToken: sts },
    };
  }
  tried.push(
    akId || akSecret
      ? `ALIBABA_CLOUD_ACCESS_KEY_${akId ? "SECRET" : "ID"} not set`
      : "ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET (not set)",
  );

  // 3 + 4. Credentials files (INI)
  const files: string[] = [];
  const namedFile = val("ALIBABA_CLOUD_CREDENTIALS_FILE");
  if (namedFile) files.push(namedFile);
  else tried.push("ALIBABA_CLOUD_CREDENTIALS_FILE (not set)");
  const defaultFile = homeOf(env, ".alibabacloud/credentials", opts.os);
  if (defaultFile) files.push(defaultFile);
  for (const file of files) {
    const text = await readOptional(opts, file);
    if (text === null) {
      tried.push(`${file} (not found)`);
      continue;
    }
    const profile = profileName ?? "default";
    const selection = credentialsFileSelection(text, file, profile);
    if (selection) return selection;
    tried.push(`${file} (no profile "${profile}")`);
  }

  // 5. A credentials URI (the SDK's URICredentialsProvider)
  const uri = val("ALIBABA_CLOUD_CREDENTIALS_URI");
  if (uri) {
    let shown: string;
    try {
      const u = new URL(uri);
      if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error("not http");
      // A query may carry a token: never shown, but part of the identity (hashed into cache keys only).
      shown = `${u.protocol}//${u.host}${u.pathname}`;
    } catch {
      throw new CredentialSourceError(`ALIBABA_CLOUD_CREDENTIALS_URI is not an http(s) URL`);
    }
    return {
      source: { kind: "credentials-uri", description: `credentials URI ${shown}`, identity: `uri:${uri}` },
      plan: { type: "uri", uri },
    };
  }
  tried.push("ALIBABA_CLOUD_CREDENTIALS_URI (not set)");

  // 6. aliyun CLI profile (the SDK's ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true skips it)
  const cliFile = cliProfileDisabled(env) ? null : homeOf(env, ".aliyun/config.json", opts.os);
  if (cliProfileDisabled(env)) tried.push("aliyun CLI profile (ALIBABA_CLOUD_CLI_PROFILE_DISABLED)");
  if (cliFile) {
    const text = await readOptional(opts, cliFile);
    if (text === null) tried.push(`${cliFile} (not found)`);
    else {
      const selection = cliProfileSelection(text, cliFile, profileName);
      if (selection) return selection;
      tried.push(`${cliFile} (no profile "${profileName ?? "current"}")`);
    }
  }

  // 7. ECS RAM role: named by ALIBABA_CLOUD_ECS_METADATA, else found from the instance metadata (bounded, remembered).
  const ecs = val("ALIBABA_CLOUD_ECS_METADATA");
  if (ecs) {
    return {
      source: { kind: "ecs-ram-role", description: `ECS RAM role ${ecs}`, identity: `ecs:${ecs}` },
      plan: { type: "ecs", roleName: ecs },
    };
  }
  if (env.ALIBABA_CLOUD_ECS_METADATA_DISABLED?.trim().toLowerCase() === "true") {
    tried.push("ECS RAM role (ALIBABA_CLOUD_ECS_METADATA_DISABLED)");
  } else if (opts.discoverEcsRole) {
    const role = await opts.discoverEcsRole();
    if (role) {
      return {
        source: {
          kind: "ecs-ram-role",
          description: `ECS RAM role ${role} (found from the instance metadata)`,
          identity: `ecs:${role}`,
        },
        plan: { type: "ecs", roleName: role },
      };
    }
    tried.push("ECS instance metadata (no RAM role: not on ECS, or none attached)");
  } else {
    tried.push("ECS RAM role (ALIBABA_CLOUD_ECS_METADATA not set)");
  }
  throw new NoCredentialsError(tried);
}

/** The named profile from the credentials files or the aliyun CLI config; it must exist. */
async function profileSelection(opts: AuthOptions, profile: string): Promise<Selection> {
  const { env } = opts;
  const looked: string[] = [];
  const files = [env.ALIBABA_CLOUD_CREDENTIALS_FILE?.trim(), homeOf(env, ".alibabacloud/credentials", opts.os)];
  for (const file of files) {
    if (!file) continue;
    const text = await readOptional(opts, file);
    looked.push(file);
    const selection = text === null ? null : credentialsFileSelection(text, file, profile);
    if (selection) return selection;
  }
  const cliFile = cliProfileDisabled(env) ? null : homeOf(env, ".aliyun/config.json", opts.os);
  if (cliFile) {
    const text = await readOptional(opts, cliFile);
    looked.push(cliFile);
    const selection = text === null ? null : cliProfileSelection(text, cliFile, profile);
    if (selection) return selection;
  }
  throw new CredentialSourceError(
    `profile "${profile}" not found (looked in ${looked.join(", ") || "no file: no HOME"})`,
  );
}

/** `base` assuming `roleArn`: a different identity, so a different cache entry. */
export function assumeRoleSelection(base: Selection, roleArn: string): Selection {
  return {
    source: {
      kind: base.source.kind,
      description: `${base.source.description}, assuming role ${roleArn}`,
      identity: `${base.source.identity}#assume:${roleArn}`,
    },
    plan: { type: "assume-role", base: base.plan, roleArn },
  };
}

/** A pod's identity: its service account token for the role its annotations name. */
export function podIdentitySelection(p: { roleArn: string; providerArn: string; token: string }): Selection {
  return {
    source: {
      kind: "oidc",
      description: `the pod's service account token for role ${p.roleArn}`,
      identity: `oidc:${p.roleArn}|${p.providerArn}`,
    },
    plan: { type: "oidc-token", ...p },
  };
}

function credentialsFileSelection(text: string, file: string, profile: string): Selection | null {
  const parsed: Partial<IniData> = parseIni(text);
  const p = parsed[profile];
  if (!p || typeof p !== "object") return null;
  const where = `${file} [${profile}]`;
  const need = (k: string) => {
    const v = p[k];
    if (typeof v !== "string" || v.trim() === "") {
      throw new CredentialSourceError(`credentials file ${where}: "${k}" is missing`);
    }
    return v.trim();
  };
  switch (p.type) {
    case "access_key": {
      const accessKeyId = need("access_key_id");
      return {
        source: {
          kind: "credentials-file",
          description: `credentials file ${where}`,
          identity: `file:${file}#${profile}#ak:${accessKeyId}`,
        },
        plan: { type: "static", accessKeyId, accessKeySecret: need("access_key_secret") },
      };
    }
    case "ram_role_arn": {
      const accessKeyId = need("access_key_id");
      const roleArn = need("role_arn");
      return {
        source: {
          kind: "credentials-file",
          description: `credentials file ${where} (role ${roleArn})`,
          identity: `file:${file}#${profile}#role:${roleArn}#ak:${accessKeyId}`,
        },
        plan: {
          type: "ram-role-arn",
          accessKeyId,
          accessKeySecret: need("access_key_secret"),
          roleArn,
          sessionName: p.role_session_name,
          policy: p.policy,
        },
      };
    }
    case "ecs_ram_role":
      return {
        source: {
          kind: "credentials-file",
          description: `credentials file ${where} (ECS RAM role)`,
          identity: `file:${file}#${profile}#ecs:${p.role_name ?? ""}`,
        },
        plan: { type: "ecs", roleName: p.role_name },
      };
    default:
      throw new CredentialSourceError(
        `credentials file ${where}: type "${
          p.type ?? ""
        }" is not supported (use access_key, ram_role_arn or ecs_ram_role)`,
      );
  }
}

// Modes that would need to run a process or a browser sign-in are refused: the
// helper runs without --allow-run and must never prompt.
const CLI_MODES = new Set([
  "AK",
  "StsToken",
  "RamRoleArn",
  "EcsRamRole",
  "OIDC",
  "ChainableRamRoleArn",
  "CloudSSO",
  "OAuth",
]);

function cliProfileSelection(text: string, file: string, wanted: string | undefined): Selection | null {
  let conf: { current?: string; profiles?: Array<Record<string, unknown>> };
  try {
    conf = JSON.parse(text);
  } catch {
    throw new CredentialSourceError(`aliyun CLI config ${file} is not valid JSON`);
  }
  const name = wanted ?? conf.current ?? "default";
  const p = Array.isArray(conf.profiles) ? conf.profiles.find((x) => x?.name === name) : undefined;
  if (!p) return null;
  const mode = String(p.mode ?? "");
  if (!CLI_MODES.has(mode)) {
    throw new CredentialSourceError(
      `aliyun CLI profile "${name}" in ${file}: mode "${mode}" is not supported by this helper`,
    );
  }
  const who = String(p.ram_role_arn || p.access_key_id || p.ram_role_name || p.cloud_sso_account_id || "");
  return {
    source: {
      kind: "cli-profile",
      description: `aliyun CLI profile "${name}" (${mode}) in ${file}`,
      identity: `cli:${file}#${name}#${mode}#${who}`,
    },
    plan: cliPlan(conf.profiles!, p, file, 0),
  };
}

/**
 * The provider plan for an aliyun CLI profile, built here rather than by the
 * library's CLI provider for every mode that calls STS, so the helper's STS
 * endpoint rules (DOCKER_CREDENTIAL_ACR_HELPER_STS_ENDPOINT first) reach them.
 * CloudSSO and OAuth stay with the library.
 */
function cliPlan(
  profiles: Array<Record<string, unknown>>,
  p: Record<string, unknown>,
  file: string,
  depth: number,
): Plan {
  const str = (
    k: string,
  ) => (typeof p[k] === "string" && (p[k] as string).trim() ? (p[k] as string).trim() : undefined);
  const need = (k: string) => {
    const v = str(k);
    if (!v) throw new CredentialSourceError(`aliyun CLI profile "${p.name}" in ${file}: "${k}" is missing`);
    return v;
  };
  const sts = str("sts_endpoint") ??
    (str("sts_region") ? `sts${p.enable_vpc === true ? "-vpc" : ""}.${str("sts_region")}.aliyuncs.com` : undefined);
  switch (String(p.mode)) {
    case "AK":
      return { type: "static", accessKeyId: need("access_key_id"), accessKeySecret: need("access_key_secret") };
    case "StsToken":
      return {
        type: "static",
        accessKeyId: need("access_key_id"),
        accessKeySecret: need("access_key_secret"),
        securityToken: need("sts_token"),
      };
    case "RamRoleArn":
      return {
        type: "ram-role-arn",
        accessKeyId: need("access_key_id"),
        accessKeySecret: need("access_key_secret"),
        roleArn: need("ram_role_arn"),
        sessionName: str("ram_session_name"),
        stsEndpoint: sts,
      };
    case "EcsRamRole":
      return { type: "ecs", roleName: str("ram_role_name") };
    case "OIDC":
      return {
        type: "oidc",
        roleArn: need("ram_role_arn"),
        providerArn: need("oidc_provider_arn"),
        tokenFile: need("oidc_token_file"),
        sessionName: str("ram_session_name"),
        stsEndpoint: sts,
      };
    case "ChainableRamRoleArn": {
      const source = need("source_profile");
      const base = profiles.find((x) => x?.name === source);
      if (!base || depth >= 5) {
        throw new CredentialSourceError(
          `aliyun CLI profile "${p.name}" in ${file}: source_profile "${source}" is ${
            base ? "chained too deep" : "missing"
          }`,
        );
      }
      return {
        type: "assume-role",
        base: cliPlan(profiles, base, file, depth + 1),
        roleArn: need("ram_role_arn"),
        sessionName: str("ram_session_name"),
        stsEndpoint: sts,
      };
    }
    default:
      return { type: "cli", profile: String(p.name) };
  }
}

function cliProfileDisabled(env: Env): boolean {
  return env.ALIBABA_CLOUD_CLI_PROFILE_DISABLED?.trim().toLowerCase() === "true";
}

async function readOptional(opts: AuthOptions, path: string): Promise<string | null> {
  try {
    return await opts.readTextFile(path);
  } catch (err) {
    throw new CredentialSourceError(`cannot read ${path} (${err instanceof Error ? err.name : String(err)})`);
  }
}
