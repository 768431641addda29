/**
 * Step-for-step comparison of wax's DCGAN step with PyTorch, wax side: trains a few steps
 * without dropout from a fixed init on fixed batches and writes everything PyTorch needs to
 * repeat them (init, latents, real batches) and what it should get (per-step losses, the
 * generator's first output, the parameters after the first and the last step) to one
 * safetensors file. `bench/peers/torch_dcgan_steps.py` reads it and compares.
 *
 * Run: deno run -A bench/peers/dcgan_steps.ts [tutorial|compact] [steps=5] [batch=16] [out=out/dcgan_steps.safetensors]
 *      /usr/bin/python3 bench/peers/torch_dcgan_steps.py out/dcgan_steps.safetensors
 */
import { np, random, save, tree } from "../../mod.ts";
import { dcganNets, loadMnist, makeDcgan, MNIST_DCGAN, TUTORIAL_DCGAN } from "../../models/mod.ts";

const arch = Deno.args[0] ?? "tutorial";
const steps = Number(Deno.args[1] ?? 5);
const batch = Number(Deno.args[2] ?? 16);
const out = Deno.args[3] ?? "out/dcgan_steps.safetensors";
const config = { ...(arch === "tutorial" ? TUTORIAL_DCGAN : MNIST_DCGAN), dropout: 0, clusters: 0 };
const gan = makeDcgan(config);
const nets = dcganNets(config);
const data = await loadMnist({ split: "test", limit: steps * batch });
const images = np.array(data.images, { shape: [steps * batch, 1, 28, 28] });

let state = gan.init(random.key(0));
// Copies: the step donates the state it is given.
const dup = (t: tree.PyTree): tree.PyTree => tree.map((x: np.Array) => x.add(0), t);
const copy = (s: typeof state): tree.PyTree => ({ g: dup(s.g), gState: dup(s.gState), d: dup(s.d) });
const init = copy(state);
const record: Record<string, tree.PyTree> = { init };
const [kz] = random.split(random.key(100), 3);
const z0 = random.normal(kz, [batch, config.latent]);
record.fake0 = nets.generator.apply(state.g, z0, { training: true, state: state.gState })[0];
const losses: number[] = [];
for (let k = 0; k < steps; k++) {
  const key = random.key(100 + k);
  // The trainer's latents: the first of the four keys the step splits its key into.
  record[`z${k}`] = random.normal(random.split(key, 4)[0], [batch, config.latent]);
  const real = np.sliceAxis(images, 0, k * batch, (k + 1) * batch);
  record[`real${k}`] = real;
  const [next, m] = gan.step(state, real, key);
  state = next;
  losses.push(await m.d.item(), await m.g.item(), await m.accReal.item(), await m.accFake.item());
  if (k === 0) record.after1 = copy(state);
}
record.last = { g: state.g, gState: state.gState, d: state.d };
record.losses = np.array(losses, { shape: [steps, 4] });
await save(out, record, {
  arch,
  steps: String(steps),
  batch: String(batch),
  config: JSON.stringify(config),
});
console.log(`wrote ${out}: ${arch}, ${steps} steps of batch ${batch}; wax losses (d, g, accReal, accFake):`);
for (let k = 0; k < steps; k++) console.log(`  ${losses.slice(4 * k, 4 * k + 4).map((v) => v.toFixed(6)).join("  ")}`);
