/**
 * The machine's measured float32 peak: a register-only loop of AVX-512 FMAs (12 independent
 * accumulators, so the FMA units never wait for a result), generated with the GEMM's encoder
 * and run on every core at once (one worker per core). Every GFLOP/s figure of the benchmarks
 * can be read as a share of it. `deno run -A bench/peak.ts`
 * @module
 */
import { cpus } from "node:os";
import { Asm, mem, R } from "../core/backend/cpu/gemm/x86/asm.ts";
import { avx512Usable, kernelAt, loadCode } from "../core/backend/cpu/gemm/x86/exec.ts";

const ACC = 12, ITERS = 20_000_000;
const FLOP = ITERS * ACC * 16 * 2;

/** GFLOP/s of the FMA loop on this thread (best of 5). */
export function fmaPeak(): number {
  const a = new Asm();
  a.movLoad(R.rax, mem(R.rdi, 0));
  for (let i = 0; i < 14; i++) a.vpxord(i, i, i);
  a.label("loop");
  for (let i = 0; i < ACC; i++) a.vfmadd231ps(i, 12, 13);
  a.dec(R.rax).jnz("loop").vzeroupper().ret();
  const code = loadCode(a.finish());
  if (!code) throw new Error("peak: could not map executable memory");
  const f = kernelAt(code);
  const params = new BigInt64Array([BigInt(ITERS)]);
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t = performance.now();
    f(params);
    best = Math.min(best, performance.now() - t);
  }
  return FLOP / (best * 1e6);
}

if (import.meta.main) {
  if (!avx512Usable()) {
    console.log("peak: AVX-512 code cannot run here (needs linux x86-64, avx512f and --allow-ffi)");
    Deno.exit(0);
  }
  const n = cpus().length;
  const one = fmaPeak();
  // All cores at once: one worker each, started together.
  const src = `import { fmaPeak } from "${import.meta.url}"; self.onmessage = () => self.postMessage(fmaPeak());`;
  const url = URL.createObjectURL(new Blob([src], { type: "application/javascript" }));
  const workers = Array.from({ length: n }, () => new Worker(url, { type: "module" }));
  const all = await Promise.all(workers.map((w) =>
    new Promise<number>((done) => {
      w.onmessage = (e) => done(e.data);
      w.postMessage(0);
    })
  ));
  workers.forEach((w) => w.terminate());
  const total = all.reduce((s, v) => s + v, 0);
  console.log(
    `FMA peak: ${one.toFixed(0)} GFLOP/s on one core; ${total.toFixed(0)} GFLOP/s on ${n} cores at once ` +
      `(${all.map((v) => v.toFixed(0)).join(" + ")})`,
  );
}
