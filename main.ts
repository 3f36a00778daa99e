/**
 * docker-credential-acr-helper: argv -> action; exit codes; nothing else.
 *
 * @module
 */
import { handleAction, HelperError, isAction } from "./lib/protocol.ts";
import { createHelper } from "./lib/helper.ts";
import { NAME, VERSION } from "./lib/version.ts";

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

/** Runs the CLI and returns the exit code. */
export async function main(args: string[]): Promise<number> {
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
  const helper = createHelper({ env: Deno.env.toObject() });
  return await handleAction(action, helper, { readStdin, write, versionText: `${NAME} ${VERSION}` });
}

if (import.meta.main) {
  let code: number;
  try {
    code = await main(Deno.args);
  } catch {
    write("unexpected error; rerun with DOCKER_CREDENTIAL_ACR_HELPER_LOG_LEVEL=debug for details\n");
    code = 1;
  }
  Deno.exit(code);
}
