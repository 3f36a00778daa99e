/**
 * A loopback fake of the ACR (cr 2016-06-07 `/tokens`, cr 2018-12-01
 * `GetAuthorizationToken` and `ListInstance`) and STS (`AssumeRoleWithOIDC`,
 * `AssumeRole`) OpenAPI, for tests, the demo and the benchmark. It verifies
 * ACS3-HMAC-SHA256 signatures against known keys, answers with the real
 * response shapes, counts calls and injects faults.
 *
 * @module
 */
import { acsEncode, expectedSignature, hmacSha1Base64, parseAuthorization, sha256Hex } from "./acs3.ts";
import { type Reply, serveHttp1 } from "./http1.ts";
import { makeTestTls } from "./tls.ts";

/** An access key the fake accepts. */
export interface FakeKey {
  accessKeyId: string;
  accessKeySecret: string;
  /** Present for STS credentials: requests must carry (and sign) it. */
  securityToken?: string;
  /** An STS token past its expiry. */
  expired?: boolean;
}

/** An ACR instance the fake knows. */
export interface FakeInstance {
  instanceId: string;
  instanceName: string;
  region: string;
}

/** A fault for the next matching request(s). */
export type Fault =
  | { type: "throttle" }
  | { type: "5xx" }
  | { type: "html" }
  | { type: "garbage" }
  | { type: "reset" }
  | { type: "delay"; ms: number }
  | { type: "isSuccessFalse"; code?: string }
  /** Any status and body, as gateways and the service send them (empty, XML, plain text, JSON without an id). */
  | { type: "raw"; status: number; body?: string; contentType?: string; headers?: Record<string, string> }
  /** A 200 whose body never ends. */
  | { type: "endless" };

/** A role STS lets an OIDC token assume. */
export interface FakeOidcRole {
  roleArn: string;
  providerArn: string;
  token: string;
  issue: FakeKey;
  /** Instead of `token`: which tokens STS accepts (a real GitHub ID token in the action's workflow). */
  accepts?: (token: string) => boolean;
}

/** Options for {@link startFakeAcr}. */
export interface FakeOptions {
  keys?: FakeKey[];
  instances?: FakeInstance[];
  /** Password every token carries (the e2e registry's htpasswd); random when absent. */
  tokenPassword?: string;
  tokenUsername?: string;
  tokenTtlMs?: number;
  /** RRSA: the OIDC token STS accepts for a role, and the STS key it then issues (one or several roles). */
  oidc?: FakeOidcRole | FakeOidcRole[];
  /** STS AssumeRole (HMAC-SHA1 RPC signature): role ARN -> the STS key it issues. */
  roles?: Record<string, FakeKey>;
  /** Serve STS over TLS (the SDK always uses HTTPS for STS). */
  tls?: { cert: string; key: string };
  /** Where the TLS listener binds (default 127.0.0.1, a free port): 127.0.0.2:443 poses as the real endpoints. */
  tlsListen?: { hostname: string; port: number };
  /** Page size ListInstance uses, whatever the caller asks (to force paging). */
  maxPageSize?: number;
  /** Make `crpi-` ids unknown to the 2018-12-01 API. */
  personalInstancesOnlyViaTokens?: boolean;
  /** Serve `GET /credentials` as an `ALIBABA_CLOUD_CREDENTIALS_URI` service handing out this STS key. */
  credentialsUri?: FakeKey;
}

/** Calls received, by operation (every attempt counts, faults included). */
export interface FakeCalls {
  personalToken: number;
  instanceToken: number;
  listInstance: number;
  assumeRoleWithOIDC: number;
  assumeRole: number;
  credentialsUri: number;
  rejected: number;
  total: number;
}

/** A running fake. */
export interface FakeAcr {
  /** `http://127.0.0.1:PORT`, for DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT. */
  url: string;
  /** `127.0.0.1:PORT` of the TLS STS listener, when `tls` was given. */
  stsHost?: string;
  calls: FakeCalls;
  /** Passwords issued, in order. */
  issued: string[];
  /** What each of those was issued for: "personal", or the instance id. */
  issuedFor: string[];
  /** Access key id that signed each token call that got a token, in order. */
  signers: string[];
  /** Every request id the fake answered with, in order. */
  requestIds: string[];
  /** The Host header of every request, in order (which endpoint name the helper called). */
  hosts: string[];
  /** Queues a fault for the next `times` requests (optionally only for one operation). */
  injectFault(fault: Fault, times?: number, only?: keyof FakeCalls): void;
  /** Resets counters and queued faults. */
  reset(): void;
  close(): Promise<void>;
}

const API_VERSION_2018 = "2018-12-01";
const API_VERSION_2016 = "2016-06-07";

