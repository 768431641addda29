/**
 * The studio's image endpoints: what each takes (validated by `params.ts`) and the wax calls
 * that make its picture. Each handler gets the parsed values and returns PNG bytes and headers;
 * the server (`server.ts`) does routing, queueing, bodies and errors.
 * @module
 */
import { type Array, np, random } from "../../mod.ts";
import type { Direction } from "./directions.ts";
import type { Encoder, Generator, ModelName } from "./models.ts";
import { MODEL_NAMES } from "./models.ts";
import { BadRequest, type Params, type ParamSpec } from "./params.ts";
import { gridPng, imagePng } from "./render.ts";
import { upscale, UPSCALE_METHODS, type Upscaler } from "./upscale.ts";

/** Everything the endpoints draw with. */
export interface Studio {
  /** The generators by name. */
  generators: Record<ModelName, Generator>;
  /** The VAE's encoder. */
  encoder: Encoder;
  /** The tuner's directions in the VAE's latent space. */
  directions: Direction[];
  /** The super-resolution net. */
  upscaler: Upscaler;
}

/** The largest seed. */
export const MAX_SEED = 2 ** 31 - 1;
const seed: ParamSpec = { kind: "int", min: 0, max: MAX_SEED };
const label: ParamSpec = { kind: "int", min: 0, max: 9 };
const size: ParamSpec = { kind: "int", min: 28, max: 560, default: 280 };
const model = (d: ModelName, values: readonly string[] = MODEL_NAMES): ParamSpec => ({
  kind: "choice",
  values,
  default: d,
});
const amount: ParamSpec = { kind: "number", min: -3, max: 3 };

/** The query parameters of each GET image endpoint. */
export const QUERY_SPECS: Record<string, Record<string, ParamSpec>> = {
  "/sample.png": { seed, model: model("dcgan"), label, size },
  "/grid.png": {
    seed,
    model: model("dcgan"),
    label,
    n: { kind: "int", min: 1, max: 100, default: 36 },
    cols: { kind: "int", min: 1, max: 20 },
    scale: { kind: "int", min: 1, max: 8, default: 3 },
  },
  "/mix.png": {
    a: seed,
    b: seed,
    za: { kind: "vector", min: -10, max: 10, maxLength: 512 },
    zb: { kind: "vector", min: -10, max: 10, maxLength: 512 },
    la: label,
    lb: label,
    t: { kind: "number", min: 0, max: 1, default: 0.5 },
    path: { kind: "choice", values: ["spherical", "linear"], default: "spherical" },
    model: model("vae"),
    size,
  },
  "/tune.png": {
    seed,
    model: model("vae", ["vae", "cgan"]),
    dir: { kind: "choice", values: ["pc1", "pc2", "pc3", "thickness", "slant"] },
    amount,
    pc1: amount,
    pc2: amount,
    pc3: amount,
    thickness: amount,
    slant: amount,
    class: { kind: "number", min: 0, max: 9 },
    size,
  },
  "/upscale.png": {
    seed,
    model: model("dcgan"),
    label,
    factor: { kind: "choice", values: ["2", "4"], default: "2" },
    method: { kind: "choice", values: UPSCALE_METHODS, default: "net" },
  },
};

/** A picture and the headers that describe it. */
export interface Picture {
  /** PNG bytes. */
  png: Uint8Array;
  /** Extra headers (the seed used, ...). */
  headers: Record<string, string>;
}

/** A fresh random seed. */
export function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0] & MAX_SEED;
}

/** Soft one-hot rows `[rows.length, classes]` from class weights. */
function softLabels(classes: number, rows: Record<number, number>[]): Array {
  const y = new Float32Array(rows.length * classes);
  rows.forEach((r, i) => Object.entries(r).forEach(([c, w]) => (y[i * classes + Number(c)] += w)));
  return np.array(y, { shape: [rows.length, classes] });
}

