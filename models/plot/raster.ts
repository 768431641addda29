/**
 * A small RGBA raster: anti-aliased lines and polylines, filled polygons, circles, markers,
 * arrows, per-pixel shading and bitmap text, all clipped to an optional rectangle. Pixel
 * `(i, j)` covers `[i, i+1) × [j, j+1)` with y pointing down, so its centre is `(i+½, j+½)`.
 * @module
 */
import { FONT, glyphRows, textWidth } from "./font.ts";

/** A colour with straight (not premultiplied) alpha, each channel in 0–255. */
export type Rgba = [number, number, number, number];
/** A colour: `"#rgb"`, `"#rrggbb"`, `"#rrggbbaa"`, or an `[r, g, b]` / `[r, g, b, a]` tuple (0–255). */
export type Color = string | readonly [number, number, number] | readonly [number, number, number, number];
/** A point in pixel coordinates (or data coordinates where a plot says so). */
export type Point = readonly [number, number];
/** An axis-aligned rectangle in pixels. */
export interface Rect {
  /** Left edge. */
  x: number;
  /** Top edge. */
  y: number;
  /** Width. */
  width: number;
  /** Height. */
  height: number;
}

/**
 * Parses a colour into `[r, g, b, a]`, multiplying its alpha by `alpha`.
 *
 * @param c A hex string or a tuple.
 * @param alpha An opacity factor in [0, 1] (default 1).
 * @returns The channels, 0–255.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { rgba } from "@wax/wax/models";
 * assert.deepEqual(rgba("#f80", 0.5), [255, 136, 0, 128]);
 * ```
 */
