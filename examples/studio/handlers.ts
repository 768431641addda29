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
import { BadRequest, type ParamSpecs, parseQuery, type Query } from "./params.ts";
import { gridPng, imagePng } from "./render.ts";
import { upscale, UPSCALE_METHODS, type UpscaleMethod, type Upscaler } from "./upscale.ts";

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
const seed = { kind: "int", min: 0, max: MAX_SEED } as const;
const label = { kind: "int", min: 0, max: 9 } as const;
const size = { kind: "int", min: 28, max: 560, default: 280 } as const;
const amount = { kind: "number", min: -3, max: 3 } as const;
const models = { kind: "choice", values: MODEL_NAMES } as const;

const SAMPLE = { seed, model: { ...models, default: "dcgan" }, label, size } as const;
const GRID = {
  seed,
  model: { ...models, default: "dcgan" },
  label,
  n: { kind: "int", min: 1, max: 100, default: 36 },
  cols: { kind: "int", min: 1, max: 20 },
  scale: { kind: "int", min: 1, max: 8, default: 3 },
} as const;
const MIX = {
  a: seed,
  b: seed,
  za: { kind: "vector", min: -10, max: 10, maxLength: 512 },
  zb: { kind: "vector", min: -10, max: 10, maxLength: 512 },
  la: label,
  lb: label,
  t: { kind: "number", min: 0, max: 1, default: 0.5 },
  path: { kind: "choice", values: ["spherical", "linear"], default: "spherical" },
  model: { ...models, default: "vae" },
  size,
} as const;
/** The tuner's directions, in the order the page shows them. */
export const DIRECTION_NAMES = ["pc1", "pc2", "pc3", "thickness", "slant"] as const;
const TUNE = {
  seed,
  model: { kind: "choice", values: ["vae", "cgan"], default: "vae" },
  dir: { kind: "choice", values: DIRECTION_NAMES },
  amount,
  pc1: amount,
  pc2: amount,
  pc3: amount,
  thickness: amount,
  slant: amount,
  class: { kind: "number", min: 0, max: 9 },
  size,
} as const;
const UPSCALE = {
  seed,
  model: { ...models, default: "dcgan" },
  label,
  factor: { kind: "choice", values: ["2", "4"], default: "2" },
  method: { kind: "choice", values: UPSCALE_METHODS, default: "net" },
} as const;

/** The query parameters of each GET image endpoint. */
export const QUERY_SPECS = {
  "/sample.png": SAMPLE,
  "/grid.png": GRID,
  "/mix.png": MIX,
  "/tune.png": TUNE,
  "/upscale.png": UPSCALE,
} as const satisfies Record<string, ParamSpecs>;

/** The path of a GET image endpoint. */
export type PicturePath = keyof typeof QUERY_SPECS;

/** Whether `path` is a GET image endpoint. */
export function isPicturePath(path: string): path is PicturePath {
  return Object.hasOwn(QUERY_SPECS, path);
}

/**
 * Reads a GET image request's query and draws its picture.
 *
 * @param st The models.
 * @param path The endpoint.
 * @param query The URL's search parameters.
 * @returns A function that draws it (the parameters are checked before it is queued).
 */
export function pictureJob(st: Studio, path: PicturePath, query: URLSearchParams): () => Promise<Picture> {
  switch (path) {
    case "/sample.png": {
      const q = parseQuery(query, SAMPLE);
      return () => sample(st, q);
    }
    case "/grid.png": {
      const q = parseQuery(query, GRID);
      return () => grid(st, q);
    }
    case "/mix.png": {
      const q = parseQuery(query, MIX);
      return () => mix(st, q);
    }
    case "/tune.png": {
      const q = parseQuery(query, TUNE);
      return () => tune(st, q);
    }
    case "/upscale.png": {
      const q = parseQuery(query, UPSCALE);
      return () => upscaleSample(st, q);
    }
  }
}

