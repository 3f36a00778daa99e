/**
 * Turns a selected credential source into an `@alicloud/credentials`
 * provider. Only the miss path loads this module (through lib/backend.ts):
 * the library is CommonJS from npm and costs tens of ms to load.
 *
 * @module
 */
import * as credentialsNs from "@alicloud/credentials";
import {
  type AuthOptions,
  type ClientCredential,
  type CredentialPlan,
  type ResolvedCredentials,
  selectCredentialSource,
  type Selection,
} from "./auth.ts";
import { isTransient } from "./errors.ts";
import { retrying } from "./retry.ts";
import { runProcessCommand } from "./external_process.ts";
import { assumeRoleWithOIDC } from "./sts.ts";
import { lastResponse } from "./transport.ts";

const DEFAULT_STS_ENDPOINT = "sts.aliyuncs.com";
const sessionName = () => `docker-credential-acr-helper-${Date.now()}`;

/** Builds the credential for a selection (loads `@alicloud/credentials`). */
export function buildCredential(
  selection: Selection,
  opts: BuildOptions,
): ClientCredential {
  const { plan } = selection;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  if (plan.type === "oidc-token") {
    // The library reads OIDC tokens from files only; this one is in memory (lib/sts.ts).
    const exchange = () =>
      assumeRoleWithOIDC({
        endpoint: opts.stsEndpoint ?? DEFAULT_STS_ENDPOINT,
        roleArn: plan.roleArn,
        providerArn: plan.providerArn,
        token: plan.token,
        sessionName: sessionName(),
        timeoutMs: Math.max(1, deadline - Date.now()),
      });
    return { getCredential: once(() => retrying(exchange, { deadline })) };
  }
  const lib = library();
  const Credential = lib.default;
  const credential = new Credential(null, buildProvider(lib, plan, opts)) as ClientCredential;
  // A static key needs no retry; a process_command that failed is not run again.
  if (plan.type === "static" || plan.type === "external") return credential;
  // Providers that call STS or a credentials service: retry what was busy or unreachable, within the deadline.
  return {
    getCredential: () => retrying(() => credential.getCredential(), { deadline, retryable: stsBusy }),
  };
}

/** A credential exchange shared by every caller of one get, but a failure is never kept for the next. */
function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () =>
    pending ??= fn().catch((err) => {
      pending = undefined;
      throw err;
    });
}

/** The library's STS errors lose the HTTP status of a non-JSON answer; the transport's note keeps it. */
function stsBusy(err: unknown): boolean {
  if (isTransient(err)) return true;
  const note = lastResponse();
  return note !== null && (note.status === 429 || note.status >= 500);
}

// deno-lint-ignore no-explicit-any -- CJS interop: the library's builder and provider types are not exported.
type Lib = any;

function library(): Lib {
  // CJS interop: `default` is module.exports; its `default` is the Credential class.
  return (credentialsNs as Lib).default ?? credentialsNs;
}

/** Options for {@link buildCredential}. */
export interface BuildOptions extends Pick<AuthOptions, "stsEndpoint"> {
  /** Bound on the credential exchange, ms. */
  timeoutMs?: number;
  /** The STS endpoint was named by DOCKER_CREDENTIAL_ACR_HELPER_STS_ENDPOINT: it beats a CLI profile's own. */
  stsForced?: boolean;
}

/** The STS endpoint for one plan: ours when forced, else the CLI profile's own, else ours. */
function stsFor(plan: { stsEndpoint?: string }, opts: BuildOptions): string | undefined {
  return opts.stsForced ? opts.stsEndpoint : plan.stsEndpoint ?? opts.stsEndpoint;
}

// deno-lint-ignore no-explicit-any -- a library provider (its interface is not exported).
function buildProvider(lib: Lib, plan: CredentialPlan, opts: BuildOptions): any {
  switch (plan.type) {
    case "oidc": {
      const b = lib.OIDCRoleArnCredentialsProvider.builder()
        .withRoleArn(plan.roleArn)
        .withOIDCProviderArn(plan.providerArn)
        .withOIDCTokenFilePath(plan.tokenFile)
        .withRoleSessionName(plan.sessionName ?? sessionName());
      const sts = stsFor(plan, opts);
      if (sts) b.withStsEndpoint(sts);
      return b.build();
    }
    case "static":
      return plan.securityToken
        ? lib.StaticSTSCredentialsProvider.builder().withAccessKeyId(plan.accessKeyId)
          .withAccessKeySecret(plan.accessKeySecret).withSecurityToken(plan.securityToken).build()
        : lib.StaticAKCredentialsProvider.builder().withAccessKeyId(plan.accessKeyId)
          .withAccessKeySecret(plan.accessKeySecret).build();
    case "ram-role-arn": {
      const previous = lib.StaticAKCredentialsProvider.builder().withAccessKeyId(plan.accessKeyId)
        .withAccessKeySecret(plan.accessKeySecret).build();
      const b = lib.RAMRoleARNCredentialsProvider.builder().withCredentialsProvider(previous)
        .withRoleArn(plan.roleArn)
        .withRoleSessionName(plan.sessionName ?? sessionName());
      if (plan.policy) b.withPolicy(plan.policy);
      const sts = stsFor(plan, opts);
      if (sts) b.withStsEndpoint(sts);
      return b.build();
    }
    case "assume-role": {
      const b = lib.RAMRoleARNCredentialsProvider.builder()
        .withCredentialsProvider(buildProvider(lib, plan.base, opts))
        .withRoleArn(plan.roleArn)
        .withRoleSessionName(plan.sessionName ?? sessionName());
      const sts = stsFor(plan, opts);
      if (sts) b.withStsEndpoint(sts);
      return b.build();
    }
    case "ecs": {
      const b = lib.ECSRAMRoleCredentialsProvider.builder();
      if (plan.roleName) b.withRoleName(plan.roleName);
      // A background refresh timer would keep a one-shot process alive.
      b.withAsyncCredentialUpdateEnabled(false);
      return b.build();
    }
    case "external": {
      // Ours, not the library's: bounded, its output never shown, run once per process (lib/external_process.ts).
      const run = once(() => runProcessCommand({ profile: plan.profile, command: plan.command, file: plan.file }));
      // The library's role providers name their source in a header: providerName must be set.
      return {
        getProviderName: () => "external",
        getCredentials: async () => ({ ...(await run()), providerName: "external" }),
      };
    }
    case "cli":
      return lib.CLIProfileCredentialsProvider.builder().withProfileName(plan.profile).build();
    case "uri":
      return lib.URICredentialsProvider.builder().withCredentialsURI(plan.uri).build();
    case "oidc-token":
      throw new Error("a pod's OIDC token cannot be the base of another role");
    case "github-oidc":
      throw new Error("a GitHub ID token is fetched before the credential is built (lib/helper.ts)");
  }
}

/** Selects a source and builds its credential. */
export async function resolveCredentials(opts: AuthOptions): Promise<ResolvedCredentials> {
  const selection = await selectCredentialSource(opts);
  return { source: selection.source, credential: buildCredential(selection, opts) };
}
