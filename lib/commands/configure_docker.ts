/**
 * `configure-docker [--registry HOST]... [--dry-run]`: adds `credHelpers`
 * entries for ACR registries to docker's config.json, keeping everything else.
 *
 * @module
 */
import { homeDir } from "../platform.ts";
import {
  addCredHelpers,
  DockerConfigError,
  dockerConfigPath,
  dockerKey,
  onPath,
  writeDockerConfig,
} from "../docker_config.ts";
import { probeUid } from "../own_dirs.ts";
import { normalizeServer } from "../registry.ts";
import { messageOf } from "../errors.ts";
import { NAME } from "../version.ts";
import type { CommandIO } from "./io.ts";

/** A reason configure-docker stops, shown as one line on stderr with exit 1. */
class Refusal extends Error {}

/** `configure-docker [--registry HOST]... [--dry-run]` */
export async function configureDocker(args: string[], io: CommandIO): Promise<number> {
  try {
    const values = await options(args);
    const hosts = await dockerKeys(values.registry ?? [], io);
    const path = dockerConfigPath(io.env);
    if (path === null) throw new Refusal("no HOME and no DOCKER_CONFIG: cannot find docker's config.json");
    const edit = planEdit(path, hosts);
    if (!onPath(io.env)) io.err(`warning: ${NAME} is not on PATH; docker will not find it until it is\n`);
    if (values["dry-run"]) {
      io.out(`# ${path} would become (dry run, nothing written):\n${edit.text}`);
      return 0;
    }
    for (const host of edit.storedPasswords) {
      io.err(
        `note: ${path} also keeps a password for ${host} in "auths"; docker will ask the helper instead, ` +
          `but tools that read auths first (podman, skopeo) may use it: docker logout ${host} removes it\n`,
      );
    }
    if (edit.changed.length === 0) {
      io.out(`${path} already uses ${NAME} for ${hosts.join(", ")}; nothing changed\n`);
      return 0;
    }
    io.out(write(path, edit, io));
    return 0;
  } catch (err) {
    if (!(err instanceof Refusal)) throw err;
    io.err(`${NAME} configure-docker: ${err.message}\n`);
    return 1;
  }
}

async function options(args: string[]): Promise<{ registry?: string[]; "dry-run"?: boolean }> {
  // Imported here: a node: module at the top would start Deno's Node layer in the bundle on every run, hits included.
  const { parseArgs } = await import("node:util");
  try {
    return parseArgs({
      args,
      options: { registry: { type: "string", multiple: true }, "dry-run": { type: "boolean" } },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    const why = err instanceof Error ? err.message : err;
    throw new Refusal(`${why}; usage: configure-docker [--registry HOST]... [--dry-run]`);
  }
}

/** The keys docker will look up for the registries named: each an ACR registry this helper knows. */
async function dockerKeys(registries: string[], io: CommandIO): Promise<string[]> {
  const hosts: string[] = [];
  for (const r of registries) {
    const host = normalizeServer(r);
    if (host === null) throw new Refusal(`"${r}" is not a registry host`);
    // The key docker will look up: what it makes of what was typed (https:// and paths dropped, a port kept).
    const key = dockerKey(r);
    if (/:443$/.test(key)) {
      io.err(`note: docker looks up ${key} only for images named ${key}/...; for ${host}/... add --registry ${host}\n`);
    }
    let known: unknown;
    try {
      known = await io.helper.resolve(host);
    } catch (err) {
      throw new Refusal(messageOf(err));
    }
    if (known === null) {
      throw new Refusal(`${host} is not an ACR registry this helper knows; add it to the helper's config file first`);
    }
    if (!hosts.includes(key)) hosts.push(key);
  }
  if (hosts.length === 0) {
    throw new Refusal(
      "name the registries to configure: --registry HOST (for example registry.cn-hangzhou.aliyuncs.com)",
    );
  }
  return hosts;
}

/** The edit of the current file (none: a new one). */
function planEdit(path: string, hosts: string[]): ReturnType<typeof addCredHelpers> {
  let existing: string | null = null;
  try {
    existing = Deno.readTextFileSync(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) {
      throw new Refusal(`cannot read ${path} (${(err as Error).message.split(":")[0]})`);
    }
  }
  try {
    return addCredHelpers(existing, hosts, path);
  } catch (err) {
    if (err instanceof DockerConfigError) throw new Refusal(err.message);
    throw err;
  }
}

/** Writes the edit (a backup first) and says what changed. */
function write(path: string, edit: ReturnType<typeof addCredHelpers>, io: CommandIO): string {
  let written: { target: string; backup: string | null };
  try {
    written = writeDockerConfig(path, edit.text, { uid: (io.uid ?? probeUid)(), home: homeDir(io.env) });
  } catch (err) {
    if (err instanceof DockerConfigError) throw new Refusal(`${err.message}; nothing was changed`);
    throw new Refusal(`cannot write ${path} (${(err as Error).message.split(":")[0]}); nothing was changed`);
  }
  const { target, backup } = written;
  const replaced = edit.replaced.map((r) => `${r.host} was "${r.was}"`);
  return `${target === path ? path : `${path} (-> ${target})`}: credHelpers set to acr-helper for ${
    edit.changed.join(", ")
  }${replaced.length ? ` (replaced: ${replaced.join(", ")})` : ""}${backup ? ` (previous file: ${backup})` : ""}\n`;
}
