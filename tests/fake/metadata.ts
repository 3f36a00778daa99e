/**
 * A fake ECS instance metadata service (IMDSv2 tokens, the role name, the
 * role's STS credentials), for tests that run in a private network namespace
 * where 100.100.100.200 is on the loopback interface.
 *
 * @module
 */
import { serveHttp1 } from "./http1.ts";
import type { FakeKey } from "./server.ts";

/** A running fake metadata service. */
export interface FakeMetadata {
  /** Requests received, `METHOD path [v2]` (v2: carried a metadata token). */
  requests: string[];
  close(): Promise<void>;
}

/** Serves `role` (issuing `key`) on `hostname:port`; `v1Only` refuses tokens (an old image), `v2Only` requires them. */
export function startFakeMetadata(
  o: { hostname: string; port: number; role: string; key: FakeKey; v2Only?: boolean },
): FakeMetadata {
  const requests: string[] = [];
  const token = `imds-${crypto.randomUUID()}`;
  const listener = Deno.listen({ hostname: o.hostname, port: o.port });
  const served = serveHttp1(listener, (req) => {
    const path = new URL(req.url).pathname;
    const v2 = req.headers.get("x-aliyun-ecs-metadata-token") === token;
    requests.push(`${req.method} ${path}${v2 ? " v2" : ""}`);
    if (req.method === "PUT" && path === "/latest/api/token") return Promise.resolve(new Response(token));
    if (o.v2Only && !v2) return Promise.resolve(new Response("Forbidden", { status: 403 }));
    if (path === "/latest/meta-data/ram/security-credentials/") return Promise.resolve(new Response(o.role));
    if (path === `/latest/meta-data/ram/security-credentials/${o.role}`) {
      return Promise.resolve(Response.json({
        Code: "Success",
        AccessKeyId: o.key.accessKeyId,
        AccessKeySecret: o.key.accessKeySecret,
        SecurityToken: o.key.securityToken,
        Expiration: new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d{3}Z$/, "Z"),
        LastUpdated: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
      }));
    }
    return Promise.resolve(new Response("Not Found", { status: 404 }));
  });
  return {
    requests,
    async close() {
      listener.close();
      await served;
    },
  };
}
