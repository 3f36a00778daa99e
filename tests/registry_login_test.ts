/** doctor's registry login (lib/commands/registry_login.ts) against hand-written registries: Basic, Bearer, refusals. */
import assert from "node:assert/strict";
import { parseChallenge, registryLogin } from "../lib/commands/registry_login.ts";
import { isUserFacing, kindOf, markUserFacing } from "../lib/errors.ts";
import { AcrApiError } from "../lib/api_errors.ts";
import { ConfigError } from "../lib/config.ts";
import { errorLine, HelperError } from "../lib/protocol.ts";

const USER = "cr_temp_user";
const PASSWORD = "temp-password";
const basic = `Basic ${btoa(`${USER}:${PASSWORD}`)}`;

/** A registry as a fetch function: `mode` decides the challenge; `seen` records what was asked, with which auth. */
function registry(mode: "basic" | "bearer" | "http-realm" | "open") {
  const seen: string[] = [];
  const f = (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input instanceof Request ? input.url : input));
    const auth = new Headers(init?.headers).get("authorization") ?? "";
    seen.push(`${url.host}${url.pathname}${url.search} ${auth.split(" ")[0] || "-"}`);
    const unauthorized = (challenge: string) =>
      new Response(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }), {
        status: 401,
        headers: { "www-authenticate": challenge },
      });
    if (mode === "open") return Promise.resolve(new Response("{}"));
    if (url.host === "auth.example.test") {
      return Promise.resolve(
        auth === basic ? Response.json({ token: "registry-token" }) : unauthorized('Basic realm="auth"'),
      );
    }
    if (mode === "basic") return Promise.resolve(auth === basic ? new Response("{}") : unauthorized('Basic realm="r"'));
    if (auth === "Bearer registry-token") return Promise.resolve(new Response("{}"));
    const realm = mode === "http-realm" ? "http://auth.example.test/auth" : "https://auth.example.test/auth";
    return Promise.resolve(unauthorized(`Bearer realm="${realm}",service="registry.example.test"`));
  };
  return { seen, fetch: f as typeof fetch };
}

Deno.test("registry login: Basic and Bearer (token realm) challenges are answered with the temporary password", async () => {
  const b = registry("basic");
  const ok = await registryLogin({ host: "r.example.test", username: USER, password: PASSWORD, fetch: b.fetch });
  assert.deepEqual(ok, { accepted: true, detail: "accepted by the registry (Basic auth)" });
  const t = registry("bearer");
  const ok2 = await registryLogin({ host: "r.example.test", username: USER, password: PASSWORD, fetch: t.fetch });
  assert.deepEqual(ok2, {
    accepted: true,
    detail: "accepted by the registry (Bearer token from https://auth.example.test)",
  });
  assert.deepEqual(t.seen, [
    "r.example.test/v2/ -",
    "auth.example.test/auth?service=registry.example.test Basic",
    "r.example.test/v2/ Bearer",
  ]);
});

Deno.test("registry login: a refused password is reported with the registry's status and message", async () => {
  for (const mode of ["basic", "bearer"] as const) {
    const r = await registryLogin({
      host: "r.example.test",
      username: USER,
      password: "wrong",
      fetch: registry(mode).fetch,
    });
    assert.equal(r.accepted, false);
    assert.match(r.detail, /rejected by the registry.*HTTP 401: UNAUTHORIZED authentication required$/);
  }
  const http = await registryLogin({
    host: "r.example.test",
    username: USER,
    password: PASSWORD,
    fetch: registry("http-realm").fetch,
  });
  assert.deepEqual(http, {
    accepted: false,
    detail: "the registry's token realm http://auth.example.test is not HTTPS; not sending it",
  });
  assert.equal(parseChallenge('Bearer realm="https://a/b",service="s",scope="x"')?.params.service, "s");
});

Deno.test("errors: user-facing errors are marked across modules (a symbol, not class names); others are not", () => {
  const api = new AcrApiError("GetAuthorizationToken failed: X", { code: "X", status: 400 });
  assert.ok(isUserFacing(api));
  assert.equal(kindOf(api), "api");
  assert.equal(kindOf(new ConfigError("config file c: bad")), "config");
  assert.ok(isUserFacing(new HelperError("a line")));
  const plain = new Error("secret-looking internal detail");
  plain.name = "AcrApiError"; // a name alone is not a mark
  assert.ok(!isUserFacing(plain));
  assert.match(errorLine(plain), /^unexpected AcrApiError; rerun with/);
  assert.equal(errorLine(markUserFacing(new Error("worded for you"))), "worded for you");
});
