/**
 * docker-credential-acr-helper: argv -> action; exit codes; nothing else.
 *
 * @module
 */
import { type Action, describeUnexpected, handleAction, HelperError, isAction } from "./lib/protocol.ts";
import { type Env, grantedUid } from "./lib/platform.ts";
import { createLogger } from "./lib/log.ts";
import { type Backend, createHelper, loadDefaultBackend } from "./lib/helper.ts";
import { BUILD_COMMIT, NAME, sourceCommit, VERSION } from "./lib/version.ts";
import { joinChunks } from "./lib/files.ts";

const MAX_STDIN = 1 << 20;

/** Usage text (stdout, as docker-credential-helpers print it). */
export const USAGE = `Usage: ${NAME} <get|store|erase|list|version>
       ${NAME} configure-docker [--registry HOST]... [--dry-run]
       ${NAME} doctor [--no-login] [HOST]
       ${NAME} kubelet-credential-provider

A Docker credential helper for Alibaba Cloud Container Registry (ACR).
Docker, podman, skopeo, helm and nerdctl run it; the server URL goes on stdin:

  echo registry.cn-hangzhou.aliyuncs.com | ${NAME} get

configure-docker  adds credHelpers entries to docker's config.json
doctor            shows the credential source, config, cache, endpoints; with HOST fetches a token
                  and logs in to the registry with it (--no-login: not)
kubelet-credential-provider
                  answers the kubelet's CredentialProviderRequest on stdin (docs/kubelet.md)

Options: -h, --help    show this help
         -v, --version show the version
Configuration: see the README (credential chain, config file, environment).`;

/** What {@link main} touches of the process: passed in, so the CLI's logic is tested without spawning one. */
export interface MainIO {
  env: Env;
  /** stdin, whole (at most 1 MiB). */
  readStdin(): Promise<string>;
  stdinIsTerminal(): boolean;
  /** stdout: the protocol's answers only. */
  out(text: string): void;
  /** stderr */
  err(text: string): void;
  /** Our uid when the process may ask for it cheaply (null: unknown). */
  uid(): number | null;
}

/** The process's own {@link MainIO}. */
export function processIO(): MainIO {
  return {
    env: Deno.env.toObject(),
    readStdin,
    stdinIsTerminal: () => Deno.stdin.isTerminal(),
    out: (text) => writeAll(Deno.stdout, text),
    err: (text) => writeAll(Deno.stderr, text),
    uid: grantedUid,
  };
}

function writeAll(to: { writeSync(p: Uint8Array): number }, text: string): void {
  const bytes = new TextEncoder().encode(text);
  let off = 0;
  while (off < bytes.length) off += to.writeSync(bytes.subarray(off));
}

function readStdin(): Promise<string> {
  // A readSync loop is measurably faster at start-up than a stream reader.
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(16 * 1024);
  let total = 0;
  for (;;) {
    const n = Deno.stdin.readSync(buf);
    if (n === null || n === 0) break;
    total += n;
    if (total > MAX_STDIN) {
      return Promise.reject(stdinTooLarge());
    }
    chunks.push(buf.slice(0, n));
  }
  return Promise.resolve(decode(joinChunks(chunks, total)));
}

/** What the helper makes of stdin's bytes read whole (tests that run {@link main} in-process). */
export function stdinText(bytes: Uint8Array): Promise<string> {
  return bytes.length > MAX_STDIN ? Promise.reject(stdinTooLarge()) : Promise.resolve(decode(bytes));
}

function stdinTooLarge(): HelperError {
  return new HelperError("stdin is larger than 1 MiB; expected a registry server URL");
}

/**
 * UTF-8 to text. A server URL is ASCII: building it from char codes skips
 * TextDecoder's first-use cost, which is a measurable part of a cache hit.
 */
function decode(bytes: Uint8Array): string {
  if (bytes.length > 4096 || bytes.some((b) => b > 0x7f)) return new TextDecoder().decode(bytes);
  return String.fromCharCode(...bytes);
}

/** `name version (commit)`: the build's commit, else the checkout's, else "unknown". */
export function versionText(): string {
  let commit: string | null = BUILD_COMMIT.startsWith("@@") ? null : BUILD_COMMIT;
  if (commit === null && new URL(import.meta.url).protocol === "file:") {
    commit = sourceCommit(new URL(".", import.meta.url), (u) => {
      try {
        return Deno.readTextFileSync(u);
      } catch {
        return null;
      }
    });
  }
  return `${NAME} ${VERSION} (commit ${commit ? commit.slice(0, 12) : "unknown"})`;
}

const TTY_HINT = `${NAME}: the registry server URL goes on stdin, for example:
  echo registry.cn-hangzhou.aliyuncs.com | ${NAME} get`;

/** The subcommands of lib/commands/ (not docker's protocol). */
const COMMANDS = new Set(["kubelet-credential-provider", "configure-docker", "doctor"]);
// Computed, like the SDK's: a literal dynamic import is prepared at every start.
const COMMANDS_MODULE = "./lib/commands/mod.ts";

