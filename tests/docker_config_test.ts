/**
 * configure-docker's file work in-process: the edit changes only the bytes it owns, refuses what it cannot
 * edit safely, keys hosts as docker looks them up, and the write follows a symlink, never loses a backup and
 * says the OS's reason when it fails.
 */
import assert from "node:assert/strict";
import { addCredHelpers, dockerKey, writeDockerConfig } from "../lib/docker_config.ts";
import { posixOnly, tempHome } from "./util.ts";

const H = "registry.cn-hangzhou.aliyuncs.com";

Deno.test("docker config: every byte it does not own stays (numbers, spacing, order), in the file's own indent", () => {
  const text = '{\n  "auths": {},\n  "n": 1.0,\n  "big": 12345678901234567890,\n  "credHelpers": {\n' +
    '    "gcr.io": "gcloud"\n  },\n  "psFormat": "table {{.ID}}"\n}\n';
  const edit = addCredHelpers(text, [H], "c.json");
  assert.equal(
    edit.text,
    '{\n  "auths": {},\n  "n": 1.0,\n  "big": 12345678901234567890,\n  "credHelpers": {\n' +
      `    "gcr.io": "gcloud",\n    "${H}": "acr-helper"\n  },\n  "psFormat": "table {{.ID}}"\n}\n`,
  );
  assert.deepEqual(edit.changed, [H]);
  const fresh = addCredHelpers(null, [H], "c.json");
  assert.equal(fresh.text, `{\n\t"credHelpers": {\n\t\t"${H}": "acr-helper"\n\t}\n}\n`);
  const crlf = addCredHelpers('{\r\n\t"auths": {}\r\n}\r\n', [H], "c.json").text;
  assert.ok(!/[^\r]\n/.test(crlf), "CRLF kept");
});

Deno.test("docker config: duplicate credHelpers (or a host twice) is refused in one line; what is replaced is said", () => {
  assert.throws(
    () => addCredHelpers('{"credHelpers":{"a":"x"},"credHelpers":{"b":"y"}}', [H], "c.json"),
    /^DockerConfigError: c\.json has "credHelpers" twice; merge them into one first, nothing was changed$/,
  );
  assert.throws(
    () => addCredHelpers(`{"credHelpers":{"${H}":"x","${H}":"y"}}`, [H], "c.json"),
    /credHelpers has "registry\.cn-hangzhou\.aliyuncs\.com" twice/,
  );
  const edit = addCredHelpers(
    `{"auths":{"https://${H}":{"auth":"eDp5"}},"credHelpers":{"${H}":"ecr-login"}}`,
    [H],
    "c",
  );
  assert.deepEqual(edit.replaced, [{ host: H, was: "ecr-login" }]);
  assert.deepEqual(edit.storedPasswords, [H]);
});

Deno.test("docker config: keys as docker looks them up (scheme and path dropped, the port kept as typed)", () => {
  assert.equal(dockerKey(`https://${H}/v2/`), H);
  assert.equal(dockerKey(`${H}:443`), `${H}:443`);
  assert.equal(dockerKey(`HTTP://${H.toUpperCase()}`), H);
});

Deno.test(posixOnly("docker config: written through a symlink; backups never overwritten", "symlinks"), async () => {
  const home = await tempHome();
  const uid = Deno.statSync(home).uid;
  await Deno.mkdir(`${home}/dotfiles`);
  await Deno.mkdir(`${home}/.docker`);
  await Deno.writeTextFile(`${home}/dotfiles/docker.json`, "{}");
  await Deno.symlink(`${home}/dotfiles/docker.json`, `${home}/.docker/config.json`);
  const owner = { uid, home };
  const first = writeDockerConfig(`${home}/.docker/config.json`, '{"a":1}\n', owner);
  assert.equal(first.target, `${home}/dotfiles/docker.json`);
  assert.ok(Deno.lstatSync(`${home}/.docker/config.json`).isSymlink, "the link stays a link");
  assert.equal(await Deno.readTextFile(`${home}/dotfiles/docker.json`), '{"a":1}\n');
  const second = writeDockerConfig(`${home}/.docker/config.json`, '{"a":2}\n', owner);
  assert.deepEqual([first.backup, second.backup], [
    `${home}/dotfiles/docker.json.bak`,
    `${home}/dotfiles/docker.json.bak.1`,
  ]);
  assert.equal(await Deno.readTextFile(first.backup!), "{}", "the first backup is the original");
  // A failed write leaves the file as it was, no new backup, and says the OS's reason.
  const denied = () => {
    throw new Deno.errors.PermissionDenied("Permission denied (os error 13): rename 'x' -> 'y'");
  };
  assert.throws(
    () => writeDockerConfig(`${home}/.docker/config.json`, "{}", owner, { rename: denied }),
    /^DockerConfigError: cannot write .*docker\.json \(Permission denied \(os error 13\)\)$/,
  );
  assert.equal(await Deno.readTextFile(`${home}/dotfiles/docker.json`), '{"a":2}\n');
  assert.deepEqual([...Deno.readDirSync(`${home}/dotfiles`)].map((e) => e.name).sort(), [
    "docker.json",
    "docker.json.bak",
    "docker.json.bak.1",
  ]);
  await Deno.remove(home, { recursive: true });
});
