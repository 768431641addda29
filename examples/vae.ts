/**
 * Trains a variational autoencoder on MNIST (pixels in [0, 1], a Bernoulli decoder) and shows
 * its smooth latent space: samples from the prior, interpolations between test digits (linear
 * and spherical), reconstructions, and with `--latent 2` the manifold (the decoder over a grid
 * of Gaussian quantiles) and the 2-d map of the test digits. At the end it estimates the test
 * ELBO on the 10,000 test images, and with `--iw K` the importance-weighted bound on log p(x).
 *
 * Run: `deno run -A examples/vae.ts [--arch dense|conv] [--latent 20] [--iw 100] [--epochs 10]`
 * @module
 */
import { join } from "node:path";
import { np, random } from "../mod.ts";
import {
  batches,
  batchesPerEpoch,
  batchStream,
  type Canvas,
  CheckpointManager,
  codePlot,
  type Dataset,
  type ExampleSpec,
  firstOfEachLabel,
  FlagError,
  formatDuration,
  imageRows,
  interpolate,
  loadMnist,
  makeVae,
  pickImages,
  quantileGrid,
  type RunConfig,
  runExample,
  saveGrid,
  savePng,
  totalSteps,
  TrainLog,
  type Vae,
  type VaeParams,
} from "../models/mod.ts";

const spec: ExampleSpec = {
  name: "vae",
  summary: "Trains a variational autoencoder on MNIST; writes prior samples, interpolations, reconstructions,\n" +
    "the 2-d manifold (--latent 2), losses.csv and checkpoints, and prints the test ELBO in nats per image.",
  defaults: { epochs: 25, batch: 256, lr: 2e-3, every: 1000 },
  extra: {
    arch: { type: "string", default: "dense", choices: ["dense", "conv"], help: "the architecture" },
    latent: { type: "string", default: "20", arg: "N", help: "latent size (2 draws the manifold)" },
    iw: { type: "string", arg: "K", help: "also estimate log p(x) on the test set with K importance samples" },
  },
};

function positiveInt(name: string, v: string | boolean | undefined, max: number): number {
  const n = Number(v);
  if (typeof v !== "string" || v.trim() === "" || !(Number.isInteger(n) && n >= 1 && n <= max)) {
    throw new FlagError(`--${name} must be an integer from 1 to ${max}, got ${JSON.stringify(v)}`);
  }
  return n;
}

