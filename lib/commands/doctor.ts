/**
 * `doctor [HOST]`: says which credential source would be used (never a
 * secret), where config, cache and logs live, how HOST resolves (the same
 * plan `get` uses), the API endpoint, and with HOST fetches a fresh token,
 * times the round trip and compares the clocks. Exits 1 when anything would
 * make a pull fail, saying how to fix it.
 *
 * @module
 */
import { cacheDir, cacheDirStatus } from "../cache.ts";
import { configPath, envTransport, homeDir, parseEndpoint } from "../config.ts";
import { stsRoute, tcpProbe } from "../endpoints.ts";
import type { PlanSettings, Target, TokenPlan } from "../helper.ts";
import { probeUid } from "../own_dirs.ts";
import { proxyConfigured, proxyForUrl } from "../proxy.ts";
import { isNotFound } from "../protocol.ts";
import { normalizeServer } from "../registry.ts";
import { describeSet } from "../settings.ts";
import { fixFor } from "../errors.ts";
import { registryLogin } from "./registry_login.ts";
import type { CommandIO } from "./io.ts";
import type { SkippedSource } from "../credential_plan.ts";

/** Over this, the local clock is worth a warning (tokens are timed on the service's clock regardless). */
const SKEW_WARN_MS = 5 * 60_000;

