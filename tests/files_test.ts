import assert from "node:assert/strict";
import { localFileReader } from "../lib/files.ts";

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
