/**
 * Validates Kubernetes objects (a JSON array on stdin) against the Kubernetes schemas (`kubernetes-models`), in
 * a process of its own with its own lock (tests/tools/tools.json), so that test-only packages stay out of the
 * project's deno.lock and no user's first run downloads them. Prints what failed; exit 1 when anything did.
 *
 * @module
 */
import { ConfigMap, Namespace } from "npm:kubernetes-models@5.1.0/v1";
import { DaemonSet } from "npm:kubernetes-models@5.1.0/apps/v1";

// deno-lint-ignore no-explicit-any -- documents straight from YAML; validate() is the check.
const make = { Namespace, ConfigMap, DaemonSet } as Record<string, new (o: any) => { validate(): void }>;
const docs = JSON.parse(await new Response(Deno.stdin.readable).text()) as Array<Record<string, unknown>>;
const problems: string[] = [];
// The validator does find problems.
try {
  new DaemonSet({ ...docs.find((d) => d.kind === "DaemonSet"), spec: { selector: 1 } } as never).validate();
  problems.push("the validator accepted a DaemonSet with a broken selector");
} catch { /* as it should */ }
for (const d of docs) {
  const Kind = make[d.kind as string];
  if (!Kind) problems.push(`no schema here for kind ${d.kind}`);
  else {
    try {
      new Kind(d).validate();
    } catch (err) {
      problems.push(`${d.kind}: ${err instanceof Error ? err.message : err}`);
    }
  }
}
console.log(problems.join("\n"));
Deno.exit(problems.length === 0 ? 0 : 1);
