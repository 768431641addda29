/**
 * Trains a DCGAN on MNIST: by default the compact configuration that draws convincing digits in
 * a few minutes on two cores (`MNIST_DCGAN`), or the TensorFlow tutorial's (`--arch tutorial`).
 * Writes to `--out` as it goes: sample grids of the same 36 latents, the loss history
 * (`losses.csv`, `losses.png`: D and G losses, D's accuracy on real and on fake images) and
 * checkpoints that `--resume` continues exactly. Stops with a message and a checkpoint when
 * training diverges. At the end: 100 digits that do not exist (`digits.png`), a latent walk
 * (`walk.png`), and the samples' MNIST score, confident share and Fréchet distance by wax's
 * classifier, beside the same numbers for real digits.
 *
 * Run: `deno run -A examples/dcgan.ts [--steps 3500] [--batch 64] [--lr 5e-4] [--decay cosine|none] [--ema 0.999]
 *      [--truncation 1] [--arch compact|tutorial] [--clusters 100] [--codes 0] [--resume]`
 * @module
 */
import { join } from "node:path";
import { type Array, random } from "../mod.ts";
import {
  batchesPerEpoch,
  CheckpointManager,
  clusterImages,
  cpuSeconds,
  type ExampleSpec,
  FlagError,
  formatDuration,
  ganFlags,
  ganRunConfig,
  ganSummary,
  latentWalk,
  loadMnist,
  makeDcgan,
  MNIST_CLUSTERING,
  MNIST_DCGAN,
  numberFlag,
  readGanFlags,
  runExample,
  saveGrid,
  scoreGan,
  totalSteps,
  trainGan,
  TUTORIAL_DCGAN,
} from "../models/mod.ts";

const spec: ExampleSpec = {
  name: "dcgan",
  summary: "Trains a DCGAN on MNIST; writes sample grids, losses.csv/png, checkpoints, 100 digits that do not\n" +
    "exist, a latent walk and the samples' MNIST score and Fréchet distance to --out.",
  defaults: { steps: 3500, batch: 64, lr: 5e-4, every: 500 },
  extra: {
    arch: { type: "string", default: "compact", choices: ["compact", "tutorial"], help: "the networks" },
    ...ganFlags(MNIST_DCGAN),
    codes: {
      type: "string",
      default: String(MNIST_DCGAN.codes),
      arg: "N",
      help: "values of G's InfoGAN categorical code (compact nets, with --clusters 0; 0: none)",
    },
    clusters: {
      type: "string",
      default: String(MNIST_DCGAN.clusters),
      arg: "K",
      help: "condition both nets on K k-means clusters of the training images (compact nets; 0: a plain DCGAN)",
    },
  },
};

