import assert from "node:assert/strict";
import ini from "ini";
import { parseIni } from "../lib/ini.ts";

// What `ini` (the SDK's parser) yields as strings, for the shapes credentials files have.
const SAMPLES = [
  "[default]\ntype = access_key\naccess_key_id = LTAIabc\naccess_key_secret = s3cr3t\n",
  "; comment\n# another\n[default]\r\ntype=access_key\r\naccess_key_id=LTAI1\r\n\r\n[ci]\naccess_key_id = LTAI2 ; inline\n",
  "[p]\nrole_arn = \"acs:ram::123:role/x\"\nrole_session_name = 'sess'\nkey = a\\;b\n",
  "[a]\nx = 1\n[b]\nx = 2\n[a]\ny = 3\n",
  "top = level\n[s]\nflag\nempty =\n",
];

function asStrings(v: unknown): unknown {
  if (typeof v === "boolean" || v === null) return String(v);
  if (typeof v !== "object") return v;
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, asStrings(x)]));
}

Deno.test("parseIni agrees with the ini package on credentials-file shapes", () => {
  for (const text of SAMPLES) {
    const ours = parseIni(text);
    const theirs = asStrings(ini.parse(text)) as Record<string, unknown>;
    // `ini` puts keys before any section at the top level; we keep them under "".
    const top = Object.fromEntries(Object.entries(theirs).filter(([, v]) => typeof v !== "object"));
    const sections = Object.fromEntries(Object.entries(theirs).filter(([, v]) => typeof v === "object"));
    assert.deepEqual(
      JSON.parse(JSON.stringify(ours)),
      Object.keys(top).length ? { "": top, ...sections } : sections,
      text,
    );
  }
});

Deno.test("parseIni: never throws, ignores junk, no prototype keys", () => {
  const d = parseIni("[x\n=novalue\n[__proto__]\n__proto__ = 1\n[ok]\nk=v");
  assert.equal(d.ok.k, "v");
  assert.equal(({} as Record<string, unknown>).k, undefined);
});
