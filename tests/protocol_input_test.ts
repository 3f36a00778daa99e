/**
 * Hostile and mistaken protocol input, run as docker runs the helper (a
 * subprocess with the release permissions): each case gets its exact one-line
 * answer and exit code, nothing on stderr, no stack trace, no API call, and no
 * secret echoed back.
 */
import assert from "node:assert/strict";
import { startFakeAcr } from "./fake/server.ts";
import { CANARY_KEY, fakeEnv, runChecked, runHelper, runMain, tempHome } from "./util.ts";

const NOT_FOUND = "credentials not found in native keychain\n";
const NO_SERVER = "no credentials server URL\n";
const HOST = "registry.cn-hangzhou.aliyuncs.com";
const MiB = 1 << 20;
const bytes = (...parts: Array<string | number[]>) =>
  new Uint8Array(parts.flatMap((p) => typeof p === "string" ? [...new TextEncoder().encode(p)] : p));

interface Case {
  name: string;
  args: string[];
  stdin: string | Uint8Array;
  code: number;
  stdout: string;
  /** API calls the case may make (a control case proves the harness can succeed). */
  calls?: number;
}

const STORE_HELP = '{"ServerURL","Username","Secret"}';
const STORE_ELSEWHERE =
  "store: ghcr.io is not an ACR registry; docker-credential-acr-helper keeps no passwords, so nothing " +
  'was saved. Use "credHelpers" for your ACR registries instead of "credsStore" (docker-credential-acr-helper ' +
  "configure-docker)\n";
const CASES: Case[] = [
  { name: "control: a host with docker's trailing newline", args: ["get"], stdin: `${HOST}\n`, code: 0, stdout: "" },
  { name: "control: CRLF from a Windows pipe", args: ["get"], stdin: `${HOST}\r\n`, code: 0, stdout: "" },
  { name: "empty stdin", args: ["get"], stdin: "", code: 1, stdout: NO_SERVER },
  { name: "only whitespace", args: ["get"], stdin: " \t\r\n \n", code: 1, stdout: NO_SERVER },
  { name: "1 MiB of text (the limit)", args: ["get"], stdin: "a".repeat(MiB), code: 1, stdout: NOT_FOUND },
  {
    name: "1 MiB of a host name repeated",
    args: ["get"],
    stdin: HOST.repeat(Math.floor(MiB / HOST.length)),
    code: 1,
    stdout: NOT_FOUND,
  },
  {
    name: "over 1 MiB",
    args: ["get"],
    stdin: "a".repeat(MiB + 1),
    code: 1,
    stdout: "stdin is larger than 1 MiB; expected a registry server URL\n",
  },
  { name: "NUL after the host", args: ["get"], stdin: `${HOST}\0`, code: 1, stdout: NOT_FOUND },
  {
    name: "NUL inside the host",
    args: ["get"],
    stdin: "registry.cn-hangzhou\0.aliyuncs.com",
    code: 1,
    stdout: NOT_FOUND,
  },
  { name: "only NUL bytes", args: ["get"], stdin: "\0".repeat(64), code: 1, stdout: NOT_FOUND },
  { name: "invalid UTF-8 after the host", args: ["get"], stdin: bytes(HOST, [0xff, 0xfe]), code: 1, stdout: NOT_FOUND },
  {
    name: "invalid UTF-8 inside the host",
    args: ["get"],
    stdin: bytes("registry.cn-", [0xc3, 0x28], "hangzhou.aliyuncs.com"),
    code: 1,
    stdout: NOT_FOUND,
  },
  {
    name: "overlong UTF-8 for '.'",
    args: ["get"],
    stdin: bytes("registry", [0xc0, 0xae], "cn-hangzhou.aliyuncs.com"),
    code: 1,
    stdout: NOT_FOUND,
  },
  { name: "JSON given to get", args: ["get"], stdin: JSON.stringify({ ServerURL: HOST }), code: 1, stdout: NOT_FOUND },
  { name: "a quoted host", args: ["get"], stdin: `"${HOST}"`, code: 1, stdout: NOT_FOUND },
  {
    name: "two hosts on two lines",
    args: ["get"],
    stdin: `${HOST}\nregistry.cn-beijing.aliyuncs.com`,
    code: 1,
    stdout: NOT_FOUND,
  },
  { name: "a host then junk lines", args: ["get"], stdin: `${HOST}\n\n#comment\n`, code: 1, stdout: NOT_FOUND },
  {
    name: "an overlong label",
    args: ["get"],
    stdin: `${"a".repeat(300)}.cn-hangzhou.cr.aliyuncs.com`,
    code: 1,
    stdout: NOT_FOUND,
  },
  {
    name: "extra argument to get",
    args: ["get", HOST],
    stdin: HOST,
    code: 1,
    stdout: `unexpected argument after get: "${HOST}" (the server URL goes on stdin; see --help)\n`,
  },
  {
    name: "extra argument to store",
    args: ["store", "--password", "CANARY-typed-on-the-command-line"],
    stdin: "{}",
    code: 1,
    stdout: 'unexpected argument after store: "--password" (the server URL goes on stdin; see --help)\n',
  },
  { name: "unknown action", args: ["fetch"], stdin: HOST, code: 1, stdout: "unknown action: fetch\n" },
  { name: "empty action", args: [""], stdin: HOST, code: 1, stdout: "unknown action: \n" },
  { name: "action in upper case", args: ["GET"], stdin: HOST, code: 1, stdout: "unknown action: GET\n" },
  {
    name: "invalid JSON to store",
    args: ["store"],
    stdin: `{"ServerURL":"${HOST}","Username":"u","Secret":"CANARY-login-pw`,
    code: 1,
    stdout: `store: stdin is not valid JSON; expected ${STORE_HELP}\n`,
  },
  {
    name: "empty stdin to store",
    args: ["store"],
    stdin: "",
    code: 1,
    stdout: `store: stdin is not valid JSON; expected ${STORE_HELP}\n`,
  },
  {
    name: "a JSON array to store",
    args: ["store"],
    stdin: "[1,2]",
    code: 1,
    stdout: `store: stdin must be a JSON object ${STORE_HELP}\n`,
  },
  {
    name: "a JSON string to store",
    args: ["store"],
    stdin: '"x"',
    code: 1,
    stdout: `store: stdin must be a JSON object ${STORE_HELP}\n`,
  },
  {
    name: "store without ServerURL",
    args: ["store"],
    stdin: JSON.stringify({ Username: "u", Secret: "CANARY-login-pw" }),
    code: 1,
    stdout: NO_SERVER,
  },
  {
    // With credsStore set to this helper, docker must report the failure, not "Login Succeeded" with nothing kept.
    name: "store with a non-ACR server (docker login elsewhere)",
    args: ["store"],
    stdin: JSON.stringify({ ServerURL: "ghcr.io", Username: "u", Secret: "CANARY-login-pw" }),
    code: 1,
    stdout: STORE_ELSEWHERE,
  },
  { name: "erase with empty stdin", args: ["erase"], stdin: "", code: 1, stdout: NO_SERVER },
  { name: "erase with NUL bytes", args: ["erase"], stdin: "\0\0", code: 0, stdout: "" },
  { name: "list ignores whatever is on stdin", args: ["list"], stdin: bytes([0xff, 0, 0x0a]), code: 0, stdout: "{}\n" },
];

