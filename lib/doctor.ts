/**
 * `doctor [HOST]`: says which credential source would be used (never a
 * secret), where config, cache and logs live, how HOST parses, the API
 * endpoint, and with HOST fetches a fresh token and times the round trip.
 * Exits 1 when anything would make a pull fail, saying how to fix it.
 *
 * @module
 */
import { selectCredentialSource } from "./auth.ts";
import { cacheDir } from "./cache.ts";
import { configPath, envTransport, loadConfig } from "./config.ts";
import { localFileReader } from "./files.ts";
import type { CommandIO } from "./commands.ts";
import type { Target } from "./helper.ts";
import { isNotFound } from "./protocol.ts";
import { normalizeServer } from "./registry.ts";

/** Runs the checks; returns the exit code. */
export async function runDoctor(args: string[], io: CommandIO): Promise<number> {
  const { env } = io;
  let problems = 0;
  const line = (status: "ok" | "warn" | "FAIL", what: string, text: string, fix?: string) => {
    if (status === "FAIL") problems++;
    io.out(`${status.padEnd(4)} ${what}: ${text}${fix ? `\n     fix: ${fix}` : ""}\n`);
  };
  if (args.length > 1 || args.some((a) => a.startsWith("-"))) {
    io.out("usage: docker-credential-acr-helper doctor [HOST]\n");
    return 1;
  }
  const server = args[0];
  io.out(`${io.version}\n`);

  // Config file
  const readTextFile = localFileReader(env.HOME);
  const { path } = configPath(env);
  try {
    const config = await loadConfig({ env, readTextFile });
    line(
      "ok",
      "config file",
      config.path
        ? `${config.path} (${config.registries.size} registr${config.registries.size === 1 ? "y" : "ies"})`
        : `${path ?? "none (no HOME)"} (not present: built-in ACR domains only)`,
    );
  } catch (err) {
    line("FAIL", "config file", message(err), "correct the file as the message says (README#custom-domains)");
  }

  // Credential source (for HOST: the profile or role its config entry names)
  let credentialsOk = false;
  try {
    const selection = server
      ? await io.helper.selectionFor(server)
      : await selectCredentialSource({ env, readTextFile });
    line("ok", "credentials", `${selection.source.description} (${selection.source.kind})`);
    credentialsOk = true;
  } catch (err) {
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
  } else line("ok", "cache", `${dir} (${describeDir(dir)})`);
  const level = env.DOCKER_CREDENTIAL_ACR_HELPER_LOG_LEVEL;
  line(
    "ok",
    "logs",
    level
      ? `${level} to ${env.DOCKER_CREDENTIAL_ACR_HELPER_LOG_FILE || "stderr"}`
      : "off (DOCKER_CREDENTIAL_ACR_HELPER_LOG_LEVEL=debug and _LOG_FILE=PATH turn them on)",
  );

  // Endpoint
  try {
    const t = envTransport(env);
    line(
      "ok",
      "API endpoint",
      t.apiEndpoint
        ? `${t.apiEndpoint.protocol}://${t.apiEndpoint.host} (DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT)`
        : "per region: cr.<region>.aliyuncs.com (HTTPS)",
    );
  } catch (err) {
    line("FAIL", "API endpoint", message(err), "correct the variable as the message says");
  }

  if (server !== undefined) {
    const host = normalizeServer(server);
    let target: Target | null = null;
    try {
      target = host === null ? null : await io.helper.resolve(server);
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
    } else if (target === null) {
      line(
        "FAIL",
        "host",
        `${host} is not an ACR registry the helper knows; docker would pull anonymously`,
        `add it to the config file with its region (and instanceId): registries["${host}"]`,
      );
    } else {
      line("ok", "host", `${host}: ${describeTarget(target)}`);
    }
    if (target !== null && credentialsOk) {
      const started = performance.now();
      try {
        const creds = await io.uncachedHelper.token(server);
        const ms = Math.round(performance.now() - started);
        line(
          "ok",
          "token",
          `fetched in ${ms} ms as ${creds.Username}, valid until ${new Date(creds.expiresAt).toISOString()}`,
        );
      } catch (err) {
        line("FAIL", "token", message(err), hint(message(err)));
      }
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

function describeDir(dir: string): string {
  try {
    const st = Deno.lstatSync(dir);
    if (st.isSymlink) return "a symlink: not used";
    return st.isDirectory ? "present" : "not a directory: not used";
  } catch {
    return "created on the first token";
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function hint(msg: string): string | undefined {
  if (/SignatureDoesNotMatch|InvalidAccessKeyId/.test(msg)) return "check the access key id and secret";
  if (/Forbidden|NoPermission/.test(msg)) return "grant cr:GetAuthorizationToken (README#ram-permissions)";
  if (/did not answer|timed out|no answer/.test(msg)) return "check the network, HTTPS_PROXY / NO_PROXY";
  return undefined;
}
