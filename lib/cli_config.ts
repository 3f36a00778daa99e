/**
 * The aliyun CLI's `~/.aliyun/config.json` as `@alicloud/credentials`' CLI
 * provider reads it: which profile (`ALIBABA_CLOUD_PROFILE`, else `current`,
 * else `default`: DESIGN R5, as the CLI itself does), and what makes each
 * mode usable. A profile that cannot be used is a reason, never an exception,
 * so the chain goes on to the next source as the SDK's does.
 *
 * Modes that call STS are built as the helper's own plans, so its STS
 * endpoint rules reach them; CloudSSO and OAuth stay with the library;
 * External runs the profile's `process_command` (lib/external_process.ts).
 *
 * @module
 */
import type { CredentialPlan } from "./credential_plan.ts";
import { type Built, durationProblem, field, MissingKey, reader, type StepContext, unusable } from "./profile_rules.ts";

/** A parsed CLI config: the profile list and the `current` name. */
export interface CliConfig {
  current?: string;
  profiles: Array<Record<string, unknown>>;
}

/** Parses config.json; a reason when it is not JSON or has no profiles (the SDK skips it then). */
export function parseCliConfig(text: string): CliConfig | { reason: string } {
  let conf: unknown;
  try {
    conf = JSON.parse(text);
  } catch {
    return { reason: "not valid JSON" };
  }
  const profiles = (conf as { profiles?: unknown })?.profiles;
  if (!Array.isArray(profiles) || profiles.length === 0) return { reason: "no profiles" };
  const current = (conf as { current?: unknown }).current;
  return {
    current: typeof current === "string" && current !== "" ? current : undefined,
    profiles: profiles.filter((p): p is Record<string, unknown> => typeof p === "object" && p !== null),
  };
}

/** The profile name the SDK would use: the requested one, else `current`, else `default` (R5). */
export function cliProfileName(conf: CliConfig, wanted: string | undefined): string {
  return wanted ?? conf.current ?? "default";
}

/** The profile named `name`, if the config has one. */
export function findProfile(conf: CliConfig, name: string): Record<string, unknown> | undefined {
  return conf.profiles.find((p) => p.name === name);
}

/** Modes that exist in the aliyun CLI but that no Alibaba Cloud SDK can turn into credentials. */
const NO_SDK_MODES = new Set(["CredentialsURI", "RamRoleArnWithRoleName", "RsaKeyPair", "BearerToken", "Anonymous"]);
const MAX_CHAIN = 10;

/**
 * Builds the plan for one CLI profile, or says why it cannot be used.
 *
 * @example
 * ```ts
 * const built = await buildCliProfile(conf, profile, "/h/.aliyun/config.json", ctx);
 * if ("reason" in built) console.log(built.reason);
 * ```
 */
export async function buildCliProfile(
  conf: CliConfig,
  p: Record<string, unknown>,
  file: string,
  ctx: StepContext,
  depth = 0,
): Promise<Built> {
  const name = String(p.name);
  const mode = String(p.mode ?? "");
  const relogin = `run: aliyun configure --profile ${name} --mode ${mode}`;
  try {
    return await buildMode(conf, p, file, ctx, depth, mode, name);
  } catch (err) {
    if (err instanceof MissingKey) return { reason: `mode ${mode}: ${err.message}`, fix: `add it, or ${relogin}` };
    throw err;
  }
}

/** What a mode's builder reads: the profile, where it came from, and the rules every mode shares. */
interface ModeInput {
  conf: CliConfig;
  p: Record<string, unknown>;
  file: string;
  ctx: StepContext;
  depth: number;
  name: string;
  /** A field that may be left out (then its env fallback, if any). */
  opt: (key: string) => string | undefined;
  /** A field the mode needs: throws MissingKey. */
  need: (key: string) => string;
  /** The profile's own STS endpoint (`sts_endpoint`, else from `sts_region`). */
  sts: string | undefined;
  /** Why a duration field under 900 s makes the profile unusable, or null. */
  short: (key: string) => Built | null;
}

function buildMode(
  conf: CliConfig,
  p: Record<string, unknown>,
  file: string,
  ctx: StepContext,
  depth: number,
  mode: string,
  name: string,
): Promise<Built> {
  const build = Object.hasOwn(MODES, mode) ? MODES[mode] : undefined;
  if (!build) {
    return Promise.resolve(
      NO_SDK_MODES.has(mode)
        ? { reason: `mode ${mode} is supported by no Alibaba Cloud SDK`, fix: "use another mode for this profile" }
        : { reason: `mode "${mode}" is unknown`, fix: "use AK, StsToken, RamRoleArn, OIDC or another SDK mode" },
    );
  }
  const { opt, need } = reader(p, ctx);
  const region = field(p, "sts_region");
  const sts = field(p, "sts_endpoint") ??
    (region ? `sts${p.enable_vpc === true ? "-vpc" : ""}.${region}.aliyuncs.com` : undefined);
  const short = (key: string) => {
    const problem = durationProblem(key, p[key]);
    return problem ? { reason: problem, fix: `set "${key}" to 900 or more, or remove it` } : null;
  };
  return Promise.resolve(build({ conf, p, file, ctx, depth, name, opt, need, sts, short }));
}

