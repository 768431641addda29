/**
 * Metrics of generated images judged by wax's classifier (`classifier.ts`): the MNIST score
 * (Inception Score), the share of confidently classified samples, label accuracy of conditional
 * samples, and the Fréchet distance between classifier features of two image sets. The trained
 * classifier lives in the cache (`<cache>/classifier/<dataset>.safetensors`);
 * `examples/classifier.ts` puts it there, and `MnistMetrics.load` trains it on first use when
 * it is absent.
 * @module
 */
import { dirname, join } from "node:path";
import { type Array, load, loadMetadata, save } from "../mod.ts";
import {
  type Classified,
  CLASSIFIER_CONFIG,
  type ClassifierConfig,
  type ClassifierParams,
  classifyImages,
  makeClassifier,
  trainClassifier,
  type TrainClassifierOptions,
} from "./classifier.ts";
import { cacheDir, DataError, type Dataset, type DatasetName } from "./data/mod.ts";
import {
  confidentFraction,
  frechetDistance,
  type Gaussian,
  gaussianStats,
  inceptionScore,
  labelAccuracy,
} from "./metrics.ts";

/**
 * Where the metrics look for the trained classifier of a data set.
 *
 * @param dataset "mnist" (default) or "fashion".
 * @returns `<cache>/classifier/<dataset>.safetensors`.
 *
 * @example
 * ```ts
 * import { classifierPath } from "@wax/wax/models";
 * console.log(classifierPath()); // e.g. /home/me/.cache/wax/classifier/mnist.safetensors
 * ```
 */
export function classifierPath(dataset: DatasetName = "mnist"): string {
  const cache = cacheDir();
  if (!cache) throw new DataError("classifierPath: no WAX_CACHE_DIR, XDG_CACHE_HOME or HOME to keep the classifier in");
  return join(cache, "classifier", `${dataset}.safetensors`);
}

/**
 * Saves trained classifier parameters with their configuration, test accuracy and data set.
 *
 * @param path The file (its folder is created).
 * @param trained The configuration, parameters and accuracy.
 * @returns When the file is in place (written atomically).
 */
export async function saveClassifier(
  path: string,
  trained: { config: ClassifierConfig; params: ClassifierParams; accuracy: number; dataset: DatasetName },
): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  await save(path, { params: trained.params }, {
    "wax.classifier": JSON.stringify(trained.config),
    "wax.accuracy": String(trained.accuracy),
    "wax.dataset": trained.dataset,
  });
}

/** Options of `MnistMetrics.load`. */
export interface MnistMetricsOptions {
  /** "mnist" (default) or "fashion". */
  dataset?: DatasetName;
  /** The classifier file (default `classifierPath(dataset)`). */
  path?: string;
  /** Train the classifier when the file is absent (default true), with these options. */
  train?: boolean | Partial<TrainClassifierOptions>;
  /** Where messages go (default stderr). */
  log?: (line: string) => void;
}

/** What `MnistMetrics.evaluate` measures of a set of samples. */
export interface SampleMetrics {
  /** The MNIST score (Inception Score with the classifier): 1 to 10. */
  score: number;
  /** The share of samples classified with probability > 0.9. */
  confident: number;
  /** The Fréchet distance of their features to the reference set's (when one is given). */
  frechet?: number;
  /** The share classified as the label they were asked for (when labels are given). */
  labelAccuracy?: number;
}

/** Images to judge: arrays `[N, 1, 28, 28]` or a data set. */
export type Images = Array | Dataset;

/**
 * Metrics of images by wax's classifier.
 *
 * @example Metrics with a classifier file made beforehand
 * ```ts ignore
 * import { random } from "@wax/wax";
 * import { loadMnist, MnistMetrics } from "@wax/wax/models";
 * const metrics = await MnistMetrics.load(); // trains the classifier on first use
 * const test = await loadMnist({ split: "test" });
 * const fakes = random.uniform(random.key(0), [100, 1, 28, 28], { minval: -1, maxval: 1 });
 * console.log(await metrics.evaluate(fakes, { reference: test }));
 * ```
 */
export class MnistMetrics {
  /** The classifier's configuration. */
  readonly config: ClassifierConfig;
  /** Its parameters. */
  readonly params: ClassifierParams;
  /** Its test accuracy when it was saved. */
  readonly accuracy: number;
  /** The file it came from. */
  readonly path: string;
  #classifier;
  #stats = new WeakMap<object, Gaussian>();

