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
  type ResolvedCredentials,
  selectCredentialSource,
  type Selection,
} from "./auth.ts";

/** Builds the library provider for a selection (loads `@alicloud/credentials`). */
export function buildCredential(
  selection: Selection,
  opts: Pick<AuthOptions, "stsEndpoint">,
): ClientCredential {
  // CJS interop: `default` is module.exports; its `default` is the Credential class.
  const lib = credentialsNs.default ?? credentialsNs;
  const { plan } = selection;
  // deno-lint-ignore no-explicit-any -- the library's builder types are not exported.
  let provider: any;
  switch (plan.type) {
    case "oidc": {
      const b = lib.OIDCRoleArnCredentialsProvider.builder()
        .withRoleArn(plan.roleArn)
        .withOIDCProviderArn(plan.providerArn)
        .withOIDCTokenFilePath(plan.tokenFile)
        .withRoleSessionName(plan.sessionName ?? `docker-credential-acr-helper-${Date.now()}`);
      if (opts.stsEndpoint) b.withStsEndpoint(opts.stsEndpoint);
      provider = b.build();
      break;
    }
    case "static":
      provider = plan.securityToken
        ? lib.StaticSTSCredentialsProvider.builder().withAccessKeyId(plan.accessKeyId)
          .withAccessKeySecret(plan.accessKeySecret).withSecurityToken(plan.securityToken).build()
        : lib.StaticAKCredentialsProvider.builder().withAccessKeyId(plan.accessKeyId)
          .withAccessKeySecret(plan.accessKeySecret).build();
      break;
    case "ram-role-arn": {
      const previous = lib.StaticAKCredentialsProvider.builder().withAccessKeyId(plan.accessKeyId)
        .withAccessKeySecret(plan.accessKeySecret).build();
      const b = lib.RAMRoleARNCredentialsProvider.builder().withCredentialsProvider(previous)
        .withRoleArn(plan.roleArn)
        .withRoleSessionName(plan.sessionName ?? `docker-credential-acr-helper-${Date.now()}`);
      if (plan.policy) b.withPolicy(plan.policy);
      if (opts.stsEndpoint) b.withStsEndpoint(opts.stsEndpoint);
      provider = b.build();
      break;
    }
    case "ecs": {
      const b = lib.ECSRAMRoleCredentialsProvider.builder();
      if (plan.roleName) b.withRoleName(plan.roleName);
      // A background refresh timer would keep a one-shot process alive.
      b.withAsyncCredentialUpdateEnabled(false);
      provider = b.build();
      break;
    }
    case "cli":
      provider = lib.CLIProfileCredentialsProvider.builder().withProfileName(plan.profile).build();
      break;
  }
  const Credential = lib.default;
  return new Credential(null, provider) as ClientCredential;
}

/** Selects a source and builds its credential. */
export async function resolveCredentials(opts: AuthOptions): Promise<ResolvedCredentials> {
  const selection = await selectCredentialSource(opts);
  return { source: selection.source, credential: buildCredential(selection, opts) };
}
