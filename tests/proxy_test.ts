import assert from "node:assert/strict";
import { proxyForUrl } from "../lib/proxy.ts";
import { startFakeAcr } from "./fake/server.ts";
import { runHelper, tempHome } from "./util.ts";

Deno.test("proxy: scheme variables, either case; host:port without a scheme is an HTTP proxy", () => {
  assert.equal(proxyForUrl("https://cr.cn-hangzhou.aliyuncs.com/", { HTTPS_PROXY: "http://p:3128" }), "http://p:3128");
  assert.equal(proxyForUrl("https://cr.cn-hangzhou.aliyuncs.com/", { https_proxy: "http://q:1" }), "http://q:1");
  assert.equal(proxyForUrl("http://cr.example.test:9/", { HTTPS_PROXY: "http://p:3128" }), null);
  assert.equal(proxyForUrl("http://cr.example.test:9/", { HTTP_PROXY: "http://p:3128" }), "http://p:3128");
  assert.equal(proxyForUrl("https://cr.cn-hangzhou.aliyuncs.com/", { HTTPS_PROXY: "p:3128" }), "http://p:3128");
  assert.equal(proxyForUrl("https://cr.cn-hangzhou.aliyuncs.com/", { HTTPS_PROXY: " " }), null);
});

Deno.test("proxy: the metadata service, loopback and link-local hosts never go through a proxy", () => {
  const env = { HTTP_PROXY: "http://p:3128", HTTPS_PROXY: "http://p:3128" };
  for (
    const url of [
      "http://100.100.100.200/latest/meta-data/ram/security-credentials/",
      "http://127.0.0.1:8080/",
      "http://localhost:1/",
      "http://169.254.169.254/",
      "http://[::1]:8080/",
      "https://[fe80::1]/",
    ]
  ) assert.equal(proxyForUrl(url, env), null, url);
  assert.equal(proxyForUrl("http://100.100.100.201/", env), "http://p:3128");
});

Deno.test("proxy: NO_PROXY exact, suffix, leading dot, port and *", () => {
  const env = { HTTPS_PROXY: "http://p:3128" };
  const url = "https://cr.cn-hangzhou.aliyuncs.com/";
  assert.equal(proxyForUrl(url, { ...env, NO_PROXY: "aliyuncs.com" }), null);
  assert.equal(proxyForUrl(url, { ...env, NO_PROXY: ".aliyuncs.com" }), null);
  assert.equal(proxyForUrl(url, { ...env, NO_PROXY: "*.aliyuncs.com" }), null);
  assert.equal(proxyForUrl(url, { ...env, NO_PROXY: "*" }), null);
  assert.equal(proxyForUrl(url, { ...env, no_proxy: "cr.cn-hangzhou.aliyuncs.com:443" }), null);
  assert.equal(proxyForUrl(url, { ...env, NO_PROXY: "cr.cn-hangzhou.aliyuncs.com:8443" }), "http://p:3128");
  assert.equal(proxyForUrl(url, { ...env, NO_PROXY: "example.com,notaliyuncs.com" }), "http://p:3128");
});

/**
 * A raw HTTP proxy on loopback: forwards absolute-form requests byte for byte to `upstream` (so the signed Host
 * header arrives as the client sent it) and answers CONNECT with `connect` (a refusal such as 407).
 */
