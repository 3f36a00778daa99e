/**
 * A fake of GitHub Actions' ID-token endpoint, and the names the tests of the GitHub OIDC source share: the role,
 * the provider, the job's request token and the ID tokens it hands out (canaries: none may ever be shown).
 *
 * @module
 */

export const ROLE = "acs:ram::1234:role/ci-push";
export const PROVIDER = "acs:ram::1234:oidc-provider/github";
export const REQUEST_TOKEN = "CANARY-gh-request-token";
export const JOB_JWT = "eyJhbGciOiJSUzI1NiJ9.oidc-jwt-canary-job-1.c2ln";
export const OTHER_JWT = "eyJhbGciOiJSUzI1NiJ9.oidc-jwt-canary-other-repo.c2ln";

/** GitHub's ID-token endpoint: checks the bearer token, the audience and the URL's own query; counts calls. */
export function fakeGithub() {
  const state = { calls: 0, status: 200, jwt: JOB_JWT, audiences: [] as string[] };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    state.calls++;
    const url = new URL(req.url);
    if (req.headers.get("authorization") !== `Bearer ${REQUEST_TOKEN}`) return new Response("no", { status: 401 });
    if (url.searchParams.get("api-version") !== "2.0") return new Response("lost the query", { status: 400 });
    state.audiences.push(url.searchParams.get("audience") ?? "");
    if (state.status !== 200) return new Response("{}", { status: state.status });
    return Response.json({ count: 1, value: state.jwt });
  });
  return {
    state,
    url: `http://127.0.0.1:${server.addr.port}/_apis/distributedtask/hubs/build/plans/p/jobs/j/idtoken?api-version=2.0`,
    close: () => server.shutdown(),
  };
}
