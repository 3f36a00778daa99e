/** Each platform's paths (issue 14, point 1), with an injected OS and environment: no real Windows or macOS needed. */
import assert from "node:assert/strict";
import { selectCredentialSource } from "../lib/auth.ts";
import { cacheDir, configPath, homeDir } from "../lib/platform.ts";
import { dockerConfigPath } from "../lib/docker_config.ts";

const GIT_BASH = {
  HOME: "/c/Users/ana", // what Git Bash sets; docker and the SDK do not use it
  USERPROFILE: "C:\\Users\\ana",
  LOCALAPPDATA: "C:\\Users\\ana\\AppData\\Local",
  APPDATA: "C:\\Users\\ana\\AppData\\Roaming",
  XDG_CACHE_HOME: "/c/xdg-cache",
  XDG_CONFIG_HOME: "/c/xdg-config",
};

Deno.test("platform: Windows uses the user's profile (USERPROFILE, LOCALAPPDATA, APPDATA), never Git Bash's HOME", () => {
  assert.equal(homeDir(GIT_BASH, "windows"), "C:\\Users\\ana");
  assert.equal(cacheDir(GIT_BASH, "windows"), "C:\\Users\\ana\\AppData\\Local/docker-credential-acr-helper");
  assert.equal(
    configPath(GIT_BASH, "windows").path,
    "C:\\Users\\ana\\AppData\\Roaming/docker-credential-acr-helper/config.json",
  );
  assert.equal(dockerConfigPath(GIT_BASH, "windows"), "C:\\Users\\ana/.docker/config.json");
  // Without LOCALAPPDATA / APPDATA: their usual places in the profile.
  const bare = { USERPROFILE: "C:\\Users\\ana" };
  assert.equal(cacheDir(bare, "windows"), "C:\\Users\\ana/AppData/Local/docker-credential-acr-helper");
  assert.equal(
    configPath(bare, "windows").path,
    "C:\\Users\\ana/AppData/Roaming/docker-credential-acr-helper/config.json",
  );
  assert.equal(homeDir({ HOME: "C:\\Users\\ana" }, "windows"), "C:\\Users\\ana", "HOME only when there is no profile");
});

for (const os of ["linux", "darwin"] as const) {
  Deno.test(`platform: ${os} uses HOME and the XDG directories`, () => {
    assert.equal(homeDir(GIT_BASH, os), "/c/Users/ana");
    assert.equal(cacheDir(GIT_BASH, os), "/c/xdg-cache/docker-credential-acr-helper");
    assert.equal(configPath(GIT_BASH, os).path, "/c/xdg-config/docker-credential-acr-helper/config.json");
    const plain = { HOME: "/home/ana", USERPROFILE: "C:\\ignored" };
    assert.equal(cacheDir(plain, os), "/home/ana/.cache/docker-credential-acr-helper");
    assert.equal(configPath(plain, os).path, "/home/ana/.config/docker-credential-acr-helper/config.json");
    assert.equal(dockerConfigPath(plain, os), "/home/ana/.docker/config.json");
    // Relative XDG values are invalid (the XDG spec): ignored, never resolved from the working directory.
    const relative = { ...plain, XDG_CACHE_HOME: "cache", XDG_CONFIG_HOME: "./conf" };
    assert.equal(cacheDir(relative, os), "/home/ana/.cache/docker-credential-acr-helper");
    assert.equal(configPath(relative, os).path, "/home/ana/.config/docker-credential-acr-helper/config.json");
    assert.equal(homeDir({ USERPROFILE: "C:\\x" }, os), null, "no HOME: no home (USERPROFILE is Windows')");
  });
}

Deno.test("platform: credentials files and the aliyun CLI config are read from the same home the SDK uses", async () => {
  const read: string[] = [];
  await selectCredentialSource({
    env: GIT_BASH,
    os: "windows",
    readTextFile: (p) => (read.push(p), Promise.resolve(null)),
  }).catch(() => {});
  assert.deepEqual(read, ["C:\\Users\\ana/.aliyun/config.json", "C:\\Users\\ana/.alibabacloud/credentials"]);
});
