/**
 * The helper's own subcommands (not part of docker's protocol):
 * `kubelet-credential-provider`, `configure-docker`, `doctor`. Loaded only
 * when one is asked for, so `get` never pays for them.
 *
 * @module
 */
import type { Env } from "./config.ts";
import { addCredHelpers, DockerConfigError, dockerConfigPath, onPath, writeDockerConfig } from "./docker_config.ts";
import { runDoctor } from "./doctor.ts";
import { podIdentitySelection, type Selection } from "./auth.ts";
import type { Helper } from "./helper.ts";
import {
  imageRegistry,
  KubeletRequestError,
  kubeletResponse,
  OIDC_PROVIDER_ANNOTATION,
  parseKubeletRequest,
  ROLE_ARN_ANNOTATION,
} from "./kubelet.ts";
import { HelperError, isNotFound } from "./protocol.ts";
import { normalizeServer } from "./registry.ts";
import { NAME } from "./version.ts";

/** The subcommands this module runs. */
export const COMMANDS = ["kubelet-credential-provider", "configure-docker", "doctor"] as const;

/** What a subcommand may touch. */
export interface CommandIO {
  env: Env;
  helper: Helper;
  /** A helper without the cache (doctor's round trip must be a real one). */
  uncachedHelper: Helper;
  /** `name version (commit)` */
  version: string;
  readStdin(): Promise<string>;
  /** stdout */
  out(text: string): void;
  /** stderr */
  err(text: string): void;
  now?: () => number;
}

/** Runs a subcommand; returns the exit code. */
export async function runCommand(name: string, args: string[], io: CommandIO): Promise<number> {
  switch (name) {
    case "kubelet-credential-provider":
      return await kubeletProvider(args, io);
    case "configure-docker":
      return await configureDocker(args, io);
    case "doctor":
      return await runDoctor(args, io);
    default:
      io.out(`unknown action: ${name}\n`);
      return 1;
  }
}

/**
 * Answers one CredentialProviderRequest. Every failure is one line on stderr
 * (the kubelet logs it) and nothing on stdout, exit 1.
 */
async function kubeletProvider(args: string[], io: CommandIO): Promise<number> {
  const fail = (message: string) => {
    io.err(`${NAME}: ${message}\n`);
    return 1;
  };
  if (args.length > 0) return fail(`kubelet-credential-provider takes no arguments (got ${args.join(" ")})`);
  try {
    const request = parseKubeletRequest(await io.readStdin());
    const registry = imageRegistry(request.image);
    if (normalizeServer(registry) === null || (await io.helper.resolve(registry)) === null) {
      return fail(`image ${request.image}: ${registry} is not an ACR registry this helper knows`);
    }
    const selection = podSelection(request, io.env);
    const creds = await io.helper.token(registry, { selection });
    const now = (io.now ?? Date.now)();
    io.out(
      kubeletResponse(request, registry, { username: creds.Username, password: creds.Secret, ...creds }, now) + "\n",
    );
    return 0;
  } catch (err) {
    if (isNotFound(err)) return fail("the image's registry is not an ACR registry this helper knows");
    if (err instanceof KubeletRequestError || err instanceof HelperError) return fail(err.message);
    return fail("unexpected error; rerun with DOCKER_CREDENTIAL_ACR_HELPER_LOG_LEVEL=debug for details");
  }
}

/**
 * The pod's own RAM role when the kubelet passed its service account token
 * and the account is annotated with a role; otherwise the node's chain.
 */
function podSelection(
  request: ReturnType<typeof parseKubeletRequest>,
  env: Env,
): Selection | undefined {
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

/** `configure-docker [--registry HOST]... [--dry-run]` */
async function configureDocker(args: string[], io: CommandIO): Promise<number> {
  const fail = (message: string) => {
    io.err(`${NAME} configure-docker: ${message}\n`);
    return 1;
  };
  let values: { registry?: string[]; "dry-run"?: boolean };
  // Imported here: a node: module at the top would start Deno's Node layer in the bundle on every run, hits included.
  const { parseArgs } = await import("node:util");
  try {
    ({ values } = parseArgs({
      args,
      options: { registry: { type: "string", multiple: true }, "dry-run": { type: "boolean" } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    return fail(
      `${err instanceof Error ? err.message : err}; usage: configure-docker [--registry HOST]... [--dry-run]`,
    );
  }
  const hosts: string[] = [];
  for (const r of values.registry ?? []) {
    const host = normalizeServer(r);
    if (host === null) return fail(`"${r}" is not a registry host`);
    try {
      if ((await io.helper.resolve(host)) === null) {
        return fail(`${host} is not an ACR registry this helper knows; add it to the helper's config file first`);
      }
    } catch (err) {
      return fail(err instanceof Error ? err.message : String(err));
    }
    if (!hosts.includes(host)) hosts.push(host);
  }
  if (hosts.length === 0) {
    return fail("name the registries to configure: --registry HOST (for example registry.cn-hangzhou.aliyuncs.com)");
  }
  const path = dockerConfigPath(io.env);
  if (path === null) return fail("no HOME and no DOCKER_CONFIG: cannot find docker's config.json");
  let existing: string | null = null;
  try {
    existing = Deno.readTextFileSync(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) return fail(`cannot read ${path} (${(err as Error).name})`);
  }
  let edit;
  try {
    edit = addCredHelpers(existing, hosts, path);
  } catch (err) {
    if (err instanceof DockerConfigError) return fail(err.message);
    throw err;
  }
  if (!onPath(io.env, exists)) {
    io.err(`warning: ${NAME} is not on PATH; docker will not find it until it is\n`);
  }
  if (values["dry-run"]) {
    io.out(`# ${path} would become (dry run, nothing written):\n${edit.text}`);
    return 0;
  }
  if (edit.changed.length === 0) {
    io.out(`${path} already uses ${NAME} for ${hosts.join(", ")}; nothing changed\n`);
    return 0;
  }
  try {
    const { backup } = writeDockerConfig(path, edit.text);
    io.out(
      `${path}: credHelpers set to acr-helper for ${edit.changed.join(", ")}${
        backup ? ` (previous file: ${backup})` : ""
      }\n`,
    );
    return 0;
  } catch (err) {
    return fail(`cannot write ${path} (${(err as Error).name}); nothing was changed`);
  }
}

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}
