/**
 * A throwaway CA and a 127.0.0.1 server certificate, made with openssl at
 * test time, so fakes can serve HTTPS (STS is HTTPS-only in the SDK).
 *
 * @module
 */

/** PEM files of a test CA and a server certificate for 127.0.0.1 / localhost. */
export interface TestTls {
  dir: string;
  caFile: string;
  cert: string;
  key: string;
}

/** Makes a CA and a server certificate (127.0.0.1, localhost and `names`) in a new temp dir. */
export async function makeTestTls(names: string[] = []): Promise<TestTls> {
  const dir = await Deno.makeTempDir({ prefix: "acr-helper-tls-" });
  const run = async (...args: string[]) => {
    const out = await new Deno.Command("openssl", { args, cwd: dir, stdout: "null", stderr: "piped" }).output();
    if (!out.success) throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
  };
  await run(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=acr-helper test CA",
  );
  await run(
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    "/CN=127.0.0.1",
  );
  await Deno.writeTextFile(
    `${dir}/ext.cnf`,
    `subjectAltName=${["IP:127.0.0.1", ...["localhost", ...names].map((n) => `DNS:${n}`)].join(",")}\n`,
  );
  await run(
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.pem",
    "-days",
    "2",
    "-extfile",
    "ext.cnf",
  );
  return {
    dir,
    caFile: `${dir}/ca.pem`,
    cert: await Deno.readTextFile(`${dir}/server.pem`),
    key: await Deno.readTextFile(`${dir}/server.key`),
  };
}
