/**
 * PNG in and out for `Canvas`: encode (true colour through pngjs, or indexed colour with a
 * palette of at most 256 colours for small files), decode, and an atomic save (a temp file in
 * the same directory, then a rename, so a reader never sees half a picture).
 * @module
 */
import { Buffer } from "node:buffer";
import { deflateSync } from "node:zlib";
import { PNG } from "pngjs";
import { Canvas } from "./raster.ts";
import { quantize } from "./quantize.ts";

/** Options of `encodePng` and `savePng`. */
export interface PngOptions {
  /**
   * Write an indexed-colour PNG with at most this many colours (2–256): the canvas's own
   * colours when it has that few, else a palette that keeps the most frequent colours exactly
   * and fits the rest by median cut. Plots come out 2–4 times smaller, with anti-aliased edges
   * rounded to the nearest palette colour (default: true colour RGBA, lossless).
   */
  colors?: number;
}

type PngSync = {
  write(png: unknown): Uint8Array;
  read(bytes: Buffer): { width: number; height: number; data: Uint8Array };
};
// pngjs's inferred types miss `PNG.sync` (set after the class): read it, check it, type it.
const sync: PngSync = Reflect.get(PNG, "sync");
if (typeof sync?.write !== "function" || typeof sync?.read !== "function") {
  throw new Error("models/plot/png.ts: pngjs has no PNG.sync.read/write; install pngjs 7 (see deno.json)");
}

/**
 * Encodes a canvas as PNG bytes.
 *
 * @param canvas The picture.
 * @param opts `colors` (an indexed-colour PNG with a palette of at most that many colours).
 * @returns The PNG file's bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { Canvas, decodePng, encodePng } from "@wax/wax/models";
 * const c = new Canvas(4, 3, "#204060");
 * const bytes = encodePng(c, { colors: 256 });
 * assert.equal(new TextDecoder().decode(bytes.subarray(1, 4)), "PNG");
 * assert.deepEqual(decodePng(bytes).get(3, 2), [0x20, 0x40, 0x60, 255]);
 * ```
 */
export function encodePng(canvas: Canvas, opts: PngOptions = {}): Uint8Array<ArrayBuffer> {
  if (opts.colors !== undefined) return encodeIndexed(canvas, opts.colors);
  const png = new PNG({ width: canvas.width, height: canvas.height });
  if (!png.data) throw new Error(`encodePng: pngjs made no pixel buffer for ${canvas.width}×${canvas.height}`);
  png.data.set(canvas.data);
  return new Uint8Array(sync.write(png));
}

/**
 * Decodes PNG bytes into a canvas (any PNG colour type becomes RGBA).
 *
 * @param bytes A PNG file's bytes.
 * @returns The picture.
 *
 * @example A round trip keeps the pixels
 * ```ts
 * import assert from "node:assert";
 * import { Canvas, decodePng, encodePng } from "@wax/wax/models";
 * const c = new Canvas(5, 5);
 * c.fillRect({ x: 1, y: 1, width: 2, height: 2 }, "#123456");
 * assert.deepEqual(decodePng(encodePng(c)).get(2, 2), [0x12, 0x34, 0x56, 255]);
 * ```
 */
export function decodePng(bytes: Uint8Array): Canvas {
  const png = sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const c = new Canvas(png.width, png.height);
  c.data.set(png.data);
  return c;
}

/**
 * Writes a canvas to a PNG file atomically: the bytes go to a temp file in the same directory,
 * which is then renamed over `path`; on failure the temp file is removed.
 *
 * @param path The file to write.
 * @param canvas The picture.
 * @param opts `colors` (see `encodePng`).
 *
 * @example
 * ```ts
 * import { Canvas, savePng } from "@wax/wax/models";
 * const dir = await Deno.makeTempDir();
 * await savePng(`${dir}/blank.png`, new Canvas(8, 8));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function savePng(path: string, canvas: Canvas, opts: PngOptions = {}): Promise<void> {
  const bytes = encodePng(canvas, opts);
  const slash = path.lastIndexOf("/");
  const tmp = `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.writeFile(tmp, bytes);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/**
 * Reads a PNG file into a canvas.
 *
 * @param path The file.
 * @returns The picture.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { Canvas, readPng, savePng } from "@wax/wax/models";
 * const path = await Deno.makeTempFile({ suffix: ".png" });
 * await savePng(path, new Canvas(6, 4));
 * assert.equal((await readPng(path)).width, 6);
 * await Deno.remove(path);
 * ```
 */
export async function readPng(path: string): Promise<Canvas> {
  return decodePng(await Deno.readFile(path));
}

/** An indexed-colour PNG: IHDR, PLTE, tRNS (when some colour is translucent), IDAT, IEND. */
function encodeIndexed(canvas: Canvas, colors: number): Uint8Array<ArrayBuffer> {
  if (!(Number.isInteger(colors) && colors >= 2 && colors <= 256)) {
    throw new RangeError(`encodePng: colors must be an integer in [2, 256], got ${colors}`);
  }
  const { palette, index } = quantize(canvas.data, colors);
  const { width: w, height: h } = canvas;
  const raw = new Uint8Array((w + 1) * h); // each row: filter type 0, then indices
  for (let y = 0; y < h; y++) raw.set(index.subarray(y * w, (y + 1) * w), y * (w + 1) + 1);
  const n = palette.length / 4;
  const header = new Uint8Array(13);
  new DataView(header.buffer).setUint32(0, w);
  new DataView(header.buffer).setUint32(4, h);
  header.set([8, 3, 0, 0, 0], 8); // 8-bit indices, colour type 3
  const plte = new Uint8Array(n * 3), trns = new Uint8Array(n);
  for (let i = 0; i < n; i++) plte.set(palette.subarray(i * 4, i * 4 + 3), i * 3), trns[i] = palette[i * 4 + 3];
  const chunks = [chunk("IHDR", header), chunk("PLTE", plte)];
  if (trns.some((a) => a < 255)) chunks.push(chunk("tRNS", trns));
  chunks.push(chunk("IDAT", new Uint8Array(deflateSync(raw, { level: 9 }))), chunk("IEND", new Uint8Array(0)));
  const out = new Uint8Array(8 + chunks.reduce((a, c) => a + c.length, 0));
  out.set([137, 80, 78, 71, 13, 10, 26, 10]);
  chunks.reduce((at, c) => (out.set(c, at), at + c.length), 8);
  return out;
}

const CRC = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set([...type].map((ch) => ch.charCodeAt(0)), 4);
  out.set(data, 8);
  let crc = 0xffffffff;
  for (let i = 4; i < 8 + data.length; i++) crc = CRC[(crc ^ out[i]) & 0xff] ^ (crc >>> 8);
  view.setUint32(8 + data.length, (crc ^ 0xffffffff) >>> 0);
  return out;
}
