import assert from "node:assert/strict";
import {
  type CredentialStore,
  describeUnexpected,
  errorLine,
  handleAction,
  HelperError,
  NotFoundError,
} from "../lib/protocol.ts";

function harness(stdin: string, store: Partial<CredentialStore> = {}) {
  let out = "";
  const calls: string[] = [];
  const full: CredentialStore = {
    get: store.get ?? ((s) => Promise.resolve({ ServerURL: s, Username: "u", Secret: "p" })),
    store: store.store ?? ((c) => (calls.push(`store ${c.ServerURL}`), Promise.resolve())),
    erase: store.erase ?? ((s) => (calls.push(`erase ${s}`), Promise.resolve())),
    list: store.list ?? (() => Promise.resolve({ "a.example": "u" })),
  };
  return {
    io: { readStdin: () => Promise.resolve(stdin), write: (t: string) => void (out += t), versionText: "x 1.0" },
    store: full,
    out: () => out,
    calls,
  };
}

Deno.test("protocol: get prints the credentials JSON and a newline", async () => {
  const h = harness("registry.cn-hangzhou.aliyuncs.com");
  assert.equal(await handleAction("get", h.store, h.io), 0);
  assert.equal(h.out(), '{"ServerURL":"registry.cn-hangzhou.aliyuncs.com","Username":"u","Secret":"p"}\n');
});

Deno.test("protocol: get with empty stdin says 'no credentials server URL'", async () => {
  const h = harness("  \n");
  assert.equal(await handleAction("get", h.store, h.io), 1);
  assert.equal(h.out(), "no credentials server URL\n");
});

Deno.test("protocol: not found is docker's exact message", async () => {
  const h = harness("docker.io", { get: () => Promise.reject(new NotFoundError()) });
  assert.equal(await handleAction("get", h.store, h.io), 1);
  assert.equal(h.out(), "credentials not found in native keychain\n");
});

Deno.test("protocol: store accepts valid JSON and rejects invalid JSON in one line", async () => {
  const ok = harness('{"ServerURL":"r.example","Username":"u","Secret":"s"}');
  assert.equal(await handleAction("store", ok.store, ok.io), 0);
  assert.deepEqual(ok.calls, ["store r.example"]);
  assert.equal(ok.out(), "");
  const bad = harness("{nope");
  assert.equal(await handleAction("store", bad.store, bad.io), 1);
  assert.match(bad.out(), /^store: stdin is not valid JSON[^\n]*\n$/);
});

Deno.test("protocol: erase passes the server; list prints a JSON object", async () => {
  const h = harness("r.example\n");
  assert.equal(await handleAction("erase", h.store, h.io), 0);
  assert.deepEqual(h.calls, ["erase r.example"]);
  const l = harness("unused");
  assert.equal(await handleAction("list", l.store, l.io), 0);
  assert.deepEqual(JSON.parse(l.out()), { "a.example": "u" });
});

Deno.test("protocol: unexpected errors never show their message or stack", async () => {
  const h = harness("r.example", { get: () => Promise.reject(new TypeError("secret=abc\n    at foo (x.ts:1)")) });
  assert.equal(await handleAction("get", h.store, h.io), 1);
  assert.ok(!h.out().includes("secret=abc"));
  assert.equal(h.out().split("\n").length, 2);
  assert.equal(errorLine(new HelperError("one\ntwo")), "one");
});

Deno.test("protocol: an unexpected error is one line for the user, and its name and first line go to the debug log", async () => {
  const logged: string[] = [];
  const h = harness("registry.cn-hangzhou.aliyuncs.com", {
    get: () => Promise.reject(new TypeError("cannot read x of undefined\n    at secret stack frame")),
  });
  const io = { ...h.io, unexpected: (err: unknown) => logged.push(describeUnexpected(err)) };
  assert.equal(await handleAction("get", h.store, io), 1);
  assert.equal(h.out(), "unexpected TypeError; rerun with DOCKER_CREDENTIAL_ACR_HELPER_LOG_LEVEL=debug for details\n");
  assert.deepEqual(logged, ["unexpected TypeError: cannot read x of undefined"]);
  // Ours are not "unexpected": they are the line the user sees.
  const ours = harness("x", { get: () => Promise.reject(new HelperError("a clear line")) });
  const none: string[] = [];
  await handleAction("get", ours.store, { ...ours.io, unexpected: () => void none.push("called") });
  assert.deepEqual(none, []);
});
