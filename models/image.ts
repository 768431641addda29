/**
 * Images out: a batch of images as one grid on a `Canvas`, encoded or saved (atomically) through
 * the plot module's PNG writer; and picking the images of a data set to show.
 * @module
 */
import { type Array, np } from "../mod.ts";
import { Canvas, encodePng, type PngOptions, savePng } from "./plot/mod.ts";

/** Options of `gridCanvas`, `encodeGrid` and `saveGrid`. */
export interface GridOptions extends PngOptions {
  /** Images per row (default: ⌈√N⌉). */
  cols?: number;
  /** Value range of the input (default [-1, 1], as a tanh generator produces). */
  range?: [number, number];
  /** Pixels of padding between images (default 2). */
  pad?: number;
  /** Upscaling factor (default 2). */
  scale?: number;
}

/**
 * Lays out images `[N, C, H, W]` (C = 1 or 3) as a grid on a white canvas, each value mapped
 * from `range` to 0–255 and each pixel drawn as a `scale` × `scale` block.
 *
 * @param images The images.
 * @param opts `cols`, `range`, `pad`, `scale`.
 * @returns The canvas.
 *
 * @example Two 1×1 images, black and white, side by side
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { gridCanvas } from "@wax/wax/models";
 * const c = await gridCanvas(np.array([-1, 1], { shape: [2, 1, 1, 1] }), { cols: 2, pad: 0, scale: 1 });
 * assert.deepEqual([c.width, c.height, c.get(0, 0)[0], c.get(1, 0)[0]], [2, 1, 0, 255]);
 * ```
 */
export async function gridCanvas(images: Array, opts: GridOptions = {}): Promise<Canvas> {
  if (images.ndim !== 4 || (images.shape[1] !== 1 && images.shape[1] !== 3)) {
    throw new Error(`gridCanvas: expected images [N, 1|3, H, W], got [${images.shape}]; reshape to that layout`);
  }
  const [n, c, h, w] = images.shape;
  const { range = [-1, 1], pad = 2, scale = 2 } = opts;
  const cols = opts.cols ?? Math.ceil(Math.sqrt(n));
  if (!(Number.isInteger(cols) && cols >= 1 && Number.isInteger(scale) && scale >= 1 && pad >= 0)) {
    throw new Error(`gridCanvas: cols and scale must be positive integers and pad ≥ 0; got ${cols}, ${scale}, ${pad}`);
  }
  const rows = Math.ceil(n / cols);
  const canvas = new Canvas((cols * (w + pad) + pad) * scale, (rows * (h + pad) + pad) * scale);
  const W = canvas.width;
  const data = await images.data();
  const px = canvas.data;
  const [lo, hi] = range;
  for (let i = 0; i < n; i++) {
    const ox = pad + (i % cols) * (w + pad);
    const oy = pad + Math.floor(i / cols) * (h + pad);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let sy = 0; sy < scale; sy++) {
          for (let sx = 0; sx < scale; sx++) {
            const p = (((oy + y) * scale + sy) * W + (ox + x) * scale + sx) * 4;
            for (let ch = 0; ch < 3; ch++) {
              const v = data[((i * c + (c === 1 ? 0 : ch)) * h + y) * w + x];
              px[p + ch] = Math.max(0, Math.min(255, Math.round(((v - lo) / (hi - lo)) * 255)));
            }
          }
        }
      }
    }
  }
  return canvas;
}

/**
 * Encodes images `[N, C, H, W]` (C = 1 or 3) as a PNG grid (see `gridCanvas`; `colors` gives an
 * indexed-colour PNG, lossless for greyscale images).
 *
 * @param images The images.
 * @param opts `cols`, `range`, `pad`, `scale`, `colors`.
 * @returns The PNG file's bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { encodeGrid } from "@wax/wax/models";
 * const png = await encodeGrid(np.zeros([4, 1, 28, 28]), { cols: 2 });
 * assert.deepEqual([...png.subarray(1, 4)], [80, 78, 71]); // "PNG"
 * ```
 */
export async function encodeGrid(images: Array, opts: GridOptions = {}): Promise<Uint8Array> {
  return encodePng(await gridCanvas(images, opts), opts);
}

/**
 * Writes images as a PNG grid to `path` atomically (`savePng`: a temp file, then a rename, so a
 * reader never sees half a file).
 *
 * @param path The file to write.
 * @param images The images `[N, 1|3, H, W]`.
 * @param opts `cols`, `range`, `pad`, `scale`, `colors`.
 *
 * @example
 * ```ts
 * import { np } from "@wax/wax";
 * import { saveGrid } from "@wax/wax/models";
 * const path = await Deno.makeTempFile({ suffix: ".png" });
 * await saveGrid(path, np.zeros([4, 1, 28, 28]));
 * await Deno.remove(path);
 * ```
 */
export async function saveGrid(path: string, images: Array, opts: GridOptions = {}): Promise<void> {
  await savePng(path, await gridCanvas(images, opts), opts);
}

/**
 * The images of a data set at the indices `idx`, as one array `[n, C, H, W]`.
 *
 * @param data A data set (its `images` and the shape `[C, H, W]` of one image, as `Dataset` has them).
 * @param idx Indices into it.
 * @returns The images, in the order of `idx`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { pickImages } from "@wax/wax/models";
 * const data = { images: Float32Array.from([0, 1, 2, 3, 4, 5]), shape: [1, 1, 2] };
 * assert.deepEqual([...await pickImages(data, [2, 0]).data()], [4, 5, 0, 1]);
 * ```
 */
export function pickImages(data: { images: Float32Array; shape: readonly number[] }, idx: readonly number[]): Array {
  const per = data.shape.reduce((a, b) => a * b, 1);
  const n = data.images.length / per;
  const bad = idx.find((i) => !(Number.isInteger(i) && i >= 0 && i < n));
  if (bad !== undefined) throw new Error(`pickImages: index ${bad} is outside the ${n} images; pass 0 to ${n - 1}`);
  const x = new Float32Array(idx.length * per);
  idx.forEach((i, j) => x.set(data.images.subarray(i * per, (i + 1) * per), j * per));
  return np.array(x, { shape: [idx.length, ...data.shape] });
}

/**
 * Indices of `n` examples to show: the first example of each label 0, 1, 2, … in turn (labels
 * that do not occur are skipped), then the earliest examples not yet picked.
 *
 * @param labels A label per example.
 * @param n How many (default 10, at most `labels.length`).
 * @returns `n` distinct indices.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { firstOfEachLabel } from "@wax/wax/models";
 * assert.deepEqual(firstOfEachLabel([1, 0, 0, 2, 1], 4), [1, 0, 3, 2]);
 * ```
 */
export function firstOfEachLabel(labels: ArrayLike<number>, n = 10): number[] {
  if (!(Number.isInteger(n) && n >= 0 && n <= labels.length)) {
    throw new Error(`firstOfEachLabel: n must be an integer from 0 to ${labels.length}, got ${n}`);
  }
  const all = globalThis.Array.from(labels);
  const idx: number[] = [];
  const top = all.reduce((m, l) => Math.max(m, l), -1);
  for (let d = 0; d <= top && idx.length < n; d++) if (all.includes(d)) idx.push(all.indexOf(d));
  for (let i = 0; idx.length < n; i++) if (!idx.includes(i)) idx.push(i);
  return idx;
}
