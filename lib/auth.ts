/**
 * The Alibaba Cloud credential chain: the order of `@alicloud/credentials`'
 * default chain, with the five differences DESIGN.md keeps on purpose
 * (R1 OIDC before the env key, R2 the default credentials file after a named
 * one that is missing or lacks the profile, R3 INI read as credentials-go
 * reads it, R4 blank env values unset and padded ones trimmed, R5 a CLI config
 * without `current` uses `default`):
 *
 * 1. RRSA OIDC (`ALIBABA_CLOUD_ROLE_ARN`, `_OIDC_PROVIDER_ARN`, `_OIDC_TOKEN_FILE`)
 * 2. `ALIBABA_CLOUD_ACCESS_KEY_ID` / `_SECRET` (+ `ALIBABA_CLOUD_SECURITY_TOKEN`)
 * 3. the aliyun CLI profile, `~/.aliyun/config.json` (unless `ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true`)
 * 4. the credentials file profile: `ALIBABA_CLOUD_CREDENTIALS_FILE`, else `~/.alibabacloud/credentials`
 * 5. the ECS RAM role: `ALIBABA_CLOUD_ECS_METADATA`, else found from the instance metadata
 * 6. `ALIBABA_CLOUD_CREDENTIALS_URI` (a local credentials service)
 *
 * A source that is configured but unusable is skipped, as the SDK skips it,
 * and the selection carries what was skipped and why. Selection reads only
 * the environment and files passed in (no SDK, no network beyond the ECS
 * discovery passed in), so a cache hit can name its identity cheaply.
 *
 * @module
 */
import { markUserFacing } from "./errors.ts";
import { type Env, envFlag, homeOf, type Os } from "./platform.ts";
import type { ReadTextFile } from "./files.ts";
import { parseIni } from "./ini.ts";
import type { CredentialPlan, CredentialSourceInfo, Selection, SkippedSource, StepOutcome } from "./credential_plan.ts";
import { type Built, type StepContext, unusable } from "./profile_rules.ts";
import { buildCliProfile, cliProfileName, findProfile, parseCliConfig } from "./cli_config.ts";
import { buildFileProfile } from "./credentials_file.ts";

export type { CredentialPlan, CredentialSourceInfo, Selection, SkippedSource } from "./credential_plan.ts";

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

/** Nothing in the chain is usable; the message lists each source tried and why. */
export class NoCredentialsError extends Error {
  constructor(readonly tried: string[], readonly skipped: SkippedSource[] = []) {
    super(
      `no Alibaba Cloud credentials found (tried: ${tried.join("; ")}); ` +
        "set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, or see README#credentials",
    );
    this.name = "NoCredentialsError";
    markUserFacing(this, "no-credentials");
  }
}

/** A source is configured but unusable where it must be used (a profile the config file names). */
export class CredentialSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CredentialSourceError";
    markUserFacing(this, "credential-source");
  }
}

/** Options for {@link selectCredentialSource} (and for resolveCredentials in lib/providers.ts). */
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
   * The instance's RAM role from the metadata service (lib/ecs_metadata.ts), null when there is none. Absent:
   * ECS roles are taken as named, and an unnamed one is left to the library.
   */
  discoverEcsRole?: () => Promise<string | null>;
  /** The OS whose home rule applies (default: this one). */
  os?: Os;
  /** Now, ms (CloudSSO and OAuth sign-ins expire). */
  now?: () => number;
}

/** What every step reads: the options, the step context, and the files the chain looks at. */
interface Chain extends StepContext {
  opts: AuthOptions;
  /** `ALIBABA_CLOUD_PROFILE`. */
  profileName?: string;
}

type Step = (c: Chain) => Promise<StepOutcome[]>;

/** The chain, in order (see the module doc). */
const STEPS: readonly Step[] = [oidcEnvStep, envKeyStep, cliStep, credentialsFileStep, ecsStep, uriStep];

/**
 * Walks the chain and returns the first usable source with the ones skipped
 * before it, or throws {@link NoCredentialsError} naming each source tried.
 *
 * @example
 * ```ts
 * const s = await selectCredentialSource({ env: Deno.env.toObject(), readTextFile: localFileReader(home) });
 * console.log(s.source.description, s.skipped);
 * ```
 */
export async function selectCredentialSource(opts: AuthOptions): Promise<Selection> {
  const c = chainContext(opts);
  if (opts.profile !== undefined) return await profileSelection(c, opts.profile);
  const tried: string[] = [];
  const skipped: SkippedSource[] = [];
  for (const step of STEPS) {
    for (const outcome of await step(c)) {
      if ("selection" in outcome) return { ...outcome.selection, skipped };
      if ("skip" in outcome) {
        skipped.push(outcome.skip);
        tried.push(`${outcome.skip.source} (${outcome.skip.reason})`);
      } else tried.push(outcome.absent);
    }
  }
  throw new NoCredentialsError(tried, skipped);
}

