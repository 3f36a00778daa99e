/**
 * The helper's credential chain against the pinned `@alicloud/credentials`
 * default chain, over seeded generated setups (environment variables,
 * credentials files, aliyun CLI configs, the ECS and URI switches). The SDK
 * runs for real; only what would call a service (its one HTTP function) or
 * run a process (External's command) is stubbed, by fakes that answer the
 * same for both sides. Each deliberate difference (DESIGN R1-R5) is applied
 * to the SDK's side by name, so any other disagreement fails the test with
 * the setup that shows it.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import * as credentialsNs from "@alicloud/credentials";
import * as httpNs from "npm:@alicloud/credentials@2.4.7/dist/src/providers/http.js";
import * as externalNs from "npm:@alicloud/credentials@2.4.7/dist/src/providers/external.js";
import * as iniNs from "ini";
import { type CredentialPlan, NoCredentialsError, selectCredentialSource } from "../lib/auth.ts";

// deno-lint-ignore no-explicit-any -- CJS interop: the SDK's classes and modules are untyped here.
type Any = any;
const cjs = (ns: Any) => ns.default ?? ns;
const sdk: Any = cjs(credentialsNs);
const http: Any = cjs(httpNs);
const ExternalProvider: Any = cjs(externalNs).default ?? cjs(externalNs);
const ini: Any = cjs(iniNs);

// ---- a seeded generator -------------------------------------------------------------------------------------
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    chance: (p: number) => next() < p,
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)],
  };
}
type R = ReturnType<typeof rng>;

const NOW_S = Math.floor(Date.now() / 1000);
const ROLES = ["acs:ram::1:role/a", "acs:ram::1:role/b"];
const PROFILES = ["default", "dev", "team.prod"];
const ECS_ROLES = ["node-role", "other-role"];
const HOME = "/home/u";
const CLI_FILE = `${HOME}/.aliyun/config.json`;
const DEFAULT_FILE = `${HOME}/.alibabacloud/credentials`;
const NAMED_FILE = "/etc/acr/credentials";
const TOKEN = "/var/run/oidc-token";

interface Setup {
  env: Record<string, string>;
  /** Files as the user wrote them (the helper reads these). */
  files: Record<string, string>;
  /** The ECS instance's attached role; null: not on ECS. */
  ecsRole: string | null;
}

function padMaybe(r: R, v: string): string {
  return r.chance(0.1) ? `  ${v} ` : v;
}