function startProxy(
  upstream: number,
  connect = "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n",
) {
  const seen: string[] = [];
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serve = async (conn: Deno.Conn) => {
    let buf = new Uint8Array(0);
    const chunk = new Uint8Array(16 * 1024);
    let head = -1;
    while (head === -1) {
      const n = await conn.read(chunk);
      if (n === null) return conn.close();
      const next = new Uint8Array(buf.length + n);
      next.set(buf);
      next.set(chunk.subarray(0, n), buf.length);
      buf = next;
      head = new TextDecoder().decode(buf).indexOf("\r\n\r\n");
    }
    const text = new TextDecoder().decode(buf);
    const line = text.split("\r\n", 1)[0];
    seen.push(line);
    if (line.startsWith("CONNECT ")) {
      await conn.write(new TextEncoder().encode(connect));
      return conn.close();
    }
    const up = await Deno.connect({ hostname: "127.0.0.1", port: upstream });
    await up.write(buf);
    const length = Number(/content-length:\s*(\d+)/i.exec(text.slice(0, head))?.[1] ?? 0);
    let sent = buf.length - head - 4;
    while (sent < length) {
      const n = await conn.read(chunk);
      if (n === null) break;
      await up.write(chunk.subarray(0, n));
      sent += n;
    }
    await up.readable.pipeTo(conn.writable).catch(() => {});
  };
  const done = (async () => {
    for await (const conn of listener) serve(conn).catch(() => {});
  })();
  return {
    url: `127.0.0.1:${listener.addr.port}`,
    seen,
    async close() {
      listener.close();
      await done.catch(() => {});
    },
  };
}

Deno.test("proxy: API calls go through HTTP_PROXY given without a scheme; loopback never does", async () => {
  const key = { accessKeyId: "LTAIproxy", accessKeySecret: "proxy-secret" };
  const fake = startFakeAcr({ keys: [key] });
  const port = Number(new URL(fake.url).port);
  const proxy = startProxy(port);
  try {
    const env = {
      HOME: await tempHome(),
      // A name, not 127.0.0.1: loopback is never proxied. Only the proxy resolves it (to the fake).
      DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT: `http://cr.proxy-test.invalid:${port}`,
      ALIBABA_CLOUD_ACCESS_KEY_ID: key.accessKeyId,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: key.accessKeySecret,
      HTTP_PROXY: proxy.url,
      DOCKER_CREDENTIAL_ACR_HELPER_DISABLE_CACHE: "true", // every run must reach the API
    };
    const r = await runHelper(["get"], "registry.cn-hangzhou.aliyuncs.com", env);
    assert.equal(r.code, 0, r.stdout);
    assert.deepEqual(proxy.seen, [`GET http://cr.proxy-test.invalid:${port}/tokens HTTP/1.1`]);
    const direct = await runHelper(["get"], "registry.cn-hangzhou.aliyuncs.com", {
      ...env,
      DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT: fake.url,
    });
    assert.equal(direct.code, 0, direct.stdout);
    assert.equal(proxy.seen.length, 1, "loopback went through the proxy");
    const noProxy = await runHelper(["get"], "registry.cn-hangzhou.aliyuncs.com", { ...env, NO_PROXY: ".invalid" });
    assert.equal(noProxy.code, 1, "NO_PROXY matched: the name is looked up directly, and does not resolve");
    assert.equal(proxy.seen.length, 1);
    assert.equal(fake.calls.personalToken, 2);
  } finally {
    await proxy.close();
    await fake.close();
  }
});

Deno.test("proxy: a proxy that refuses CONNECT (407) is named as the proxy's answer, not the API's", async () => {
  const proxy = startProxy(9);
  try {
    const r = await runHelper(["get"], "registry.cn-hangzhou.aliyuncs.com", {
      HOME: await tempHome(),
      DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT: "https://cr.proxy-test.invalid",
      ALIBABA_CLOUD_ACCESS_KEY_ID: "LTAIproxy",
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: "CANARY-proxy-secret",
      HTTPS_PROXY: `http://user:CANARY-proxy-password@${proxy.url}`,
    });
    assert.equal(r.code, 1);
    assert.equal(
      r.stdout,
      `GetAuthorizationToken (Personal Edition, cn-hangzhou): the proxy http://${proxy.url} refused to connect to ` +
        "the API: HTTP 407 (proxy authentication required: check the user and password in HTTPS_PROXY)\n",
    );
    assert.deepEqual(proxy.seen, ["CONNECT cr.proxy-test.invalid:443 HTTP/1.1"]);
    assert.equal(r.stderr, "");
  } finally {
    await proxy.close();
  }
});