function chainContext(opts: AuthOptions): Chain {
  const val = (k: string) => (opts.env[k]?.trim() ? opts.env[k]!.trim() : undefined);
  const c: Chain = {
    opts,
    val,
    profileName: val("ALIBABA_CLOUD_PROFILE"),
    now: opts.now ?? Date.now,
    read: async (path) => {
      try {
        return await opts.readTextFile(path);
      } catch (err) {
        throw new CredentialSourceError(`cannot read ${path} (${err instanceof Error ? err.name : String(err)})`);
      }
    },
    ecs: (roleName) => ecsRole(c, roleName),
  };
  return c;
}

const selected = (selection: Selection): StepOutcome => ({ selection });
const absent = (what: string): StepOutcome => ({ absent: what });

/** A read that fails (not absence) is a skip with the OS's reason, not an exception. */
async function readOrSkip(c: Chain, path: string, source: string): Promise<string | null | StepOutcome> {
  try {
    return await c.read(path);
  } catch (err) {
    return { skip: { source, reason: (err as Error).message, fix: `make ${path} readable, or remove it` } };
  }
}

function isOutcome(x: unknown): x is StepOutcome {
  return typeof x === "object" && x !== null;
}

// 1. RRSA OIDC from the environment (R1: before the env access key).
async function oidcEnvStep(c: Chain): Promise<StepOutcome[]> {
  const names = ["ALIBABA_CLOUD_ROLE_ARN", "ALIBABA_CLOUD_OIDC_PROVIDER_ARN", "ALIBABA_CLOUD_OIDC_TOKEN_FILE"];
  const github = githubOidc(c);
  if (github) return [github];
  const missing = names.filter((k) => !c.val(k));
  if (missing.length > 0) {
    return [absent(missing.length === 3 ? "RRSA OIDC (not set)" : `RRSA OIDC (${missing.join(", ")} not set)`)];
  }
  const [roleArn, providerArn, tokenFile] = names.map((k) => c.val(k)!);
  const source = `RRSA OIDC role ${roleArn}`;
  const token = await readOrSkip(c, tokenFile, source);
  if (isOutcome(token)) return [token];
  if (token === null) {
    return [{
      skip: { source, reason: `token file ${tokenFile} not found`, fix: "check ALIBABA_CLOUD_OIDC_TOKEN_FILE" },
    }];
  }
  return [selected({
    source: { kind: "oidc", description: source, identity: `oidc:${roleArn}|${providerArn}` },
    plan: { type: "oidc", roleArn, providerArn, tokenFile, sessionName: c.val("ALIBABA_CLOUD_ROLE_SESSION_NAME") },
  })];
}

/**
 * GitHub Actions' own OIDC identity: the role and provider named, no token file, and the job's two ID-token
 * variables present (`permissions: id-token: write`). The token is fetched on each get (lib/github_oidc.ts).
 */
function githubOidc(c: Chain): StepOutcome | null {
  const roleArn = c.val("ALIBABA_CLOUD_ROLE_ARN");
  const providerArn = c.val("ALIBABA_CLOUD_OIDC_PROVIDER_ARN");
  const url = c.val("ACTIONS_ID_TOKEN_REQUEST_URL");
  const requestToken = c.val("ACTIONS_ID_TOKEN_REQUEST_TOKEN");
  if (!roleArn || !providerArn || c.val("ALIBABA_CLOUD_OIDC_TOKEN_FILE") || !url || !requestToken) return null;
  const audience = c.val("DOCKER_CREDENTIAL_ACR_HELPER_OIDC_AUDIENCE") ?? "sts.aliyuncs.com";
  return selected({
    source: {
      kind: "oidc",
      description: `GitHub Actions OIDC token for role ${roleArn} (asked for on each get, audience ${audience})`,
      identity: `oidc:${roleArn}|${providerArn}`,
    },
    plan: { type: "github-oidc", roleArn, providerArn, url, requestToken, audience },
  });
}

