/**
 * Trains the DCGAN of the TensorFlow tutorial on MNIST and writes sample grids
 * ("this digit does not exist") to `--out` as it goes.
 *
 * Run: `deno run -A examples/dcgan.ts [--steps 600] [--batch 64] [--every 100] [--out out/dcgan]`
 * @module
 */
import { parseArgs } from "node:util";
import { random } from "../mod.ts";
import { batches, loadMnist, makeDcgan, saveGrid } from "../models/mod.ts";

const { values } = parseArgs({
  options: {
    steps: { type: "string", default: "600" },
    batch: { type: "string", default: "64" },
    every: { type: "string", default: "100" },
    out: { type: "string", default: "out/dcgan" },
    seed: { type: "string", default: "0" },
  },
});
const steps = Number(values.steps);
const batchSize = Number(values.batch);
const every = Number(values.every);
for (const [k, v] of [["steps", steps], ["batch", batchSize], ["every", every]] as const) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`dcgan: --${k} must be a positive integer, got ${values[k]}`);
}
await Deno.mkdir(values.out!, { recursive: true });

const data = await loadMnist({ split: "train" });
console.log(`MNIST: ${data.size} training images; ${steps} steps of batch ${batchSize}`);
const gan = makeDcgan();
let key = random.key(Number(values.seed));
const [kInit, kFixed, kData] = random.split(key, 3);
key = kData;
let state = gan.init(kInit);
const fixedZ = random.normal(kFixed, [36, gan.latent]); // the same latents at every snapshot

let step = 0;
let epoch = 0;
const t0 = performance.now();
outer: for (;;) {
  const [kEpoch, kNext] = random.split(key);
  key = kNext;
  for await (const { x } of batches(data, { batchSize, key: random.foldIn(kEpoch, epoch) })) {
    const [s, losses] = gan.step(state, x, random.foldIn(kEpoch, step));
    state = s;
    step++;
    if (step % 10 === 0 || step === 1) {
      const [d, g] = [await losses.d.item(), await losses.g.item()];
      const rate = (performance.now() - t0) / step;
      console.log(`step ${step}/${steps}  D ${d.toFixed(3)}  G ${g.toFixed(3)}  ${(rate / 1000).toFixed(2)} s/step`);
    }
    if (step % every === 0 || step === steps) {
      const path = `${values.out}/step_${String(step).padStart(5, "0")}.png`;
      await saveGrid(path, gan.sample(state, fixedZ), { cols: 6 });
      console.log(`wrote ${path}`);
    }
    if (step >= steps) break outer;
  }
  epoch++;
}
