/**
 * Configuration: the optional JSON file (custom domains, per-registry
 * overrides) and the helper's environment variables. Pure parsing here; the
 * file is read through a function passed in.
 *
 * @module
 */
import { markUserFacing } from "./errors.ts";
import type { ReadTextFile } from "./files.ts";
import { isRegion, normalizeServer } from "./registry.ts";
import { configPath, type Env } from "./platform.ts";

/** Which token API serves a registry: the instance API (2018-12-01) or the Personal `/tokens` (2016-06-07). */
export type TokenApi = "instance" | "personal";

/** Settings for one registry host from the config file. */
export interface RegistryOverride {
  /** ACR instance id (`cri-...`, `crpi-...`); skips the name lookup. */
  instanceId?: string;
  /** Region of the instance; required for hosts that are not ACR domains. */
  region?: string;
  /** Forces the token API (for `crpi-` instances the default is to try both). */
  tokenApi?: TokenApi;
  /** Credentials profile for this registry (credentials file or aliyun CLI config). */
  profile?: string;
  /** RAM role this registry's token is fetched as (assumed with the selected credentials). */
  roleArn?: string;
  /** ACR API endpoint for this registry (`host[:port]` or `http(s)://host[:port]`; `{region}` is replaced). */
  apiEndpoint?: string;
}

/** The parsed config file. */
export interface HelperConfig {
  /** Where it was read from (for messages), or null when there is none. */
  path: string | null;
  /** Normalised host -> override. */
  registries: ReadonlyMap<string, RegistryOverride>;
}

/** Settings taken from environment variables. */
export interface EnvSettings {
  /** `DOCKER_CREDENTIAL_ACR_HELPER_INSTANCE_ID` (reference helper compatible). */
  instanceId?: string;
  /** `DOCKER_CREDENTIAL_ACR_HELPER_REGION`. */
  region?: string;
  /** `DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT` as written (`{region}` is filled in per registry: lib/endpoints.ts). */
  apiEndpointText?: string;
  /** `DOCKER_CREDENTIAL_ACR_HELPER_STS_ENDPOINT` (host[:port], always HTTPS). */
  stsEndpoint?: string;
  /** Bound on one whole `get`, ms (`DOCKER_CREDENTIAL_ACR_HELPER_TIMEOUT`, seconds). */
  timeoutMs: number;
}

/** An API endpoint override. */
export interface Endpoint {
  protocol: "http" | "https";
  /** `host[:port]` */
  host: string;
}

/** A problem in configuration, worded for the user (one line). */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
    markUserFacing(this, "config");
  }
}

const ENV_PREFIX = "DOCKER_CREDENTIAL_ACR_HELPER_";
const DEFAULT_TIMEOUT_MS = 30_000;
const OVERRIDE_KEYS = new Set(["instanceId", "region", "tokenApi", "profile", "roleArn", "apiEndpoint"]);
const ROLE_ARN_RE = /^acs:ram::\d+:role\/[A-Za-z0-9._\/-]{1,64}$/;
const PROFILE_RE = /^[A-Za-z0-9._-]{1,64}$/;
const INSTANCE_ID_RE = /^[a-z0-9][a-z0-9-]{2,63}$/i;

/**
 * Parses the config file's text.
 *
 * @example
 * ```ts
 * parseConfig('{"registries":{"registry.example.com":{"instanceId":"cri-abc","region":"cn-hangzhou"}}}', "config.json")
 * ```
 */
export function parseConfig(text: string, path: string): HelperConfig {
  const fail = (problem: string): never => {
    throw new ConfigError(`config file ${path}: ${problem}`);
  };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    fail(`not valid JSON (${err instanceof Error ? err.message.split("\n")[0] : String(err)})`);
  }
  if (!isObject(value)) return fail("must be a JSON object");
  for (const key of Object.keys(value)) {
    if (key !== "registries" && key !== "$schema") fail(`unknown key "${key}" (expected "registries")`);
  }
  const registries = new Map<string, RegistryOverride>();
  const raw = value.registries ?? {};
  if (!isObject(raw)) return fail(`"registries" must be an object of host -> settings`);
  for (const [key, entry] of Object.entries(raw)) {
    const host = normalizeServer(key);
    if (host === null) fail(`"registries" key "${key}" is not a registry host`);
    registries.set(host as string, parseOverride(entry, (problem) => fail(`registries["${key}"]${problem}`)));
  }
  return { path, registries };
}

/** One `registries` entry; `fail` is given the problem after the entry's name (".region must be ..."). */
function parseOverride(entry: unknown, fail: (problem: string) => never): RegistryOverride {
  if (!isObject(entry)) return fail(" must be an object");
  for (const k of Object.keys(entry)) {
    if (!OVERRIDE_KEYS.has(k)) {
      fail(`: unknown key "${k}" (expected instanceId, region, tokenApi, profile, roleArn, apiEndpoint)`);
    }
  }
  const { instanceId, region, tokenApi, profile, roleArn, apiEndpoint } = entry;
  if (apiEndpoint !== undefined) {
    if (typeof apiEndpoint !== "string") fail(".apiEndpoint must be a string");
    try {
      parseEndpoint((apiEndpoint as string).replaceAll("{region}", "cn-hangzhou"), "x");
    } catch {
      fail(`.apiEndpoint must be an endpoint such as "cr-vpc.{region}.aliyuncs.com"`);
    }
  }
  if (profile !== undefined && (typeof profile !== "string" || !PROFILE_RE.test(profile))) {
    fail(`.profile must be a profile name such as "prod"`);
  }
  if (roleArn !== undefined && (typeof roleArn !== "string" || !ROLE_ARN_RE.test(roleArn))) {
    fail(`.roleArn must be a role ARN such as "acs:ram::1234567890123456:role/acr-pull"`);
  }
  if (instanceId !== undefined && (typeof instanceId !== "string" || !INSTANCE_ID_RE.test(instanceId))) {
    fail(`.instanceId must be an instance id such as "cri-xxxxxxxx"`);
  }
  if (region !== undefined && (typeof region !== "string" || !isRegion(region))) {
    fail(`.region must be a region id such as "cn-hangzhou"`);
  }
  if (tokenApi !== undefined && tokenApi !== "instance" && tokenApi !== "personal") {
    fail(`.tokenApi must be "instance" or "personal"`);
  }
  return {
    instanceId: instanceId as string | undefined,
    region: region as string | undefined,
    tokenApi: tokenApi as TokenApi | undefined,
    profile: profile as string | undefined,
    roleArn: roleArn as string | undefined,
    apiEndpoint: apiEndpoint as string | undefined,
  };
}