// 2. The access key in the environment.
function envKeyStep(c: Chain): Promise<StepOutcome[]> {
  const id = c.val("ALIBABA_CLOUD_ACCESS_KEY_ID");
  const secret = c.val("ALIBABA_CLOUD_ACCESS_KEY_SECRET");
  if (!id || !secret) {
    return Promise.resolve([absent(
      id || secret
        ? `ALIBABA_CLOUD_ACCESS_KEY_${id ? "SECRET" : "ID"} not set`
        : "ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET (not set)",
    )]);
  }
  const sts = c.val("ALIBABA_CLOUD_SECURITY_TOKEN");
  return Promise.resolve([selected({
    source: {
      kind: "env",
      description: `environment variables ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET${sts ? "/SECURITY_TOKEN" : ""}`,
      identity: `env:${id}`,
    },
    plan: { type: "static", accessKeyId: id, accessKeySecret: secret, securityToken: sts },
  })]);
}

// 3. The aliyun CLI profile.
async function cliStep(c: Chain): Promise<StepOutcome[]> {
  if (envFlag(c.opts.env, "ALIBABA_CLOUD_CLI_PROFILE_DISABLED")) {
    return [absent("aliyun CLI profile (ALIBABA_CLOUD_CLI_PROFILE_DISABLED)")];
  }
  const file = homeOf(c.opts.env, ".aliyun/config.json", c.opts.os);
  if (!file) return [absent("aliyun CLI profile (no home directory)")];
  return [await cliProfileOutcome(c, file, c.profileName)];
}

async function cliProfileOutcome(c: Chain, file: string, wanted: string | undefined): Promise<StepOutcome> {
  const text = await readOrSkip(c, file, `aliyun CLI config ${file}`);
  if (isOutcome(text)) return text;
  if (text === null) return absent(`${file} (not found)`);
  const conf = parseCliConfig(text);
  if ("reason" in conf) {
    return { skip: { source: `aliyun CLI config ${file}`, reason: conf.reason, fix: "run: aliyun configure" } };
  }
  const name = cliProfileName(conf, wanted);
  const p = findProfile(conf, name);
  if (!p) return absent(`${file} (no profile "${name}")`);
  const mode = String(p.mode ?? "");
  const description = `aliyun CLI profile "${name}" (${mode}) in ${file}`;
  return outcomeOf(await buildCliProfile(conf, p, file, c), description, (b) => ({
    kind: "cli-profile",
    description,
    identity: `cli:${file}#${name}#${mode}#${b.who}`,
  }));
}

// 4. The credentials file profile (R2: the default file after a named one that is missing or lacks the profile).
async function credentialsFileStep(c: Chain): Promise<StepOutcome[]> {
  const profile = c.profileName ?? "default";
  const named = c.val("ALIBABA_CLOUD_CREDENTIALS_FILE");
  const home = homeOf(c.opts.env, ".alibabacloud/credentials", c.opts.os);
  const out: StepOutcome[] = [];
  if (!named) out.push(absent("ALIBABA_CLOUD_CREDENTIALS_FILE (not set)"));
  for (const file of [named, home]) {
    if (!file || (file === home && named === home)) continue;
    const outcome = await fileProfileOutcome(c, file, profile);
    if (file === named && "absent" in outcome) {
      // The user named this file: that it is missing or lacks the profile is worth a warning.
      out.push({
        skip: {
          source: `ALIBABA_CLOUD_CREDENTIALS_FILE ${file}`,
          reason: outcome.absent.replace(`${file} `, "").replace(/^\(|\)$/g, ""),
          fix: "fix the path or the profile name, or unset ALIBABA_CLOUD_CREDENTIALS_FILE",
        },
      });
      continue;
    }
    out.push(outcome);
    if (!("absent" in outcome)) break;
  }
  return out;
}

async function fileProfileOutcome(c: Chain, file: string, profile: string): Promise<StepOutcome> {
  const text = await readOrSkip(c, file, `credentials file ${file}`);
  if (isOutcome(text)) return text;
  if (text === null) return absent(`${file} (not found)`);
  const section = parseIni(text)[profile];
  if (!section) return absent(`${file} (no profile "${profile}")`);
  const where = `${file} [${profile}]`;
  const built = await buildFileProfile(section, c);
  return outcomeOf(built, `credentials file ${where}`, (b) => ({
    kind: "credentials-file",
    description: `credentials file ${where}${
      b.plan.type === "ram-role-arn" ? ` (role ${b.plan.roleArn})` : b.plan.type === "ecs" ? " (ECS RAM role)" : ""
    }`,
    identity: `file:${file}#${profile}#${b.who}`,
  }));
}