/** What {@link main} can be given instead of its defaults. */
export interface MainOptions {
  /** Loads the SDK side; the bundle passes a literal import so it is included. */
  loadBackend?: () => Promise<Backend>;
  /** Loads lib/commands/mod.ts; the bundle passes a literal import. */
  loadCommands?: () => Promise<typeof import("./lib/commands/mod.ts")>;
  /** The process's stdin, stdout, stderr, environment and uid, unless given. */
  io?: MainIO;
}

/** Runs the CLI and returns the exit code. */
export async function main(args: string[], opts: MainOptions = {}): Promise<number> {
  const io = opts.io ?? processIO();
  if (args.length > 0 && COMMANDS.has(args[0])) return await command(args[0], args.slice(1), io, opts);
  const action = protocolAction(args, io);
  if (typeof action === "number") return action;
  if ((action === "get" || action === "erase" || action === "store") && io.stdinIsTerminal()) {
    // Nobody will type a server URL: say how the helper is used instead of waiting.
    io.err(TTY_HINT + "\n");
    return 1;
  }
  const log = createLogger({ env: io.env, stderr: io.err });
  const helper = createHelper({
    env: io.env,
    log,
    loadBackend: guardedBackend(opts),
    // Not for `list`: its stdin may be a terminal, where an ungranted Deno.uid() would prompt.
    uid: action === "list" ? undefined : io.uid,
  });
  return await handleAction(action, helper, {
    readStdin: io.readStdin,
    write: io.out,
    get versionText() {
      return versionText();
    },
    // "rerun with ...LOG_LEVEL=debug for details" must have details to show.
    unexpected: (err) => log.debug(describeUnexpected(err)),
  });
}

/** The protocol action `args` ask for, or the exit code when they are help, or a mistake named on stdout. */
function protocolAction(args: string[], io: MainIO): Action | number {
  if (args.length === 0) {
    io.out(USAGE + "\n");
    return 1;
  }
  if (args.length > 1) {
    // Docker passes exactly one action; anything more is a caller's mistake worth naming, not a usage page.
    const extra = JSON.stringify(args[1].slice(0, 64));
    io.out(`unexpected argument after ${args[0]}: ${extra} (the server URL goes on stdin; see --help)\n`);
    return 1;
  }
  const action = args[0] === "-v" || args[0] === "--version" ? "version" : args[0];
  if (action === "-h" || action === "--help") {
    io.out(USAGE + "\n");
    return 0;
  }
  if (!isAction(action)) {
    io.out(`unknown action: ${action}\n`);
    return 1;
  }
  return action;
}

function guardedBackend(opts: MainOptions): () => Promise<Backend> {
  const load = opts.loadBackend ?? loadDefaultBackend;
  return () => {
    // A stray rejection inside an SDK must not print a stack trace after our answer. Installed with the
    // SDKs (a miss), not at start-up: the first addEventListener is a measurable part of a cache hit.
    globalThis.addEventListener("unhandledrejection", (e) => e.preventDefault());
    return load();
  };
}

async function command(name: string, args: string[], io: MainIO, opts: MainOptions): Promise<number> {
  // The kubelet reads only stderr when a provider fails; everyone else reads stdout.
  const say = name === "kubelet-credential-provider" ? io.err : io.out;
  if (name === "kubelet-credential-provider" && io.stdinIsTerminal()) {
    say(`${NAME}: the kubelet sends a CredentialProviderRequest on stdin (docs/kubelet.md)\n`);
    return 1;
  }
  let mod: typeof import("./lib/commands/mod.ts");
  try {
    mod = await (opts.loadCommands ?? (() => import(COMMANDS_MODULE)))();
  } catch (err) {
    // The bundle installed without its second file: say which, in one line, where the caller reads.
    if (!(err instanceof HelperError)) throw err;
    say(`${NAME}: ${err.message}\n`);
    return 1;
  }
  const log = createLogger({ env: io.env, stderr: io.err });
  return await mod.runCommand(name, args, {
    env: io.env,
    log,
    helper: createHelper({ env: io.env, loadBackend: guardedBackend(opts), log }),
    version: versionText(),
    readStdin: io.readStdin,
    out: io.out,
    err: io.err,
  });
}

/** Runs {@link main} as the process: exit code, and no stack trace ever. */
export async function run(opts: MainOptions = {}): Promise<never> {
  Deno.exit(await mainCatching(Deno.args, { ...opts, io: opts.io ?? processIO() }));
}

/** {@link main}, with anything it throws turned into the one line and exit 1 (the log keeps the details). */
export async function mainCatching(args: string[], opts: MainOptions & { io: MainIO }): Promise<number> {
  try {
    return await main(args, opts);
  } catch (err) {
    createLogger({ env: opts.io.env, stderr: opts.io.err }).debug(describeUnexpected(err));
    opts.io.out("unexpected error; rerun with DOCKER_CREDENTIAL_ACR_HELPER_LOG_LEVEL=debug for details\n");
    return 1;
  }
}

if (import.meta.main) await run();
