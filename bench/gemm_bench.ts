/**
 * sgemm benchmarks: square matmul 256..2048 for every available path.
 * GFLOP/s = 2·n³ / (time per iteration).
 *
 *   npx deno bench -A bench/gemm_bench.ts
 *
 * Without `-A` (or `--allow-ffi`) the OpenBLAS path is not available;
 * `WAX_THREADS=1` measures the single-threaded wasm path.
 */
import {
  availableGemmPaths,
  gemmInfo,
  type GemmPath,
  setGemmPath,
  sgemm,
  warmupGemm,
} from "../core/backend/cpu/gemm/mod.ts";

warmupGemm();
const sizes = [256, 512, 1024, 2048];
const inputs = new Map<number, { a: Float32Array; b: Float32Array; c: Float32Array }>();
for (const n of sizes) {
  const a = new Float32Array(n * n), b = new Float32Array(n * n);
  for (let i = 0; i < n * n; i++) {
    a[i] = Math.random() - 0.5;
    b[i] = Math.random() - 0.5;
  }
  inputs.set(n, { a, b, c: new Float32Array(n * n) });
}

for (const path of availableGemmPaths()) {
  setGemmPath(path);
  const label = gemmInfo().path;
  setGemmPath("auto");
  for (const n of sizes) {
    if (path === "js" && n > 512) continue;
    const { a, b, c } = inputs.get(n)!;
    Deno.bench({
      name: `sgemm ${n}x${n}x${n} [${label}] (${(2 * n ** 3 / 1e9).toFixed(3)} GFLOP/iter)`,
      group: `matmul ${n}`,
      baseline: path === "openblas",
      fn() {
        setGemmPath(path as GemmPath);
        sgemm({ m: n, n, k: n, a, b, c });
      },
    });
  }
}