/** The label of a cGAN request (refused for the other models), defaulting to `seed mod 10`. */
function labelFor(gen: Generator, p: Params, s: number, name = "label"): number {
  if (p[name] !== undefined && !gen.classes) {
    throw new BadRequest(`${name} applies only to model=cgan (the conditional GAN); drop it for model=${gen.name}`, {
      parameter: name,
      allowed: "model=cgan only",
    });
  }
  return (p[name] as number | undefined) ?? s % 10;
}

/** The latent of a seed: a draw from the standard normal prior. */
export async function latentOf(gen: Generator, s: number): Promise<Float32Array> {
  // The prior draw of a seed is the same for every model of one latent size.
  return await random.normal(random.key(s), [1, gen.latent]).data() as Float32Array;
}

/** The one-hot class of a request for a cGAN, null for the other models. */
function classOf(gen: Generator, p: Params, s: number): Record<number, number> | null {
  const l = labelFor(gen, p, s);
  return gen.classes ? { [l]: 1 } : null;
}

const gen1 = (g: Generator, z: ArrayLike<number>, y: Record<number, number> | null) =>
  g.sample(np.array(Float32Array.from(z), { shape: [1, g.latent] }), y ? softLabels(g.classes, [y]) : null);

/** GET /sample.png: one digit. */
export async function sample(st: Studio, p: Params): Promise<Picture> {
  const s = (p.seed as number | undefined) ?? randomSeed();
  const gen = st.generators[p.model as ModelName];
  const px = await gen1(gen, await latentOf(gen, s), classOf(gen, p, s)).data();
  return { png: imagePng(px, p.size as number), headers: { "x-seed": String(s), "x-model": gen.name } };
}

/** GET /grid.png: `n` digits from consecutive seeds. */
export async function grid(st: Studio, p: Params): Promise<Picture> {
  const s = (p.seed as number | undefined) ?? randomSeed();
  const gen = st.generators[p.model as ModelName];
  const n = p.n as number;
  if (p.label !== undefined) labelFor(gen, p, s);
  // Batches of whole tens, so at most ten shapes are ever compiled per model.
  const m = Math.ceil(n / 10) * 10;
  const z = random.normal(random.key(s), [m, gen.latent]);
  const labels = globalThis.Array.from({ length: m }, (_, i) => ({ [(p.label as number | undefined) ?? i % 10]: 1 }));
  const y = gen.classes ? softLabels(gen.classes, labels) : null;
  const px = await gen.sample(z, y).data() as Float32Array;
  const cols = (p.cols as number | undefined) ?? Math.min(n, Math.ceil(Math.sqrt(n)));
  return { png: gridPng(px, { n, cols, scale: p.scale as number }), headers: { "x-seed": String(s) } };
}

/** Points between two latents at `t`: along the great circle (spherical) or the straight line. */
export function between(a: Float32Array, b: Float32Array, t: number, path: string): Float32Array {
  const dot = a.reduce((s, v, i) => s + v * b[i], 0);
  const na = Math.hypot(...a), nb = Math.hypot(...b);
  const omega = Math.acos(Math.max(-1, Math.min(1, dot / (na * nb || 1))));
  if (path === "linear" || omega < 1e-6) return a.map((v, i) => (1 - t) * v + t * b[i]);
  const [ca, cb] = [Math.sin((1 - t) * omega) / Math.sin(omega), Math.sin(t * omega) / Math.sin(omega)];
  return a.map((v, i) => ca * v + cb * b[i]);
}