  private constructor(config: ClassifierConfig, params: ClassifierParams, accuracy: number, path: string) {
    this.config = config;
    this.params = params;
    this.accuracy = accuracy;
    this.path = path;
    this.#classifier = makeClassifier(config);
  }

  /**
   * Loads the classifier from `path`; when the file is absent, trains one first (a few minutes,
   * with a progress line; resumable) and saves it there.
   *
   * @param opts Data set, file, training options, log.
   * @returns The metrics.
   */
  static async load(opts: MnistMetricsOptions = {}): Promise<MnistMetrics> {
    const dataset = opts.dataset ?? "mnist";
    const path = opts.path ?? classifierPath(dataset);
    const log = opts.log ?? ((line: string) => console.error(line));
    const exists = await Deno.stat(path).then(() => true, () => false);
    if (!exists) {
      if (opts.train === false) {
        throw new DataError(`MnistMetrics: no classifier at ${path}; run examples/classifier.ts to train one`);
      }
      const out = join(dirname(path), `${dataset}-run`);
      log(`wax: no classifier at ${path}; training one now (a few minutes; checkpoints in ${out})`);
      const more = typeof opts.train === "object" ? opts.train : {};
      const resume = await Deno.stat(join(out, "checkpoints", "latest")).then(() => true, () => false);
      const t = await trainClassifier({ out, dataset, resume, ...more });
      await saveClassifier(path, { config: t.classifier.config, params: t.params, accuracy: t.accuracy, dataset });
      log(`wax: classifier saved to ${path} (test accuracy ${(100 * t.accuracy).toFixed(2)}%)`);
    }
    const meta = await loadMetadata(path);
    const config: ClassifierConfig = { ...CLASSIFIER_CONFIG, ...JSON.parse(meta["wax.classifier"] ?? "{}") };
    const { params } = await load<{ params: ClassifierParams }>(path);
    return new MnistMetrics(config, params, Number(meta["wax.accuracy"]), path);
  }

  /**
   * Class probabilities and features of images.
   *
   * @param images Arrays `[N, 1, 28, 28]` in `range`, or a data set loaded in [-1, 1].
   * @param opts `range` of the pixel values (default [-1, 1]).
   * @returns Probabilities `[N, classes]` and features `[N, hidden]`.
   */
  classify(images: Images, opts: { range?: [number, number] } = {}): Promise<Classified> {
    const [lo, hi] = opts.range ?? [-1, 1];
    const scaled = isArray(images) && (lo !== -1 || hi !== 1) ? images.sub(lo).mul(2 / (hi - lo)).sub(1) : images;
    return classifyImages(this.#classifier, this.params, scaled);
  }

  /**
   * The Gaussian of the classifier features of images (cached per data set object).
   *
   * @param images Arrays or a data set.
   * @returns Mean and covariance of the features.
   */
  async featureStats(images: Images): Promise<Gaussian> {
    const hit = this.#stats.get(images);
    if (hit) return hit;
    const stats = gaussianStats((await this.classify(images)).features, this.config.hidden);
    this.#stats.set(images, stats);
    return stats;
  }

  /**
   * The MNIST score, the confident share, and (given `reference` or `labels`) the Fréchet
   * distance to a reference set and the label accuracy.
   *
   * @param images The samples, in `range` (default [-1, 1]).
   * @param opts `reference` images (e.g. the test set), requested `labels`, `range`.
   * @returns The metrics.
   */
  async evaluate(
    images: Images,
    opts: { reference?: Images; labels?: ArrayLike<number>; range?: [number, number] } = {},
  ): Promise<SampleMetrics> {
    const c = await this.classify(images, opts);
    const classes = this.config.classes;
    const out: SampleMetrics = {
      score: inceptionScore(c.probs, classes),
      confident: confidentFraction(c.probs, classes),
    };
    if (opts.reference) {
      out.frechet = frechetDistance(
        gaussianStats(c.features, this.config.hidden),
        await this.featureStats(opts.reference),
      );
    }
    if (opts.labels) out.labelAccuracy = labelAccuracy(c.probs, opts.labels);
    return out;
  }
}

function isArray(x: Images): x is Array {
  return !("images" in x && x.images instanceof Float32Array);
}
