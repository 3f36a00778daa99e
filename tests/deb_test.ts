/**
 * The Debian package (`deno task deb`, issue 15 point 2), with the stand-in a build here has to use: built twice
 * byte for byte the same, lintian-clean, and installed with dpkg inside a private mount namespace (overlays on /usr
 * and /var/lib/dpkg, never the machine itself), where a cold and a warm `get` answer against the fake.
 */
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { startFakeAcr } from "./fake/server.ts";
import { CANARY_KEY, exec, needs } from "./util.ts";

const root = fileURLToPath(new URL("../", import.meta.url));
const NAME = "docker-credential-acr-helper";

const sh = (cmd: string[], env: Record<string, string> = {}) => exec(cmd, { env, cwd: root });

async function build(out: string) {
  const r = await sh([Deno.execPath(), "task", "--quiet", "deb", "--out", out], { SOURCE_DATE_EPOCH: "1700000000" });
  assert.equal(r.code, 0, r.err);
  return r.out.trim();
}

Deno.test({
  ...needs("deb: reproducible, lintian-clean, installed in a private namespace it answers get cold and warm", {
    os: "linux",
    tools: ["dpkg-deb", "lintian", "unshare"],
    root: true,
  }),
  fn: async () => {
    const a = await build(await Deno.makeTempDir());
    const b = await build(await Deno.makeTempDir());
    const deb = a;
    assert.match(deb, new RegExp(`/${NAME}_\\d+\\.\\d+\\.\\d+_(amd64|arm64)\\.deb$`));
    const sum = async (f: string) => (await sh(["sha256sum", f])).out.split(" ")[0];
    assert.equal(await sum(a), await sum(b), "two builds of one commit differ");

    const control = (await sh(["dpkg-deb", "-f", deb])).out;
    assert.match(control, /^Depends: libc6 \(>= 2\.27\)$/m);
    assert.match(control, /^Package: docker-credential-acr-helper$/m);
    const listing = (await sh(["dpkg-deb", "-c", deb])).out;
    for (
      const f of [
        "usr/bin/",
        `usr/share/man/man1/${NAME}.1.gz`,
        `usr/share/doc/${NAME}/copyright`,
        "THIRD_PARTY_NOTICES.gz",
      ]
    ) {
      assert.ok(listing.includes(f), `the package has no ${f}`);
    }
    const copyright =
      (await sh(["sh", "-c", `dpkg-deb --fsys-tarfile '${deb}' | tar -xOf - ./usr/share/doc/${NAME}/copyright`])).out;
    assert.match(copyright, /^Format: https:\/\/www\.debian\.org\/doc\/packaging-manuals\/copyright-format\/1\.0\/$/m);
    assert.match(copyright, /^License: Apache-2\.0 and BlueOak-1\.0\.0 and ISC and MIT$/m);

    {
      const l = await sh(["lintian", "-I", "-E", "--pedantic", "--tag-display-limit", "0", deb]);
      const hints = l.out.split("\n").filter((x) => /^[EWIPX]: /.test(x));
      assert.deepEqual(hints, [], "lintian hints beyond the explained overrides");
      assert.equal(l.code, 0, l.out + l.err);
    }

    const fake = startFakeAcr({ keys: [CANARY_KEY] });
    try {
      const t = await Deno.makeTempDir();
      const home = `${t}/home`;
      await Deno.mkdir(home);
      const script = [
        `mount -t tmpfs none '${t}/o' 2>/dev/null || true`,
        `mkdir -p '${t}/o/u/upper' '${t}/o/u/work' '${t}/o/d/upper' '${t}/o/d/work'`,
        `mount -t overlay overlay -o lowerdir=/usr,upperdir='${t}/o/u/upper',workdir='${t}/o/u/work' /usr`,
        `mount -t overlay overlay -o lowerdir=/var/lib/dpkg,upperdir='${t}/o/d/upper',workdir='${t}/o/d/work' /var/lib/dpkg`,
        `dpkg -i --log=/dev/null '${deb}' >/dev/null`,
        `printf registry.cn-hangzhou.aliyuncs.com | ${NAME} get`,
        `printf registry.cn-hangzhou.aliyuncs.com | ${NAME} get`,
      ].join(" && ");
      await Deno.mkdir(`${t}/o`);
      const r = await sh(["unshare", "--mount", "--propagation", "private", "sh", "-c", script], {
        PATH: "/usr/bin:/bin:/usr/sbin:/sbin",
        HOME: home,
        DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT: fake.url,
        ALIBABA_CLOUD_ACCESS_KEY_ID: CANARY_KEY.accessKeyId,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET: CANARY_KEY.accessKeySecret,
        ALIBABA_CLOUD_ECS_METADATA_DISABLED: "true",
      });
      assert.equal(r.code, 0, r.out + r.err);
      const [cold, warm] = r.out.trim().split("\n").map((l) => JSON.parse(l).Secret);
      assert.equal(cold, fake.issued[0]);
      assert.equal(warm, cold);
      assert.equal(fake.calls.personalToken, 1, "the second get was a cache hit");
    } finally {
      await fake.close();
    }
    // Nothing reached the machine itself.
    assert.ok(!(await sh(["dpkg", "-s", NAME])).out.includes("install ok installed"));
    assert.throws(() => Deno.statSync(`/usr/bin/${NAME}`));
  },
});
