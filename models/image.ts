/**
 * Images out: a batch of images as one PNG grid (written atomically).
 * @module
 */
import { PNG } from "pngjs";
import type { Array } from "../mod.ts";

/** Options of `saveGrid`. */
export interface GridOptions {
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
 * Encodes images `[N, C, H, W]` (C = 1 or 3) as a PNG grid.
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
  if (images.ndim !== 4 || (images.shape[1] !== 1 && images.shape[1] !== 3)) {
    throw new Error(`encodeGrid: expected images [N, 1|3, H, W], got [${images.shape}]`);
  }
  const [n, c, h, w] = images.shape;
  const { range = [-1, 1], pad = 2, scale = 2 } = opts;
  const cols = opts.cols ?? Math.ceil(Math.sqrt(n));
  const rows = Math.ceil(n / cols);
  const W = (cols * (w + pad) + pad) * scale;
  const H = (rows * (h + pad) + pad) * scale;
  const data = await images.data();
  const png = new PNG({ width: W, height: H });
  const px = png.data as Uint8Array;
  px.fill(255);
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
            px[p + 3] = 255;
          }
        }
      }
    }
  }
  const sync = (PNG as unknown as { sync: { write(png: unknown): Uint8Array } }).sync;
  return new Uint8Array(sync.write(png));
}

/**
 * Writes images as a PNG grid to `path` (temp file + rename, so a reader never sees half a file).
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
  const bytes = await encodeGrid(images, opts);
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.writeFile(tmp, bytes);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}
