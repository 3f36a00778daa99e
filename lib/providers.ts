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
import { assumeRoleWithOIDC } from "./sts.ts";

const DEFAULT_STS_ENDPOINT = "sts.aliyuncs.com";
const sessionName = () => `docker-credential-acr-helper-${Date.now()}`;

/** Builds the credential for a selection (loads `@alicloud/credentials`). */
export function buildCredential(
  selection: Selection,
  opts: Pick<AuthOptions, "stsEndpoint"> & { timeoutMs?: number },
): ClientCredential {
  const { plan } = selection;
  if (plan.type === "oidc-token") {
    // The library reads OIDC tokens from files only; this one is in memory (lib/sts.ts).
    let got: Promise<{ accessKeyId: string; accessKeySecret: string; securityToken: string }> | undefined;
    return {
      getCredential: () =>
        got ??= assumeRoleWithOIDC({
          endpoint: opts.stsEndpoint ?? DEFAULT_STS_ENDPOINT,
          roleArn: plan.roleArn,
          providerArn: plan.providerArn,
          token: plan.token,
          sessionName: sessionName(),
          timeoutMs: opts.timeoutMs ?? 10_000,
        }),
    };
  }
  const lib = library();
  const Credential = lib.default;
  return new Credential(null, buildProvider(lib, plan, opts)) as ClientCredential;
}

// deno-lint-ignore no-explicit-any -- CJS interop: the library's builder and provider types are not exported.
type Lib = any;

function library(): Lib {
  // CJS interop: `default` is module.exports; its `default` is the Credential class.
  return (credentialsNs as Lib).default ?? credentialsNs;
}

// deno-lint-ignore no-explicit-any -- a library provider (its interface is not exported).
function buildProvider(lib: Lib, plan: CredentialPlan, opts: Pick<AuthOptions, "stsEndpoint">): any {
  switch (plan.type) {
    case "oidc": {
      const b = lib.OIDCRoleArnCredentialsProvider.builder()
        .withRoleArn(plan.roleArn)
        .withOIDCProviderArn(plan.providerArn)
        .withOIDCTokenFilePath(plan.tokenFile)
        .withRoleSessionName(plan.sessionName ?? sessionName());
      if (opts.stsEndpoint) b.withStsEndpoint(opts.stsEndpoint);
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
      if (opts.stsEndpoint) b.withStsEndpoint(opts.stsEndpoint);
      return b.build();
    }
    case "assume-role": {
      const b = lib.RAMRoleARNCredentialsProvider.builder()
        .withCredentialsProvider(buildProvider(lib, plan.base, opts))
        .withRoleArn(plan.roleArn)
        .withRoleSessionName(sessionName());
      if (opts.stsEndpoint) b.withStsEndpoint(opts.stsEndpoint);
      return b.build();
    }
    case "ecs": {
      const b = lib.ECSRAMRoleCredentialsProvider.builder();
      if (plan.roleName) b.withRoleName(plan.roleName);
      // A background refresh timer would keep a one-shot process alive.
      b.withAsyncCredentialUpdateEnabled(false);
      return b.build();
    }
    case "cli":
      return lib.CLIProfileCredentialsProvider.builder().withProfileName(plan.profile).build();
    case "uri":
      return lib.URICredentialsProvider.builder().withCredentialsURI(plan.uri).build();
    case "oidc-token":
      throw new Error("a pod's OIDC token cannot be the base of another role");
  }
}

/** Selects a source and builds its credential. */
export async function resolveCredentials(opts: AuthOptions): Promise<ResolvedCredentials> {
  const selection = await selectCredentialSource(opts);
  return { source: selection.source, credential: buildCredential(selection, opts) };
}