/** Runs the checks; returns the exit code. */
export async function runDoctor(args: string[], io: CommandIO): Promise<number> {
  const { env } = io;
  let problems = 0;
  const line = (status: "ok" | "warn" | "FAIL", what: string, text: string, fix?: string) => {
    if (status === "FAIL") problems++;
    io.out(`${status.padEnd(4)} ${what}: ${text}${fix ? `\n     fix: ${fix}` : ""}\n`);
  };
  /** A source the chain skipped (configured but unusable): one warn line each, with the fix. */
  const skippedLines = (skipped: SkippedSource[] | undefined) => {
    for (const s of skipped ?? []) line("warn", "credentials", `skipped ${s.source}: ${s.reason}`, s.fix);
  };
  const noLogin = args.includes("--no-login");
  const rest = args.filter((a) => a !== "--no-login");
  if (rest.length > 1 || rest.some((a) => a.startsWith("-"))) {
    io.out("usage: docker-credential-acr-helper doctor [--no-login] [HOST]\n");
    return 1;
  }
  const server = rest[0];
  io.out(`${io.version}\n`);

  // Config file (read once; the plan and the token below reuse it)
  let settings: PlanSettings | null = null;
  try {
    settings = await io.helper.settings();
    const { config } = settings;
    line(
      "ok",
      "config file",
      config.path
        ? `${config.path} (${config.registries.size} registr${config.registries.size === 1 ? "y" : "ies"})`
        : `${configPath(env).path ?? "none (no HOME)"} (not present: built-in ACR domains only)`,
    );
  } catch (err) {
    line(
      "FAIL",
      "config file",
      message(err),
      "correct the file or variable as the message says (README#custom-domains)",
    );
  }

  // Host: the plan get would follow
  let plan: TokenPlan | null = null;
  if (server !== undefined && settings !== null) {
    const host = normalizeServer(server);
    try {
      plan = host === null ? null : await io.helper.plan(server);
    } catch (err) {
      line("FAIL", "host", message(err));
    }
    if (host === null) {
      line(
        "FAIL",
        "host",
        `"${server}" is not a registry host`,
        "give a host such as registry.cn-hangzhou.aliyuncs.com",
      );
    } else if (plan === null) {
      line(
        "FAIL",
        "host",
        `${host} is not an ACR registry the helper knows; docker would pull anonymously`,
        `add it to the config file with its region (and instanceId): registries["${host}"]`,
      );
    } else {
      line("ok", "host", `${host}: ${describeTarget(plan.target)}`);
    }
  }

  // Credential source (for HOST: the profile or role its config entry names)
  let credentialsOk = false;
  try {
    const selection = plan !== null ? await io.helper.selectionFor(plan.server) : await io.helper.selectionFor();
    skippedLines(selection.skipped);
    line("ok", "credentials", `${selection.source.description} (${selection.source.kind})`);
    credentialsOk = true;
  } catch (err) {
    skippedLines((err as { skipped?: SkippedSource[] }).skipped);
    if (!isNotFound(err)) {
      line(
        "FAIL",
        "credentials",
        message(err),
        "set ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET, a credentials file or RRSA (README#credentials)",
      );
    }
  }

  // Cache and logs
  const dir = cacheDir(env);
  if (dir === null) {
    line("warn", "cache", "off (DOCKER_CREDENTIAL_ACR_HELPER_DISABLE_CACHE or no HOME): every get calls the API");
  } else {
    const status = cacheDirStatus(dir, { uid: (io.uid ?? probeUid)(), home: homeDir(env) });
    line(status.ok ? "ok" : "warn", "cache", status.text, status.fix);
  }
  const set = describeSet(env);
  line(
    "ok",
    "environment",
    set.length ? set.join(", ") : "none of the helper's variables is set (README#environment-variables)",
  );
  const level = env.DOCKER_CREDENTIAL_ACR_HELPER_LOG_LEVEL;
  line(
    "ok",
    "logs",
    level
      ? `${level} to ${env.DOCKER_CREDENTIAL_ACR_HELPER_LOG_FILE || "stderr"}`
      : "off (DOCKER_CREDENTIAL_ACR_HELPER_LOG_LEVEL=debug and _LOG_FILE=PATH turn them on)",
  );

  // Endpoints: where each call would go, and why
  let apiUrl = "https://cr.cn-hangzhou.aliyuncs.com/";
  try {
    envTransport(env);
    if (plan === null) {
      line(
        "ok",
        "API endpoint",
        settings?.apiEndpointText
          ? `${settings.apiEndpointText} (DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT)`
          : "per registry: cr.<region>.aliyuncs.com, or cr-vpc.<region>.aliyuncs.com for VPC hosts (give HOST to see)",
      );
    } else if (plan.route.kind === "fixed") {
      const e = parseEndpoint(plan.route.text, "API endpoint");
      apiUrl = `${e.protocol}://${e.host}/`;
      line("ok", "API endpoint", `${e.protocol}://${e.host} (${plan.route.why})`);
    } else {
      const why = await tcpProbe(plan.route.vpc, 443, 1_000);
      const used = why === null ? plan.route.vpc : plan.route.public;
      apiUrl = `https://${used}/`;
      line(
        "ok",
        "API endpoint",
        `https://${used} (${plan.route.why}; ${
          why === null ? `${plan.route.vpc} connects` : `${plan.route.vpc} does not: ${why}`
        })`,
      );
    }
    const sts = stsRoute(env, plan?.target.registry.region);
    line("ok", "STS endpoint", `https://${sts.host} (${sts.why}; used by RRSA, roles and per-pod identities)`);
    const proxy = proxyForUrl(apiUrl, env);
    line(
      "ok",
      "proxy",
      proxy
        ? `${redactUserinfo(proxy)} for the API (HTTPS_PROXY / HTTP_PROXY; NO_PROXY does not match)`
        : proxyConfigured(env)
        ? "none for the API (NO_PROXY matches, or a local address)"
        : "none (HTTPS_PROXY / HTTP_PROXY not set)",
    );
  } catch (err) {
    line("FAIL", "API endpoint", message(err), "correct the variable or config entry as the message says");
  }

  if (plan !== null && credentialsOk) {
    const started = performance.now();
    try {
      const creds = await io.helper.token(plan, { bypassCache: true });
      const ms = Math.round(performance.now() - started);
      line(
        "ok",
        "token",
        `fetched in ${ms} ms as ${creds.Username}, valid until ${new Date(creds.expiresAt).toISOString()}`,
      );
      if (noLogin) line("ok", "registry login", "skipped (--no-login)");
      else {
        // As a client would: the password is only proven when the registry itself accepts it.
        const login = await registryLogin({
          host: plan.host,
          username: creds.Username,
          password: creds.Secret,
          fetch: io.fetch,
        });
        line(
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
        line(
          "warn",
          "clock",
          `this machine's clock is ${Math.round(Math.abs(skew) / 60_000)} min ${
            skew > 0 ? "behind" : "ahead of"
          } the service's; tokens are timed on the service's clock, but other tools may fail`,
          "synchronise the clock (NTP: chrony or systemd-timesyncd)",
        );
      }
    } catch (err) {
      line("FAIL", "token", message(err), fixFor(message(err)));
    }
  }
  io.out(problems === 0 ? "no problems found\n" : `${problems} problem${problems === 1 ? "" : "s"} found\n`);
  return problems === 0 ? 0 : 1;
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

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function redactUserinfo(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return "a proxy";
  }
}
