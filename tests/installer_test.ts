/**
 * The kubelet plugin's node installer (issue 15, point 3): the manifest validated against the Kubernetes schemas
 * (kubernetes-models) and its provider config against the kubelet's matching rule; the install script run in a
 * chroot of the image's file system with a fake node at /host (first install, upgrade, a node where the plugin does
 * not run); the image built with `podman build --network=none`.
 */
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { kubeletMatches } from "./kubelet_match.ts";
import { exec, needs } from "./util.ts";

const root = fileURLToPath(new URL("../", import.meta.url));
const NAME = "docker-credential-acr-helper";
const PLUGIN = "/etc/kubernetes/credential-providers";
const CONFIG = "/etc/kubernetes/credential-provider-config.yaml";

const sh = (cmd: string[], env: Record<string, string> = {}, stdin = "") =>
  exec(cmd, { env, clearEnv: true, cwd: root, stdin });
const PATH = { PATH: "/usr/bin:/bin:/usr/sbin:/sbin" };
/** chroot(8), which lives in sbin: not on every user's PATH. */
const CHROOT = ["/usr/sbin/chroot", "/sbin/chroot", "/usr/bin/chroot"].find((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});

Deno.test({
  ...needs("installer: the manifest is valid Kubernetes, and its provider config covers every ACR host form", {
    tools: ["ruby"],
  }),
  fn: async () => {
    const yaml = await Deno.readTextFile(`${root}deploy/kubelet-installer.yaml`);
    const json = await sh(
      ["ruby", "-ryaml", "-rjson", "-e", "puts JSON.generate(YAML.load_stream($stdin.read))"],
      PATH,
      yaml,
    );
    assert.equal(json.code, 0, json.err);
    const docs = JSON.parse(json.out) as Array<Record<string, unknown>>;
    assert.deepEqual(docs.map((d) => d.kind), ["Namespace", "ConfigMap", "DaemonSet"]);
    // Validated against the Kubernetes schemas in a process with its own lock (test-only packages stay out of ours).
    // It inherits this process's environment: fetching its packages may need the machine's proxy and CA settings.
    const valid = await exec([
      Deno.execPath(),
      "run",
      "--quiet",
      "-A",
      "--config",
      `${root}tests/tools/tools.json`,
      `${root}tests/tools/k8s_validate.ts`,
    ], { stdin: json.out });
    assert.equal(valid.code, 0, valid.out + valid.err);

    const cm = docs[1] as { data: Record<string, string> };
    const provider = await sh(
      ["ruby", "-ryaml", "-rjson", "-e", "puts JSON.generate(YAML.safe_load($stdin.read))"],
      PATH,
      cm.data["credential-provider-config.yaml"],
    );
    const config = JSON.parse(provider.out);
    assert.equal(config.kind, "CredentialProviderConfig");
    const p = config.providers[0];
    assert.equal(p.name, NAME);
    assert.deepEqual(p.args, ["kubelet-credential-provider"]);
    for (
      const image of [
        "registry.cn-hangzhou.aliyuncs.com/a/b",
        "registry-vpc.cn-hangzhou.aliyuncs.com/a/b",
        "crpi-abc123-vpc.cn-hangzhou.personal.cr.aliyuncs.com/a/b",
        "prod-registry-vpc.cn-hangzhou.cr.aliyuncs.com/a/b",
        "prod-registry-vpc.distributed.cn-hangzhou.cr.aliyuncs.com:65001/a/b",
      ]
    ) assert.ok(p.matchImages.some((m: string) => kubeletMatches(m, image)), image);
    assert.equal(p.tokenAttributes.cacheType, "ServiceAccount");
    // Least privilege: only SYS_CHROOT, and the node's / read-only all the way down.
    const container = (docs[2] as {
      spec: {
        template: {
          spec: {
            containers: Array<{
              securityContext: { capabilities: { drop: string[]; add: string[] } };
              volumeMounts: Array<{ name: string; readOnly?: boolean; recursiveReadOnly?: string }>;
            }>;
          };
        };
      };
    }).spec.template.spec.containers[0];
    assert.deepEqual(container.securityContext.capabilities, { drop: ["ALL"], add: ["SYS_CHROOT"] });
    const hostRoot = container.volumeMounts.find((m) => m.name === "host-root")!;
    assert.deepEqual([hostRoot.readOnly, hostRoot.recursiveReadOnly], [true, "Enabled"]);
    assert.ok(p.env.some((e: { name: string }) => e.name === "DOCKER_CREDENTIAL_ACR_HELPER_CACHE_DIR"));

    // The DaemonSet puts the plugin and config where its env says, from the ConfigMap.
    const ds = docs[2] as {
      spec: { template: { spec: { containers: Array<{ env: Array<{ name: string; value: string }> }> } } };
    };
    const env = Object.fromEntries(ds.spec.template.spec.containers[0].env.map((e) => [e.name, e.value]));
    assert.deepEqual(env, { HOST_ROOT: "/host", PLUGIN_DIR: PLUGIN, CONFIG_FILE: CONFIG });
  },
});

