/**
 * Time to the first training step of `examples/dcgan.ts`, broken down: importing wax and the
 * models, loading MNIST, clustering it (the default conditions on k-means clusters), building
 * and initialising the nets, the first step (trace, compile,
 * code generation, run) against a warm second step, and a whole one-step run of the example as
 * a new user starts it (`--steps 1 --samples 0`, process start to exit).
 * `deno run -A bench/startup.ts`
 * @module
 */
import { join } from "node:path";

const ms = (t: number) => `${(performance.now() - t).toFixed(0)} ms`;
const rows: [string, string][] = [];

let t = performance.now();
const wax = await import("../mod.ts");
const models = await import("../models/mod.ts");
rows.push(["import wax and wax/models", ms(t)]);

t = performance.now();
const data = await models.loadMnist({ split: "train" });
rows.push([`load MNIST (${data.size} images)`, ms(t)]);

t = performance.now();
const k = models.MNIST_DCGAN.clusters;
const opts = { ...models.MNIST_CLUSTERING, key: wax.random.key(3) };
const found = await models.clusterImages(data, k, { ...opts, cache: null });
rows.push([`k-means: ${k} clusters of the training images (a machine's first run)`, ms(t)]);
const cacheDir = await Deno.makeTempDir({ prefix: "wax_startup_kmeans_" });
await models.clusterImages(data, k, { ...opts, cache: cacheDir });
t = performance.now();
await models.clusterImages(data, k, { ...opts, cache: cacheDir });
rows.push(["the same clusters read from the cache (later runs)", ms(t)]);
await Deno.remove(cacheDir, { recursive: true });

t = performance.now();
const gan = models.makeDcgan(models.MNIST_DCGAN);
let state = gan.init(wax.random.key(0), undefined, found.weights);
rows.push(["build and initialise the nets", ms(t)]);
const ids = wax.np.array(found.assign.subarray(0, 64), { dtype: "int32" });

const real = wax.random.uniform(wax.random.key(1), [64, 1, 28, 28], { minval: -1, maxval: 1 });
for (const what of ["first step (trace, compile, run)", "second step"]) {
  t = performance.now();
  const [next, m] = gan.step(state, real, wax.random.key(2), ids);
  state = next;
  await m.d.data();
  rows.push([what, ms(t)]);
}

// The example twice with a fresh cache folder: the first run clusters, the second reads the clusters back.
const example = new URL("../examples/dcgan.ts", import.meta.url).pathname;
const out = await Deno.makeTempDir({ prefix: "wax_startup_" });
const env = { ...Deno.env.toObject(), WAX_CACHE_DIR: join(out, "cache") };
for (const what of ["first run on a machine", "a later run (clusters cached)"]) {
  t = performance.now();
  const run = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", example, "--steps", "1", "--samples", "0", "--out", join(out, "run")],
    env,
    stdout: "null",
    stderr: "null",
  }).output();
  rows.push([`examples/dcgan.ts --steps 1 --samples 0, start to exit, ${what} (exit ${run.code})`, ms(t)]);
}
await Deno.remove(out, { recursive: true });

for (const [what, time] of rows) console.log(`| ${what} | ${time} |`);
