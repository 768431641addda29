/**
 * A small convnet that classifies 28×28 images (MNIST digits or Fashion-MNIST articles): two
 * 5×5 convolutions of stride 2 with ReLU, a dense hidden layer (the features the Fréchet
 * distance compares), dropout and a dense output of class logits. Trained with Adam and
 * a cosine-decayed learning rate. The metrics in `metrics_mnist.ts` use it to judge generated
 * images.
 * @module
 */
import { join } from "node:path";
import { Array, jit, np, random, valueAndGrad } from "../mod.ts";
import * as nn from "../nn/mod.ts";
import * as optim from "../optim/mod.ts";
import { batches, batchesPerEpoch, batchStream, type Dataset, type DatasetName, loadMnist } from "./data/mod.ts";
import { accuracy, argmaxRows } from "./metrics.ts";
import { CheckpointManager, type ProgressOptions, type RunConfig, TrainLog } from "./train/mod.ts";

/** The classifier's shape. */
export interface ClassifierConfig {
  /** Channels of the two convolutions (default [32, 64]). */
  channels: [number, number];
  /** Width of the hidden (feature) layer (default 128). */
  hidden: number;
  /** Dropout rate before the output layer, in training (default 0.25). */
  dropout: number;
  /** Number of classes (default 10). */
  classes: number;
}

/** The default configuration. */
export const CLASSIFIER_CONFIG: ClassifierConfig = { channels: [32, 64], hidden: 128, dropout: 0.25, classes: 10 };

/** Parameters of the two parts: `body` (images → features) and `head` (features → logits). */
export type ClassifierParams = {
  /** Convolutions and the hidden layer. */
  body: {
    conv1: nn.LinearParams;
    act1: null;
    conv2: nn.LinearParams;
    act2: null;
    flat: null;
    fc: nn.LinearParams;
    act3: null;
  };
  /** Dropout and the output layer. */
  head: { drop: null; out: nn.LinearParams };
};

/** Training state: parameters and the optimizer state. */
export type ClassifierState = {
  /** The parameters. */
  params: ClassifierParams;
  /** Adam's state (its step count drives the learning-rate schedule). */
  opt: [optim.AdamState, optim.CountState];
};

// Strided convolutions rather than convolutions and max pooling: about three times faster on
// the cpu backend, where max pooling costs more than the convolutions.
const conv = (channels: number) => nn.conv2d(channels, 5, { stride: 2, padding: "SAME" });
const bodyOf = (c: ClassifierConfig): nn.Layer<ClassifierParams["body"], null> =>
  nn.serial({
    conv1: conv(c.channels[0]),
    act1: nn.relu,
    conv2: conv(c.channels[1]),
    act2: nn.relu,
    flat: nn.flatten(),
    fc: nn.dense(c.hidden),
    act3: nn.relu,
  });
const headOf = (c: ClassifierConfig): nn.Layer<ClassifierParams["head"], null> =>
  nn.serial({ drop: nn.dropout(c.dropout), out: nn.dense(c.classes) });

/** Options of `makeClassifier`. */
export interface ClassifierOptions extends Partial<ClassifierConfig> {
  /** Adam's learning rate at step 0 (default 1e-3). */
  learningRate?: number;
  /** Steps over which the learning rate decays to 0 along a cosine (default: constant rate). */
  decaySteps?: number;
}

/** A classifier: init, a jitted train step, and jitted inference. */
export interface Classifier {
  /** The configuration. */
  config: ClassifierConfig;
  /** Fresh parameters and optimizer state for images `[C, H, W]` (default [1, 28, 28]). */
  init(key: Array, imageShape?: number[]): ClassifierState;
  /** One Adam step on images `x` `[B, C, H, W]` and int32 labels `y` `[B]`; `key` drives dropout. */
  step(state: ClassifierState, x: Array, y: Array, key: Array): [ClassifierState, { loss: Array; acc: Array }];
  /** Evaluation-mode logits `[B, classes]` and features `[B, hidden]`. */
  apply(params: ClassifierParams, x: Array): { logits: Array; features: Array };
}

/**
 * Builds the classifier.
 *
 * @param opts Shape (`channels`, `hidden`, `dropout`, `classes`) and training (`learningRate`, `decaySteps`).
 * @returns init, step and apply.
 *
 * @example One training step
 * ```ts
 * import assert from "node:assert";
 * import { np, random } from "@wax/wax";
 * import { makeClassifier } from "@wax/wax/models";
 * const clf = makeClassifier({ channels: [4, 8], hidden: 16 });
 * const state = clf.init(random.key(0));
 * const x = random.normal(random.key(1), [8, 1, 28, 28]);
 * const y = np.array([0, 1, 2, 3, 4, 5, 6, 7], { dtype: "int32" });
 * const [next, m] = clf.step(state, x, y, random.key(2)); // `state` is donated: use `next`
 * assert(Math.abs((await m.loss.item()) - Math.log(10)) < 1);
 * assert.deepEqual(clf.apply(next.params, x).logits.shape, [8, 10]);
 * ```
 */