await runExample(spec, async (flags) => {
  const t0 = performance.now();
  const arch = flags.extra.arch === "conv" ? "conv" : "dense";
  const latent = positiveInt("latent", flags.extra.latent, 1000);
  const iw = flags.extra.iw === undefined ? 0 : positiveInt("iw", flags.extra.iw, 10000);
  const train = await loadMnist({ range: [0, 1] });
  const test = await loadMnist({ split: "test", range: [0, 1] });
  const per = batchesPerEpoch(train.size, { batchSize: flags.batch });
  const stop = totalSteps(flags, per);
  // The learning rate decays over the epochs asked for; --steps may stop the run earlier.
  const vae = makeVae({ arch, latent, learningRate: flags.lr, decaySteps: (flags.epochs ?? 1) * per });
  const config: RunConfig = {
    model: "vae",
    arch,
    latent,
    hidden: vae.config.hidden,
    batch: flags.batch,
    lr: flags.lr,
    seed: flags.seed,
    epochs: flags.epochs ?? 1,
  };
  const [kInit, kData, kSteps, kPrior, kTest] = random.split(random.key(flags.seed), 5);
  let run = { state: vae.init(kInit) };
  const ckpt = new CheckpointManager(join(flags.out, "checkpoints"));
  let start = 0;
  if (flags.resume) {
    const r = await ckpt.restore(run, config);
    [run, start] = [r.tree, r.step];
  }
  const log = await TrainLog.open({
    out: flags.out,
    names: ["loss", "rec", "kl"],
    total: stop,
    start,
    title: "VAE: -ELBO = reconstruction + KL (nats per image)",
  });
  log.log(`MNIST: ${train.size} training images; ${arch} VAE, latent ${latent}; steps ${start}..${stop}`);
  const prior = random.normal(kPrior, [64, latent]); // the same prior samples at every snapshot
  for await (const b of batchStream(train, { batchSize: flags.batch, key: kData, start, steps: stop })) {
    const [state, metrics] = vae.step(run.state, b.x, random.foldIn(kSteps, b.step));
    run = { state };
    const done = b.step + 1;
    await log.step(done, b.epoch, metrics);
    if (done % flags.every === 0 || done === stop) {
      await saveGrid(join(flags.out, "samples.png"), vae.decode(run.state.params, prior), {
        cols: 8,
        range: [0, 1],
        colors: 256,
      });
      await ckpt.save(done, run, { epoch: b.epoch, config });
      await log.save();
    }
  }
  log.done();
  const params = run.state.params;
  const written = [join(flags.out, "samples.png")];

  // The bound on the 10,000 test images: one z per image from a fixed key.
  let rec = 0, kl = 0;
  let at = 0;
  for await (const b of batches(test, { batchSize: 500, dropLast: false })) {
    const t = vae.elbo(params, b.x, random.foldIn(kTest, at));
    rec += await t.rec.sum().item();
    kl += await t.kl.sum().item();
    at += b.y.shape[0];
  }
  [rec, kl] = [rec / test.size, kl / test.size];
  let summary = `test ELBO ${(-rec - kl).toFixed(2)} nats/image (reconstruction ${rec.toFixed(2)}, KL ${
    kl.toFixed(2)
  })`;
  if (iw) summary += `; ${iw}-sample importance-weighted bound ${(await iwBound(vae, params, test, iw)).toFixed(2)}`;

  const shown = pickImages(test, firstOfEachLabel(test.labels, 12));
  written.push(
    await saved(
      join(flags.out, "reconstructions.png"),
      await imageRows([
        { label: "test", images: shown },
        { label: "VAE", images: vae.reconstruct(params, shown) },
      ], { title: `${arch} VAE, latent ${latent}: test digits and decoded means` }),
    ),
  );
  written.push(await saved(join(flags.out, "interpolation.png"), await interpolationStrip(vae, params, test)));
  if (latent === 2) {
    // Kingma & Welling's figure: the decoder over a 20 × 20 grid of the prior's quantiles, at
    // one pixel per pixel and in 32 grey levels (the blurry digits fill 256 levels and an
    // unfiltered indexed PNG of them would pass 100 KB).
    const n = 20;
    const path = join(flags.out, "manifold.png");
    await saveGrid(path, vae.decode(params, quantileGrid(n)), {
      cols: n,
      range: [0, 1],
      pad: 0,
      scale: 1,
      colors: 32,
    });
    written.push(path);
    const mu = new Float32Array(test.size * 2);
    at = 0;
    for await (const b of batches(test, { batchSize: 500, dropLast: false })) {
      mu.set(await vae.encode(params, b.x).mu.data(), at * 2);
      at += b.y.shape[0];
    }
    const map = codePlot(mu, test.labels, { title: "VAE: latent means of the 10,000 test digits" });
    written.push(await saved(join(flags.out, "codes.png"), map.toCanvas({ width: 720, height: 600 })));
  }
  const seconds = (performance.now() - t0) / 1000;
  console.log(
    `vae: ${arch}, latent ${latent}, ${stop} steps${start ? ` (resumed at step ${start})` : ""} in ` +
      `${formatDuration(seconds)}; ${summary}; wrote ${written.join(", ")}`,
  );
});

/** The mean over the test set of the importance-weighted bound with `k` samples. */
async function iwBound(vae: Vae, params: VaeParams, test: Dataset, k: number): Promise<number> {
  const batchSize = Math.max(1, Math.min(500, Math.floor(20000 / k)));
  let sum = 0, at = 0;
  const key = random.key(777);
  for await (const b of batches(test, { batchSize, dropLast: false })) {
    sum += await vae.iwBound(params, b.x, random.foldIn(key, at), k).sum().item();
    at += b.y.shape[0];
  }
  return sum / test.size;
}

/** Rows of decoded points between the latent means of pairs of test digits, linear and spherical. */
async function interpolationStrip(vae: Vae, params: VaeParams, test: Dataset): Promise<Canvas> {
  const first = firstOfEachLabel(test.labels);
  const pairs: [number, number][] = [[1, 7], [3, 8], [4, 9], [0, 6], [2, 5]];
  const steps = 10;
  const rows = [];
  for (const [a, b] of pairs) {
    const mu = await vae.encode(params, pickImages(test, [first[a], first[b]])).mu.data();
    const d = mu.length / 2;
    const kinds: ("linear" | "spherical")[] = ["linear", "spherical"];
    for (const kind of kinds) {
      const z = interpolate(mu.subarray(0, d), mu.subarray(d), steps, kind);
      rows.push({
        label: `${a}->${b} ${kind === "linear" ? "lin" : "slerp"}`,
        images: vae.decode(params, np.array(z, { shape: [steps, d] })),
      });
    }
  }
  return await imageRows(rows, { title: "VAE: interpolating between the codes of two test digits" });
}

async function saved(path: string, canvas: Canvas): Promise<string> {
  await savePng(path, canvas, { colors: 256 });
  return path;
}