function genEnv(r: R, env: Record<string, string>) {
  const set = (k: string, v: string) => (env[k] = r.chance(0.05) ? "   " : padMaybe(r, v));
  if (r.chance(0.35)) set("ALIBABA_CLOUD_ACCESS_KEY_ID", "ENVKEY");
  if (r.chance(0.35)) set("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "envsecret");
  if (r.chance(0.1)) set("ALIBABA_CLOUD_SECURITY_TOKEN", "envsts");
  const oidc = r.chance(0.15);
  if (oidc || r.chance(0.2)) set("ALIBABA_CLOUD_ROLE_ARN", r.pick(ROLES));
  if (oidc || r.chance(0.1)) set("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", "acs:ram::1:oidc-provider/p");
  if (oidc || r.chance(0.1)) set("ALIBABA_CLOUD_OIDC_TOKEN_FILE", r.chance(0.7) ? TOKEN : "/nope/token");
  if (r.chance(0.3)) set("ALIBABA_CLOUD_PROFILE", r.pick(PROFILES));
  if (r.chance(0.1)) set("ALIBABA_CLOUD_CLI_PROFILE_DISABLED", r.pick(["true", "TRUE", "false"]));
  if (r.chance(0.2)) set("ALIBABA_CLOUD_ECS_METADATA_DISABLED", r.pick(["true", "false"]));
  if (r.chance(0.2)) set("ALIBABA_CLOUD_ECS_METADATA", r.pick(ECS_ROLES));
  if (r.chance(0.15)) set("ALIBABA_CLOUD_CREDENTIALS_URI", r.pick(["http://127.0.0.1:9/creds", "not a url"]));
  if (r.chance(0.3)) env.ALIBABA_CLOUD_CREDENTIALS_FILE = r.pick([NAMED_FILE, "/nope/credentials"]);
}

function genIni(r: R): string {
  const nl = r.chance(0.2) ? "\r\n" : "\n";
  const lines: string[] = [];
  const sections = 1 + Math.floor(r.chance(0.5) ? 2 : 0);
  for (let i = 0; i < sections; i++) {
    const name = r.pick(PROFILES);
    lines.push(r.chance(0.1) ? `  [${name}]  ` : `[${name}]`);
    if (r.chance(0.2)) lines.push(r.pick(["; a comment", "# a comment", "enable = false", "enable = true"]));
    const type = r.pick(["access_key", "ram_role_arn", "ecs_ram_role", "ACCESS_KEY", "oauth", ""]);
    if (type !== "" || r.chance(0.5)) lines.push(`${r.chance(0.05) ? "Type" : "type"} = ${type}`);
    const kv = (k: string, v: string) => {
      if (!r.chance(0.8)) return;
      const key = r.chance(0.05) ? k.toUpperCase() : k;
      const val = r.pick([v, `"${v}"`, `${v} ; trailing comment`, `${v}#x`]);
      lines.push(`${key} = ${val}`);
    };
    kv("access_key_id", `FILE${i}${name}`);
    kv("access_key_secret", "filesecret");
    if (r.chance(0.1)) lines.push(`access_key_id = DUP${i}`);
    kv("role_arn", r.pick(ROLES));
    kv("role_name", r.pick(ECS_ROLES));
  }
  const text = lines.join(nl) + nl;
  return r.chance(0.1) ? `\ufeff${text}` : text;
}

const MODES = [
  "AK",
  "StsToken",
  "RamRoleArn",
  "EcsRamRole",
  "OIDC",
  "ChainableRamRoleArn",
  "CloudSSO",
  "OAuth",
  "External",
  "RsaKeyPair",
  "CredentialsURI",
  "Bogus",
];

function genCli(r: R): string {
  if (r.chance(0.05)) return "{ not json";
  if (r.chance(0.05)) return JSON.stringify({ current: "default", profiles: [] });
  const profiles: Record<string, unknown>[] = [];
  const names = ["default", "dev", "team.prod", "base"];
  for (const name of names) {
    if (!r.chance(0.6)) continue;
    const mode = r.pick(MODES);
    const p: Record<string, unknown> = { name, mode };
    const maybe = (k: string, v: unknown) => {
      if (r.chance(0.8)) p[k] = v;
    };
    maybe("access_key_id", `CLI-${name}`);
    maybe("access_key_secret", "clisecret");
    if (mode === "StsToken") maybe("sts_token", "clists");
    if (["RamRoleArn", "OIDC", "ChainableRamRoleArn"].includes(mode)) maybe("ram_role_arn", r.pick(ROLES));
    if (mode === "RamRoleArn" || mode === "ChainableRamRoleArn") {
      if (r.chance(0.3)) p.expired_seconds = r.pick([600, 900, 3600]);
    }
    if (mode === "EcsRamRole") maybe("ram_role_name", r.pick(ECS_ROLES));
    if (mode === "OIDC") {
      maybe("oidc_provider_arn", "acs:ram::1:oidc-provider/cli");
      maybe("oidc_token_file", r.pick([TOKEN, "/nope/cli-token"]));
      if (r.chance(0.3)) p.duration_seconds = r.pick([600, 3600]);
    }
    if (mode === "ChainableRamRoleArn") maybe("source_profile", r.pick([...names, "missing", name]));
    if (mode === "CloudSSO") {
      maybe("cloud_sso_sign_in_url", "https://signin.example");
      maybe("cloud_sso_account_id", "1234");
      maybe("cloud_sso_access_config", "ac-1");
      maybe("access_token", "sso-token");
      maybe("cloud_sso_access_token_expire", r.pick([NOW_S + 3600, NOW_S - 60]));
    }
    if (mode === "OAuth") {
      maybe("oauth_site_type", r.pick(["CN", "intl", "EU"]));
      if (r.chance(0.5)) p.oauth_refresh_token = "rt";
      const exp = r.pick([NOW_S + 7200, NOW_S - 60]);
      if (r.chance(0.6)) {
        p.oauth_access_token = `at-${exp}`;
        p.oauth_access_token_expire = exp;
      }
    }
    if (mode === "External") maybe("process_command", r.pick(["get-creds --json", "'my tool' --profile x"]));
    profiles.push(p);
  }
  const conf: Record<string, unknown> = { profiles };
  if (r.chance(0.6)) conf.current = r.pick([...names, "missing"]);
  return JSON.stringify(conf);
}

function genSetup(seed: number): Setup {
  const r = rng(seed);
  const env: Record<string, string> = {};
  genEnv(r, env);
  const files: Record<string, string> = {};
  if (r.chance(0.8)) files[TOKEN] = "header.payload.sig";
  if (r.chance(0.6)) files[DEFAULT_FILE] = genIni(r);
  if (r.chance(0.4)) files[NAMED_FILE] = genIni(r);
  if (r.chance(0.6)) files[CLI_FILE] = genCli(r);
  return { env, files, ecsRole: r.chance(0.3) ? r.pick(ECS_ROLES) : null };
}

// ---- the deliberate differences, applied to the SDK's side by name ------------------------------------------
/** R4: blank environment values are unset, padded ones trimmed. */
function r4Env(env: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v.trim() !== "") out[k] = v.trim();
  return out;
}
/** R3: a BOM, a padded [section] line and a dotted section name are sections (escaped for npm ini). */
function r3Ini(text: string): string {
  return text.replace(/^\ufeff/, "").split(/(\r?\n)/).map((line) => {
    const m = /^\s*\[([^\]]*)\]\s*$/.exec(line);
    return m ? `[${m[1].trim().replaceAll(".", "\\.")}]` : line;
  }).join("");
}
/** R5: a CLI config without `current` uses `default`. */
function r5Cli(text: string): string {
  try {
    const conf = JSON.parse(text);
    if (conf && typeof conf === "object" && !conf.current) conf.current = "default";
    return JSON.stringify(conf);
  } catch {
    return text;
  }
}
/** R1: RRSA OIDC before the env access key. */
function r1Order(providers: Any[]) {
  const oidc = providers.findIndex((p) => p.getProviderName() === "oidc_role_arn");
  const env = providers.findIndex((p) => p.getProviderName() === "env");
  if (oidc > env && env >= 0) providers.splice(env, 0, providers.splice(oidc, 1)[0]);
}
/** R2: when the named credentials file is missing or lacks the profile, the default file comes next. */
function r2DefaultFile(providers: Any[], env: Record<string, string>, root: string, home: string) {
  const i = providers.findIndex((p) => p.getProviderName() === "profile");
  if (i < 0 || !env.ALIBABA_CLOUD_CREDENTIALS_FILE) return;
  const named = `${root}${env.ALIBABA_CLOUD_CREDENTIALS_FILE}`;
  const profile = env.ALIBABA_CLOUD_PROFILE || "default";
  const inner = providers[i];
  const read = (path: string) => {
    try {
      return ini.parse(Deno.readTextFileSync(path));
    } catch {
      return null;
    }
  };
  providers[i] = {
    getProviderName: () => "profile",
    getCredentials: () => {
      const parsed = read(named);
      if (parsed !== null && parsed[profile]) return inner.getCredentials();
      const fallback = read(`${home}/.alibabacloud/credentials`);
      if (fallback === null) throw new Error("no default file");
      return inner.getCredentialsProvider(fallback).getCredentials();
    },
  };
}

