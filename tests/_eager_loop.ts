/**
 * The README's model trained eagerly (no jit, nothing disposed, no forced collections), logging
 * the loss every 100 steps: run by `eager_memory_test.ts` in a process of its own, so that its
 * RSS is not that of the type checker or of other tests. Prints one JSON line of measurements.
 * @module
 */
import { type Array, grad, memoryStats, np, random } from "../mod.ts";
import { warmupGemm } from "../core/backend/cpu/gemm/mod.ts";

type Params = { w1: Array; b1: Array; w2: Array; b2: Array };
const steps = Number(Deno.args[0] ?? 2000);
const live = () => memoryStats().cpu?.buffers ?? 0;

const [k1, k2] = random.split(random.key(0));
const x = np.linspace(-3, 3, 128).reshape(128, 1);
const y = np.sin(x);
let p: Params = {
  w1: random.normal(k1, [1, 32]).mul(0.5),
  b1: np.zeros([32]),
  w2: random.normal(k2, [32, 1]).mul(0.2),
  b2: np.zeros([1]),
};
const predict = (p: Params, x: Array) => np.tanh(x.matmul(p.w1).add(p.b1)).matmul(p.w2).add(p.b2);
const loss = (p: Params) => predict(p, x).sub(y).square().mean();
const step = () => {
  const g = grad(loss)(p);
  p = {
    w1: p.w1.sub(g.w1.mul(0.1)),
    b1: p.b1.sub(g.b1.mul(0.1)),
    w2: p.w2.sub(g.w2.mul(0.1)),
    b2: p.b2.sub(g.b2.mul(0.1)),
  };
};

const loss0 = await loss(p).item();
warmupGemm(); // the GEMM threads' start-up is not counted as growth
for (let i = 0; i < 200; i++) { // warm-up: code generation, the pool, V8's first heap sizing
  step();
  if (i % 100 === 99) await loss(p).item();
}
const base = live();
const rss0 = Deno.memoryUsage().rss;
let peak = base;
let held: { p: Params; values: number[][] } | null = null;
for (let i = 0; i < steps; i++) {
  step();
  if (i % 100 === 99) {
    await loss(p).item();
    peak = Math.max(peak, live());
  }
  // parameters held across the loop: whatever is freed around them, they keep their values
  if (i === steps / 2 - 1) held = { p, values: [[...await p.w1.data()], [...await p.w2.data()]] };
}
const rssGrowth = Deno.memoryUsage().rss - rss0;
const heldNow = [[...await held!.p.w1.data()], [...await held!.p.w2.data()]];
const loss1 = await loss(p).item();
console.log(JSON.stringify({ base, peak, rssGrowth, loss0, loss1, held: held!.values, heldNow }));