/** A picture and the headers that describe it. */
export interface Picture {
  /** PNG bytes. */
  png: Uint8Array<ArrayBuffer>;
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
function labelFor(gen: Generator, given: number | undefined, s: number, name = "label"): number {
  if (given !== undefined && !gen.classes) {
    throw new BadRequest(`${name} applies only to model=cgan (the conditional GAN); drop it for model=${gen.name}`, {
      parameter: name,
      allowed: "model=cgan only",
    });
  }
  return given ?? s % 10;
}

/** The latent of a seed: a draw from the standard normal prior. */
export async function latentOf(gen: Generator, s: number): Promise<Float32Array> {
  // The prior draw of a seed is the same for every model of one latent size.
  return Float32Array.from(await random.normal(random.key(s), [1, gen.latent]).data());
}

/** The one-hot class of a request for a cGAN, null for the other models. */
function classOf(gen: Generator, given: number | undefined, s: number): Record<number, number> | null {
  const l = labelFor(gen, given, s);
  return gen.classes ? { [l]: 1 } : null;
}

const gen1 = (g: Generator, z: ArrayLike<number>, y: Record<number, number> | null) =>
  g.sample(np.array(Float32Array.from(z), { shape: [1, g.latent] }), y ? softLabels(g.classes, [y]) : null);

/** GET /sample.png: one digit. */
export async function sample(st: Studio, p: Query<typeof SAMPLE>): Promise<Picture> {
  const s = p.get("seed") ?? randomSeed();
  const gen = st.generators[p.get("model")];
  const px = await gen1(gen, await latentOf(gen, s), classOf(gen, p.get("label"), s)).data();
  return { png: imagePng(px, p.get("size")), headers: { "x-seed": String(s), "x-model": gen.name } };
}

/** GET /grid.png: `n` digits from consecutive seeds. */
export async function grid(st: Studio, p: Query<typeof GRID>): Promise<Picture> {
  const s = p.get("seed") ?? randomSeed();
  const gen = st.generators[p.get("model")];
  const n = p.get("n");
  const given = p.get("label");
  if (given !== undefined) labelFor(gen, given, s);
  // Batches of whole tens, so at most ten shapes are ever compiled per model.
  const m = Math.ceil(n / 10) * 10;
  const z = random.normal(random.key(s), [m, gen.latent]);
  const labels = globalThis.Array.from({ length: m }, (_, i) => ({ [given ?? i % 10]: 1 }));
  const y = gen.classes ? softLabels(gen.classes, labels) : null;
  const px = await gen.sample(z, y).data();
  const cols = p.get("cols") ?? Math.min(n, Math.ceil(Math.sqrt(n)));
  return { png: gridPng(px, { n, cols, scale: p.get("scale") }), headers: { "x-seed": String(s) } };
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
export async function mix(st: Studio, p: Query<typeof MIX>): Promise<Picture> {
  const gen = st.generators[p.get("model")];
  const end = (seedName: string, s: number | undefined, zName: string, z: number[] | undefined) => {
    if (s !== undefined && z !== undefined) {
      throw new BadRequest(`Give ${seedName} (a seed) or ${zName} (a latent), not both`, { parameter: zName });
    }
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
    if (s === undefined) {
      throw new BadRequest(`${seedName} is required: a seed (or ${zName}, a latent vector)`, {
        parameter: seedName,
        allowed: `an integer from 0 to ${MAX_SEED}`,
      });
    }
    return latentOf(gen, s);
  };
  const [a, b] = [p.get("a"), p.get("b")];
  const [za, zb] = [await end("a", a, "za", p.get("za")), await end("b", b, "zb", p.get("zb"))];
  const t = p.get("t");
  let y: Record<number, number> | null = null;
  const [la, lb] = [labelFor(gen, p.get("la"), a ?? 0, "la"), labelFor(gen, p.get("lb"), b ?? 0, "lb")];
  if (gen.classes) y = la === lb ? { [la]: 1 } : { [la]: 1 - t, [lb]: t };
  const px = await gen1(gen, between(za, zb, t, p.get("path")), y).data();
  return { png: imagePng(px, p.get("size")), headers: {} };
}

/** GET /tune.png: a VAE latent moved along directions, or a cGAN digit with a blended class. */
export async function tune(st: Studio, p: Query<typeof TUNE>): Promise<Picture> {
  const s = p.get("seed") ?? randomSeed();
  const gen = st.generators[p.get("model")];
  const [dir, amount] = [p.get("dir"), p.get("amount")];
  if ((dir === undefined) !== (amount === undefined)) {
    const missing = dir === undefined ? "dir" : "amount";
    throw new BadRequest(`dir and amount go together; give ${missing} too`, { parameter: missing });
  }
  if (gen.name === "cgan") {
    const used = [...DIRECTION_NAMES, "dir" as const].find((k) => p.has(k));
    if (used) {
      throw new BadRequest(`${used} applies to model=vae; the cGAN's tuner has class (a number from 0 to 9)`, {
        parameter: used,
        allowed: "class",
      });
    }
    const c = p.get("class") ?? s % 10;
    const lo = Math.floor(c), hi = Math.min(9, lo + 1);
    const y = lo === hi ? { [lo]: 1 } : { [lo]: 1 - (c - lo), [hi]: c - lo };
    const px = await gen1(gen, await latentOf(gen, s), y).data();
    return { png: imagePng(px, p.get("size")), headers: { "x-seed": String(s) } };
  }
  if (p.has("class")) {
    throw new BadRequest("class applies only to model=cgan; the VAE's tuner has pc1, pc2, pc3, thickness, slant", {
      parameter: "class",
      allowed: "model=cgan only",
    });
  }
  const amounts: Record<string, number | undefined> = {
    pc1: p.get("pc1"),
    pc2: p.get("pc2"),
    pc3: p.get("pc3"),
    thickness: p.get("thickness"),
    slant: p.get("slant"),
  };
  const z = await latentOf(gen, s);
  for (const d of st.directions) {
    const a = (amounts[d.name] ?? 0) + (dir === d.name && amount !== undefined ? amount : 0);
    for (let i = 0; i < z.length; i++) z[i] += a * d.vector[i];
  }
  const px = await gen1(gen, z, null).data();
  return { png: imagePng(px, p.get("size")), headers: { "x-seed": String(s) } };
}

/** Upscales 784 pixels in [0, 1] by a factor with a method; returns the PNG at the new size. */
export async function upscalePixels(
  st: Studio,
  pixels: Float32Array,
  factor: "2" | "4",
  method: UpscaleMethod,
): Promise<Uint8Array<ArrayBuffer>> {
  const x = np.array(pixels, { shape: [1, 1, 28, 28] });
  const up = upscale(st.upscaler.params, x, { factor: factor === "4" ? 4 : 2, method });
  return imagePng(await up.data());
}

/** GET /upscale.png: a generated digit at 2× or 4×, by the net, bilinear or nearest. */
export async function upscaleSample(st: Studio, p: Query<typeof UPSCALE>): Promise<Picture> {
  const s = p.get("seed") ?? randomSeed();
  const gen = st.generators[p.get("model")];
  const px = Float32Array.from(await gen1(gen, await latentOf(gen, s), classOf(gen, p.get("label"), s)).data());
  const png = await upscalePixels(st, px, p.get("factor"), p.get("method"));
  return { png, headers: { "x-seed": String(s) } };
}
