/**
 * The experimental x86 AVX-512 JIT GEMM path against the openblas and wasm
 * paths of `sgemm`, in one run: square matmul 256..2048 and the two
 * conv-shaped products of a 3×3/5×5 conv layer (m=128,n=3136,k=1600 and
 * m=1600,n=3136,k=128). A GFLOP/s table (best iteration of each case) is
 * printed when the run ends.
 *
 *   npx deno bench -A bench/gemm_x86_bench.ts
 *
 * @module
 */
import { availableGemmPaths, type GemmPath, setGemmPath, sgemm, warmupGemm } from "../core/backend/cpu/gemm/mod.ts";
import { loadX86Gemm, sgemmX86 } from "../core/backend/cpu/gemm/x86/driver.ts";

const hc = navigator.hardwareConcurrency ?? 1;
const x86 = loadX86Gemm(hc);
warmupGemm();
x86?.warmup(5000);

const shapes: [string, number, number, number][] = [
  ["matmul 256", 256, 256, 256],
  ["matmul 512", 512, 512, 512],
  ["matmul 1024", 1024, 1024, 1024],
  ["matmul 2048", 2048, 2048, 2048],
  ["conv m128 n3136 k1600", 128, 3136, 1600],
  ["conv m1600 n3136 k128", 1600, 3136, 128],
];

const paths = availableGemmPaths().filter((p) => p === "openblas" || p === "wasm") as GemmPath[];
const best = new Map<string, number>();

function timed(key: string, f: () => void): void {
  const t0 = performance.now();
  f();
  const dt = performance.now() - t0;
  if (!(dt >= best.get(key)!)) best.set(key, dt);
}

for (const [group, m, n, k] of shapes) {
  const a = new Float32Array(m * k).map(() => Math.random() - 0.5);
  const b = new Float32Array(k * n).map(() => Math.random() - 0.5);
  const c = new Float32Array(m * n);
  const gflop = (2 * m * n * k) / 1e9;
  if (x86) {
    const key = `${group}|x86`;
    Deno.bench({
      name: `x86 ${m}x${n}x${k} (${gflop.toFixed(3)} GFLOP)`,
      group,
      fn: () => timed(key, () => sgemmX86({ m, n, k, a, b, c })),
    });
  }
  for (const path of paths) {
    const key = `${group}|${path}`;
    Deno.bench({
      name: `${path} ${m}x${n}x${k} (${gflop.toFixed(3)} GFLOP)`,
      group,
      baseline: path === "openblas",
      fn() {
        setGemmPath(path);
        timed(key, () => sgemm({ m, n, k, a, b, c }));
      },
    });
  }
}

globalThis.addEventListener("unload", () => {
  const cols = ["x86", ...paths];
  const rows = [`${"case".padEnd(24)}${cols.map((p) => p.padStart(10)).join("")}   (GFLOP/s, best iteration)`];
  for (const [group, m, n, k] of shapes) {
    const cells = cols.map((p) => {
      const t = best.get(`${group}|${p}`);
      return (t === undefined ? "-" : ((2 * m * n * k) / t / 1e6).toFixed(1)).padStart(10);
    });
    rows.push(group.padEnd(24) + cells.join(""));
  }
  console.log(`\n${x86 ? x86.name : "x86 path unavailable"}\n${rows.join("\n")}`);
});
