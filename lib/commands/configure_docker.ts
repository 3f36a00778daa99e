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
import { NAME } from "../version.ts";
import type { CommandIO } from "./io.ts";

/** `configure-docker [--registry HOST]... [--dry-run]` */
export async function configureDocker(args: string[], io: CommandIO): Promise<number> {
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
    // The key docker will look up: what it makes of what was typed (https:// and paths dropped, a port kept).
    const key = dockerKey(r);
    if (/:443$/.test(key)) {
      io.err(`note: docker looks up ${key} only for images named ${key}/...; for ${host}/... add --registry ${host}\n`);
    }
    try {
      if ((await io.helper.resolve(host)) === null) {
        return fail(`${host} is not an ACR registry this helper knows; add it to the helper's config file first`);
      }
    } catch (err) {
      return fail(err instanceof Error ? err.message : String(err));
    }
    if (!hosts.includes(key)) hosts.push(key);
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
    if (!(err instanceof Deno.errors.NotFound)) {
      return fail(`cannot read ${path} (${(err as Error).message.split(":")[0]})`);
    }
  }
  let edit;
  try {
    edit = addCredHelpers(existing, hosts, path);
  } catch (err) {
    if (err instanceof DockerConfigError) return fail(err.message);
    throw err;
  }
  if (!onPath(io.env)) {
    io.err(`warning: ${NAME} is not on PATH; docker will not find it until it is\n`);
  }
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
  try {
    const { target, backup } = writeDockerConfig(path, edit.text, {
      uid: (io.uid ?? probeUid)(),
      home: homeDir(io.env),
    });
    const replaced = edit.replaced.map((r) => `${r.host} was "${r.was}"`);
    io.out(
      `${target === path ? path : `${path} (-> ${target})`}: credHelpers set to acr-helper for ${
        edit.changed.join(", ")
      }${replaced.length ? ` (replaced: ${replaced.join(", ")})` : ""}${backup ? ` (previous file: ${backup})` : ""}\n`,
    );
    return 0;
  } catch (err) {
    if (err instanceof DockerConfigError) return fail(`${err.message}; nothing was changed`);
    return fail(`cannot write ${path} (${(err as Error).message.split(":")[0]}); nothing was changed`);
  }
}
