/**
 * Pixels to PNG for the studio: grey digits (white ink on black, as MNIST draws them) scaled by
 * nearest neighbour, and grids of them, through the project's PNG module (indexed colour: a
 * grey image has at most 256 levels, so the palette is exact and the files are small).
 * @module
 */
import { Canvas, decodePng, encodePng } from "../../models/mod.ts";

/** A grey level in 0–255 of a value in [0, 1] (clamped). */
const level = (v: number) => Math.max(0, Math.min(255, Math.round(v * 255)));

/**
 * Paints a square image of `side × side` values in [0, 1] (from `offset` in `pixels`) into a
 * canvas at `(x0, y0)`, each pixel as a block, scaled to `size` pixels by nearest neighbour.
 */
function paint(
  c: Canvas,
  pixels: ArrayLike<number>,
  side: number,
  x0: number,
  y0: number,
  size: number,
  offset = 0,
): void {
  for (let y = 0; y < size; y++) {
    const sy = Math.min(side - 1, Math.floor((y * side) / size));
    for (let x = 0; x < size; x++) {
      const g = level(pixels[offset + sy * side + Math.min(side - 1, Math.floor((x * side) / size))]);
      const p = ((y0 + y) * c.width + x0 + x) * 4;
      c.data[p] = c.data[p + 1] = c.data[p + 2] = g;
      c.data[p + 3] = 255;
    }
  }
}

/**
 * A PNG of one square grey image scaled to `size × size` by nearest neighbour.
 *
 * @param pixels `side²` values in [0, 1], row-major.
 * @param size The side of the PNG in pixels (default: the image's own).
 * @returns The PNG file's bytes.
 */
export function imagePng(pixels: ArrayLike<number>, size?: number): Uint8Array<ArrayBuffer> {
  const side = Math.round(Math.sqrt(pixels.length));
  if (side * side !== pixels.length) throw new Error(`imagePng: ${pixels.length} pixels do not make a square image`);
  const s = size ?? side;
  const c = new Canvas(s, s, "#000");
  paint(c, pixels, side, 0, 0, s);
  return encodePng(c, { colors: 256 });
}

/**
 * A PNG grid of square grey images, `cols` to a row, each scaled by `scale`, 2·scale pixels apart.
 *
 * @param images `n · side²` values in [0, 1].
 * @param opts `n`, `cols`, `scale` (and `side`, default 28).
 * @returns The PNG file's bytes.
 */
export function gridPng(
  images: ArrayLike<number>,
  opts: { n: number; cols: number; scale: number; side?: number },
): Uint8Array<ArrayBuffer> {
  const { n, cols, scale, side = 28 } = opts;
  const rows = Math.ceil(n / cols);
  const cell = side * scale, gap = 2 * scale;
  const c = new Canvas(cols * cell + (cols + 1) * gap, rows * cell + (rows + 1) * gap, "#1b1d24");
  for (let i = 0; i < n; i++) {
    paint(
      c,
      images,
      side,
      gap + (i % cols) * (cell + gap),
      gap + Math.floor(i / cols) * (cell + gap),
      cell,
      i * side * side,
    );
  }
  return encodePng(c, { colors: 256 });
}

/**
 * Reads a posted 28×28 PNG: grey values from the red channel, the mask from alpha (opaque:
 * given, transparent: free).
 *
 * @param bytes The PNG.
 * @returns Pixels and mask, 784 values each in [0, 1]; null when it is not a 28×28 PNG.
 */
export function readDigitPng(bytes: Uint8Array): { pixels: Float32Array; mask: Float32Array } | null {
  let c: Canvas;
  try {
    c = decodePng(bytes);
  } catch {
    return null;
  }
  if (c.width !== 28 || c.height !== 28) return null;
  const pixels = new Float32Array(784), mask = new Float32Array(784);
  for (let i = 0; i < 784; i++) {
    pixels[i] = c.data[4 * i] / 255;
    mask[i] = c.data[4 * i + 3] >= 128 ? 1 : 0;
  }
  return { pixels, mask };
}

/** Base64 of bytes (for PNG frames inside JSON lines). */
export function base64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
