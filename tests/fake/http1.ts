/**
 * A minimal HTTP/1.1 server over a raw listener, for the fake: unlike
 * `Deno.serve`, it can drop a connection mid-request (a reset) and stall a
 * response, which the fault tests need. Handles one request per connection.
 *
 * @module
 */

/** What a handler may answer: a response, or a dropped connection. */
export type Reply = Response | "reset";

/** Serves `handler` on `listener` until it is closed. */
export async function serveHttp1(
  listener: Deno.Listener,
  handler: (req: Request) => Promise<Reply>,
): Promise<void> {
  for (;;) {
    let conn: Deno.Conn;
    try {
      conn = await listener.accept();
    } catch {
      return; // listener closed
    }
    handleConn(conn, handler).catch(() => {}).finally(() => {
      try {
        conn.close();
      } catch { /* already closed */ }
    });
  }
}

async function handleConn(conn: Deno.Conn, handler: (req: Request) => Promise<Reply>, scheme = "http"): Promise<void> {
  const buf = new Uint8Array(64 * 1024);
  let data: Uint8Array = new Uint8Array(0);
  let headerEnd = -1;
  while (headerEnd === -1) {
    const n = await conn.read(buf);
    if (n === null) return;
    data = concat(data, buf.subarray(0, n));
    headerEnd = indexOfCrlfCrlf(data);
    if (data.length > 1024 * 1024) return;
  }
  const head = new TextDecoder().decode(data.subarray(0, headerEnd));
  const [requestLine, ...headerLines] = head.split("\r\n");
  const [method, target] = requestLine.split(" ");
  const headers = new Headers();
  for (const line of headerLines) {
    const i = line.indexOf(":");
    if (i > 0) headers.append(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  const length = Number(headers.get("content-length") ?? 0);
  let body: Uint8Array = data.subarray(headerEnd + 4);
  while (body.length < length) {
    const n = await conn.read(buf);
    if (n === null) break;
    body = concat(body, buf.subarray(0, n));
  }
  const url = new URL(target, `${scheme}://${headers.get("host") ?? "127.0.0.1"}`);
  const req = new Request(url, {
    method,
    headers,
    body: method === "GET" || method === "HEAD" ? undefined : body.slice(0, length),
  });
  const reply = await handler(req);
  if (reply === "reset") return; // closing without a response: the client sees a reset / hang-up
  if (reply.headers.has("x-fake-endless")) {
    // A body that never ends (no length, sent until the client hangs up): the helper must stop reading it.
    const out = `HTTP/1.1 ${reply.status} OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{"Code":"`;
    await writeAll(conn, new TextEncoder().encode(out));
    const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
    for (;;) await writeAll(conn, chunk);
  }
  const payload = new Uint8Array(await reply.arrayBuffer());
  let out = `HTTP/1.1 ${reply.status} ${reply.statusText || "OK"}\r\n`;
  reply.headers.forEach((v, k) => {
    if (!["content-length", "connection", "transfer-encoding", "content-encoding"].includes(k)) out += `${k}: ${v}\r\n`;
  });
  // Real Alibaba Cloud endpoints send Date; the helper times tokens on it (lib/clock.ts).
  if (!reply.headers.has("date")) out += `date: ${new Date().toUTCString()}\r\n`;
  out += `content-length: ${payload.length}\r\nconnection: close\r\n\r\n`;
  await writeAll(conn, concat(new TextEncoder().encode(out), payload));
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function indexOfCrlfCrlf(d: Uint8Array): number {
  for (let i = 0; i + 3 < d.length; i++) {
    if (d[i] === 13 && d[i + 1] === 10 && d[i + 2] === 13 && d[i + 3] === 10) return i;
  }
  return -1;
}