export function rgba(c: Color, alpha = 1): Rgba {
  let out: Rgba;
  if (typeof c === "string") {
    let h = c.replace(/^#/, "");
    if (h.length === 3 || h.length === 4) h = [...h].map((d) => d + d).join("");
    if (!/^[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$/.test(h)) {
      throw new Error(`rgba: cannot parse colour "${c}"; use "#rgb", "#rrggbb" or "#rrggbbaa"`);
    }
    const n = (i: number) => parseInt(h.slice(i, i + 2), 16);
    out = [n(0), n(2), n(4), h.length === 8 ? n(6) : 255];
  } else out = [c[0], c[1], c[2], c.length > 3 ? c[3]! : 255];
  out[3] = Math.round(out[3] * alpha);
  return out;
}

/** Options of a stroke: colour and width in pixels. */
export interface StrokeOptions {
  /** Colour (default black). */
  color?: Color;
  /** Width in pixels (default 1). */
  width?: number;
}

/** Options of `Canvas.arrow`. */
export interface ArrowOptions extends StrokeOptions {
  /** Length of the head in pixels (default 3·width + 4, at most half the arrow). */
  head?: number;
}

/** Marker shapes. */
export type MarkerShape = "circle" | "square" | "diamond" | "triangle" | "cross" | "plus" | "star";

/** Options of `Canvas.marker`. */
export interface MarkerOptions {
  /** Shape (default "circle"). */
  shape?: MarkerShape;
  /** Radius in pixels (default 4). */
  size?: number;
  /** Fill colour (default black; the stroke colour for "cross" and "plus"). */
  fill?: Color;
  /** Outline colour (default none). */
  stroke?: Color;
  /** Outline width (default 1). */
  width?: number;
}

/** Options of `Canvas.text`. */
export interface TextOptions {
  /** Colour (default black). */
  color?: Color;
  /** Integer magnification of the 5 × 7 font (default 1). */
  scale?: number;
  /** Which end of the text sits at the anchor (default "left"). */
  align?: "left" | "center" | "right";
  /** Which line of the text sits at the anchor (default "top": the cap line). */
  baseline?: "top" | "middle" | "bottom";
  /** Rotate by 90° counter-clockwise (reading upwards), as for a y-axis label (default false). */
  vertical?: boolean;
  /** A one-pixel outline colour that keeps the text legible on busy backgrounds (default none). */
  halo?: Color;
}

/**
 * An RGBA image to draw on. Every drawing method blends with source-over compositing and
 * respects the clip rectangle.
 *
 * @example Draw a diagonal and read a pixel back
 * ```ts
 * import assert from "node:assert";
 * import { Canvas } from "@wax/wax/models";
 * const c = new Canvas(20, 20);
 * c.line([0, 0], [20, 20], { color: "#000", width: 2 });
 * assert.deepEqual(c.get(10, 10), [0, 0, 0, 255]);
 * ```
 */
export class Canvas {
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** The pixels, row-major RGBA bytes. */
  readonly data: Uint8Array;
  #clip: [number, number, number, number];
  #cov: Float32Array | null = null;

  /**
   * A canvas filled with a background colour.
   *
   * @param width Width in pixels.
   * @param height Height in pixels.
   * @param background Background colour (default white).
   */
  constructor(width: number, height: number, background: Color = "#fff") {
    if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
      throw new RangeError(`Canvas: width and height must be positive integers, got ${width} × ${height}`);
    }
    this.width = width;
    this.height = height;
    this.data = new Uint8Array(width * height * 4);
    this.data.set(rgba(background));
    for (let n = 4; n < this.data.length; n *= 2) this.data.copyWithin(n, 0, Math.min(n, this.data.length - n));
    this.#clip = [0, 0, width, height];
  }

  /**
   * The colour of pixel `(x, y)`.
   * @param x Column.
   * @param y Row.
   * @returns `[r, g, b, a]`.
   */
  get(x: number, y: number): Rgba {
    const p = (y * this.width + x) * 4;
    return [this.data[p], this.data[p + 1], this.data[p + 2], this.data[p + 3]];
  }

  /**
   * Restricts drawing to a rectangle (intersected with the canvas); `null` lifts it.
   * @param rect The clip rectangle or null.
   */
  clip(rect: Rect | null): void {
    if (!rect) this.#clip = [0, 0, this.width, this.height];
    else {
      this.#clip = [
        Math.max(0, Math.floor(rect.x)),
        Math.max(0, Math.floor(rect.y)),
        Math.min(this.width, Math.ceil(rect.x + rect.width)),
        Math.min(this.height, Math.ceil(rect.y + rect.height)),
      ];
    }
  }

  /**
   * Blends a colour into pixel `(x, y)` with a coverage in [0, 1].
   * @param x Column.
   * @param y Row.
   * @param c The colour.
   * @param coverage The fraction of the pixel covered (default 1).
   */
  blend(x: number, y: number, c: Rgba, coverage = 1): void {
    const [x0, y0, x1, y1] = this.#clip;
    if (x < x0 || y < y0 || x >= x1 || y >= y1 || coverage <= 0) return;
    const a = (c[3] / 255) * Math.min(1, coverage);
    const p = (y * this.width + x) * 4;
    const d = this.data;
    const da = d[p + 3] / 255;
    const oa = a + da * (1 - a);
    if (oa <= 0) return;
    for (let k = 0; k < 3; k++) d[p + k] = Math.round((c[k] * a + d[p + k] * da * (1 - a)) / oa);
    d[p + 3] = Math.round(oa * 255);
  }

  /**
   * Fills a rectangle.
   * @param rect The rectangle (snapped to whole pixels).
   * @param color The colour.
   */
  fillRect(rect: Rect, color: Color): void {
    const c = rgba(color);
    this.shade(rect, () => c);
  }

  /**
   * Colours each pixel of a rectangle by a function of its centre (null leaves it alone).
   * @param rect The rectangle (snapped to whole pixels).
   * @param fn Colour of the pixel centred at `(x, y)`.
   */
  shade(rect: Rect, fn: (x: number, y: number) => Rgba | null): void {
    const [cx0, cy0, cx1, cy1] = this.#clip;
    const x0 = Math.max(cx0, Math.round(rect.x)), x1 = Math.min(cx1, Math.round(rect.x + rect.width));
    const y0 = Math.max(cy0, Math.round(rect.y)), y1 = Math.min(cy1, Math.round(rect.y + rect.height));
    for (let y = y0; y < y1; y++) {
      for (let x = x0; x < x1; x++) {
        const c = fn(x + 0.5, y + 0.5);
        if (c) this.blend(x, y, c);
      }
    }
  }

  /**
   * Draws an anti-aliased line segment with round caps.
   * @param a One end.
   * @param b The other end.
   * @param opts `color`, `width`.
   */
  line(a: Point, b: Point, opts: StrokeOptions = {}): void {
    this.polyline([a, b], opts);
  }

  /**
   * Draws connected segments through the points; each pixel is blended once, so translucent
   * strokes stay even at the joints. Points with a non-finite coordinate break the line.
   * @param points The vertices.
   * @param opts `color`, `width`.
   */
  polyline(points: readonly Point[], opts: StrokeOptions = {}): void {
    const segs: [Point, Point][] = [];
    for (let i = 1; i < points.length; i++) segs.push([points[i - 1], points[i]]);
    this.segments(segs, opts);
  }

  /**
   * Draws many independent segments as one stroke (each pixel blended once).
   * @param segs The segments `[a, b]`.
   * @param opts `color`, `width`.
   */
  segments(segs: readonly (readonly [Point, Point])[], opts: StrokeOptions = {}): void {
    const hw = (opts.width ?? 1) / 2;
    const cov = this.#cov ??= new Float32Array(this.width * this.height);
    const touched: number[] = [];
    const [cx0, cy0, cx1, cy1] = this.#clip;
    const put = (x: number, y: number, v: number) => {
      if (x < cx0 || y < cy0 || x >= cx1 || y >= cy1 || v <= 0) return;
      const i = y * this.width + x;
      if (cov[i] === 0) touched.push(i);
      if (v > cov[i]) cov[i] = Math.min(1, v);
    };
    const m = hw + 2;
    for (const [p, q] of segs) {
      const s = clipSegment(p, q, cx0 - m, cy0 - m, cx1 + m, cy1 + m);
      if (s) strokeSegment(s[0], s[1], hw, put);
    }
    const c = rgba(opts.color ?? "#000");
    for (const i of touched) {
      this.blend(i % this.width, Math.floor(i / this.width), c, cov[i]);
      cov[i] = 0;
    }
  }

  /**
   * Fills a polygon (even-odd rule), anti-aliased.
   * @param points The vertices, in order.
   * @param fill The colour.
   */
  polygon(points: readonly Point[], fill: Color): void {
    if (points.length < 3 || points.some(([x, y]) => !Number.isFinite(x) || !Number.isFinite(y))) return;
    const c = rgba(fill);
    const [cx0, cy0, cx1, cy1] = this.#clip;
    const ys = points.map((p) => p[1]);
    const y0 = Math.max(cy0, Math.floor(Math.min(...ys))), y1 = Math.min(cy1, Math.ceil(Math.max(...ys)));
    const row = new Float32Array(this.width);
    const sub = 4;
    for (let y = y0; y < y1; y++) {
      row.fill(0);
      let lo = cx1, hi = cx0;
      for (let s = 0; s < sub; s++) {
        const sy = y + (s + 0.5) / sub;
        const xs: number[] = [];
        for (let i = 0; i < points.length; i++) {
          const [ax, ay] = points[i], [bx, by] = points[(i + 1) % points.length];
          if ((ay <= sy && sy < by) || (by <= sy && sy < ay)) xs.push(ax + ((sy - ay) * (bx - ax)) / (by - ay));
        }
        xs.sort((u, v) => u - v);
        for (let k = 0; k + 1 < xs.length; k += 2) {
          const xa = Math.max(cx0, xs[k]), xb = Math.min(cx1, xs[k + 1]);
          for (let x = Math.floor(xa); x < xb; x++) {
            row[x] += (Math.min(x + 1, xb) - Math.max(x, xa)) / sub;
            lo = Math.min(lo, x), hi = Math.max(hi, x);
          }
        }
      }
      for (let x = lo; x <= hi; x++) this.blend(x, y, c, row[x]);
    }
  }

  /**
   * Draws a circle, filled and/or outlined, anti-aliased.
   * @param center The centre.
   * @param radius The radius in pixels.
   * @param opts `fill`, `stroke`, `width` (of the outline, default 1).
   */
  circle(center: Point, radius: number, opts: { fill?: Color; stroke?: Color; width?: number } = {}): void {
    const [cx, cy] = center;
    const hw = (opts.width ?? 1) / 2;
    const r = radius + hw + 1;
    if (!Number.isFinite(cx) || !Number.isFinite(cy)) return;
    const fill = opts.fill === undefined ? null : rgba(opts.fill);
    const stroke = opts.stroke === undefined ? null : rgba(opts.stroke);
    for (let y = Math.floor(cy - r); y <= Math.ceil(cy + r); y++) {
      for (let x = Math.floor(cx - r); x <= Math.ceil(cx + r); x++) {
        const d = Math.hypot(x + 0.5 - cx, y + 0.5 - cy);
        if (fill) this.blend(x, y, fill, radius + 0.5 - d);
        if (stroke) this.blend(x, y, stroke, hw + 0.5 - Math.abs(d - radius));
      }
    }
  }

  /**
   * Draws a marker centred at a point.
   * @param at The centre.
   * @param opts `shape`, `size` (radius), `fill`, `stroke`, `width`.
   */
  marker(at: Point, opts: MarkerOptions = {}): void {
    const { shape = "circle", size = 4, width = 1 } = opts;
    const fill = opts.fill ?? "#000";
    const [x, y] = at;
    if (shape === "circle") return this.circle(at, size, { fill, stroke: opts.stroke, width });
    if (shape === "cross" || shape === "plus") {
      const d = shape === "cross" ? size * Math.SQRT1_2 : size;
      const color = opts.stroke ?? fill;
      const arms: [Point, Point][] = shape === "cross"
        ? [[[x - d, y - d], [x + d, y + d]], [[x - d, y + d], [x + d, y - d]]]
        : [[[x - d, y], [x + d, y]], [[x, y - d], [x, y + d]]];
      if (opts.stroke) this.segments(arms, { color: "#fff", width: width + 3 });
      return this.segments(arms, { color, width: Math.max(width, 2) });
    }
    const star = (k: number): Point => {
      const r = k % 2 ? size * 0.45 : size * 1.15;
      const t = -Math.PI / 2 + (k * Math.PI) / 5;
      return [x + r * Math.cos(t), y + r * Math.sin(t)];
    };
    const pts: Point[] = shape === "square"
      ? [[x - size, y - size], [x + size, y - size], [x + size, y + size], [x - size, y + size]]
      : shape === "diamond"
      ? [[x, y - size * 1.3], [x + size * 1.3, y], [x, y + size * 1.3], [x - size * 1.3, y]]
      : shape === "triangle"
      ? [[x, y - size * 1.2], [x + size * 1.1, y + size * 0.8], [x - size * 1.1, y + size * 0.8]]
      : globalThis.Array.from({ length: 10 }, (_, k) => star(k));
    if (opts.stroke) {
      const outline: [Point, Point][] = pts.map((p, i) => [p, pts[(i + 1) % pts.length]]);
      this.polygon(pts, fill);
      this.segments(outline, { color: opts.stroke, width });
    } else this.polygon(pts, fill);
  }

  /**
   * Draws an arrow from `from` to `to` (the head at `to`).
   * @param from The tail.
   * @param to The tip.
   * @param opts `color`, `width`, `head` (length in pixels).
   */
  arrow(from: Point, to: Point, opts: ArrowOptions = {}): void {
    const { color = "#000", width = 1 } = opts;
    const len = Math.hypot(to[0] - from[0], to[1] - from[1]);
    if (!(len > 0)) return;
    const [ux, uy] = [(to[0] - from[0]) / len, (to[1] - from[1]) / len];
    const h = Math.min(opts.head ?? 3 * width + 4, len / 2);
    const hw = h * 0.5;
    const base: Point = [to[0] - ux * h, to[1] - uy * h];
    this.line(from, [to[0] - ux * h * 0.7, to[1] - uy * h * 0.7], { color, width });
    this.polygon([to, [base[0] - uy * hw, base[1] + ux * hw], [base[0] + uy * hw, base[1] - ux * hw]], color);
  }

  /**
   * Draws one line of text in the built-in bitmap font.
   * @param text The text.
   * @param at The anchor point (see `align` and `baseline`).
   * @param opts `color`, `scale`, `align`, `baseline`, `vertical`, `halo`.
   * @returns The bounding box of the text.
   */
  text(text: string, at: Point, opts: TextOptions = {}): Rect {
    const { scale = 1, align = "left", baseline = "top", vertical = false } = opts;
    const w = textWidth(text, scale), h = FONT.ascent * scale;
    const along = align === "left" ? 0 : align === "center" ? -w / 2 : -w;
    const across = baseline === "top" ? 0 : baseline === "middle" ? -h / 2 : -h;
    // (u, v): position along the text and down from the cap line, mapped to the canvas.
    const [ax, ay] = [Math.round(at[0]), Math.round(at[1])];
    const [u0, v0] = [Math.round(along), Math.round(across)];
    const to = (u: number, v: number): [number, number] =>
      vertical ? [ax + v0 + v, ay - u0 - u - 1] : [ax + u0 + u, ay + v0 + v];
    const plot = (c: Rgba, dx: number, dy: number) => {
      [...text].forEach((ch, i) => {
        const rows = glyphRows(ch);
        for (let r = 0; r < rows.length; r++) {
          for (let col = 0; col < FONT.width; col++) {
            if (!(rows[r] & (1 << (FONT.width - 1 - col)))) continue;
            for (let sy = 0; sy < scale; sy++) {
              for (let sx = 0; sx < scale; sx++) {
                const [x, y] = to((i * FONT.advance + col) * scale + sx, r * scale + sy);
                this.blend(x + dx, y + dy, c);
              }
            }
          }
        }
      });
    };
    if (opts.halo) {
      const c = rgba(opts.halo);
      for (const [dx, dy] of [[-1, 0], [1, 0], [0, -1], [0, 1], [-1, -1], [1, 1], [-1, 1], [1, -1]]) plot(c, dx, dy);
    }
    plot(rgba(opts.color ?? "#000"), 0, 0);
    const full = (FONT.ascent + FONT.descent) * scale;
    return vertical
      ? { x: ax + v0, y: ay - u0 - w, width: full, height: w }
      : { x: ax + u0, y: ay + v0, width: w, height: full };
  }
}

