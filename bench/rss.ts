/**
 * Runs the helper's `main()` in this process, then prints its peak RSS
 * (VmHWM, Linux) on stderr. The bench runs it with `-A`, because reading
 * /proc/self needs permissions the helper itself never gets.
 *
 * @module
 */
import { main } from "../main.ts";

const code = await main(Deno.args);
const hwm = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"))?.[1];
console.error(`peak-rss-kb ${hwm ?? "unknown"}`);
Deno.exit(code);