/** Which of R1-R5 decided the helper's choice in a setup (for the coverage check). */
function differencesUsed(setup: Setup, ours: { kind: string; identity: string } | null): string[] {
  const env = r4Env(setup.env);
  const rules: string[] = [];
  if (ours?.kind === "oidc" && env.ALIBABA_CLOUD_ACCESS_KEY_ID && env.ALIBABA_CLOUD_ACCESS_KEY_SECRET) rules.push("R1");
  if (ours?.identity.startsWith(`file:${DEFAULT_FILE}#`) && env.ALIBABA_CLOUD_CREDENTIALS_FILE) rules.push("R2");
  if (ours?.kind === "credentials-file") {
    const file = ours.identity.slice(5, ours.identity.indexOf("#"));
    if (setup.files[file] !== r3Ini(setup.files[file])) rules.push("R3");
  }
  if (Object.entries(setup.env).some(([k, v]) => env[k] !== v)) rules.push("R4");
  if (ours?.kind === "cli-profile" && !env.ALIBABA_CLOUD_PROFILE && !JSON.parse(setup.files[CLI_FILE]).current) {
    rules.push("R5");
  }
  return rules;
}

// ---- fakes of the services, the same for both sides ---------------------------------------------------------
let ecsAttached: string | null = null;

function answer(status: number, body: unknown) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return { statusCode: status, headers: { "content-type": "application/json" }, body: Buffer.from(text) };
}
function sessionOf(ak: string) {
  const exp = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d+Z$/, "Z");
  return { AccessKeyId: ak, AccessKeySecret: "s", SecurityToken: "t", Expiration: exp, Code: "Success" };
}
http.doRequest = (req: Any) => {
  const host = String(req.host ?? new URL(req.url).host);
  if (host === "100.100.100.200") {
    if (ecsAttached === null) return Promise.reject(new Error("connect ETIMEDOUT 100.100.100.200"));
    if (req.path === "/latest/api/token") return Promise.resolve(answer(200, "imds-token"));
    const role = String(req.path).replace("/latest/meta-data/ram/security-credentials/", "");
    if (role === "") return Promise.resolve(answer(200, ecsAttached));
    return Promise.resolve(role === ecsAttached ? answer(200, sessionOf(`ECS[${role}]`)) : answer(404, "not found"));
  }
  if (host.startsWith("sts")) {
    const q = req.queries ?? {};
    const f = req.bodyForm ?? {};
    const ak = q.Action === "AssumeRoleWithOIDC" ? `OIDC[${f.RoleArn}]` : `STS[${f.RoleArn}<-${q.AccessKeyId}]`;
    return Promise.resolve(answer(200, { Credentials: sessionOf(ak) }));
  }
  if (req.path === "/cloud-credentials") return Promise.resolve(answer(200, { CloudCredential: sessionOf("CLI-LIB") }));
  if (req.path === "/v1/token") {
    return Promise.resolve(answer(200, { access_token: `at-${NOW_S + 7200}`, refresh_token: "rt", expires_in: 7200 }));
  }
  if (req.path === "/v1/exchange") {
    const exp = Number(String(req.headers?.Authorization ?? "").replace("Bearer at-", ""));
    if (!(exp > NOW_S)) return Promise.resolve(answer(401, "expired"));
    const s = sessionOf("CLI-LIB");
    return Promise.resolve(answer(200, {
      accessKeyId: s.AccessKeyId,
      accessKeySecret: "s",
      securityToken: "t",
      expiration: s.Expiration,
    }));
  }
  if (host === "127.0.0.1:9") return Promise.resolve(answer(200, sessionOf("URI")));
  return Promise.reject(new Error(`unexpected request to ${host}`));
};
ExternalProvider.prototype.getCredentialsInternal = function (this: Any) {
  return Promise.resolve({ access_key_id: `EXT[${this.processCommand}]`, access_key_secret: "s" });
};

