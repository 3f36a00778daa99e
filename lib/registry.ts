/**
 * Registry host recognition: turns what docker, podman, nerdctl or
 * go-containerregistry put on stdin into a normalised host, and a host into
 * the ACR instance it belongs to. Knows domains and nothing else.
 *
 * @module
 */

/** Alibaba Cloud region id, e.g. `cn-hangzhou`, `cn-shanghai-finance-1`. */
export const REGION_PATTERN = "[a-z]{2}-[a-z0-9]+(?:-[a-z0-9]+)*";
const REGION_RE = new RegExp(`^${REGION_PATTERN}$`);

// Each pattern matches the whole lower-cased host (no port). Anchors matter:
// `registry.cn-hangzhou.aliyuncs.com.evil.com` must never match.
const PERSONAL_CLASSIC_RE = new RegExp(
  `^registry(-intl)?(-vpc|-internal)?\\.(${REGION_PATTERN})\\.aliyuncs\\.com$`,
);
const PERSONAL_INSTANCE_RE = new RegExp(
  `^(crpi-[a-z0-9]+)(-vpc)?\\.(${REGION_PATTERN})\\.personal\\.cr\\.aliyuncs\\.com$`,
);
const ENTERPRISE_NAME = "[a-z0-9][a-z0-9-]{1,28}[a-z0-9]";
const ENTERPRISE_RE = new RegExp(
  `^(${ENTERPRISE_NAME})-registry(-vpc)?\\.(${REGION_PATTERN})\\.cr\\.aliyuncs\\.com$`,
);
const ENTERPRISE_P2P_RE = new RegExp(
  `^(${ENTERPRISE_NAME})-registry-vpc\\.distributed\\.(${REGION_PATTERN})\\.cr\\.aliyuncs\\.com$`,
);
// Labels of a DNS name: letters, digits, hyphens, not starting or ending with a hyphen.
const HOSTNAME_RE = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
const SCHEME_RE = /^(?:https?|oci|docker):\/\//i;

/** A registry the helper can issue a token for. */
export type Registry =
  | {
    /** Personal Edition, classic domain: one token per region for the account. */
    kind: "personal";
    host: string;
    region: string;
    intl: boolean;
    network: "public" | "vpc" | "internal";
  }
  | {
    /** Personal Edition instance (crpi-...), launched in 2024. */
    kind: "personal-instance";
    host: string;
    region: string;
    instanceId: string;
    vpc: boolean;
  }
  | {
    /** Enterprise Edition, identified by instance name; the id is looked up. */
    kind: "enterprise";
    host: string;
    region: string;
    instanceName: string;
    vpc: boolean;
    p2p: boolean;
  }
  | {
    /** A host mapped by configuration (custom domain or override). */
    kind: "configured";
    host: string;
    region: string;
    /** Absent: a Personal Edition (classic) region token. */
    instanceId?: string;
  };

/**
 * Normalises a server string as credential-helper callers send it.
 *
 * Strips a scheme, path, query and a default `:443`; lower-cases. Returns
 * `null` for anything that cannot be a registry host of ours (userinfo,
 * bad port, IP literals, invalid names), so callers answer "not found".
 *
 * @example
 * ```ts
 * normalizeServer("https://Registry.CN-Hangzhou.aliyuncs.com/v2/") // "registry.cn-hangzhou.aliyuncs.com"
 * normalizeServer("foo-registry.cn-beijing.cr.aliyuncs.com:443/ns/app") // "foo-registry.cn-beijing.cr.aliyuncs.com"
 * ```
 */
export function normalizeServer(input: string): string | null {
  let s = input.trim();
  if (s === "" || s.length > 2048) return null;
  s = s.replace(SCHEME_RE, "");
  const end = s.search(/[/?#]/);
  const authority = end === -1 ? s : s.slice(0, end);
  // Userinfo would let `user@registry...` (or `registry...@evil`) pose as ours.
  if (authority.includes("@") || authority === "") return null;
  // Only ASCII before lower-casing: toLowerCase maps some non-ASCII letters to ASCII (the Kelvin sign K -> k),
  // which would turn a lookalike into one of our hosts. Found by tests/fuzz_test.ts.
  if (/[^\x21-\x7e]/.test(authority)) return null;
  const m = /^([^:]+)(?::(\d{1,5}))?$/.exec(authority.toLowerCase());
  if (!m) return null;
  const [, host, portText] = m;
  if (!HOSTNAME_RE.test(host)) return null;
  if (portText === undefined) return host;
  const port = Number(portText);
  if (port < 1 || port > 65535 || portText !== String(port)) return null;
  return port === 443 ? host : `${host}:${port}`;
}

/**
 * Recognises the built-in ACR domain forms of a normalised host.
 * Returns `null` for any other host (including lookalikes).
 *
 * @example
 * ```ts
 * parseAcrHost("foo-registry-vpc.cn-shanghai.cr.aliyuncs.com")
 * // { kind: "enterprise", instanceName: "foo", region: "cn-shanghai", vpc: true, p2p: false, ... }
 * ```
 */
export function parseAcrHost(normalizedHost: string): Registry | null {
  const [host, port] = splitPort(normalizedHost);
  let m = ENTERPRISE_P2P_RE.exec(host);
  // The P2P acceleration agent listens on its own local port; any port is fine.
  if (m) {
    return {
      kind: "enterprise",
      host: normalizedHost,
      region: m[2],
      instanceName: m[1],
      vpc: true,
      p2p: true,
    };
  }
  // Everything else is served on 443 only: another port is somebody else's service.
  if (port !== undefined) return null;
  m = PERSONAL_CLASSIC_RE.exec(host);
  if (m) {
    return {
      kind: "personal",
      host,
      region: m[3],
      intl: m[1] !== undefined,
      network: m[2] === "-vpc" ? "vpc" : m[2] === "-internal" ? "internal" : "public",
    };
  }
  m = PERSONAL_INSTANCE_RE.exec(host);
  if (m) {
    return { kind: "personal-instance", host, region: m[3], instanceId: m[1], vpc: m[2] !== undefined };
  }
  m = ENTERPRISE_RE.exec(host);
  if (m) {
    return {
      kind: "enterprise",
      host,
      region: m[3],
      instanceName: m[1],
      vpc: m[2] !== undefined,
      p2p: false,
    };
  }
  return null;
}

/** True when `region` has the shape of an Alibaba Cloud region id. */
export function isRegion(region: string): boolean {
  return REGION_RE.test(region);
}

function splitPort(host: string): [string, string | undefined] {
  const i = host.lastIndexOf(":");
  return i === -1 ? [host, undefined] : [host.slice(0, i), host.slice(i + 1)];
}