/** Liang–Barsky: the part of segment pq inside [x0, x1] × [y0, y1], or null. */
function clipSegment(p: Point, q: Point, x0: number, y0: number, x1: number, y1: number): [Point, Point] | null {
  if (![...p, ...q].every(Number.isFinite)) return null;
  const dx = q[0] - p[0], dy = q[1] - p[1];
  let t0 = 0, t1 = 1;
  for (const [num, den] of [[p[0] - x0, -dx], [x1 - p[0], dx], [p[1] - y0, -dy], [y1 - p[1], dy]]) {
    if (den === 0) {
      if (num < 0) return null;
    } else {
      const t = num / den;
      if (den < 0) t0 = Math.max(t0, t);
      else t1 = Math.min(t1, t);
    }
  }
  if (t0 > t1) return null;
  return [[p[0] + t0 * dx, p[1] + t0 * dy], [p[0] + t1 * dx, p[1] + t1 * dy]];
}

/** Coverage of a round-capped segment of half-width hw: walks the major axis, then a few pixels across. */
function strokeSegment(a: Point, b: Point, hw: number, put: (x: number, y: number, v: number) => void): void {
  const dx = b[0] - a[0], dy = b[1] - a[1];
  const len2 = dx * dx + dy * dy;
  const dist = (px: number, py: number) => {
    const t = len2 > 0 ? Math.max(0, Math.min(1, ((px - a[0]) * dx + (py - a[1]) * dy) / len2)) : 0;
    return Math.hypot(px - a[0] - t * dx, py - a[1] - t * dy);
  };
  const steep = Math.abs(dy) > Math.abs(dx);
  // Swap axes for steep segments so the outer loop runs along the longer extent.
  const [A, B, D, E] = steep ? [a[1], b[1], dy, dx] : [a[0], b[0], dx, dy];
  const across = steep ? a[0] : a[1];
  const slope = D === 0 ? 0 : E / D;
  const half = (hw + 1) * Math.sqrt(1 + slope * slope) + 1;
  for (let i = Math.floor(Math.min(A, B) - hw - 1); i <= Math.ceil(Math.max(A, B) + hw + 1); i++) {
    const c = across + (i + 0.5 - A) * slope;
    for (let j = Math.floor(c - half); j <= Math.ceil(c + half); j++) {
      const [x, y] = steep ? [j, i] : [i, j];
      put(x, y, hw + 0.5 - dist(x + 0.5, y + 0.5));
    }
  }
}