export function makeClassifier(opts: ClassifierOptions = {}): Classifier {
  const config: ClassifierConfig = {
    channels: opts.channels ?? CLASSIFIER_CONFIG.channels,
    hidden: opts.hidden ?? CLASSIFIER_CONFIG.hidden,
    dropout: opts.dropout ?? CLASSIFIER_CONFIG.dropout,
    classes: opts.classes ?? CLASSIFIER_CONFIG.classes,
  };
  const body = bodyOf(config);
  const head = headOf(config);
  const lr = opts.learningRate ?? 1e-3;
  const opt = optim.adam(opts.decaySteps ? optim.cosineDecay(lr, opts.decaySteps) : lr);

  const forward = (p: ClassifierParams, x: Array, key?: Array) => {
    const features = body.apply(p.body, x);
    return { features, logits: head.apply(p.head, features, { training: key !== undefined, key }) };
  };
  const trainStep = (state: ClassifierState, x: Array, y: Array, key: Array) => {
    const lossOf = (p: ClassifierParams): [Array, Array] => {
      const { logits } = forward(p, x, key);
      return [nn.softmaxCrossEntropy(logits, y), logits];
    };
    const [[loss, logits], grads] = valueAndGrad(lossOf, { hasAux: true })(state.params);
    const [updates, optState] = opt.update(grads, state.opt, state.params);
    const acc = np.equal(np.argmax(logits, { axis: 1 }), y).astype("float32").mean();
    const next: ClassifierState = { params: optim.applyUpdates(state.params, updates), opt: optState };
    const metrics = { loss, acc };
    return [next, metrics] satisfies [ClassifierState, typeof metrics];
  };

  return {
    config,
    init(key: Array, imageShape = [1, 28, 28]): ClassifierState {
      const [kb, kh] = random.split(key);
      const b = body.init(kb, [1, ...imageShape]);
      const h = head.init(kh, b.outputShape);
      const params = { body: b.params, head: h.params };
      return { params, opt: opt.init(params) };
    },
    step: jit(trainStep, { donateArgnums: [0] }),
    apply: jit((p: ClassifierParams, x: Array) => forward(p, x)),
  };
}

/** Class probabilities and features of a set of images, on the host. */
export interface Classified {
  /** Number of images. */
  n: number;
  /** Softmax probabilities `[n, classes]` (computed in float64 from the logits). */
  probs: Float64Array;
  /** Hidden-layer features `[n, hidden]`. */
  features: Float32Array;
}

/**
 * Runs the classifier (evaluation mode) over images in batches.
 *
 * @param clf The classifier.
 * @param params Its parameters.
 * @param images A data set, or images `[N, C, H, W]` in [-1, 1].
 * @param opts `batchSize` (default 500).
 * @returns Probabilities and features.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { random } from "@wax/wax";
 * import { classifyImages, makeClassifier } from "@wax/wax/models";
 * const clf = makeClassifier({ channels: [4, 8], hidden: 16 });
 * const { params } = clf.init(random.key(0));
 * const out = await classifyImages(clf, params, random.normal(random.key(1), [3, 1, 28, 28]));
 * assert.equal(out.probs.length, 30);
 * assert(Math.abs(out.probs.subarray(0, 10).reduce((a, b) => a + b) - 1) < 1e-9);
 * ```
 */
export async function classifyImages(
  clf: Classifier,
  params: ClassifierParams,
  images: Dataset | Array,
  opts: { batchSize?: number } = {},
): Promise<Classified> {
  const data: Dataset = images instanceof Array ? await asDataset(images) : images;
  const { classes, hidden } = clf.config;
  const probs = new Float64Array(data.size * classes);
  const features = new Float32Array(data.size * hidden);
  let at = 0;
  for await (const b of batches(data, { batchSize: opts.batchSize ?? 500, dropLast: false })) {
    const out = clf.apply(params, b.x);
    const [logits, f] = await Promise.all([out.logits.data(), out.features.data()]);
    const n = b.y.shape[0];
    features.set(f, at * hidden);
    for (let i = 0; i < n; i++) {
      const row = logits.subarray(i * classes, (i + 1) * classes);
      const max = Math.max(...row);
      let sum = 0;
      for (let k = 0; k < classes; k++) sum += Math.exp(row[k] - max);
      for (let k = 0; k < classes; k++) probs[(at + i) * classes + k] = Math.exp(row[k] - max) / sum;
    }
    at += n;
  }
  return { n: data.size, probs, features };
}

async function asDataset(images: Array): Promise<Dataset> {
  if (images.ndim !== 4) throw new Error(`classifyImages: expected images [N, C, H, W], got [${images.shape}]`);
  const [n, c, h, w] = images.shape;
  const px = await images.astype("float32").data();
  return {
    images: px instanceof Float32Array ? px : Float32Array.from(px),
    labels: new Int32Array(n),
    size: n,
    shape: [c, h, w],
    classes: [],
    source: "array",
  };
}

