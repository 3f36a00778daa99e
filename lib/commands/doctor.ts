/**
 * `doctor [HOST]`: a table of small checks, each printing `ok`, `warn` or
 * `FAIL` lines with a fix: the config file, how HOST resolves (the same plan
 * `get` uses; a host that is not ACR stops there), whether docker and podman
 * will ask this helper for HOST at all, the credential source and every source
 * skipped before it, the cache (and whether it can be written), environment,
 * logs, endpoints and proxy, and with HOST a fresh token (timed, clocks
 * compared) and a registry login with it. Exits 1 when anything would make a
 * pull fail.
 *
 * @module
 */
import { cacheDirStatus } from "../cache.ts";
import { cacheDir, configPath, homeDir } from "../platform.ts";
import { envTransport, parseEndpoint } from "../config.ts";
import { stsRoute, tcpProbe } from "../endpoints.ts";
import type { PlanSettings, Target, TokenPlan } from "../helper.ts";
import { probeUid } from "../own_dirs.ts";
import { proxyConfigured, proxyForUrl } from "../proxy.ts";
import { fixFor, isNotFound, isTransient, messageOf } from "../errors.ts";
import { normalizeServer } from "../registry.ts";
import { describeSet, misreadFlags } from "../settings.ts";
import { registryLogin } from "./registry_login.ts";
import type { CommandIO } from "./io.ts";
import type { SkippedSource } from "../credential_plan.ts";
import { dockerRoute, podmanRoute, type ReadFile } from "./client_routes.ts";
import { BINARY_NAME, onPath } from "../docker_config.ts";

/** Over this, the local clock is worth a warning (tokens are timed on the service's clock regardless). */
const SKEW_WARN_MS = 5 * 60_000;

/** What the checks share: the output, what earlier checks found, and whether to stop. */
export interface DoctorContext {
  io: CommandIO;
  /** The HOST argument, if any. */
  server?: string;
  noLogin: boolean;
  line(status: "ok" | "warn" | "FAIL", what: string, text: string, fix?: string): void;
  settings: PlanSettings | null;
  plan: TokenPlan | null;
  credentialsOk: boolean;
  /** Sources the chain skipped, already warned about. */
  skipped: SkippedSource[];
  apiUrl: string;
  /** Set by a check after which nothing else is worth saying (a host that is not ACR). */
  stop: boolean;
  /** Reads a small file; null when absent or unreadable. */
  read: ReadFile;
}

/** One check: reads the context, prints its lines. */
export type Check = (c: DoctorContext) => Promise<void>;

/** The checks, in the order their lines print. */
export const CHECKS: readonly Check[] = [
  configFileCheck,
  hostCheck,
  clientsCheck,
  credentialsCheck,
  credentialsFileCheck,
  cacheCheck,
  environmentCheck,
  logsCheck,
  endpointsCheck,
  tokenCheck,
];

/** Runs the checks; returns the exit code. */
export async function runDoctor(args: string[], io: CommandIO): Promise<number> {
  const noLogin = args.includes("--no-login");
  const rest = args.filter((a) => a !== "--no-login");
  if (rest.length > 1 || rest.some((a) => a.startsWith("-"))) {
    io.out("usage: docker-credential-acr-helper doctor [--no-login] [HOST]\n");
    return 1;
  }
  io.out(`${io.version}\n`);
  const c = doctorContext(io, rest[0], noLogin);
  let problems = 0;
  const line = c.line;
  c.line = (status, what, text, fix) => {
    if (status === "FAIL") problems++;
    line(status, what, text, fix);
  };
  for (const check of CHECKS) {
    await check(c);
    if (c.stop) break;
  }
  io.out(problems === 0 ? "no problems found\n" : `${problems} problem${problems === 1 ? "" : "s"} found\n`);
  return problems === 0 ? 0 : 1;
}

/** A fresh context (exported for the checks' in-process tests). */
export function doctorContext(io: CommandIO, server: string | undefined, noLogin = false): DoctorContext {
  return {
    io,
    server,
    noLogin,
    line: (status, what, text, fix) =>
      io.out(`${status.padEnd(4)} ${what}: ${text}${fix ? `\n     fix: ${fix}` : ""}\n`),
    settings: null,
    plan: null,
    credentialsOk: false,
    skipped: [],
    apiUrl: "https://cr.cn-hangzhou.aliyuncs.com/",
    stop: false,
    read: (path) => {
      try {
        return Deno.readTextFileSync(path);
      } catch {
        return null;
      }
    },
  };
}

/** The config file, read once (the plan and the token reuse it). */
async function configFileCheck(c: DoctorContext): Promise<void> {
  try {
    c.settings = await c.io.helper.settings();
    const { config } = c.settings;
    c.line(
      "ok",
      "config file",
      config.path
        ? `${config.path} (${config.registries.size} registr${config.registries.size === 1 ? "y" : "ies"})`
        : `${configPath(c.io.env).path ?? "none (no HOME)"} (not present: built-in ACR domains only)`,
    );
  } catch (err) {
    c.line(
      "FAIL",
      "config file",
      messageOf(err),
      "correct the file or variable as the message says (README#custom-domains)",
    );
  }
}

