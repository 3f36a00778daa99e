/**
 * The kubelet credential provider protocol
 * (`credentialprovider.kubelet.k8s.io` v1, v1beta1, v1alpha1): a
 * CredentialProviderRequest on stdin, a CredentialProviderResponse on stdout.
 * Pure parsing and formatting; the helper fetches the token.
 *
 * @module
 */
import { markUserFacing } from "./errors.ts";

/** The apiVersions the kubelet may speak; the answer uses the request's. */
export const KUBELET_API_VERSIONS = [
  "credentialprovider.kubelet.k8s.io/v1",
  "credentialprovider.kubelet.k8s.io/v1beta1",
  "credentialprovider.kubelet.k8s.io/v1alpha1",
] as const;

/** Service-account annotation naming the RAM role a pod pulls as (per-pod identity). */
export const ROLE_ARN_ANNOTATION = "docker-credential-acr-helper/role-arn";
/** Service-account annotation naming the RRSA OIDC provider (else `ALIBABA_CLOUD_OIDC_PROVIDER_ARN`). */
export const OIDC_PROVIDER_ANNOTATION = "docker-credential-acr-helper/oidc-provider-arn";

/** A parsed CredentialProviderRequest. */
export interface KubeletRequest {
  apiVersion: (typeof KUBELET_API_VERSIONS)[number];
  image: string;
  /** The pod's service account token (kubelet 1.33+ with tokenAttributes). */
  serviceAccountToken?: string;
  serviceAccountAnnotations: Record<string, string>;
}

/** A request the provider cannot answer; the message is one line for the kubelet's log. */
export class KubeletRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KubeletRequestError";
    markUserFacing(this, "kubelet-request");
  }
}

/** Parses and checks the request text. */
export function parseKubeletRequest(text: string): KubeletRequest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new KubeletRequestError("stdin is not a JSON CredentialProviderRequest");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new KubeletRequestError("stdin is not a JSON CredentialProviderRequest");
  }
  const v = value as Record<string, unknown>;
  if (v.kind !== "CredentialProviderRequest") {
    throw new KubeletRequestError(`kind must be CredentialProviderRequest, not ${JSON.stringify(v.kind ?? null)}`);
  }
  const apiVersion = KUBELET_API_VERSIONS.find((a) => a === v.apiVersion);
  if (!apiVersion) {
    throw new KubeletRequestError(
      `apiVersion ${JSON.stringify(v.apiVersion ?? null)} is not supported (${KUBELET_API_VERSIONS.join(", ")})`,
    );
  }
  if (typeof v.image !== "string" || v.image.trim() === "") {
    throw new KubeletRequestError("the request has no image");
  }
  const token = typeof v.serviceAccountToken === "string" && v.serviceAccountToken !== ""
    ? v.serviceAccountToken
    : undefined;
  const annotations: Record<string, string> = {};
  const raw = v.serviceAccountAnnotations;
  if (typeof raw === "object" && raw !== null && !Array.isArray(raw)) {
    for (const [k, a] of Object.entries(raw)) if (typeof a === "string") annotations[k] = a;
  }
  return { apiVersion, image: v.image.trim(), serviceAccountToken: token, serviceAccountAnnotations: annotations };
}

/**
 * The registry part of an image reference, port included, as the kubelet keys
 * its cache: the first path component when it looks like a host (has a dot or
 * a port, or is localhost); otherwise the image is on Docker Hub.
 */
export function imageRegistry(image: string): string {
  const slash = image.indexOf("/");
  if (slash <= 0) return "docker.io";
  const first = image.slice(0, slash);
  if (first.includes(".") || first.includes(":") || first === "localhost") return first.toLowerCase();
  return "docker.io";
}

/** A duration as Go's `time.Duration.String()` writes whole seconds: `1h0m0s`, `29m59s`, `45s`, `0s`. */
export function goDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

/**
 * The CredentialProviderResponse: only the fields the kubelet's strict
 * decoder knows. `cacheDuration` is half the token's remaining lifetime, so the
 * kubelet asks again well before the password expires.
 */
export function kubeletResponse(
  request: Pick<KubeletRequest, "apiVersion">,
  registry: string,
  credentials: { username: string; password: string; expiresAt: number },
  now: number,
): string {
  return JSON.stringify({
    apiVersion: request.apiVersion,
    kind: "CredentialProviderResponse",
    cacheKeyType: "Registry",
    cacheDuration: goDuration((credentials.expiresAt - now) / 2),
    auth: { [registry]: { username: credentials.username, password: credentials.password } },
  });
}