/** Starts the fake on 127.0.0.1 (a free port). */
export function startFakeAcr(options: FakeOptions = {}): FakeAcr {
  const keys = new Map((options.keys ?? []).map((k) => [k.accessKeyId, k]));
  const oidcRoles = options.oidc === undefined ? [] : [options.oidc].flat();
  for (const r of oidcRoles) keys.set(r.issue.accessKeyId, r.issue);
  for (const k of Object.values(options.roles ?? {})) keys.set(k.accessKeyId, k);
  if (options.credentialsUri) keys.set(options.credentialsUri.accessKeyId, options.credentialsUri);
  const signers: string[] = [];
  const instances = options.instances ?? [];
  const ttl = options.tokenTtlMs ?? 3_600_000;
  const calls: FakeCalls = zeroCalls();
  const issued: string[] = [];
  const issuedFor: string[] = [];
  let faults: Array<{ fault: Fault; only?: keyof FakeCalls }> = [];
  let seq = 0;

  const requestIds: string[] = [];
  const requestId = () => {
    const id = crypto.randomUUID().toUpperCase();
    requestIds.push(id);
    return id;
  };
  // Stalled answers end when the fake closes, so no test leaks a timer.
  const stalls = new Set<() => void>();

  function json(status: number, body: unknown): Response {
    return new Response(JSON.stringify(body), {
      status,
      headers: { "content-type": "application/json;charset=utf-8" },
    });
  }
  function rpcError(status: number, code: string, message: string): Response {
    return json(status, { RequestId: requestId(), HostId: "cr.fake", Code: code, Message: message });
  }

  function operationOf(req: Request, url: URL): keyof FakeCalls | null {
    const action = req.headers.get("x-acs-action") ?? url.searchParams.get("Action");
    const version = req.headers.get("x-acs-version") ?? url.searchParams.get("Version");
    if (url.pathname === "/tokens" && version === API_VERSION_2016) return "personalToken";
    if (action === "GetAuthorizationToken" && version === API_VERSION_2018) return "instanceToken";
    if (action === "ListInstance" && version === API_VERSION_2018) return "listInstance";
    if (action === "AssumeRoleWithOIDC") return "assumeRoleWithOIDC";
    if (action === "AssumeRole") return "assumeRole";
    return null;
  }

  async function applyFault(op: keyof FakeCalls): Promise<Reply | null> {
    const i = faults.findIndex((f) => !f.only || f.only === op);
    if (i === -1) return null;
    const [{ fault }] = faults.splice(i, 1);
    switch (fault.type) {
      case "throttle":
        return rpcError(429, "Throttling.User", "Request was denied due to user flow control.");
      case "5xx":
        return rpcError(503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server.");
      case "html":
        return new Response("<html><body><h1>502 Bad Gateway</h1></body></html>", {
          status: 502,
          headers: { "content-type": "text/html" },
        });
      case "garbage":
        return new Response("\u0000\u0001 not json {", {
          status: 200,
          headers: { "content-type": "application/json" },
        });
      case "reset":
        return "reset";
      case "delay":
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            stalls.delete(done);
            resolve();
          };
          const timer = setTimeout(done, fault.ms);
          stalls.add(done);
        });
        return null;
      case "isSuccessFalse":
        return json(200, { IsSuccess: false, Code: fault.code ?? "SYSTEM_ERROR", RequestId: requestId() });
      case "raw":
        return new Response(fault.body ?? "", {
          status: fault.status,
          headers: { ...(fault.contentType ? { "content-type": fault.contentType } : {}), ...fault.headers },
        });
      case "endless":
        return new Response(null, { status: 200, headers: { "x-fake-endless": "1" } });
    }
  }

  async function authenticate(req: Request, url: URL, body: Uint8Array): Promise<Response | FakeKey> {
    const auth = parseAuthorization(req.headers.get("authorization"));
    if (!auth) return rpcError(400, "MissingAuthorization", "Authorization header is missing or malformed.");
    const key = keys.get(auth.accessKeyId);
    if (!key) return rpcError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.");
    for (const h of ["host", "x-acs-date", "x-acs-content-sha256", "x-acs-action", "x-acs-version"]) {
      if (!auth.signedHeaders.includes(h)) return rpcError(400, "SignatureDoesNotMatch", `Header ${h} is not signed.`);
    }
    if (req.headers.get("x-acs-content-sha256") !== await sha256Hex(body)) {
      return rpcError(400, "SignatureDoesNotMatch", "The request body hash does not match.");
    }
    const expected = await expectedSignature(
      { method: req.method, url, headers: req.headers, signedHeaders: auth.signedHeaders },
      key.accessKeySecret,
    );
    if (expected !== auth.signature) {
      return rpcError(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.");
    }
    if (key.securityToken !== undefined) {
      const token = req.headers.get("x-acs-security-token");
      if (!token) return rpcError(400, "MissingSecurityToken", "SecurityToken is mandatory for this action.");
      if (!auth.signedHeaders.includes("x-acs-security-token")) {
        return rpcError(400, "SignatureDoesNotMatch", "Header x-acs-security-token is not signed.");
      }
      if (token !== key.securityToken) {
        return rpcError(400, "InvalidSecurityToken.Mismatch", "Specified SecurityToken mismatch.");
      }
      if (key.expired) return rpcError(400, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired.");
    }
    return key;
  }

  function issueToken(forWhat: string): { username: string; password: string; expire: number } {
    const password = options.tokenPassword ?? `fake-token-${++seq}-${crypto.randomUUID()}`;
    issued.push(password);
    issuedFor.push(forWhat);
    return { username: options.tokenUsername ?? "cr_temp_user", password, expire: Date.now() + ttl };
  }

  function regionOf(req: Request): string | null {
    // Real endpoints are per region; behind the override we learn it from the SDK's regionId-less host,
    // so accept any region for personal tokens and match instances by id.
    return req.headers.get("x-acs-region-id");
  }

  const hosts: string[] = [];
  async function handle(req: Request): Promise<Reply> {
    const url = new URL(req.url);
    hosts.push(req.headers.get("host") ?? "");
    const body = new Uint8Array(await req.arrayBuffer());
    if (url.pathname === "/credentials" && options.credentialsUri) {
      calls.total++;
      calls.credentialsUri++;
      const k = options.credentialsUri;
      return json(200, {
        Code: "Success",
        AccessKeyId: k.accessKeyId,
        AccessKeySecret: k.accessKeySecret,
        SecurityToken: k.securityToken,
        Expiration: new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d{3}Z$/, "Z"),
      });
    }
    const op = operationOf(req, url);
    calls.total++;
    if (op === null) return rpcError(404, "InvalidAction.NotFound", "Specified api is not found.");
    calls[op]++;
    const faulted = await applyFault(op);
    if (faulted) return faulted;
    if (op === "assumeRoleWithOIDC") return assumeRoleWithOIDC(new URLSearchParams(new TextDecoder().decode(body)));
    if (op === "assumeRole") return await assumeRole(req, url, new URLSearchParams(new TextDecoder().decode(body)));
    const who = await authenticate(req, url, body);
    if (who instanceof Response) {
      calls.rejected++;
      return who;
    }
    if (op === "personalToken" || op === "instanceToken") signers.push(who.accessKeyId);
    void regionOf(req);
    switch (op) {
      case "personalToken": {
        const t = issueToken("personal");
        return json(200, {
          data: { authorizationToken: t.password, tempUserName: t.username, expireDate: t.expire },
          requestId: requestId(),
        });
      }
      case "instanceToken": {
        const id = url.searchParams.get("InstanceId") ?? "";
        const known = instances.some((i) => i.instanceId === id) &&
          !(options.personalInstancesOnlyViaTokens && id.startsWith("crpi-"));
        if (!known) return json(200, { IsSuccess: false, Code: "INSTANCE_NOT_EXIST", RequestId: requestId() });
        const t = issueToken(id);
        return json(200, {
          IsSuccess: true,
          Code: "success",
          TempUsername: t.username,
          AuthorizationToken: t.password,
          ExpireTime: t.expire,
          RequestId: requestId(),
        });
      }
      case "listInstance": {
        const pageNo = Math.max(1, Number(url.searchParams.get("PageNo") ?? 1));
        const asked = Math.max(1, Number(url.searchParams.get("PageSize") ?? 30));
        const size = Math.min(asked, options.maxPageSize ?? asked);
        const enterprise = instances.filter((i) => i.instanceId.startsWith("cri-"));
        const page = enterprise.slice((pageNo - 1) * size, pageNo * size);
        return json(200, {
          IsSuccess: true,
          Code: "success",
          PageNo: pageNo,
          PageSize: size,
          TotalCount: enterprise.length,
          Instances: page.map((i) => ({
            InstanceId: i.instanceId,
            InstanceName: i.instanceName,
            RegionId: i.region,
            InstanceStatus: "RUNNING",
            InstanceSpecification: "Enterprise_Standard",
          })),
          RequestId: requestId(),
        });
      }
      default:
        return rpcError(404, "InvalidAction.NotFound", "Specified api is not found.");
    }
  }

  /** STS AssumeRole: the caller's HMAC-SHA1 RPC signature (query + form), then the role's key. */
  async function assumeRole(req: Request, url: URL, form: URLSearchParams): Promise<Response> {
    const q = url.searchParams;
    const key = keys.get(q.get("AccessKeyId") ?? "");
    if (!key) return rpcError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.");
    const params = [...q.entries(), ...form.entries()].filter(([k]) => k !== "Signature");
    params.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const canonical = params.map(([k, v]) => `${acsEncode(k)}=${acsEncode(v)}`).join("&");
    const toSign = `${req.method}&${acsEncode("/")}&${acsEncode(canonical)}`;
    if (await hmacSha1Base64(`${key.accessKeySecret}&`, toSign) !== q.get("Signature")) {
      calls.rejected++;
      return rpcError(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.");
    }
    if (key.securityToken !== undefined && q.get("SecurityToken") !== key.securityToken) {
      return rpcError(400, "InvalidSecurityToken.Mismatch", "Specified SecurityToken mismatch.");
    }
    const issue = options.roles?.[form.get("RoleArn") ?? ""];
    if (!issue) return rpcError(404, "EntityNotExist.Role", "The specified Role does not exist.");
    return stsCredentials(issue, form.get("RoleArn")!);
  }

  function stsCredentials(issue: FakeKey, roleArn: string): Response {
    return json(200, {
      RequestId: requestId(),
      Credentials: {
        AccessKeyId: issue.accessKeyId,
        AccessKeySecret: issue.accessKeySecret,
        SecurityToken: issue.securityToken,
        Expiration: new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d{3}Z$/, "Z"),
      },
      AssumedRoleUser: { Arn: `${roleArn}/session`, AssumedRoleId: "3000000000:session" },
    });
  }

  function assumeRoleWithOIDC(form: URLSearchParams): Response {
    if (oidcRoles.length === 0) return rpcError(404, "InvalidAction.NotFound", "Specified api is not found.");
    const o = oidcRoles.find((r) => r.roleArn === form.get("RoleArn"));
    if (!o) return rpcError(404, "EntityNotExist.Role", "The specified Role does not exist.");
    if (form.get("OIDCProviderArn") !== o.providerArn) {
      return rpcError(404, "EntityNotExist.OIDCProvider", "The specified OIDC provider does not exist.");
    }
    if (o.accepts ? !o.accepts(form.get("OIDCToken") ?? "") : form.get("OIDCToken") !== o.token) {
      return rpcError(400, "AuthenticationFail.OIDCToken.Invalid", "OIDC token is invalid.");
    }
    return stsCredentials(o.issue, o.roleArn);
  }

  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = [serveHttp1(listener, handle)];
  let tlsListener: Deno.TlsListener | undefined;
  if (options.tls) {
    tlsListener = Deno.listenTls({
      hostname: options.tlsListen?.hostname ?? "127.0.0.1",
      port: options.tlsListen?.port ?? 0,
      cert: options.tls.cert,
      key: options.tls.key,
    });
    served.push(serveHttp1(tlsListener, handle));
  }

  return {
    url: `http://127.0.0.1:${listener.addr.port}`,
    stsHost: tlsListener ? `${options.tlsListen?.hostname ?? "127.0.0.1"}:${tlsListener.addr.port}` : undefined,
    hosts,
    calls,
    issued,
    issuedFor,
    signers,
    requestIds,
    injectFault(fault, times = 1, only) {
      for (let i = 0; i < times; i++) faults.push({ fault, only });
    },
    reset() {
      Object.assign(calls, zeroCalls());
      faults = [];
      issued.length = 0;
      issuedFor.length = 0;
      signers.length = 0;
      requestIds.length = 0;
      hosts.length = 0;
    },
    async close() {
      listener.close();
      tlsListener?.close();
      for (const done of [...stalls]) done();
      await Promise.allSettled(served);
    },
  };
}

function zeroCalls(): FakeCalls {
  return {
    personalToken: 0,
    instanceToken: 0,
    listInstance: 0,
    assumeRoleWithOIDC: 0,
    assumeRole: 0,
    credentialsUri: 0,
    rejected: 0,
    total: 0,
  };
}

/**
 * A fake whose only credential is one OIDC role (STS over TLS with a test CA): what a CI job's ID token is
 * exchanged at. `caFile` is for the helper's DENO_CERT.
 */
export async function startOidcFake(role: FakeOidcRole): Promise<{ fake: FakeAcr; caFile: string }> {
  const tls = await makeTestTls();
  return { fake: startFakeAcr({ keys: [], oidc: [role], tls: { cert: tls.cert, key: tls.key } }), caFile: tls.caFile };
}

/** The variables that point the helper at a fake with TLS STS: its API, its STS, and the test CA to trust. */
export function fakeStsEnv(fake: FakeAcr, caFile: string): Record<string, string> {
  return {
    DENO_CERT: caFile,
    DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT: fake.url,
    DOCKER_CREDENTIAL_ACR_HELPER_STS_ENDPOINT: fake.stsHost!,
  };
}