/** HOST: the plan `get` would follow. A host that is not ACR is said once, and nothing else is checked. */
async function hostCheck(c: DoctorContext): Promise<void> {
  if (c.server === undefined || c.settings === null) return;
  const host = normalizeServer(c.server);
  if (host === null) {
    c.line(
      "FAIL",
      "host",
      `"${c.server}" is not a registry host`,
      "give a host such as registry.cn-hangzhou.aliyuncs.com",
    );
    c.stop = true;
    return;
  }
  try {
    c.plan = await c.io.helper.plan(c.server);
  } catch (err) {
    c.line("FAIL", "host", messageOf(err));
    return;
  }
  if (c.plan === null) {
    c.line(
      "FAIL",
      "host",
      `${host} is not an ACR registry the helper knows: the helper answers "credentials not found" for it, and ` +
        "docker pulls it anonymously or with its own login",
      "nothing to do for a registry that is not ACR; for an ACR instance's custom domain, map it in the config " +
        `file: registries["${host}"] with its region and instanceId (README#custom-domains)`,
    );
    c.stop = true;
    return;
  }
  c.line("ok", "host", `${host}: ${describeTarget(c.plan.target)}`);
}

/** Will docker (and podman, when the user has its files) ask this helper for HOST at all? */
function clientsCheck(c: DoctorContext): Promise<void> {
  if (c.plan === null || c.server === undefined) return Promise.resolve();
  const docker = dockerRoute(c.server, c.io.env, c.read);
  c.line(docker.status, "docker", docker.text, docker.fix);
  const podman = podmanRoute(c.server, c.io.env, c.read);
  if (podman) c.line(podman.status, "podman", podman.text, podman.fix);
  // Named is not found: the client runs docker-credential-acr-helper from its own PATH.
  if ((docker.status === "ok" || podman?.status === "ok") && !onPath(c.io.env)) {
    c.line(
      "warn",
      "PATH",
      `${BINARY_NAME} is not on PATH, so docker and podman cannot run it`,
      `put its directory on PATH (where ${BINARY_NAME} version works)`,
    );
  }
  return Promise.resolve();
}

/** The credential source (for HOST: the profile or role its config entry names), after each one skipped. */
async function credentialsCheck(c: DoctorContext): Promise<void> {
  const skippedLines = (skipped: SkippedSource[] | undefined) => {
    for (const s of skipped ?? []) c.line("warn", "credentials", `skipped ${s.source}: ${s.reason}`, s.fix);
    c.skipped.push(...(skipped ?? []));
  };
  try {
    const selection = c.plan !== null
      ? await c.io.helper.selectionFor(c.plan.server)
      : await c.io.helper.selectionFor();
    skippedLines(selection.skipped);
    c.line("ok", "credentials", `${selection.source.description} (${selection.source.kind})`);
    c.credentialsOk = true;
  } catch (err) {
    skippedLines((err as { skipped?: SkippedSource[] }).skipped);
    if (!isNotFound(err)) {
      c.line(
        "FAIL",
        "credentials",
        messageOf(err),
        "set ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET, a credentials file or RRSA (README#credentials)",
      );
    }
  }
}

/** A credentials file the user named that is not there, even when an earlier source was used. */
function credentialsFileCheck(c: DoctorContext): Promise<void> {
  const named = c.io.env.ALIBABA_CLOUD_CREDENTIALS_FILE?.trim();
  if (named && c.read(named) === null && !c.skipped.some((s) => s.source.endsWith(named))) {
    c.line(
      "warn",
      "credentials",
      `ALIBABA_CLOUD_CREDENTIALS_FILE names ${named}, which does not exist`,
      "fix the path, or unset ALIBABA_CLOUD_CREDENTIALS_FILE",
    );
  }
  return Promise.resolve();
}

/** The cache: ours, and writable (else every get calls the API). */
function cacheCheck(c: DoctorContext): Promise<void> {
  const dir = cacheDir(c.io.env);
  if (dir === null) {
    c.line("warn", "cache", "off (DOCKER_CREDENTIAL_ACR_HELPER_DISABLE_CACHE or no HOME): every get calls the API");
  } else {
    const status = cacheDirStatus(dir, { uid: (c.io.uid ?? probeUid)(), home: homeDir(c.io.env) });
    c.line(status.ok ? "ok" : "warn", "cache", status.text, status.fix);
  }
  return Promise.resolve();
}

function environmentCheck(c: DoctorContext): Promise<void> {
  const set = describeSet(c.io.env);
  c.line(
    "ok",
    "environment",
    set.length ? set.join(", ") : "none of the helper's variables is set (README#environment-variables)",
  );
  for (const why of misreadFlags(c.io.env)) c.line("warn", "environment", why, "set it to true or false");
  return Promise.resolve();
}

function logsCheck(c: DoctorContext): Promise<void> {
  const level = c.io.env.DOCKER_CREDENTIAL_ACR_HELPER_LOG_LEVEL;
  c.line(
    "ok",
    "logs",
    level
      ? `${level} to ${c.io.env.DOCKER_CREDENTIAL_ACR_HELPER_LOG_FILE || "stderr"}`
      : "off (DOCKER_CREDENTIAL_ACR_HELPER_LOG_LEVEL=debug and _LOG_FILE=PATH turn them on)",
  );
  return Promise.resolve();
}

