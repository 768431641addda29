/**
 * Colour quantization for indexed-colour PNGs: the most frequent colours are kept exactly
 * (a plot's background, bands, text and series colours) and the rest (anti-aliased edges,
 * blends) are fitted by median cut; every pixel then takes its nearest palette colour.
 * @module
 */

/**
 * Reduces RGBA pixels to a palette of at most `colors` colours.
 *
 * @param rgba Pixels, 4 bytes each.
 * @param colors The palette size limit (1–256).
 * @returns The palette (4 bytes per colour) and one palette index per pixel.
 *
 * @example Few colours are kept exactly
 * ```ts
 * import assert from "node:assert";
 * import { quantize } from "@wax/wax/models";
 * const px = new Uint8Array([255, 0, 0, 255, 0, 0, 255, 255, 255, 0, 0, 255]);
 * const { palette, index } = quantize(px, 4);
 * assert.deepEqual([...index], [0, 1, 0]);
 * assert.deepEqual([...palette], [255, 0, 0, 255, 0, 0, 255, 255]);
 * ```
 */
export function quantize(rgba: Uint8Array, colors: number): { palette: Uint8Array; index: Uint8Array } {
  const n = rgba.length / 4;
  const keys = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    keys[i] = ((rgba[4 * i] << 24) | (rgba[4 * i + 1] << 16) | (rgba[4 * i + 2] << 8) | rgba[4 * i + 3]) >>> 0;
  }
  const counts = new Map<number, number>();
  for (let i = 0, run = 1; i < n; i++, run++) {
    // Runs of one colour are common in pictures: count them with one map update.
    if (i + 1 < n && keys[i + 1] === keys[i]) continue;
    counts.set(keys[i], (counts.get(keys[i]) ?? 0) + run);
    run = 0;
  }
  const byCount = [...counts.entries()].sort((a, b) => b[1] - a[1]);
  let palette: number[][];
  if (byCount.length <= colors) palette = byCount.map(([k]) => channels(k));
  else {
    // Keep frequent colours exactly (up to half the palette), median-cut the rest.
    const keep = byCount.filter(([, c], i) => i < colors / 2 && c >= n / 2000);
    const rest = byCount.slice(keep.length).map(([k, c]) => ({ rgba: channels(k), count: c }));
    palette = [...keep.map(([k]) => channels(k)), ...medianCut(rest, colors - keep.length)];
  }
  const out = new Uint8Array(palette.length * 4);
  palette.forEach((c, i) => out.set(c, i * 4));
  const lookup = new Map<number, number>();
  const flat = Int32Array.from(palette.flat());
  for (const [key] of byCount) lookup.set(key, nearest(key, flat));
  const index = new Uint8Array(n);
  for (let i = 0; i < n; i++) index[i] = i > 0 && keys[i] === keys[i - 1] ? index[i - 1] : lookup.get(keys[i])!;
  return { palette: out, index };
}

function channels(key: number): number[] {
  return [(key >>> 24) & 255, (key >>> 16) & 255, (key >>> 8) & 255, key & 255];
}

function nearest(key: number, palette: Int32Array): number {
  const [r, g, b, a] = channels(key);
  let best = 0, bestD = Infinity;
  for (let i = 0; i < palette.length && bestD > 0; i += 4) {
    const d = (r - palette[i]) ** 2 + (g - palette[i + 1]) ** 2 + (b - palette[i + 2]) ** 2 + (a - palette[i + 3]) ** 2;
    if (d < bestD) best = i / 4, bestD = d;
  }
  return best;
}

type Entry = { rgba: number[]; count: number };

/** Splits the colours into `k` boxes, each time halving (by pixel count) the box with the widest channel range; returns the boxes' mean colours. */
function medianCut(entries: Entry[], k: number): number[][] {
  if (!entries.length || k < 1) return [];
  type Box = { entries: Entry[]; channel: number; range: number };
  const box = (es: Entry[]): Box => {
    let channel = 0, range = -1;
    for (let ch = 0; ch < 4; ch++) {
      let lo = 255, hi = 0;
      for (const e of es) lo = Math.min(lo, e.rgba[ch]), hi = Math.max(hi, e.rgba[ch]);
      if (hi - lo > range) [channel, range] = [ch, hi - lo];
    }
    return { entries: es, channel, range: es.length > 1 ? range : 0 };
  };
  const boxes = [box(entries)];
  while (boxes.length < k) {
    let pick = 0;
    boxes.forEach((b, i) => b.range > boxes[pick].range && (pick = i));
    const { entries: es, channel: ch, range } = boxes[pick];
    if (range <= 0) break;
    es.sort((a, b) => a.rgba[ch] - b.rgba[ch]);
    const total = es.reduce((a, e) => a + e.count, 0);
    let acc = 0, cut = 1;
    for (; cut < es.length - 1; cut++) {
      acc += es[cut - 1].count;
      if (acc >= total / 2) break;
    }
    boxes.splice(pick, 1, box(es.slice(0, cut)), box(es.slice(cut)));
  }
  return boxes.map(({ entries: es }) => {
    const w = es.reduce((a, e) => a + e.count, 0);
    return [0, 1, 2, 3].map((ch) => Math.round(es.reduce((a, e) => a + e.rgba[ch] * e.count, 0) / w));
  });
}