/** The access key the same fakes give for one of the helper's plans. */
function keyOf(plan: CredentialPlan): string {
  switch (plan.type) {
    case "static":
      return plan.accessKeyId;
    case "ram-role-arn":
      return `STS[${plan.roleArn}<-${plan.accessKeyId}]`;
    case "assume-role":
      return `STS[${plan.roleArn}<-${keyOf(plan.base)}]`;
    case "oidc":
    case "oidc-token":
    case "github-oidc":
      return `OIDC[${plan.roleArn}]`;
    case "ecs":
      return `ECS[${plan.roleName}]`;
    case "uri":
      return "URI";
    case "cli":
      return "CLI-LIB";
    case "external":
      return `EXT[${plan.command}]`;
  }
}

const SDK_KINDS: Record<string, string> = {
  env: "env",
  oidc_role_arn: "oidc",
  cli_profile: "cli-profile",
  profile: "credentials-file",
  ecs_ram_role: "ecs-ram-role",
  credential_uri: "credentials-uri",
};

type Answer = { kind: string; key: string } | "none";

async function sdkAnswer(setup: Setup, root: string): Promise<Answer> {
  const env = r4Env(setup.env);
  const home = `${root}${HOME}`;
  // The SDK reads real files: write the setup under root, with R3 and R5 applied to its copies.
  for (const [path, text] of Object.entries(setup.files)) {
    const real = `${root}${path}`;
    Deno.mkdirSync(real.slice(0, real.lastIndexOf("/")), { recursive: true });
    const cli = () => r5Cli(text).replaceAll('"/var/run/', `"${root}/var/run/`).replaceAll('"/nope/', `"${root}/nope/`);
    Deno.writeTextFileSync(real, path === CLI_FILE ? cli() : path === TOKEN ? text : r3Ini(text));
  }
  const saved = Deno.env.toObject();
  for (const k of Object.keys(saved)) if (k.startsWith("ALIBABA_CLOUD_")) Deno.env.delete(k);
  for (const [k, v] of Object.entries(env)) {
    Deno.env.set(k, /FILE$/.test(k) && v.startsWith("/") ? `${root}${v}` : v);
  }
  Deno.env.set("HOME", home);
  ecsAttached = setup.ecsRole;
  try {
    const chain = sdk.DefaultCredentialsProvider.builder().build();
    for (const p of chain.providers) if ("homedir" in p) p.homedir = home;
    r1Order(chain.providers);
    r2DefaultFile(chain.providers, env, root, home);
    const c = await chain.getCredentials();
    const name = String(c.providerName).split("/")[1];
    return { kind: SDK_KINDS[name] ?? name, key: String(c.accessKeyId) };
  } catch {
    return "none";
  } finally {
    for (const k of Object.keys(Deno.env.toObject())) if (!(k in saved)) Deno.env.delete(k);
    for (const [k, v] of Object.entries(saved)) Deno.env.set(k, v);
  }
}