/**
 * The fraction of a data set the classifier labels correctly.
 *
 * @param clf The classifier.
 * @param params Its parameters.
 * @param data The labelled images.
 * @returns The accuracy in [0, 1].
 */
export async function evaluateClassifier(clf: Classifier, params: ClassifierParams, data: Dataset): Promise<number> {
  const { probs } = await classifyImages(clf, params, data);
  return accuracy(argmaxRows(probs, clf.config.classes), data.labels);
}

/** Options of `trainClassifier`: the flags of `examples/classifier.ts`. */
export interface TrainClassifierOptions {
  /** Output folder: `losses.csv` and `checkpoints/`. */
  out: string;
  /** Passes over the training set; the learning rate decays over them (default 3). */
  epochs?: number;
  /** Stop after this many steps (the schedule still spans `epochs`). */
  steps?: number;
  /** Batch size (default 64). */
  batch?: number;
  /** Adam's initial learning rate (default 2e-3). */
  lr?: number;
  /** Random seed (default 0). */
  seed?: number;
  /** Checkpoint every this many steps (default 500) and at the end. */
  every?: number;
  /** Continue from the latest checkpoint in `out/checkpoints`. */
  resume?: boolean;
  /** "mnist" (default) or "fashion". */
  dataset?: DatasetName;
  /** Data sets to use instead of loading `dataset`. */
  data?: { train: Dataset; test: Dataset };
  /** The network's shape (default `CLASSIFIER_CONFIG`). */
  config?: Partial<ClassifierConfig>;
  /** Options of the progress line. */
  progress?: ProgressOptions;
}

/** What `trainClassifier` returns. */
export interface TrainedClassifier {
  /** The classifier. */
  classifier: Classifier;
  /** Its trained parameters. */
  params: ClassifierParams;
  /** Accuracy on the test set. */
  accuracy: number;
  /** Steps completed. */
  steps: number;
  /** The step this session started at (above 0 when resumed). */
  start: number;
  /** Whether the run reached the end of its epochs (not stopped early by `steps`). */
  complete: boolean;
  /** Wall time of this session, in seconds. */
  seconds: number;
}

/**
 * Trains the classifier with the training kit: shuffled batches from the seed, a progress line,
 * `losses.csv`, checkpoints every `every` steps with exact resume, and the test accuracy after
 * each epoch and at the end.
 *
 * @param opts Output folder, run length, batch, learning rate, seed, resume, data.
 * @returns The trained classifier and its test accuracy.
 */
export async function trainClassifier(opts: TrainClassifierOptions): Promise<TrainedClassifier> {
  const t0 = performance.now();
  const { out, epochs = 3, batch = 64, lr = 2e-3, seed = 0, every = 500, dataset = "mnist" } = opts;
  const train = opts.data?.train ?? await loadMnist({ dataset });
  const test = opts.data?.test ?? await loadMnist({ dataset, split: "test" });
  const per = batchesPerEpoch(train.size, { batchSize: batch });
  const horizon = epochs * per;
  const stop = Math.min(opts.steps ?? Infinity, horizon);
  const clf = makeClassifier({ ...opts.config, learningRate: lr, decaySteps: horizon });
  const c = clf.config;
  const config: RunConfig = {
    model: "classifier",
    arch: `conv${c.channels.join("-")}-dense${c.hidden}-drop${c.dropout}-classes${c.classes}`,
    image: train.shape.join("x"),
    dataset,
    batch,
    lr,
    seed,
    epochs,
  };
  const key = random.key(seed);
  let run = { state: clf.init(random.split(key, 3)[0], train.shape), key };
  const ckpt = new CheckpointManager(join(out, "checkpoints"));
  let start = 0;
  if (opts.resume) {
    const r = await ckpt.restore(run, config);
    run = r.tree;
    start = r.step;
  }
  const [, kData, kSteps] = random.split(run.key, 3);
  const log = await TrainLog.open({
    out,
    names: ["loss", "acc"],
    total: stop,
    start,
    progress: opts.progress,
    title: "classifier: training loss and accuracy",
  });
  if (start) log.log(`resuming at step ${start} of ${stop} from ${join(out, "checkpoints")}`);
  for await (const b of batchStream(train, { batchSize: batch, key: kData, start, steps: stop })) {
    const [state, metrics] = clf.step(run.state, b.x, b.y, random.foldIn(kSteps, b.step));
    run = { state, key: run.key };
    const done = b.step + 1;
    await log.step(done, b.epoch, metrics);
    if (done % per === 0 && done < stop) {
      const acc = await evaluateClassifier(clf, run.state.params, test);
      log.log(`epoch ${b.epoch + 1}: test accuracy ${(100 * acc).toFixed(2)}%`);
    }
    if (done % every === 0 || done === stop) {
      await ckpt.save(done, run, { epoch: b.epoch, config });
      await log.save();
    }
  }
  log.done();
  const accuracy = await evaluateClassifier(clf, run.state.params, test);
  return {
    classifier: clf,
    params: run.state.params,
    accuracy,
    steps: stop,
    start,
    complete: stop === horizon,
    seconds: (performance.now() - t0) / 1000,
  };
}