/** Where each call would go, and why; the proxy for the API. */
async function endpointsCheck(c: DoctorContext): Promise<void> {
  const { env } = c.io;
  const plan = c.plan;
  try {
    envTransport(env);
    if (plan === null) {
      c.line(
        "ok",
        "API endpoint",
        c.settings?.apiEndpointText
          ? `${c.settings.apiEndpointText} (DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT)`
          : "per registry: cr.<region>.aliyuncs.com, or cr-vpc.<region>.aliyuncs.com for VPC hosts (give HOST to see)",
      );
    } else if (plan.route.kind === "fixed") {
      const e = parseEndpoint(plan.route.text, "API endpoint");
      c.apiUrl = `${e.protocol}://${e.host}/`;
      c.line("ok", "API endpoint", `${e.protocol}://${e.host} (${plan.route.why})`);
    } else {
      const why = await tcpProbe(plan.route.vpc, 443, 1_000);
      const used = why === null ? plan.route.vpc : plan.route.public;
      c.apiUrl = `https://${used}/`;
      c.line(
        "ok",
        "API endpoint",
        `https://${used} (${plan.route.why}; ${
          why === null ? `${plan.route.vpc} connects` : `${plan.route.vpc} does not: ${why}`
        })`,
      );
    }
    const sts = stsRoute(env, plan?.target.registry.region);
    c.line("ok", "STS endpoint", `https://${sts.host} (${sts.why}; used by RRSA, roles and per-pod identities)`);
    const proxy = proxyForUrl(c.apiUrl, env);
    c.line(
      "ok",
      "proxy",
      proxy
        ? `${redactUserinfo(proxy)} for the API (HTTPS_PROXY / HTTP_PROXY; NO_PROXY does not match)`
        : proxyConfigured(env)
        ? "none for the API (NO_PROXY matches, or a local address)"
        : "none (HTTPS_PROXY / HTTP_PROXY not set)",
    );
  } catch (err) {
    c.line("FAIL", "API endpoint", messageOf(err), "correct the variable or config entry as the message says");
  }
}

/** With HOST: a fresh token (it calls the API even with --no-login), then a registry login with it. */
async function tokenCheck(c: DoctorContext): Promise<void> {
  if (c.plan === null || !c.credentialsOk) return;
  const plan = c.plan;
  const started = performance.now();
  try {
    const creds = await c.io.helper.token(plan, { bypassCache: true });
    const ms = Math.round(performance.now() - started);
    c.line(
      "ok",
      "token",
      `fetched in ${ms} ms as ${creds.Username}, valid until ${new Date(creds.expiresAt).toISOString()}`,
    );
    if (c.noLogin) {
      c.line("ok", "registry login", "skipped (--no-login)");
    } else {
      // As a client would: the password is only proven when the registry itself accepts it.
      const login = await registryLogin({
        host: plan.host,
        username: creds.Username,
        password: creds.Secret,
        fetch: c.io.fetch,
      });
      c.line(
        login.accepted ? "ok" : "FAIL",
        "registry login",
        login.detail,
        login.accepted
          ? undefined
          : "check the host, the instance the config maps it to, and cr:PullRepository for this identity",
      );
    }
    const skew = creds.clockSkewMs ?? 0;
    if (Math.abs(skew) > SKEW_WARN_MS) {
      c.line(
        "warn",
        "clock",
        `this machine's clock is ${Math.round(Math.abs(skew) / 60_000)} min ${
          skew > 0 ? "behind" : "ahead of"
        } the service's; tokens are timed on the service's clock, but other tools may fail`,
        "synchronise the clock (NTP: chrony or systemd-timesyncd)",
      );
    }
  } catch (err) {
    if (isTransient(err)) {
      c.line(
        "FAIL",
        "token",
        `network failure: ${messageOf(err)}`,
        `check the network path to ${c.apiUrl} (DNS, firewall, HTTPS_PROXY / NO_PROXY)`,
      );
    } else c.line("FAIL", "token", messageOf(err), fixFor(messageOf(err)));
  }
}

function describeTarget(t: Target): string {
  const r = t.registry;
  switch (r.kind) {
    case "personal":
      return `Personal Edition, region ${r.region}${r.intl ? ", international" : ""}, ${r.network} network`;
    case "personal-instance":
      return `Personal Edition instance ${r.instanceId}, region ${r.region}${r.vpc ? ", VPC" : ""}`;
    case "enterprise":
      return `Enterprise Edition instance "${r.instanceName}", region ${r.region}${r.vpc ? ", VPC" : ""}${
        r.p2p ? ", P2P" : ""
      }, id ${t.instanceId ?? "looked up with ListInstance"}`;
    case "configured":
      return `configured: region ${r.region}, ${t.instanceId ? `instance ${t.instanceId}` : "Personal Edition token"}`;
  }
}

function redactUserinfo(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return "a proxy";
  }
}
