/**
 * Where things are on this machine, and how an environment flag reads: the
 * environment type, the home directory, the config file's and the cache's
 * paths. Pure functions of the environment and the OS name.
 *
 * @module
 */

/** Environment variables, as `Deno.env.toObject()` returns them. */
export type Env = Readonly<Record<string, string | undefined>>;

/** The operating systems whose conventions differ here (`Deno.build.os` values). */
export type Os = typeof Deno.build.os;

/**
 * Whether a boolean variable is on: its value, trimmed, is `true` in any case. This is the rule of Alibaba Cloud's
 * SDKs (credentials-go and the Node SDK compare with "true" after lowercasing) and it is used for the helper's own
 * flags too, so one variable never reads differently from the next. Anything else (`1`, `yes`) is off: doctor
 * names such a value (see {@link flagValueNotBoolean}).
 */
export function envFlag(env: Env, name: string): boolean {
  return env[name]?.trim().toLowerCase() === "true";
}

/** For doctor: why a set boolean variable will read as off although it looks meant as on, else null. */
export function flagValueNotBoolean(env: Env, name: string): string | null {
  const v = env[name]?.trim();
  if (!v || /^(true|false)$/i.test(v)) return null;
  return `${name}=${JSON.stringify(v)} reads as false: only "true" turns it on`;
}

/**
 * Path of the config file: `DOCKER_CREDENTIAL_ACR_HELPER_CONFIG`, else on
 * Windows `%APPDATA%\docker-credential-acr-helper\config.json`, elsewhere
 * `$XDG_CONFIG_HOME/docker-credential-acr-helper/config.json`, else
 * `~/.config/docker-credential-acr-helper/config.json`. `explicit` tells
 * whether the user named it (then it must exist).
 */
export function configPath(env: Env, os: Os = Deno.build.os): { path: string | null; explicit: boolean } {
  const named = env.DOCKER_CREDENTIAL_ACR_HELPER_CONFIG;
  if (named) return { path: named, explicit: true };
  const base = os === "windows"
    ? env.APPDATA || homeOf(env, "AppData/Roaming", os)
    : xdgDir(env.XDG_CONFIG_HOME) ?? homeOf(env, ".config", os);
  return { path: base ? `${base}/docker-credential-acr-helper/config.json` : null, explicit: false };
}

/**
 * The cache directory: `DOCKER_CREDENTIAL_ACR_HELPER_CACHE_DIR`, else on
 * Windows `%LOCALAPPDATA%\docker-credential-acr-helper` (in the user's
 * profile), elsewhere `$XDG_CACHE_HOME/docker-credential-acr-helper`, else
 * `~/.cache/docker-credential-acr-helper`; null when disabled or no home.
 */
export function cacheDir(env: Env, os: Os = Deno.build.os): string | null {
  if (envFlag(env, "DOCKER_CREDENTIAL_ACR_HELPER_DISABLE_CACHE")) return null;
  if (env.DOCKER_CREDENTIAL_ACR_HELPER_CACHE_DIR) return env.DOCKER_CREDENTIAL_ACR_HELPER_CACHE_DIR;
  const base = os === "windows"
    ? env.LOCALAPPDATA || homeOf(env, "AppData/Local", os)
    : xdgDir(env.XDG_CACHE_HOME) ?? homeOf(env, ".cache", os);
  return base ? `${base}/docker-credential-acr-helper` : null;
}

/** An XDG base directory variable's value, or null when unset or relative (the XDG spec says to ignore those). */
export function xdgDir(value: string | undefined): string | null {
  return value && value.startsWith("/") ? value : null;
}

/** The user's home directory from the environment, joined with `sub`. */
export function homeOf(env: Env, sub: string, os: Os = Deno.build.os): string | null {
  const home = homeDir(env, os);
  return home ? `${home}/${sub}` : null;
}

/**
 * The user's home directory: `%USERPROFILE%` on Windows (docker's, Go's and
 * the SDK's `os.homedir()` rule: Git Bash's `HOME` is not where docker reads
 * its config), `$HOME` elsewhere; null when unset.
 */
export function homeDir(env: Env, os: Os = Deno.build.os): string | null {
  return (os === "windows" ? env.USERPROFILE || env.HOME : env.HOME) || null;
}

/**
 * Our uid when the process may ask for it (the release's `--allow-sys=uid`): one cheap call instead of a probe
 * file. Null when it is not granted. Called only where stdin is not a terminal, so an install without the flag is
 * denied, never prompted.
 */
export function grantedUid(): number | null {
  try {
    return Deno.uid();
  } catch {
    return null;
  }
}