/** GET /mix.png: the image between two latents (seeds `a`, `b` or vectors `za`, `zb`). */
export async function mix(st: Studio, p: Params): Promise<Picture> {
  const gen = st.generators[p.model as ModelName];
  const end = (seedName: string, zName: string): Promise<Float32Array> | Float32Array => {
    if (p[seedName] !== undefined && p[zName] !== undefined) {
      throw new BadRequest(`Give ${seedName} (a seed) or ${zName} (a latent), not both`, { parameter: zName });
    }
    const z = p[zName] as number[] | undefined;
    if (z) {
      if (z.length !== gen.latent) {
        throw new BadRequest(
          `${zName} must have exactly ${gen.latent} numbers for model=${gen.name}, got ${z.length}`,
          {
            parameter: zName,
            allowed: `${gen.latent} comma-separated numbers from -10 to 10`,
          },
        );
      }
      return Float32Array.from(z);
    }
    if (p[seedName] === undefined) {
      throw new BadRequest(`${seedName} is required: a seed (or ${zName}, a latent vector)`, {
        parameter: seedName,
        allowed: `an integer from 0 to ${MAX_SEED}`,
      });
    }
    return latentOf(gen, p[seedName] as number);
  };
  const [za, zb] = [await end("a", "za"), await end("b", "zb")];
  const t = p.t as number;
  let y: Record<number, number> | null = null;
  if (gen.classes) {
    const [la, lb] = [labelFor(gen, p, (p.a as number) ?? 0, "la"), labelFor(gen, p, (p.b as number) ?? 0, "lb")];
    y = la === lb ? { [la]: 1 } : { [la]: 1 - t, [lb]: t };
  } else {
    labelFor(gen, p, 0, "la");
    labelFor(gen, p, 0, "lb");
  }
  const px = await gen1(gen, between(za, zb, t, p.path as string), y).data();
  return { png: imagePng(px, p.size as number), headers: {} };
}

/** GET /tune.png: a VAE latent moved along directions, or a cGAN digit with a blended class. */
export async function tune(st: Studio, p: Params): Promise<Picture> {
  const s = (p.seed as number | undefined) ?? randomSeed();
  const gen = st.generators[p.model as ModelName];
  const names = st.directions.map((d) => d.name);
  if ((p.dir === undefined) !== (p.amount === undefined)) {
    const missing = p.dir === undefined ? "dir" : "amount";
    throw new BadRequest(`dir and amount go together; give ${missing} too`, { parameter: missing });
  }
  if (gen.name === "cgan") {
    const used = [...names, "dir"].find((k) => p[k] !== undefined);
    if (used) {
      throw new BadRequest(`${used} applies to model=vae; the cGAN's tuner has class (a number from 0 to 9)`, {
        parameter: used,
        allowed: "class",
      });
    }
    const c = (p.class as number | undefined) ?? s % 10;
    const lo = Math.floor(c), hi = Math.min(9, lo + 1);
    const y = lo === hi ? { [lo]: 1 } : { [lo]: 1 - (c - lo), [hi]: c - lo };
    const px = await gen1(gen, await latentOf(gen, s), y).data();
    return { png: imagePng(px, p.size as number), headers: { "x-seed": String(s) } };
  }
  if (p.class !== undefined) {
    throw new BadRequest("class applies only to model=cgan; the VAE's tuner has pc1, pc2, pc3, thickness, slant", {
      parameter: "class",
      allowed: "model=cgan only",
    });
  }
  const z = await latentOf(gen, s);
  for (const d of st.directions) {
    const a = ((p[d.name] as number | undefined) ?? 0) + (p.dir === d.name ? p.amount as number : 0);
    for (let i = 0; i < z.length; i++) z[i] += a * d.vector[i];
  }
  const px = await gen1(gen, z, null).data();
  return { png: imagePng(px, p.size as number), headers: { "x-seed": String(s) } };
}

/** Upscales 784 pixels in [0, 1] by a factor with a method; returns the PNG at the new size. */
export async function upscalePixels(
  st: Studio,
  pixels: Float32Array,
  factor: 2 | 4,
  method: string,
): Promise<Uint8Array> {
  const x = np.array(pixels, { shape: [1, 1, 28, 28] });
  const up = upscale(st.upscaler.params, x, { factor, method: method as "net" });
  return imagePng(await up.data());
}

/** GET /upscale.png: a generated digit at 2× or 4×, by the net, bilinear or nearest. */
export async function upscaleSample(st: Studio, p: Params): Promise<Picture> {
  const s = (p.seed as number | undefined) ?? randomSeed();
  const gen = st.generators[p.model as ModelName];
  const px = await gen1(gen, await latentOf(gen, s), classOf(gen, p, s)).data() as Float32Array;
  const png = await upscalePixels(st, px, Number(p.factor) as 2 | 4, p.method as string);
  return { png, headers: { "x-seed": String(s) } };
}
