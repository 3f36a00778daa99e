// The baseline: an empty script, started exactly as the helper is (bench/bench.ts).