/** Options for {@link loadConfig}. */
export interface LoadConfigOptions {
  env: Env;
  /** Reads a file as text; null when it does not exist. */
  readTextFile: ReadTextFile;
}

/**
 * Reads and parses the config file. A missing default file is an empty
 * config; a missing file named by the env var, or a malformed one, is a
 * {@link ConfigError}.
 */
export async function loadConfig({ env, readTextFile }: LoadConfigOptions): Promise<HelperConfig> {
  const { path, explicit } = configPath(env);
  if (path === null) return { path: null, registries: new Map() };
  let text: string | null;
  try {
    text = await readTextFile(path);
  } catch (err) {
    throw new ConfigError(
      `config file ${path}${explicit ? ` (${ENV_PREFIX}CONFIG)` : ""} cannot be read (${errName(err)})`,
    );
  }
  if (text === null) {
    if (!explicit) return { path: null, registries: new Map() };
    throw new ConfigError(`config file ${path} (${ENV_PREFIX}CONFIG) does not exist`);
  }
  return parseConfig(text, path);
}

/**
 * The helper's own environment variables, validated.
 *
 * @example
 * ```ts
 * envSettings({ DOCKER_CREDENTIAL_ACR_HELPER_TIMEOUT: "10" }).timeoutMs
 * // 10000
 * ```
 */
export function envSettings(env: Env): EnvSettings {
  return { ...envTarget(env), ...envTransport(env), apiEndpointText: envApiEndpointText(env) };
}

function envGetter(env: Env) {
  return (name: string) => {
    const v = env[ENV_PREFIX + name]?.trim();
    return v === "" ? undefined : v;
  };
}

/** The env vars that decide which instance a host maps to (a cache hit needs only these). */
export function envTarget(env: Env): Pick<EnvSettings, "instanceId" | "region"> {
  const get = envGetter(env);
  const instanceId = get("INSTANCE_ID");
  const region = get("REGION");
  if (instanceId !== undefined && !INSTANCE_ID_RE.test(instanceId)) {
    throw new ConfigError(`${ENV_PREFIX}INSTANCE_ID="${instanceId}" is not an instance id such as "cri-xxxxxxxx"`);
  }
  if (region !== undefined && !isRegion(region)) {
    throw new ConfigError(`${ENV_PREFIX}REGION="${region}" is not a region id such as "cn-hangzhou"`);
  }
  // Without REGION the region comes from the host, as in the reference helper (lib/target.ts).
  return { instanceId, region };
}

/** The env vars that shape API calls: endpoints and the time bound (needed on a cache miss only). */
export function envTransport(env: Env): Pick<EnvSettings, "stsEndpoint" | "timeoutMs"> {
  const get = envGetter(env);
  const stsText = get("STS_ENDPOINT");
  let stsEndpoint: string | undefined;
  if (stsText !== undefined) {
    const sts = parseEndpoint(stsText, `${ENV_PREFIX}STS_ENDPOINT`);
    if (sts.protocol !== "https") throw new ConfigError(`${ENV_PREFIX}STS_ENDPOINT must use https`);
    stsEndpoint = sts.host;
  }
  const timeoutText = get("TIMEOUT");
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  if (timeoutText !== undefined) {
    const seconds = Number(timeoutText);
    if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 600) {
      throw new ConfigError(`${ENV_PREFIX}TIMEOUT="${timeoutText}" must be a number of seconds between 0 and 600`);
    }
    timeoutMs = Math.round(seconds * 1000);
  }
  return { stsEndpoint, timeoutMs };
}

/** `DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT` as written (trimmed): a hit keys on it without parsing it. */
export function envApiEndpointText(env: Env): string | undefined {
  return envGetter(env)("API_ENDPOINT");
}

/** Parses `host[:port]` (HTTPS) or `http(s)://host[:port]`. */
export function parseEndpoint(text: string, what: string): Endpoint {
  const m = /^(?:(https?):\/\/)?([a-z0-9.-]+|\[[0-9a-f:.]+\])(?::(\d{1,5}))?\/?$/i.exec(text.trim());
  if (!m || (m[3] !== undefined && (Number(m[3]) < 1 || Number(m[3]) > 65535))) {
    throw new ConfigError(
      `${what}="${text}" is not an endpoint such as "cr.cn-hangzhou.aliyuncs.com" or "http://127.0.0.1:8080"`,
    );
  }
  const protocol = (m[1]?.toLowerCase() ?? "https") as "http" | "https";
  return { protocol, host: m[2].toLowerCase() + (m[3] ? `:${m[3]}` : "") };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function errName(err: unknown): string {
  return err instanceof Error ? err.name : String(err);
}
