/**
 * The studio's models: the DCGAN, the conditional GAN and the VAE, loaded from the checkpoints
 * their examples write (`out/dcgan/`, `out/cgan/`, `out/vae/`) or from the small ones the studio
 * trains itself (`out/studio/<model>/`). Every model becomes a `Generator`: a pure, differentiable
 * function from latents (and soft class labels) to pixels in [0, 1], plus its jitted form.
 *
 * This is a thin adapter over the models' public APIs: the GANs' `sample` takes integer labels and
 * the whole training state, while the studio needs soft labels (a class slider that blends two
 * classes) and gradients with respect to the latent, so it applies `dcganNets(...).generator`
 * to the checkpoint's generator parameters directly.
 * @module
 */
import { join } from "node:path";
import { type Array, jit, load, np, type PyTree } from "../../mod.ts";
import {
  CheckpointManager,
  dcganNets,
  makeVae,
  MNIST_DCGAN,
  TUTORIAL_DCGAN,
  type VaeParams,
} from "../../models/mod.ts";

/** The generative models the studio serves. */
export const MODEL_NAMES = ["dcgan", "cgan", "vae"] as const;
/** One of `MODEL_NAMES`. */
export type ModelName = typeof MODEL_NAMES[number];

/** A generative model as the studio uses it. */
export interface Generator {
  /** Which model. */
  name: ModelName;
  /** Latent size. */
  latent: number;
  /** Number of classes (0: unconditional). */
  classes: number;
  /** The parameters `render` takes. */
  params: PyTree;
  /** Pixels in [0, 1] `[N, 1, 28, 28]` of latents `[N, latent]` and soft labels `[N, classes]` (null when unconditional); differentiable. */
  render(params: PyTree, z: Array, y: Array | null): Array;
  /** `render` with this model's parameters, jitted. */
  sample(z: Array, y: Array | null): Array;
  /** Where it came from, for the page and the log. */
  source: string;
  /** Training steps it had. */
  steps: number;
  /** True for the studio's own small model (a placeholder until the model's example has run). */
  small: boolean;
}

/** The VAE's encoder, for the mixer's drawn digits and the tuner's data directions. */
export interface Encoder {
  /** Latent means `[N, latent]` of images `[N, 1, 28, 28]` in [0, 1]. */
  encode(x: Array): Array;
}

/** A loaded checkpoint: its tree and the config it was saved with. */
export interface Loaded {
  /** The saved tree (`{ state, key }` for the examples' runs). */
  tree: Record<string, PyTree>;
  /** The run's config. */
  config: Record<string, unknown>;
  /** The file. */
  path: string;
  /** Its step. */
  step: number;
}

/**
 * The newest checkpoint in `dir` (a `CheckpointManager` folder), or null when there is none.
 *
 * @param dir The folder.
 * @returns The tree, config, path and step.
 */
export async function loadLatest(dir: string): Promise<Loaded | null> {
  const info = await new CheckpointManager(dir).latest();
  if (!info) return null;
  const tree = await load<Record<string, PyTree>>(info.path);
  return { tree, config: info.config, path: info.path, step: info.step };
}

const num = (v: unknown, fallback: number) => (typeof v === "number" && Number.isInteger(v) && v > 0 ? v : fallback);

/**
 * A generator from a DCGAN or cGAN checkpoint (the tree `{ state: GanState, … }` that
 * `examples/dcgan.ts` saves; `state.g` and `state.gState` are all that is used).
 *
 * @param name "dcgan" or "cgan".
 * @param ckpt The loaded checkpoint.
 * @param small Whether it is one of the studio's own small models.
 * @returns The generator.
 */
export function ganGenerator(name: "dcgan" | "cgan", ckpt: Loaded, small: boolean): Generator {
  const state = (ckpt.tree.state ?? ckpt.tree) as Record<string, PyTree>;
  if (!state || typeof state !== "object" || !("g" in state) || !("gState" in state)) {
    throw new Error(`studio: ${ckpt.path} has no generator (state.g, state.gState); is it a ${name} checkpoint?`);
  }
  const c = ckpt.config;
  const arch = c.arch === "tutorial" ? "tutorial" : "compact";
  const base = arch === "tutorial" ? TUTORIAL_DCGAN : MNIST_DCGAN;
  const nets = dcganNets({ ...base, arch, width: num(c.width, base.width) });
  const latent = num(c.latent, base.latent);
  const classes = name === "cgan" ? num(c.classes, 10) : 0;
  // Sample with the moving average of the generator's weights where the run kept one, as `sample` does.
  const params = { g: state.gEma ?? state.g, gState: state.gState };
  const render = (p: PyTree, z: Array, y: Array | null): Array => {
    const { g, gState } = p as { g: PyTree; gState: PyTree };
    const input = classes ? np.concatenate([z, y!], 1) : z;
    const [x] = nets.generator.apply(g, input, { training: false, state: gState }) as [Array, PyTree];
    return x.add(1).mul(0.5);
  };
  const jitted = jit(render);
  const gen: Generator = {
    name,
    latent,
    classes,
    params,
    render,
    sample: (z, y) => jitted(params, z, y),
    source: ckpt.path,
    steps: ckpt.step,
    small,
  };
  checkGenerator(gen);
  return gen;
}

/**
 * The VAE's decoder as a generator and its encoder, from the tree `{ state: { params } }`
 * that `examples/vae.ts` saves.
 *
 * @param ckpt The loaded checkpoint.
 * @param small Whether it is one of the studio's own small models.
 * @returns The generator and the encoder.
 */
export function vaeModel(ckpt: Loaded, small: boolean): { generator: Generator; encoder: Encoder } {
  const state = (ckpt.tree.state ?? ckpt.tree) as { params?: VaeParams };
  if (!state?.params?.dec) throw new Error(`studio: ${ckpt.path} has no VAE parameters (state.params.dec)`);
  const c = ckpt.config;
  const vae = makeVae({
    arch: c.arch === "conv" ? "conv" : "dense",
    latent: num(c.latent, 20),
    hidden: num(c.hidden, 512),
  });
  const params = state.params;
  const render = (p: PyTree, z: Array) => vae.decode(p as VaeParams, z);
  const generator: Generator = {
    name: "vae",
    latent: vae.config.latent,
    classes: 0,
    params,
    render,
    sample: (z) => vae.decode(params, z),
    source: ckpt.path,
    steps: ckpt.step,
    small,
  };
  checkGenerator(generator);
  return { generator, encoder: { encode: (x) => vae.encode(params, x).mu } };
}

/** Runs a generator once on one latent, so a checkpoint that does not fit fails at startup with its path. */
function checkGenerator(g: Generator): void {
  try {
    const y = g.classes ? np.zeros([1, g.classes]) : null;
    const x = g.sample(np.zeros([1, g.latent]), y);
    if (x.shape.join() !== "1,1,28,28") throw new Error(`it draws images of shape [${x.shape}], not [1, 1, 28, 28]`);
  } catch (e) {
    throw new Error(`studio: the ${g.name} checkpoint ${g.source} does not fit its config: ${(e as Error).message}`);
  }
}

/** Where the model examples' checkpoints are, and where the studio keeps its own small ones. */
export function checkpointDirs(root: string, name: string): { full: string; small: string } {
  return { full: join(root, name, "checkpoints"), small: join(root, "studio", name, "checkpoints") };
}

/** The example that trains each model at full quality. */
export const FULL_EXAMPLE: Record<ModelName, string> = {
  dcgan: "deno run -A examples/dcgan.ts",
  cgan: "deno run -A examples/cgan.ts",
  vae: "deno run -A examples/vae.ts",
};