async function ourAnswer(setup: Setup): Promise<Answer & { identity?: string } | "none"> {
  try {
    const s = await selectCredentialSource({
      env: { ...setup.env, HOME },
      readTextFile: (p) => Promise.resolve(p in setup.files ? setup.files[p] : null),
      discoverEcsRole: () => Promise.resolve(setup.ecsRole),
      os: "linux",
    });
    return { kind: s.source.kind, key: keyOf(s.plan), identity: s.source.identity };
  } catch (err) {
    if (err instanceof NoCredentialsError) return "none";
    throw err;
  }
}

const SETUPS = 1000;

Deno.test({
  name: "chain vs SDK: the same source and access key as @alicloud/credentials 2.4.7 over 1000 seeded setups, " +
    "but for R1-R5",
  // The SDK's session providers keep timers of their own.
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const root = Deno.makeTempDirSync({ prefix: "chain-diff-" });
    const kinds = new Map<string, number>();
    const used = new Map<string, number>();
    try {
      for (let seed = 1; seed <= SETUPS; seed++) {
        const setup = genSetup(seed);
        const dir = `${root}/${seed}`;
        Deno.mkdirSync(dir);
        const theirs = await sdkAnswer(setup, dir);
        const ours = await ourAnswer(setup);
        const { identity, ...answer } = ours === "none" ? { identity: undefined } : ours;
        assert.deepEqual(ours === "none" ? "none" : answer, theirs, `seed ${seed}: ${JSON.stringify(setup, null, 1)}`);
        const k = ours === "none" ? "none" : ours.kind;
        kinds.set(k, (kinds.get(k) ?? 0) + 1);
        for (const rule of differencesUsed(setup, ours === "none" ? null : { kind: k, identity: identity! })) {
          used.set(rule, (used.get(rule) ?? 0) + 1);
        }
        Deno.removeSync(dir, { recursive: true });
      }
    } finally {
      Deno.removeSync(root, { recursive: true });
    }
    // The generator reaches every source, and the fall-through to nothing.
    for (const k of ["env", "oidc", "cli-profile", "credentials-file", "ecs-ram-role", "credentials-uri", "none"]) {
      assert.ok((kinds.get(k) ?? 0) >= 5, `${k} chosen in ${kinds.get(k) ?? 0} setups: ${[...kinds]}`);
    }
    // And each deliberate difference decided some setups (else the test would not show it holds).
    for (const rule of ["R1", "R2", "R3", "R4", "R5"]) {
      assert.ok((used.get(rule) ?? 0) >= 3, `${rule} decided ${used.get(rule) ?? 0} setups: ${[...used]}`);
    }
  },
});
