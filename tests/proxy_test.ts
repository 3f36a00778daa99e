import assert from "node:assert/strict";
import { proxyForUrl } from "../lib/proxy.ts";
import { serveHttp1 } from "./fake/http1.ts";
import { startFakeAcr } from "./fake/server.ts";
import { runHelper, tempHome } from "./util.ts";

Deno.test("proxy: scheme variables, either case", () => {
  assert.equal(proxyForUrl("https://cr.cn-hangzhou.aliyuncs.com/", { HTTPS_PROXY: "http://p:3128" }), "http://p:3128");
  assert.equal(proxyForUrl("https://cr.cn-hangzhou.aliyuncs.com/", { https_proxy: "http://q:1" }), "http://q:1");
  assert.equal(proxyForUrl("http://127.0.0.1:9/", { HTTPS_PROXY: "http://p:3128" }), null);
  assert.equal(proxyForUrl("http://127.0.0.1:9/", { HTTP_PROXY: "http://p:3128" }), "http://p:3128");
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

Deno.test("proxy: the helper's API calls go through HTTP_PROXY, and not when NO_PROXY matches", async () => {
  const key = { accessKeyId: "LTAIproxy", accessKeySecret: "proxy-secret" };
  const fake = startFakeAcr({ keys: [key] });
  const seen: string[] = [];
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = serveHttp1(listener, async (req) => {
    seen.push(`${req.method} ${req.url}`);
    const body = req.method === "GET" ? undefined : await req.arrayBuffer();
    return await fetch(req.url, { method: req.method, headers: req.headers, body });
  });
  try {
    const env = {
      HOME: await tempHome(),
      DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT: fake.url,
      ALIBABA_CLOUD_ACCESS_KEY_ID: key.accessKeyId,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: key.accessKeySecret,
      HTTP_PROXY: `http://127.0.0.1:${listener.addr.port}`,
      DOCKER_CREDENTIAL_ACR_HELPER_DISABLE_CACHE: "1", // every run must reach the API
    };
    const r = await runHelper(["get"], "registry.cn-hangzhou.aliyuncs.com", env);
    assert.equal(r.code, 0, r.stdout);
    assert.deepEqual(seen, [`GET ${fake.url}/tokens`]);
    const direct = await runHelper(["get"], "registry.cn-hangzhou.aliyuncs.com", { ...env, NO_PROXY: "127.0.0.1" });
    assert.equal(direct.code, 0, direct.stdout);
    assert.equal(seen.length, 1);
    assert.equal(fake.calls.personalToken, 2);
  } finally {
    listener.close();
    await served;
    await fake.close();
  }
});
