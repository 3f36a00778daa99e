import { withTimeout } from "../lib/timeout.ts";
import assert from "node:assert/strict";
import { localFileReader, writeAtomic } from "../lib/files.ts";

Deno.test("localFileReader: contents, null when any part is missing, errors otherwise", async () => {
  const home = await Deno.makeTempDir();
  await Deno.mkdir(`${home}/a/b`, { recursive: true });
  await Deno.writeTextFile(`${home}/a/b/c.json`, "{}");
  await Deno.writeTextFile(`${home}/file`, "x");
  const outside = await Deno.makeTempFile();
  await Deno.writeTextFile(outside, "out");
  for (const read of [localFileReader(home), localFileReader(`${home}/`), localFileReader(undefined)]) {
    assert.equal(await read(`${home}/a/b/c.json`), "{}");
    assert.equal(await read(`${home}/a/b/missing.json`), null);
    assert.equal(await read(`${home}/a/missing/c.json`), null);
    assert.equal(await read(`${home}/missing/b/c.json`), null);
    assert.equal(await read(`${home}/a/./b/c.json`), "{}");
    assert.equal(await read(outside), "out");
    assert.equal(await read(`${outside}.missing`), null);
    await assert.rejects(read(`${home}/file/c.json`)); // through a file: not "absent"
    await assert.rejects(read(`${home}/a`)); // a directory
  }
});

Deno.test("writeAtomic: the whole new text or the old file, never a temp file left behind", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/config.json`;
    writeAtomic(path, "old", 0o600);
    assert.equal(Deno.readTextFileSync(path), "old");
    if (Deno.build.os !== "windows") assert.equal(Deno.statSync(path).mode! & 0o777, 0o600);
    const denied = () => {
      throw new Deno.errors.PermissionDenied("Permission denied (os error 13)");
    };
    assert.throws(() => writeAtomic(path, "new", 0o600, denied), Deno.errors.PermissionDenied);
    assert.equal(Deno.readTextFileSync(path), "old");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["config.json"]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("withTimeout: the work's answer, or the time-out's value or error; the loser never surfaces", async () => {
  assert.equal(await withTimeout(Promise.resolve(1), 1_000, () => 2), 1);
  const never = new Promise<number>(() => {});
  assert.equal(await withTimeout(never, 1, () => 2), 2);
  await assert.rejects(
    withTimeout(never, 1, () => {
      throw new Error("no answer within 1 ms");
    }),
    /no answer within 1 ms/,
  );
  // Fails after the timer won: no unhandled rejection (Deno's test would fail on one).
  const late = new Promise<number>((_, reject) => setTimeout(() => reject(new Error("late")), 5));
  assert.equal(await withTimeout(late, 1, () => 3), 3);
  await new Promise((r) => setTimeout(r, 10));
});