/** Each mode the SDKs can use, as the CLI provider builds it. */
const MODES: Record<string, (m: ModeInput) => Built | Promise<Built>> = {
  AK: ({ need }) => {
    const accessKeyId = need("access_key_id");
    return { plan: { type: "static", accessKeyId, accessKeySecret: need("access_key_secret") }, who: accessKeyId };
  },
  StsToken: ({ need }) => {
    const accessKeyId = need("access_key_id");
    const accessKeySecret = need("access_key_secret");
    return {
      plan: { type: "static", accessKeyId, accessKeySecret, securityToken: need("sts_token") },
      who: accessKeyId,
    };
  },
  RamRoleArn: ({ need, opt, sts, short }) => {
    const accessKeyId = need("access_key_id");
    const accessKeySecret = need("access_key_secret");
    const roleArn = need("ram_role_arn");
    const bad = short("expired_seconds");
    if (bad) return bad;
    const sessionName = opt("ram_session_name");
    const plan: CredentialPlan = {
      type: "ram-role-arn",
      accessKeyId,
      accessKeySecret,
      roleArn,
      sessionName,
      stsEndpoint: sts,
    };
    return { plan, who: `${roleArn}#ak:${accessKeyId}` };
  },
  EcsRamRole: ({ p, ctx }) => ctx.ecs(field(p, "ram_role_name") ?? ctx.val("ALIBABA_CLOUD_ECS_METADATA")),
  OIDC: async ({ need, opt, sts, short, ctx }) => {
    const roleArn = need("ram_role_arn");
    const providerArn = need("oidc_provider_arn");
    const tokenFile = need("oidc_token_file");
    const bad = short("duration_seconds");
    if (bad) return bad;
    if (await ctx.read(tokenFile) === null) {
      return { reason: `OIDC token file ${tokenFile} not found`, fix: "check oidc_token_file in the profile" };
    }
    const sessionName = opt("ram_session_name");
    return { plan: { type: "oidc", roleArn, providerArn, tokenFile, sessionName, stsEndpoint: sts }, who: roleArn };
  },
  ChainableRamRoleArn: async ({ conf, file, ctx, depth, need, opt, sts, short }) => {
    const sourceName = need("source_profile");
    const source = findProfile(conf, sourceName);
    if (!source) return { reason: `source_profile "${sourceName}" does not exist`, fix: "name an existing profile" };
    if (depth >= MAX_CHAIN) {
      return { reason: `source_profile chain is a loop or deeper than ${MAX_CHAIN}`, fix: "end it in a profile" };
    }
    const base = await buildCliProfile(conf, source, file, ctx, depth + 1);
    if (unusable(base)) return { reason: `source_profile "${sourceName}": ${base.reason}`, fix: base.fix };
    const roleArn = need("ram_role_arn");
    const bad = short("expired_seconds");
    if (bad) return bad;
    const sessionName = opt("ram_session_name");
    const plan: CredentialPlan = { type: "assume-role", base: base.plan, roleArn, sessionName, stsEndpoint: sts };
    return { plan, who: `${roleArn}#from:${base.who}` };
  },
  CloudSSO: ({ p, ctx, name }) => {
    for (const key of ["cloud_sso_sign_in_url", "cloud_sso_account_id", "cloud_sso_access_config", "access_token"]) {
      if (field(p, key) === undefined) throw new MissingKey(key);
    }
    if (!(Number(p.cloud_sso_access_token_expire) > ctx.now() / 1000)) {
      return {
        reason: "the CloudSSO sign-in has expired",
        fix: `sign in again: aliyun configure --profile ${name} --mode CloudSSO`,
      };
    }
    const who = `${field(p, "cloud_sso_account_id")}#${field(p, "cloud_sso_access_config")}`;
    return { plan: { type: "cli", profile: name }, who };
  },
  OAuth: ({ p, ctx, name }) => {
    const site = String(p.oauth_site_type ?? "").toUpperCase();
    if (site !== "CN" && site !== "INTL") {
      return {
        reason: `oauth_site_type is "${p.oauth_site_type ?? ""}" (CN or INTL)`,
        fix: `set it, or sign in again`,
      };
    }
    const refresh = field(p, "oauth_refresh_token");
    const access = field(p, "oauth_access_token");
    if (!refresh && !(access && Number(p.oauth_access_token_expire) > ctx.now() / 1000)) {
      return {
        reason: "no OAuth refresh token and no unexpired access token",
        fix: `sign in again: aliyun configure --profile ${name} --mode OAuth`,
      };
    }
    return { plan: { type: "cli", profile: name }, who: `oauth:${site}` };
  },
  External: ({ need, name, file }) => {
    const command = need("process_command");
    return { plan: { type: "external", profile: name, command, file }, who: command };
  },
};
