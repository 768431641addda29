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
import { Array, jit, load, np, type PyTree } from "../../mod.ts";
import type { LinearParams } from "../../nn/mod.ts";
import {
  CheckpointManager,
  type DcganArch,
  dcganNets,
  latentCode,
  makeVae,
  MNIST_DCGAN,
  oneHot,
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
  tree: PyTree;
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
  const tree = await load(info.path);
  return { tree, config: info.config, path: info.path, step: info.step };
}

/** A pytree node with named children. */
type Node = { readonly [k: string]: PyTree };

/** Whether a pytree is a node with named children (not a leaf, not a list). */
export function isNode(t: PyTree): t is Node {
  return typeof t === "object" && t !== null && !(t instanceof Array) && !globalThis.Array.isArray(t);
}

/**
 * The child `key` of a pytree node, or an error naming `where` and the keys it has.
 *
 * @param t The node.
 * @param key The child's name.
 * @param where What `t` is, for the message (a checkpoint path and a tree path).
 * @returns The child.
 */
export function child(t: PyTree, key: string, where: string): PyTree {
  if (!isNode(t)) throw new Error(`studio: ${where} is not a tree node, so it has no "${key}"`);
  if (!(key in t)) {
    throw new Error(`studio: ${where} has no "${key}" (it has ${Object.keys(t).join(", ") || "nothing"})`);
  }
  return t[key];
}

/** The item `i` of a pytree list, or an error naming `where`. */
export function item(t: PyTree, i: number, where: string): PyTree {
  if (!globalThis.Array.isArray(t)) throw new Error(`studio: ${where} is not a list`);
  if (!(i < t.length)) throw new Error(`studio: ${where} has ${t.length} items, not ${i + 1}`);
  const v: PyTree = t[i];
  return v;
}

/** An array leaf of a pytree, or an error naming `where`. */
export function leaf(t: PyTree, where: string): Array {
  if (!(t instanceof Array)) throw new Error(`studio: ${where} is not an array`);
  return t;
}

/** The parameters `{ w, b }` of a dense or convolutional layer. */
export function linearParams(t: PyTree, where: string): LinearParams {
  const b = child(t, "b", where);
  return { w: leaf(child(t, "w", where), `${where}.w`), b: b === null ? null : leaf(b, `${where}.b`) };
}

const num = (v: unknown, fallback: number) => (typeof v === "number" && Number.isInteger(v) && v > 0 ? v : fallback);

/** The run's state in a checkpoint: `tree.state` for the examples' runs, else the tree itself. */
function stateOf(ckpt: Loaded): PyTree {
  return isNode(ckpt.tree) && "state" in ckpt.tree ? ckpt.tree.state : ckpt.tree;
}

/**
 * The shape of a DCGAN generator read from its parameters (the checkpoint is the truth, whatever
 * its config says): the tutorial nets have `up3`; the compact ones a `fc` of `7·7·2·width`
 * outputs, a dense `fcH` when `hidden` > 0 and a 3×3 `to` convolution when `refine`.
 */
function generatorShape(g: PyTree, where: string) {
  const fc = leaf(child(child(g, "fc", where), "w", `${where}.fc`), `${where}.fc.w`);
  const arch: DcganArch = isNode(g) && "up3" in g ? "tutorial" : "compact";
  const fcH = isNode(g) && isNode(g.fcH) ? leaf(child(g.fcH, "w", `${where}.fcH`), `${where}.fcH.w`) : null;
  const width = arch === "tutorial" ? TUTORIAL_DCGAN.width : fc.shape[1] / 98;
  if (!Number.isInteger(width) || width < 1) {
    throw new Error(`studio: ${where}.fc.w has shape [${fc.shape}]; a compact generator's has 98·width columns`);
  }
  return { arch, width, hidden: fcH ? fcH.shape[1] : 0, refine: isNode(g) && "to" in g, inputs: (fcH ?? fc).shape[0] };
}

/**
 * A generator from a DCGAN or cGAN checkpoint (the tree `{ state: GanState, … }` that
 * `examples/dcgan.ts` and `examples/cgan.ts` save; `state.g`, `state.gEma` and `state.gState`
 * are all that is used). The nets' shape is read from the parameters themselves.
 *
 * @param name "dcgan" or "cgan".
 * @param ckpt The loaded checkpoint.
 * @param small Whether it is one of the studio's own small models.
 * @returns The generator.
 */
export function ganGenerator(name: "dcgan" | "cgan", ckpt: Loaded, small: boolean): Generator {
  const where = `${ckpt.path} (state)`;
  const state = stateOf(ckpt);
  const ema = isNode(state) ? state.gEma : null;
  // Sample with the moving average of the generator's weights where the run kept one, as `sample` does.
  const g = ema ?? child(state, "g", where);
  const gState = child(state, "gState", where);
  const shape = generatorShape(g, `${where}.g`);
  const classes = name === "cgan" ? num(ckpt.config.classes, 10) : 0;
  // A DCGAN with an InfoGAN code reads the code's one-hot beside z (runs from before codes have none).
  const codes = name === "dcgan" ? num(ckpt.config.codes, 0) : 0;
  // A DCGAN conditioned on clusters keeps their weights beside the batch-norm statistics: { bn, prior }.
  const prior = name === "dcgan" && isNode(gState) && gState.prior instanceof Array ? gState.prior : null;
  const clusters = prior ? prior.shape[0] : 0;
  const latent = shape.inputs - classes - codes - clusters;
  if (latent < 1) {
    throw new Error(
      `studio: ${where}.g takes ${shape.inputs} inputs, not more than ${classes} classes + ${codes} codes + ` +
        `${clusters} clusters`,
    );
  }
  const base = shape.arch === "tutorial" ? TUTORIAL_DCGAN : MNIST_DCGAN;
  const nets = dcganNets({ ...base, ...shape, dropout: 0 });
  const params = { g, gState };
  const render = (p: PyTree, z: Array, y: Array | null): Array => {
    const gs = child(p, "gState", "params");
    const input = classes && y
      ? np.concatenate([z, y], 1)
      : codes
      ? np.concatenate([z, oneHot(latentCode(z, codes), codes)], 1)
      : clusters
      ? np.concatenate([z, oneHot(latentCode(z, leaf(child(gs, "prior", "gState"), "gState.prior")), clusters)], 1)
      : z;
    const opts = { training: false, state: clusters ? child(gs, "bn", "gState") : gs };
    const [x] = nets.generator.apply(child(p, "g", "params"), input, opts);
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

/** The VAE's parameters `{ enc, mu, logVar, dec }` from a pytree, checked. */
export function vaeParams(t: PyTree, where: string): VaeParams {
  return {
    enc: child(t, "enc", where),
    mu: linearParams(child(t, "mu", where), `${where}.mu`),
    logVar: linearParams(child(t, "logVar", where), `${where}.logVar`),
    dec: child(t, "dec", where),
  };
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
  const params = vaeParams(child(stateOf(ckpt), "params", `${ckpt.path} (state)`), `${ckpt.path} (state.params)`);
  const c = ckpt.config;
  const vae = makeVae({
    arch: c.arch === "conv" ? "conv" : "dense",
    latent: params.mu.w.shape[1],
    hidden: num(c.hidden, 512),
  });
  const render = (p: PyTree, z: Array) => vae.decode(vaeParams(p, "params"), z);
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
    const why = e instanceof Error ? e.message : String(e);
    throw new Error(`studio: the ${g.name} checkpoint ${g.source} does not fit its config: ${why}`);
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
