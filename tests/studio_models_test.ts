// The studio loads the checkpoints the model examples write: a checkpoint saved in the examples'
// layout (`<root>/<model>/checkpoints`, tree `{ state, key }`, the examples' config) draws exactly
// what the model's own sampler draws from that state (the oracle), whatever the nets' shape.
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Array, np, random, tree } from "../mod.ts";
import { CheckpointManager, makeCgan, makeDcgan, makeVae, MNIST_CGAN, MNIST_DCGAN } from "../models/mod.ts";
import { checkpointDirs, ganGenerator, loadLatest, vaeModel } from "../examples/studio/models.ts";

const ROOT = Deno.makeTempDirSync({ prefix: "wax_studio_models_" });
globalThis.addEventListener("unload", () => Deno.removeSync(ROOT, { recursive: true }));

/** The largest absolute difference of two arrays' values. */
async function maxDiff(a: Array, b: Array): Promise<number> {
  assert.deepEqual(a.shape, b.shape);
  const [x, y] = [Float64Array.from(await a.data()), Float64Array.from(await b.data())];
  return x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0);
}

const save = (name: string, tree: { state: unknown; key: Array }, config: Record<string, string | number | null>) =>
  new CheckpointManager(checkpointDirs(ROOT, name).full).save(7, tree, { epoch: 0, config });

Deno.test("studio models: the examples' DCGAN, cGAN and VAE checkpoints draw what their samplers draw", async () => {
  const key = random.key(0);
  const z = random.normal(random.key(1), [4, 64]);

  // A compact DCGAN with the options the example's config does not record (a dense hidden layer,
  // the refining convolution) and a moving average of G that differs from G.
  const dcgan = makeDcgan({ ...MNIST_DCGAN, width: 4, hidden: 8, refine: true, ema: 0.9 });
  const s0 = dcgan.init(random.key(2));
  const state = { ...s0, gEma: tree.map((x: Array) => x.mul(1.25), s0.g) };
  await save("dcgan", { state, key }, { model: "dcgan", arch: "compact", latent: 64, width: 4, seed: 0 });
  const d = await loadLatest(checkpointDirs(ROOT, "dcgan").full);
  assert(d && d.step === 7);
  const g = ganGenerator("dcgan", d, false);
  assert.equal(g.latent, 64);
  assert(await maxDiff(g.sample(z, null), dcgan.sample(state, z).add(1).mul(0.5)) < 1e-5);

  // A DCGAN with an InfoGAN code: the code comes from each latent, as in the model's sampler.
  const info = makeDcgan({ ...MNIST_DCGAN, width: 4, codes: 10, clusters: 0 });
  const is = info.init(random.key(7));
  await new CheckpointManager(checkpointDirs(ROOT, "dcgan").full).save(8, { state: is, key }, {
    epoch: 0,
    config: { model: "dcgan", arch: "compact", latent: 64, width: 4, codes: 10, seed: 0 },
  });
  const di = await loadLatest(checkpointDirs(ROOT, "dcgan").full);
  assert(di && di.step === 8);
  const gi = ganGenerator("dcgan", di, false);
  assert.equal(gi.latent, 64);
  assert(await maxDiff(gi.sample(z, null), info.sample(is, z).add(1).mul(0.5)) < 1e-5);

  // A conditional GAN: soft labels that are one-hot draw the integer labels' digits.
  const cgan = makeCgan({ ...MNIST_CGAN, width: 4 });
  const cs = cgan.init(random.key(3));
  await save("cgan", { state: cs, key }, { model: "cgan", latent: 64, width: 4, seed: 0 });
  const c = await loadLatest(checkpointDirs(ROOT, "cgan").full);
  assert(c);
  const cg = ganGenerator("cgan", c, false);
  assert.deepEqual([cg.latent, cg.classes], [64, 10]);
  const labels = np.array([3, 0, 9, 3], { dtype: "int32" });
  const oneHot = np.equal(labels.reshape([4, 1]), np.arange(10, undefined, 1, { dtype: "int32" })).astype("float32");
  assert(await maxDiff(cg.sample(z, oneHot), cgan.sample(cs, z, labels).add(1).mul(0.5)) < 1e-5);

  // The VAE: the latent size comes from the parameters, the decoder is the model's.
  const vae = makeVae({ latent: 3, hidden: 16 });
  const vs = vae.init(random.key(4));
  await save("vae", { state: vs, key }, { model: "vae", arch: "dense", latent: 3, hidden: 16, seed: 0 });
  const v = await loadLatest(checkpointDirs(ROOT, "vae").full);
  assert(v);
  const { generator, encoder } = vaeModel(v, false);
  const zv = random.normal(random.key(5), [2, 3]);
  assert(await maxDiff(generator.sample(zv, null), vae.decode(vs.params, zv)) < 1e-6);
  const x = random.uniform(random.key(6), [2, 1, 28, 28]);
  assert(await maxDiff(encoder.encode(x), vae.encode(vs.params, x).mu) < 1e-6);

  // A checkpoint of another model is refused with its path and what is missing.
  await save("dcgan", { state: { params: vs.params }, key }, { model: "vae" });
  const wrong = await loadLatest(checkpointDirs(ROOT, "dcgan").full);
  assert(wrong);
  assert.throws(() => ganGenerator("dcgan", wrong, false), (e: unknown) => {
    assert(e instanceof Error);
    assert.match(e.message, new RegExp(`${wrong.path.replaceAll(".", "\\.")} \\(state\\) has no "g"`));
    return true;
  });
  assert.equal(join(ROOT, "dcgan", "checkpoints"), checkpointDirs(ROOT, "dcgan").full);
});
