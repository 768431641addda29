/**
 * How each library's cost grows with the work, in one run: GFLOP/s against matmul size (64 …
 * 4096), the DCGAN convolution's forward time against batch size (8 … 128), and the TensorFlow
 * tutorial DCGAN's train step against batch size (16 … 256): wax beside PyTorch (as its users
 * run it: `OMP_WAIT_POLICY=PASSIVE`, the faster of OpenBLAS pinned and free per point), TensorFlow.js and jax-js on wasm where they finish in
 * reasonable time. Prints the numbers and writes `bench_curves.png` (the project's plotter) to
 * the folder given (default `out/`). `deno run -A bench/peers/curves.ts [out]`
 * @module
 */
import { join } from "node:path";
import { type Array, lax, np, random } from "../../mod.ts";
import { makeDcgan } from "../../models/mod.ts";
import { Plot, renderPanels, savePng } from "../../models/plot/mod.ts";
import { loadJaxJs, loadTfjs } from "./setup.ts";
import { runTorch } from "./torch.ts";

type Curve = Record<number, number>; // size → ms
const out = Deno.args[0] ?? "out";

/**
 * Median ms of `f` after warming up (at least 2 calls and 0.1 s: the first sizes of a library
 * otherwise time its compilers warming up), over at least 3 calls and 0.3 s.
 */
async function time(f: () => Promise<unknown> | unknown): Promise<number> {
  const w0 = performance.now();
  for (let i = 0; i < 2 || (performance.now() - w0 < 100 && i < 200); i++) await f();
  const ts: number[] = [];
  const t0 = performance.now();
  while (ts.length < 3 || (performance.now() - t0 < 300 && ts.length < 50)) {
    const t = performance.now();
    await f();
    ts.push(performance.now() - t);
  }
  return ts.sort((a, b) => a - b)[ts.length >> 1];
}

const tf = await loadTfjs();
const jax = await loadJaxJs();
const sizes = [64, 128, 256, 512, 1024, 2048, 4096];
const batches = [8, 16, 32, 64, 128];
const steps = [16, 32, 64, 128, 256];
const mm: Record<string, Curve> = { wax: {}, "tfjs-wasm": {}, "jax-js-wasm": {} };
const conv: Record<string, Curve> = { wax: {}, "tfjs-wasm": {}, "jax-js-wasm": {} };
const dcgan: Record<string, Curve> = { wax: {} };

for (const n of sizes) {
  const [a, b] = random.split(random.key(n)).map((k) => random.normal(k, [n, n]));
  mm.wax[n] = await time(async () => (await np.matmul(a, b).blockUntilReady()).dispose());
  if (tf && n <= 2048) {
    const [ta, tb] = [tf.randomNormal([n, n]), tf.randomNormal([n, n])];
    mm["tfjs-wasm"][n] = await time(() => tf.matMul(ta, tb).dispose());
  }
  if (jax && n <= 1024) {
    const [ja, jb] = [jax.random.normal(jax.random.key(1), [n, n]), jax.random.normal(jax.random.key(2), [n, n])];
    mm["jax-js-wasm"][n] = await time(async () => {
      const c = jax.numpy.matmul(ja.ref, jb.ref);
      await c.blockUntilReady();
      c.dispose();
    });
  }
}
const w = random.normal(random.key(7), [128, 64, 5, 5]).mul(0.05);
for (const bs of batches) {
  const x = random.normal(random.key(bs), [bs, 64, 14, 14]);
  const f = (x: Array) => lax.convGeneralDilated(x, w, { strides: [2, 2], padding: "SAME" });
  conv.wax[bs] = await time(async () => (await f(x).blockUntilReady()).dispose());
  if (tf) {
    type T4 = import("@tensorflow/tfjs").Tensor4D;
    const [tx, tw] = [tf.randomNormal([bs, 14, 14, 64]) as T4, tf.randomNormal([5, 5, 64, 128]) as T4];
    conv["tfjs-wasm"][bs] = await time(() => tf.conv2d(tx, tw, 2, "same").dispose());
  }
  if (jax && bs <= 16) {
    const [jx, jw] = [
      jax.random.normal(jax.random.key(3), [bs, 64, 14, 14]),
      jax.random.normal(jax.random.key(4), [128, 64, 5, 5]),
    ];
    conv["jax-js-wasm"][bs] = await time(async () => {
      const y = jax.lax.convGeneralDilated(jx.ref, jw.ref, [2, 2], "SAME");
      await y.blockUntilReady();
      y.dispose();
    });
  }
}
for (const bs of steps) {
  const gan = makeDcgan();
  let state = gan.init(random.key(0));
  const real = random.uniform(random.key(1), [bs, 1, 28, 28], { minval: -1, maxval: 1 });
  let i = 0;
  dcgan.wax[bs] = await time(async () => {
    const [next, losses] = gan.step(state, real, random.key(i++));
    state = next;
    await losses.g.data();
  });
}

// PyTorch in its own process, as its users run it: each point keeps the faster OpenBLAS setting.
type TorchCurves = { matmul: Curve; conv: Curve; dcgan: Curve };
const torch = await runTorch<TorchCurves>(["--curves"]);
const fastest = (pick: (t: TorchCurves) => Curve): Curve => {
  const best: Curve = {};
  for (const { out } of torch) {
    for (const [x, ms] of Object.entries(pick(out))) best[Number(x)] = Math.min(best[Number(x)] ?? Infinity, ms);
  }
  return best;
};
if (torch.length) {
  mm.pytorch = fastest((t) => t.matmul);
  conv.pytorch = fastest((t) => t.conv);
  dcgan.pytorch = fastest((t) => t.dcgan);
} else console.error("PyTorch unavailable: its curves are left out");

const gflops = (c: Curve) =>
  Object.fromEntries(Object.entries(c).map(([n, ms]) => [n, (2 * Number(n) ** 3) / (ms * 1e6)]));
const colors: Record<string, [number, number, number]> = {
  wax: [214, 39, 40],
  pytorch: [31, 119, 180],
  "tfjs-wasm": [44, 160, 44],
  "jax-js-wasm": [148, 103, 189],
};
const panel = (title: string, xLabel: string, yLabel: string, curves: Record<string, Curve>, logY: boolean) => {
  const p = new Plot({ title, xLabel, yLabel, logX: true, logY, legend: "auto" });
  for (const [lib, c] of Object.entries(curves)) {
    const xs = Object.keys(c).map(Number).sort((a, b) => a - b);
    if (xs.length) p.line(xs, xs.map((x) => c[x]), { label: lib, color: colors[lib], dots: 3 });
  }
  return p;
};
const mmFlops = Object.fromEntries(Object.entries(mm).map(([k, c]) => [k, gflops(c)]));
const picture = renderPanels([
  panel("matmul n×n", "n", "GFLOP/s", mmFlops, false),
  panel("conv 14×14×64→128 k5 s2, forward", "batch", "ms", conv, true),
  panel("DCGAN train step (TF tutorial)", "batch", "ms", dcgan, true),
], { width: 420, height: 360 });
await Deno.mkdir(out, { recursive: true });
await savePng(join(out, "bench_curves.png"), picture, { colors: 256 });
console.log(
  JSON.stringify({ date: new Date().toISOString(), matmulGflops: mmFlops, convMs: conv, dcganMs: dcgan }, null, 1),
);
console.log(`wrote ${join(out, "bench_curves.png")}`);
// The peers' wasm worker threads would keep the process alive.
Deno.exit(0);
