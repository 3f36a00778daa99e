/**
 * `kubelet-credential-provider`: one CredentialProviderRequest on stdin, one
 * CredentialProviderResponse on stdout. With a service account token and a
 * role annotation, the pod pulls as its own RAM role; the helper proves the
 * token with STS before any cached password of that role is handed out.
 *
 * @module
 */
import { podIdentitySelection, type Selection } from "../auth.ts";
import type { Env } from "../platform.ts";
import {
  imageRegistry,
  type KubeletRequest,
  KubeletRequestError,
  kubeletResponse,
  OIDC_PROVIDER_ANNOTATION,
  parseKubeletRequest,
  ROLE_ARN_ANNOTATION,
} from "../kubelet.ts";
import { describeUnexpected } from "../protocol.ts";
import { isNotFound } from "../errors.ts";
import { isUserFacing } from "../errors.ts";
import { NAME } from "../version.ts";
import type { CommandIO } from "./io.ts";

/**
 * Answers one CredentialProviderRequest. Every failure is one line on stderr
 * (the kubelet logs it) and nothing on stdout, exit 1.
 */
export async function kubeletProvider(args: string[], io: CommandIO): Promise<number> {
  const fail = (message: string) => {
    io.err(`${NAME}: ${message}\n`);
    return 1;
  };
  if (args.length > 0) return fail(`kubelet-credential-provider takes no arguments (got ${args.join(" ")})`);
  try {
    const request = parseKubeletRequest(await io.readStdin());
    const registry = imageRegistry(request.image);
    const plan = await io.helper.plan(registry);
    if (plan === null) return fail(`image ${request.image}: ${registry} is not an ACR registry this helper knows`);
    const selection = podSelection(request, io.env);
    const creds = await io.helper.token(plan, { selection });
    const now = (io.now ?? Date.now)();
    io.out(
      kubeletResponse(request, registry, { username: creds.Username, password: creds.Secret, ...creds }, now) + "\n",
    );
    return 0;
  } catch (err) {
    if (isNotFound(err)) return fail("the image's registry is not an ACR registry this helper knows");
    // By mark, not class: in the bundle this module and the helper's errors come from two files.
    if (isUserFacing(err)) return fail(err.message);
    io.log?.debug(describeUnexpected(err));
    return fail("unexpected error; rerun with DOCKER_CREDENTIAL_ACR_HELPER_LOG_LEVEL=debug for details");
  }
}

/**
 * The pod's own RAM role when the kubelet passed its service account token
 * and the account is annotated with a role; otherwise the node's chain.
 */
function podSelection(request: KubeletRequest, env: Env): Selection | undefined {
  const roleArn = request.serviceAccountAnnotations[ROLE_ARN_ANNOTATION]?.trim();
  if (!roleArn) return undefined;
  if (!request.serviceAccountToken) {
    throw new KubeletRequestError(
      `the service account names a role (${ROLE_ARN_ANNOTATION}) but the kubelet sent no service account token; ` +
        "set tokenAttributes in the CredentialProviderConfig (docs/kubelet.md)",
    );
  }
  if (!/^acs:ram::\d+:role\/.+$/.test(roleArn)) {
    throw new KubeletRequestError(`annotation ${ROLE_ARN_ANNOTATION} is not a role ARN: ${roleArn}`);
  }
  const providerArn = request.serviceAccountAnnotations[OIDC_PROVIDER_ANNOTATION]?.trim() ||
    env.ALIBABA_CLOUD_OIDC_PROVIDER_ARN?.trim();
  if (!providerArn) {
    throw new KubeletRequestError(
      `no OIDC provider ARN: annotate the service account with ${OIDC_PROVIDER_ANNOTATION} ` +
        "or set ALIBABA_CLOUD_OIDC_PROVIDER_ARN for the provider",
    );
  }
  return podIdentitySelection({ roleArn, providerArn, token: request.serviceAccountToken });
}
