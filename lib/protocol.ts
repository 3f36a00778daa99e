/**
 * The docker credential-helper protocol: actions, stdin/stdout and the
 * standard messages. Knows nothing of where credentials come from; it drives
 * any {@link CredentialStore}.
 *
 * @module
 */
import { HelperError, isNotFound, isUserFacing, messageOf, NOT_FOUND_MESSAGE, NotFoundError } from "./errors.ts";

// The errors users see live in lib/errors.ts (domain modules throw them without importing the protocol); the
// protocol's callers find them here too.
export { HelperError, isNotFound, NOT_FOUND_MESSAGE, NotFoundError };

/** Docker's exact text for an empty server URL. */
export const MISSING_SERVER_URL_MESSAGE = "no credentials server URL";

/** What `get` returns and `store` receives. */
export interface Credentials {
  ServerURL: string;
  Username: string;
  Secret: string;
}

/** The four operations the protocol needs; `lib/helper.ts` implements them. */
export interface CredentialStore {
  /** Credentials for a server string, or throws {@link NotFoundError}. */
  get(serverURL: string): Promise<Credentials>;
  /** Called by `docker login`; may ignore what it is given. */
  store(credentials: Credentials): Promise<void>;
  /** Forgets what is held for a server string. */
  erase(serverURL: string): Promise<void>;
  /** Server -> username of what is held, without any network call. */
  list(): Promise<Record<string, string>>;
}

/** The protocol's actions. */
export const ACTIONS = ["get", "store", "erase", "list", "version"] as const;
/** One of {@link ACTIONS}. */
export type Action = typeof ACTIONS[number];

/** True when `s` is a protocol action. */
export function isAction(s: string): s is Action {
  return (ACTIONS as readonly string[]).includes(s);
}

/** I/O for one protocol exchange, passed in so tests need no real stdin. */
export interface ProtocolIO {
  /** Reads all of stdin as text. */
  readStdin(): Promise<string>;
  /** Writes protocol output (stdout). */
  write(text: string): void;
  /** Text for `version`. */
  versionText: string;
  /** Told of an error that is not one of ours (its message is not shown): the debug log keeps it. */
  unexpected?(err: unknown): void;
}

/**
 * Runs one protocol action and returns the exit code. Every failure is one
 * line on stdout with exit 1, because docker, podman and friends read only
 * stdout.
 *
 * @example
 * ```ts
 * const code = await handleAction("get", helper, { readStdin, write, versionText });
 * ```
 */
export async function handleAction(action: Action, store: CredentialStore, io: ProtocolIO): Promise<number> {
  try {
    switch (action) {
      case "get": {
        const server = await readServerURL(io);
        const creds = await store.get(server);
        io.write(JSON.stringify(creds) + "\n");
        return 0;
      }
      case "store": {
        await store.store(parseStoreInput(await io.readStdin()));
        return 0;
      }
      case "erase": {
        await store.erase(await readServerURL(io));
        return 0;
      }
      case "list": {
        // stdin carries "unused"; not reading it keeps `list` from waiting on a terminal.
        io.write(JSON.stringify(await store.list()) + "\n");
        return 0;
      }
      case "version": {
        io.write(io.versionText + "\n");
        return 0;
      }
    }
  } catch (err) {
    if (!isUserFacing(err)) io.unexpected?.(err);
    io.write(errorLine(err) + "\n");
    return 1;
  }
}

/** An unexpected error as the debug log records it: its name and first line (a stack trace never). */
export function describeUnexpected(err: unknown): string {
  const name = err instanceof Error ? err.name : typeof err;
  const text = messageOf(err);
  return `unexpected ${name}: ${firstLine(text).slice(0, 300)}`;
}

/**
 * The one line a user sees for an error. Only user-facing errors (lib/errors.ts: {@link HelperError} and the
 * errors marked like it) and {@link NotFoundError} messages are trusted; anything else is reduced to its
 * first line so a stack trace or an echoed secret never reaches stdout.
 */
export function errorLine(err: unknown): string {
  if (isUserFacing(err)) return firstLine(err.message);
  const name = err instanceof Error ? err.name : "Error";
  return `unexpected ${name}; rerun with DOCKER_CREDENTIAL_ACR_HELPER_LOG_LEVEL=debug for details`;
}

function firstLine(s: string): string {
  const line = s.split(/\r?\n/, 1)[0].trim();
  return line.length > 500 ? line.slice(0, 500) + "..." : line;
}

async function readServerURL(io: ProtocolIO): Promise<string> {
  const server = (await io.readStdin()).trim();
  if (server === "") throw new HelperError(MISSING_SERVER_URL_MESSAGE);
  return server;
}

function parseStoreInput(text: string): Credentials {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HelperError('store: stdin is not valid JSON; expected {"ServerURL","Username","Secret"}');
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new HelperError('store: stdin must be a JSON object {"ServerURL","Username","Secret"}');
  }
  const v = value as Record<string, unknown>;
  if (typeof v.ServerURL !== "string" || v.ServerURL.trim() === "") throw new HelperError(MISSING_SERVER_URL_MESSAGE);
  return {
    ServerURL: v.ServerURL,
    Username: typeof v.Username === "string" ? v.Username : "",
    Secret: typeof v.Secret === "string" ? v.Secret : "",
  };
}