await runExample(spec, async (flags) => {
  const t0 = performance.now();
  const cpu0 = cpuSeconds();
  const arch = flags.extra.arch === "tutorial" ? "tutorial" : "compact";
  const countFlag = (name: string) =>
    numberFlag(flags, name, (v) => Number.isInteger(v) && v >= 0 && v !== 1, "0 or an integer ≥ 2");
  const codes = arch === "tutorial" ? 0 : countFlag("codes");
  const clusters = arch === "tutorial" ? 0 : countFlag("clusters");
  if (codes > 0 && clusters > 0) {
    throw new FlagError(
      `--codes ${codes} and --clusters ${clusters}: pick one of them (pass --clusters 0 with --codes)`,
    );
  }
  const gf = readGanFlags(flags);
  const { width, trunc } = gf;
  const images = await loadMnist({ split: "train" });
  if (clusters > images.size) {
    throw new FlagError(`--clusters ${clusters} needs as many training images; there are ${images.size}`);
  }
  const stop = totalSteps(flags, batchesPerEpoch(images.size, { batchSize: flags.batch }));
  const base = arch === "tutorial" ? TUTORIAL_DCGAN : { ...MNIST_DCGAN, width, codes, clusters };
  const gan = makeDcgan({
    ...base,
    learningRate: flags.lr,
    dLearningRate: flags.lr,
    decaySteps: gf.decay ? stop : 0,
    labelSmoothing: gf.smooth,
    ema: gf.ema,
  });
  const config = ganRunConfig(
    {
      model: "dcgan",
      arch,
      latent: gan.latent,
      width: arch === "tutorial" ? null : width,
      codes,
      clusters,
    },
    flags,
    gf,
    images,
  );
  // One key per purpose: init, the fixed latents of the pictures, the data order, the steps, the clusters.
  const key = random.key(flags.seed);
  const [kInit, kFixed, kData, kSteps, kClusters] = random.split(key, 5);
  // The clusters of the training images stand in for labels (none are read).
  const found = clusters > 0 ? await clusterImages(images, clusters, { ...MNIST_CLUSTERING, key: kClusters }) : null;
  const data = found ? { ...images, labels: found.assign } : images;
  if (found) {
    console.error(
      `k-means: ${clusters} clusters of the training images in ${formatDuration((performance.now() - t0) / 1000)} ` +
        `(shares ${(100 * Math.min(...found.weights)).toFixed(1)}–${(100 * Math.max(...found.weights)).toFixed(1)} %)`,
    );
  }
  let run = { state: gan.init(kInit, undefined, found?.weights), key };
  const ckpt = new CheckpointManager(join(flags.out, "checkpoints"));
  let start = 0;
  if (flags.resume) {
    const r = await ckpt.restore(run, config);
    run = r.tree;
    start = r.step;
  }
  // Pictures and scores draw from the truncated latents (scaled by --truncation).
  const draw = (z: Array) => gan.sample(run.state, z.mul(trunc));
  const fixedZ = random.normal(kFixed, [36, gan.latent]); // the same latents at every snapshot
  const trained = await trainGan({
    out: flags.out,
    data,
    batch: flags.batch,
    start,
    stop,
    every: flags.every,
    dataKey: kData,
    stepKey: kSteps,
    run,
    step: (state, x, y, k) => gan.step(state, x, k, found ? y : undefined),
    snapshot: (state) => gan.sample(state, fixedZ.mul(trunc)),
    cols: 6,
    ckpt,
    config,
    title: `DCGAN training (${arch}, batch ${flags.batch})`,
  });
  run = trained.run;
  if (trained.diverged) {
    console.error(`examples/dcgan.ts: ${trained.diverged}`);
    Deno.exit(1);
  }
  const trainSeconds = (performance.now() - t0) / 1000;
  // The generator is what we keep: 100 digits that do not exist, and a latent walk.
  const digits = join(flags.out, "digits.png");
  const walk = join(flags.out, "walk.png");
  await saveGrid(digits, draw(random.normal(random.foldIn(kFixed, 1), [100, gan.latent])), { cols: 10 });
  // With clusters (or a code) each row keeps its start's, so it morphs one kind of digit.
  const fixFirst = clusters > 0 || codes > 0;
  const walkZ = await latentWalk(random.foldIn(kFixed, 2), { rows: 6, cols: 10, latent: gan.latent, fixFirst });
  await saveGrid(walk, draw(walkZ), {
    cols: 10,
  });
  const scores = gf.samples > 0
    ? await scoreGan(draw, { latent: gan.latent, count: gf.samples, key: random.foldIn(kFixed, 3), data })
    : "";
  console.log(
    ganSummary("dcgan", { stop, start, seconds: trainSeconds, last: trained.last, sample: trained.sample }) +
      `${scores}${trunc < 1 ? `latents ×${trunc}; ` : ""}` +
      `digits ${digits}; walk ${walk}; losses ${join(flags.out, "losses.csv")}; checkpoints ${ckpt.dir}; ` +
      `total ${formatDuration((performance.now() - t0) / 1000)}, cpu ${formatDuration(cpuSeconds() - cpu0)}`,
  );
});
