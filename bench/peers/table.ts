/**
 * Runs the cpu benchmarks (wax and the Deno peers) and PyTorch, and prints one markdown
 * table with times, GFLOP/s and ratios to wax. `deno task bench:peers [--quick]`
 * @module
 */
import { parseArgs } from "node:util";
import { runTorch } from "./torch.ts";

const { values } = parseArgs({ options: { quick: { type: "boolean", default: false } } });
const env = { ...Deno.env.toObject(), WAX_BENCH_QUICK: values.quick ? "1" : "0" };

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "inherit" }).output();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed with code ${out.code}`);
  return new TextDecoder().decode(out.stdout);
}

const flops: Record<string, number> = { "conv fwd": 2 * 64 * 128 * 7 * 7 * 64 * 25 };
flops["conv fwd+bwd"] = 3 * flops["conv fwd"];
for (const n of [256, 512, 1024, 2048]) flops[`matmul ${n}`] = 2 * n ** 3;

type Row = { name: string; ms: number };
const bench = JSON.parse(await run(Deno.execPath(), ["bench", "-A", "--json", "bench/cpu_bench.ts"]));
const rows = new Map<string, Row[]>();
for (const b of bench.benches) {
  const ok = b.results[0]?.ok;
  if (!ok) continue;
  const lib = b.name.replace(` ${b.group}`, "");
  rows.set(b.group, [...(rows.get(b.group) ?? []), { name: lib, ms: ok.avg / 1e6 }]);
}
// PyTorch as its users run it (bench/peers/torch.ts); each row keeps the faster OpenBLAS setting.
type Torch = { ms: Record<string, number>; threads: number; version: string };
const torchRuns = await runTorch<Torch>(values.quick ? ["--quick"] : [], env);
for (const g of rows.keys()) {
  const best = torchRuns
    .filter((t) => t.out.ms[g] !== undefined)
    .sort((a, b) => a.out.ms[g] - b.out.ms[g])[0];
  if (best) {
    rows.get(g)!.push({
      name: `pytorch-cpu (${best.out.threads} threads, PASSIVE, ${best.label})`,
      ms: best.out.ms[g],
    });
  }
}

console.log(`| op | library | time (ms) | GFLOP/s | time / wax |`);
console.log(`|---|---|---:|---:|---:|`);
for (const [group, list] of rows) {
  const wax = list.find((r) => r.name === "wax")!;
  for (const r of list) {
    const gf = flops[group] ? (flops[group] / (r.ms * 1e6)).toFixed(1) : "";
    console.log(`| ${group} | ${r.name} | ${r.ms.toFixed(2)} | ${gf} | ${(r.ms / wax.ms).toFixed(2)}× |`);
  }
}
