/**
 * docker-credential-acr-helper: argv -> action; exit codes; nothing else.
 *
 * @module
 */
import { handleAction, HelperError, isAction } from "./lib/protocol.ts";
import { type Backend, createHelper, loadDefaultBackend } from "./lib/helper.ts";
import { BUILD_COMMIT, NAME, sourceCommit, VERSION } from "./lib/version.ts";

const MAX_STDIN = 1 << 20;

/** Usage text (stdout, as docker-credential-helpers print it). */
export const USAGE = `Usage: ${NAME} <get|store|erase|list|version>

A Docker credential helper for Alibaba Cloud Container Registry (ACR).
Docker, podman, skopeo, helm and nerdctl run it; the server URL goes on stdin:

  echo registry.cn-hangzhou.aliyuncs.com | ${NAME} get

Options: -h, --help    show this help
         -v, --version show the version
Configuration: see the README (credential chain, config file, environment).`;

function write(text: string): void {
  const bytes = new TextEncoder().encode(text);
  let off = 0;
  while (off < bytes.length) off += Deno.stdout.writeSync(bytes.subarray(off));
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
      return Promise.reject(new HelperError("stdin is larger than 1 MiB; expected a registry server URL"));
    }
    chunks.push(buf.slice(0, n));
  }
  const all = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.length;
  }
  return Promise.resolve(decode(all));
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

/** What {@link main} can be given instead of its defaults. */
export interface MainOptions {
  /** Loads the SDK side; the bundle passes a literal import so it is included. */
  loadBackend?: () => Promise<Backend>;
}

/** Runs the CLI and returns the exit code. */
export async function main(args: string[], opts: MainOptions = {}): Promise<number> {
  if (args.length !== 1) {
    write(USAGE + "\n");
    return 1;
  }
  let action = args[0];
  if (action === "-h" || action === "--help") {
    write(USAGE + "\n");
    return 0;
  }
  if (action === "-v" || action === "--version") action = "version";
  if (!isAction(action)) {
    write(`unknown action: ${action}\n`);
    return 1;
  }
  if ((action === "get" || action === "erase" || action === "store") && Deno.stdin.isTerminal()) {
    // Nobody will type a server URL: say how the helper is used instead of waiting.
    Deno.stderr.writeSync(new TextEncoder().encode(TTY_HINT + "\n"));
    return 1;
  }
  const load = opts.loadBackend ?? loadDefaultBackend;
  const loadBackend = () => {
    // A stray rejection inside an SDK must not print a stack trace after our answer. Installed with the
    // SDKs (a miss), not at start-up: the first addEventListener is a measurable part of a cache hit.
    globalThis.addEventListener("unhandledrejection", (e) => e.preventDefault());
    return load();
  };
  const helper = createHelper({ env: Deno.env.toObject(), loadBackend });
  return await handleAction(action, helper, {
    readStdin,
    write,
    get versionText() {
      return versionText();
    },
  });
}

/** Runs {@link main} as the process: exit code, and no stack trace ever. */
export async function run(opts: MainOptions = {}): Promise<never> {
  let code: number;
  try {
    code = await main(Deno.args, opts);
  } catch {
    write("unexpected error; rerun with DOCKER_CREDENTIAL_ACR_HELPER_LOG_LEVEL=debug for details\n");
    code = 1;
  }
  Deno.exit(code);
}

if (import.meta.main) await run();
