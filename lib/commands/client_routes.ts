/**
 * Whether docker and podman will ask this helper for a host at all: their own
 * files, read in their own order. Docker: `$DOCKER_CONFIG/config.json` (else
 * `~/.docker/config.json`; a relative DOCKER_CONFIG is relative to the working
 * directory, as docker takes it), `credHelpers[host]`, else `credsStore`, else
 * `auths`. Podman, skopeo and buildah: `$REGISTRY_AUTH_FILE`, else
 * `$XDG_RUNTIME_DIR/containers/auth.json`, then
 * `$XDG_CONFIG_HOME/containers/auth.json` (`~/.config`), then docker's file;
 * the first file with an entry for the host decides. XDG variables that are
 * not absolute paths are ignored, as the XDG spec says.
 *
 * @module
 */
import { type Env, homeOf, type Os } from "../platform.ts";
import { CRED_HELPER_NAME, dockerConfigPath, dockerKey } from "../docker_config.ts";

/** One client's answer for a host. */
export interface ClientRoute {
  status: "ok" | "warn";
  text: string;
  fix?: string;
}

/** Reads a file; null when absent. */
export type ReadFile = (path: string) => string | null;

interface AuthFile {
  credHelpers?: Record<string, unknown>;
  credsStore?: unknown;
  auths?: Record<string, unknown>;
}

function parse(text: string): AuthFile | null {
  try {
    const v = JSON.parse(text);
    return v && typeof v === "object" && !Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}

function obj(v: unknown): Record<string, unknown> {
  return v && typeof v === "object" && !Array.isArray(v) ? v as Record<string, unknown> : {};
}

/** An `auths` entry for the host (keys may carry a scheme or a path, as older docker wrote them). */
function hasAuths(file: AuthFile, key: string): boolean {
  return Object.keys(obj(file.auths)).some((k) => dockerKey(k) === key);
}

/**
 * The answer when a file names a helper for the key (`where`: "credHelpers in PATH"); null when it names none (an
 * empty name is none: docker and podman then look further, as they do).
 */
function namedHelper(helper: unknown, key: string, where: string, fix: string): ClientRoute | null {
  if (helper === CRED_HELPER_NAME) return { status: "ok", text: `asks this helper for ${key} (${where})` };
  if (typeof helper !== "string" || helper === "") return null;
  return { status: "warn", text: `asks docker-credential-${helper} for ${key} (${where}), not this helper`, fix };
}

const configureFix = (host: string) => `docker-credential-acr-helper configure-docker --registry ${host}`;

/**
 * What docker does for `host`.
 *
 * @example
 * ```ts
 * dockerRoute("registry.cn-hangzhou.aliyuncs.com", { HOME: "/h" }, (p) => null) // warn: no config.json
 * ```
 */
export function dockerRoute(host: string, env: Env, read: ReadFile, os: Os = Deno.build.os): ClientRoute {
  const key = dockerKey(host);
  const path = dockerConfigPath(env, os);
  if (path === null) return { status: "warn", text: "no HOME and no DOCKER_CONFIG: docker has no config" };
  const text = read(path);
  if (text === null) {
    return {
      status: "warn",
      text: `${path} does not exist: docker will not ask this helper for ${key}`,
      fix: configureFix(key),
    };
  }
  const file = parse(text);
  if (file === null) return { status: "warn", text: `${path} is not a JSON object: docker cannot use it` };
  const chosen = namedHelper(obj(file.credHelpers)[key], key, `credHelpers in ${path}`, configureFix(key)) ??
    namedHelper(file.credsStore, key, `credsStore in ${path}`, configureFix(key));
  if (chosen) return chosen;
  if (hasAuths(file, key)) {
    return {
      status: "warn",
      text: `uses the password stored for ${key} in "auths" of ${path}, not this helper`,
      fix: `docker logout ${key}, then ${configureFix(key)}`,
    };
  }
  return {
    status: "warn",
    text: `${path} names no helper for ${key}: docker will pull anonymously`,
    fix: configureFix(key),
  };
}

/** Podman's auth files, in the order it reads them. */
export function podmanFiles(env: Env, os: Os = Deno.build.os): string[] {
  const abs = (p: string | undefined) => (p && (p.startsWith("/") || /^[A-Za-z]:[\\/]/.test(p)) ? p : undefined);
  const files: string[] = [];
  const runtime = abs(env.XDG_RUNTIME_DIR);
  if (env.REGISTRY_AUTH_FILE) files.push(env.REGISTRY_AUTH_FILE);
  else if (runtime) files.push(`${runtime}/containers/auth.json`);
  const config = abs(env.XDG_CONFIG_HOME) ?? homeOf(env, ".config", os);
  if (config) files.push(`${config}/containers/auth.json`);
  const docker = dockerConfigPath(env, os);
  if (docker) files.push(docker);
  return files;
}

/**
 * What podman (skopeo, buildah) does for `host`; null when the user has none of podman's own files (then it
 * reads docker's, and the docker line says it).
 */
export function podmanRoute(host: string, env: Env, read: ReadFile, os: Os = Deno.build.os): ClientRoute | null {
  const key = dockerKey(host);
  const files = podmanFiles(env, os);
  const own = files.slice(0, -1).filter((f) => read(f) !== null);
  if (own.length === 0 && !env.REGISTRY_AUTH_FILE) return null;
  for (const path of files) {
    const text = read(path);
    const file = text === null ? null : parse(text);
    if (file === null) continue;
    const fix = `set credHelpers["${key}"] to "${CRED_HELPER_NAME}" in ${path}`;
    const chosen = namedHelper(obj(file.credHelpers)[key], key, `credHelpers in ${path}`, fix);
    if (chosen) return chosen;
    if (hasAuths(file, key)) {
      return {
        status: "warn",
        text:
          `podman uses the password stored for ${key} in "auths" of ${path}; it wins over any helper in a later file`,
        fix: `podman logout ${key}${path === files.at(-1) ? "" : ` (or remove the entry from ${path})`}`,
      };
    }
  }
  return {
    status: "warn",
    text: `no podman auth file names a helper for ${key} (${files.join(", ")}): podman will pull anonymously`,
    fix: `${configureFix(key)} (podman reads docker's config.json too)`,
  };
}