// 5. The ECS RAM role: named by ALIBABA_CLOUD_ECS_METADATA, else found from the instance metadata.
async function ecsStep(c: Chain): Promise<StepOutcome[]> {
  const named = c.val("ALIBABA_CLOUD_ECS_METADATA");
  if (ecsDisabled(c)) {
    return [absent(`ECS RAM role${named ? ` ${named}` : ""} (ALIBABA_CLOUD_ECS_METADATA_DISABLED)`)];
  }
  if (!named && !c.opts.discoverEcsRole) return [absent("ECS RAM role (ALIBABA_CLOUD_ECS_METADATA not set)")];
  const built = await c.ecs(named);
  if (unusable(built) && !named) {
    return [absent("ECS instance metadata (no RAM role: not on ECS, or none attached)")];
  }
  const role = unusable(built) ? named! : (built.plan as { roleName?: string }).roleName ?? "";
  const description = `ECS RAM role ${role}${named ? "" : " (found from the instance metadata)"}`;
  return [outcomeOf(built, `ECS RAM role ${role}`, () => ({
    kind: "ecs-ram-role",
    description,
    identity: `ecs:${role}`,
  }))];
}

// 6. A credentials URI (the SDK's URICredentialsProvider).
function uriStep(c: Chain): Promise<StepOutcome[]> {
  const uri = c.val("ALIBABA_CLOUD_CREDENTIALS_URI");
  if (!uri) return Promise.resolve([absent("ALIBABA_CLOUD_CREDENTIALS_URI (not set)")]);
  let shown: string;
  try {
    const u = new URL(uri);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error("not http");
    // A query may carry a token: never shown, but part of the identity (hashed into cache keys only).
    shown = `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return Promise.resolve([{
      skip: {
        source: "ALIBABA_CLOUD_CREDENTIALS_URI",
        reason: "not an http(s) URL",
        fix: "set it to the http(s) URL of the credentials service",
      },
    }]);
  }
  return Promise.resolve([selected({
    source: { kind: "credentials-uri", description: `credentials URI ${shown}`, identity: `uri:${uri}` },
    plan: { type: "uri", uri },
  })]);
}

function ecsDisabled(c: Chain): boolean {
  return envFlag(c.opts.env, "ALIBABA_CLOUD_ECS_METADATA_DISABLED");
}

/**
 * An ECS RAM role as the SDK's provider would use it: off when metadata is disabled; a named role must be
 * the one attached to this instance (when discovery is available); an unnamed one is the attached one.
 */
async function ecsRole(c: Chain, roleName: string | undefined): Promise<Built> {
  if (ecsDisabled(c)) {
    return {
      reason: "ALIBABA_CLOUD_ECS_METADATA_DISABLED=true turns ECS RAM roles off",
      fix: "unset ALIBABA_CLOUD_ECS_METADATA_DISABLED, or use another source",
    };
  }
  const discover = c.opts.discoverEcsRole;
  if (!discover) return { plan: { type: "ecs", roleName }, who: `ecs:${roleName ?? ""}` };
  const attached = await discover();
  if (attached === null) {
    return {
      reason: "not on ECS, or no RAM role attached (the metadata service named none)",
      fix: "attach a RAM role to the instance, or use another source",
    };
  }
  if (roleName && roleName !== attached) {
    return {
      reason: `role ${roleName} is not the one attached to this instance (${attached} is)`,
      fix: `name ${attached}, or attach ${roleName} to the instance`,
    };
  }
  return { plan: { type: "ecs", roleName: attached }, who: `ecs:${attached}` };
}

function outcomeOf(
  built: Built,
  source: string,
  info: (b: { plan: CredentialPlan; who: string }) => CredentialSourceInfo,
): StepOutcome {
  if (unusable(built)) return { skip: { source, reason: built.reason, fix: built.fix } };
  return selected({ source: info(built), plan: built.plan });
}

/** The named profile from the credentials files or the aliyun CLI config; it must exist and be usable. */
async function profileSelection(c: Chain, profile: string): Promise<Selection> {
  const looked: string[] = [];
  const files = [c.val("ALIBABA_CLOUD_CREDENTIALS_FILE"), homeOf(c.opts.env, ".alibabacloud/credentials", c.opts.os)];
  const cli = envFlag(c.opts.env, "ALIBABA_CLOUD_CLI_PROFILE_DISABLED")
    ? null
    : homeOf(c.opts.env, ".aliyun/config.json", c.opts.os);
  const outcomes: Array<() => Promise<StepOutcome>> = [
    ...files.filter((f): f is string => !!f).map((f) => () => fileProfileOutcome(c, f, profile)),
    ...(cli ? [() => cliProfileOutcome(c, cli, profile)] : []),
  ];
  for (const next of outcomes) {
    const outcome = await next();
    if ("selection" in outcome) return outcome.selection;
    if ("skip" in outcome) {
      throw new CredentialSourceError(`${outcome.skip.source}: ${outcome.skip.reason} (${outcome.skip.fix})`);
    }
    looked.push(outcome.absent.replace(/ \(.*\)$/, ""));
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
    skipped: base.skipped,
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