Deno.test({
  ...needs(
    "installer: the install script in a chroot of the image with a fake node: install, upgrade, a node where it does not run",
    { os: "linux", tools: ["chroot", "busybox", "setpriv"], root: true },
  ),
  fn: async () => {
    const work = await Deno.makeTempDir();
    // A plugin that says its version, as the release binary's `version` does.
    const stub = (v: string) => `#!/bin/sh\necho "${NAME} ${v} (commit 0123456789ab)"\n`;
    const image = async (v: string) => {
      const bin = `${work}/plugin-${v}`;
      await Deno.writeTextFile(bin, stub(v));
      const ctx = `${work}/image-${v}`;
      const r = await sh([Deno.execPath(), "task", "--quiet", "installer-image", "--binary", bin, "--context", ctx], {
        ...PATH,
        HOME: work,
        DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
      });
      assert.equal(r.code, 0, r.err);
      await Deno.mkdir(`${ctx}/config`);
      await Deno.writeTextFile(`${ctx}/config/credential-provider-config.yaml`, `# config for ${v}\n`);
      return ctx;
    };
    /** A node's root: with a shell (the plugin runs) or without one (as a musl or too-old node would fail it). */
    const node = async (path: string, runs: boolean) => {
      await Deno.mkdir(`${path}/bin`, { recursive: true });
      if (runs) {
        await Deno.copyFile(`${work}/image-0.1.0/bin/busybox`, `${path}/bin/busybox`);
        await Deno.chmod(`${path}/bin/busybox`, 0o755);
        await Deno.symlink("busybox", `${path}/bin/sh`);
      }
    };
    // With exactly the DaemonSet's capabilities: the bounding set cut to SYS_CHROOT before chroot runs.
    const install = (ctx: string, hostInside: string) =>
      sh(["setpriv", "--bounding-set=-all,+sys_chroot", CHROOT!, ctx, "/bin/sh", "/opt/acr-helper/install-plugin.sh"], {
        PATH: "/bin",
        HOST_ROOT: hostInside,
        INSTALL_ONCE: "1",
      });

    const v1 = await image("0.1.0");
    await node(`${v1}/host`, true);
    let r = await install(v1, "/host");
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, new RegExp(`installed ${NAME} 0\\.1\\.0 \\(commit 0123456789ab\\) in ${PLUGIN}`));
    assert.equal(await Deno.readTextFile(`${v1}/host${PLUGIN}/${NAME}`), stub("0.1.0"));
    assert.equal(await Deno.readTextFile(`${v1}/host${CONFIG}`), "# config for 0.1.0\n");

    // Upgrade: a new image over the same node, the plugin and config replaced, nothing staged left behind.
    const v2 = await image("0.2.0");
    await Deno.rename(`${v1}/host`, `${v2}/host`);
    r = await install(v2, "/host");
    assert.equal(r.code, 0, r.out + r.err);
    assert.equal(await Deno.readTextFile(`${v2}/host${PLUGIN}/${NAME}`), stub("0.2.0"));
    assert.equal(await Deno.readTextFile(`${v2}/host${CONFIG}`), "# config for 0.2.0\n");
    assert.deepEqual([...Deno.readDirSync(`${v2}/host${PLUGIN}`)].map((e) => e.name), [NAME]);

    // A node where the plugin does not run: refused in one line, an earlier install left as it was.
    await Deno.mkdir(`${v2}/bad${PLUGIN}`, { recursive: true });
    await node(`${v2}/bad`, false);
    await Deno.writeTextFile(`${v2}/bad${PLUGIN}/${NAME}`, "previous");
    r = await install(v2, "/bad");
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      /^acr-helper installer: the plugin does not run on this node \(it needs glibc 2\.27 or newer; no musl\): .*; nothing changed\n$/,
    );
    assert.equal(await Deno.readTextFile(`${v2}/bad${PLUGIN}/${NAME}`), "previous");
    assert.deepEqual([...Deno.readDirSync(`${v2}/bad${PLUGIN}`)].map((e) => e.name), [NAME]);
  },
});

Deno.test({
  ...needs("installer: the image builds with podman build --network=none", {
    os: "linux",
    tools: ["podman", "busybox"],
    root: true,
  }),
  fn: async () => {
    // podman refuses a runroot path over 50 characters: a short directory of its own under /tmp, removed after.
    const work = await Deno.makeTempDir({ dir: Deno.build.os === "linux" ? "/tmp" : undefined, prefix: "acrp" });
    try {
      await buildAndInspect(work);
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
});

async function buildAndInspect(work: string) {
  {
    const r = await sh([
      Deno.execPath(),
      "task",
      "--quiet",
      "installer-image",
      "--context",
      `${work}/ctx`,
      "--build",
      "localhost/acr-helper-installer:test",
      "--podman-root",
      `${work}/podman`,
    ], { ...PATH, HOME: work, DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno` });
    assert.equal(r.code, 0, r.out + r.err);
    const inspect = await sh([
      "podman",
      `--root=${work}/podman/root`,
      `--runroot=${work}/podman/run`,
      "--storage-driver=vfs",
      "image",
      "inspect",
      "--format",
      "{{json .Config.Entrypoint}}",
      "localhost/acr-helper-installer:test",
    ], PATH);
    assert.equal(inspect.code, 0, inspect.err);
    assert.deepEqual(JSON.parse(inspect.out), ["/bin/sh", "/opt/acr-helper/install-plugin.sh"]);
  }
}
