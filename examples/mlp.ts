/**
 * Fits a small MLP to a noisy sine with `grad` + `jit` and prints the loss.
 * Run: `deno run -A examples/mlp.ts [--steps 500]`
 * @module
 */
import { parseArgs } from "node:util";
import { type Array, grad, jit, np, random } from "../mod.ts";

const { values } = parseArgs({ options: { steps: { type: "string", default: "500" } } });
const steps = Number(values.steps);

type Params = { w1: Array; b1: Array; w2: Array; b2: Array };
const [k1, k2, k3] = random.split(random.key(0), 3);
const x = np.linspace(-3, 3, 128).reshape(128, 1);
const y = np.sin(x).add(random.normal(k3, [128, 1]).mul(0.05));

let params: Params = {
  w1: random.normal(k1, [1, 32]).mul(0.5),
  b1: np.zeros([32]),
  w2: random.normal(k2, [32, 1]).mul(0.2),
  b2: np.zeros([1]),
};
const predict = (p: Params, x: Array) => np.tanh(x.matmul(p.w1).add(p.b1)).matmul(p.w2).add(p.b2);
const loss = (p: Params) => predict(p, x).sub(y).square().mean();
const step = jit((p: Params) => {
  const g = grad(loss)(p);
  return {
    w1: p.w1.sub(g.w1.mul(0.1)),
    b1: p.b1.sub(g.b1.mul(0.1)),
    w2: p.w2.sub(g.w2.mul(0.1)),
    b2: p.b2.sub(g.b2.mul(0.1)),
  };
}, { donateArgnums: [0] });

const first = await loss(params).item();
for (let i = 0; i < steps; i++) params = step(params);
console.log(`loss: ${first.toFixed(4)} -> ${(await loss(params).item()).toFixed(4)} after ${steps} steps`);
