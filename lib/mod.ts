/**
 * docker-credential-acr-helper as a library: temporary registry credentials
 * for Alibaba Cloud Container Registry (ACR), for Deno and TypeScript programs
 * that talk to registries themselves (the reference helper offers the same as
 * a Go package). Same credential chain, config file, cache and errors as the
 * `docker-credential-acr-helper get` command.
 *
 * @example
 * ```ts
 * import { getCredentials } from "@acr-helper/docker-credential-acr-helper";
 *
 * const creds = await getCredentials("registry.cn-hangzhou.aliyuncs.com");
 * if (creds) {
 *   const auth = btoa(`${creds.username}:${creds.password}`);
 *   await fetch("https://registry.cn-hangzhou.aliyuncs.com/v2/", { headers: { authorization: `Basic ${auth}` } });
 * }
 * ```
 *
 * @module
 */
import type { Env } from "./platform.ts";
import { createHelper } from "./helper.ts";
import { NullCache } from "./cache.ts";
import { isNotFound } from "./errors.ts";
import type { Logger } from "./log.ts";

export type { Env } from "./platform.ts";
export type { Registry } from "./registry.ts";
export { normalizeServer, parseAcrHost } from "./registry.ts";
export { HelperError } from "./errors.ts";
export type { Logger } from "./log.ts";

/** Temporary credentials for one registry. */
export interface RegistryCredentials {
  /** The server as given. */
  serverURL: string;
  /** The temporary user name (`cr_temp_user` for most instances). */
  username: string;
  /** The temporary password: a secret, valid until {@link RegistryCredentials.expiresAt}. */
  password: string;
  /** When the password stops working. */
  expiresAt: Date;
}

/** Options for {@link getCredentials}. */
export interface GetCredentialsOptions {
  /**
   * Environment the credential chain and settings are read from
   * (`ALIBABA_CLOUD_*`, `DOCKER_CREDENTIAL_ACR_HELPER_*`). Default: the
   * process environment (needs `--allow-env`).
   */
  env?: Env;
  /** Use the on-disk token cache shared with the CLI (default true). */
  cache?: boolean;
  /** Where debug/info lines go (redacted); default: the `DOCKER_CREDENTIAL_ACR_HELPER_LOG_*` settings. */
  log?: Logger;
}

/**
 * Temporary credentials for an ACR registry, or null when the server is not
 * an ACR registry the helper knows (Personal, Enterprise, VPC, internal,
 * international domains, and custom domains from the config file).
 *
 * Throws {@link HelperError} with a one-line, secret-free message when the
 * registry is ACR but no credentials can be had (no Alibaba Cloud
 * credentials, an API error with its code and request id, a timeout).
 *
 * Permissions: `--allow-env --allow-net --allow-read --allow-write --allow-sys=hostname,homedir`, and `--allow-run`
 * for an aliyun CLI `External` profile's command.
 */
export async function getCredentials(
  serverURL: string,
  options: GetCredentialsOptions = {},
): Promise<RegistryCredentials | null> {
  const helper = createHelper({
    env: options.env ?? Deno.env.toObject(),
    cache: options.cache === false ? new NullCache() : undefined,
    log: options.log,
    loadBackend: () => import("./backend.ts"),
  });
  try {
    const t = await helper.token(serverURL);
    return { serverURL: t.ServerURL, username: t.Username, password: t.Secret, expiresAt: new Date(t.expiresAt) };
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}