/** One JSON line for HOST with a password the fake issued. */
function isCredentials(stdout: string, issued: readonly string[]): boolean {
  const creds = JSON.parse(stdout);
  return stdout.endsWith("}\n") && creds.ServerURL === HOST && creds.Username === "cr_temp_user" &&
    issued.includes(creds.Secret);
}

Deno.test("protocol input: every case gets its exact answer, exit code, an empty stderr and no API call", async () => {
  const fake = startFakeAcr({ keys: [CANARY_KEY] });
  try {
    // No cache: every control case must reach the API, and no case can lean on another's token.
    const env = await fakeEnv(fake.url, CANARY_KEY, { DOCKER_CREDENTIAL_ACR_HELPER_DISABLE_CACHE: "true" });
    const failures: string[] = [];
    // In-process (the CLI's main with its stdin given): the process contract is protocol_test's and stress_test's.
    for (const c of CASES) {
      const r = await runChecked(c.args, c.stdin, env, fake.issued, runMain);
      const ok = c.name.startsWith("control:")
        ? r.code === 0 && isCredentials(r.stdout, fake.issued)
        : r.code === c.code && r.stdout === c.stdout;
      if (!ok) failures.push(`${c.name}: exit ${r.code}, stdout ${JSON.stringify(r.stdout.slice(0, 200))}`);
      if (r.stderr !== "") failures.push(`${c.name}: stderr ${JSON.stringify(r.stderr.slice(0, 200))}`);
      if (/\n\s+at |error: Uncaught/.test(r.stdout + r.stderr)) failures.push(`${c.name}: stack trace`);
    }
    assert.deepEqual(failures, []);
    const controls = CASES.filter((c) => c.name.startsWith("control:")).length;
    assert.equal(fake.calls.total, controls, "only the control cases call the API");
  } finally {
    await fake.close();
  }
});

Deno.test("protocol input: kubelet-credential-provider refuses bad requests in one line on stderr", async () => {
  const env = { HOME: await tempHome(), DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT: "http://127.0.0.1:9" };
  const cases: Array<[string | Uint8Array, RegExp]> = [
    ["", /^docker-credential-acr-helper: stdin is not a JSON CredentialProviderRequest\n$/],
    ["{", /^docker-credential-acr-helper: stdin is not a JSON CredentialProviderRequest\n$/],
    [bytes([0xff, 0xfe, 0]), /^docker-credential-acr-helper: stdin is not a JSON CredentialProviderRequest\n$/],
    [JSON.stringify({ kind: "Pod" }), /^docker-credential-acr-helper: kind must be CredentialProviderRequest/],
  ];
  for (const [stdin, expected] of cases) {
    const r = await runChecked(["kubelet-credential-provider"], stdin, env, [], runMain);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "", "the kubelet parses stdout: nothing but a response goes there");
    assert.match(r.stderr, expected);
    assert.equal(r.stderr.split("\n").length, 2, "one line");
  }
});

Deno.test("protocol input (a process, its real stdin pipe): the 1 MiB limit, a host name on it, and a non-UTF-8 byte", async () => {
  const env = { HOME: await tempHome(), DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT: "http://127.0.0.1:9" };
  const over = await runHelper(["get"], "a".repeat(MiB + 1), env);
  assert.deepEqual([over.code, over.stdout, over.stderr], [
    1,
    "stdin is larger than 1 MiB; expected a registry server URL\n",
    "",
  ]);
  const foreign = await runHelper(["get"], "ghcr.io", env);
  assert.deepEqual([foreign.code, foreign.stdout], [1, NOT_FOUND]);
  const bad = await runHelper(["get"], bytes([0x72, 0xff, 0x0a]), env);
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr, "");
  assert.equal(bad.stdout.split("\n").length, 2, "one line");
});
