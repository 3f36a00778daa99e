/**
 * The INI subset Alibaba Cloud credentials files use: `[profile]` sections,
 * `key = value` lines, `;`/`#` comments, optional quotes. Why not the `ini`
 * package (the SDK's own parser): it is CommonJS from npm, and loading it
 * starts Deno's npm and Node layers, tens of ms on every cache hit of a
 * credentials-file user. tests/ini_test.ts checks it against `ini`.
 *
 * @module
 */

/** Section name -> key -> value. Keys before any section go to `""`. */
export type IniData = Record<string, Record<string, string>>;

/** Parses INI text. Never throws; unparseable lines are ignored (as `ini` does). */
export function parseIni(text: string): IniData {
  const out: IniData = Object.create(null);
  let section: Record<string, string> = out[""] = Object.create(null);
  for (const raw of text.split(/[\r\n]+/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith(";") || line.startsWith("#")) continue;
    const header = /^\[([^\]]*)\]$/.exec(line);
    if (header) {
      const name = unquote(header[1]);
      section = out[name] ??= Object.create(null);
      continue;
    }
    const eq = line.indexOf("=");
    const key = unquote(eq === -1 ? line : line.slice(0, eq));
    if (key === "" || key === "__proto__") continue;
    section[key] = eq === -1 ? "true" : unquote(line.slice(eq + 1));
  }
  if (Object.keys(out[""]).length === 0) delete out[""];
  return out;
}

/** Trims; strips matching quotes; otherwise cuts an inline `;`/`#` comment (`\;` escapes). */
function unquote(value: string): string {
  const v = value.trim();
  if (v.length >= 2 && ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'")))) {
    if (v.startsWith('"')) {
      try {
        const parsed = JSON.parse(v);
        if (typeof parsed === "string") return parsed;
      } catch { /* not JSON: strip the quotes only */ }
    }
    return v.slice(1, -1);
  }
  let out = "";
  for (let i = 0; i < v.length; i++) {
    const c = v[i];
    if (c === "\\" && (v[i + 1] === ";" || v[i + 1] === "#" || v[i + 1] === "\\")) {
      out += v[++i];
    } else if (c === ";" || c === "#") {
      break;
    } else {
      out += c;
    }
  }
  return out.trim();
}
