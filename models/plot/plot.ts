/**
 * Plots: one set of axes with tick labels, a title and a legend, holding line plots (linear or
 * log axes), scatter plots coloured by a label, markers, filled contour bands with contour
 * lines, and arrow fields. Build a `Plot`, add series, then render it to a canvas or a PNG;
 * `renderPanels` puts several side by side.
 * @module
 */
import { Scale, type Tick } from "./axis.ts";
import { type Field, PALETTE } from "./contour.ts";
import { FONT, textWidth } from "./font.ts";
import { savePng } from "./png.ts";
import { Canvas, type Color, type Point, type Rect, type TextOptions } from "./raster.ts";
import {
  type ArrowFieldOptions,
  type ContourOptions,
  drawLegend,
  drawSeries,
  type Frame,
  type LegendEntry,
  legendSize,
  type LineOptions,
  type PointMarkerOptions,
  type ScatterOptions,
  type Series,
} from "./series.ts";

/** Options of a `Plot`. */
export interface PlotOptions {
  /** Title above the axes. */
  title?: string;
  /** Label under the x axis. */
  xLabel?: string;
  /** Label left of the y axis (reads upwards). */
  yLabel?: string;
  /** x range (default: the data's, plus a small margin). */
  x?: [number, number];
  /** y range (default: the data's, plus a small margin). */
  y?: [number, number];
  /** Log-scale x axis (default false). */
  logX?: boolean;
  /** Log-scale y axis (default false). */
  logY?: boolean;
  /** "equal" gives both axes the same pixels per unit by widening one range (default "auto"). */
  aspect?: "auto" | "equal";
  /** Legend position; "auto" picks the inside corner that covers the fewest data points (default "auto"). */
  legend?: "auto" | "none" | "right" | "top-right" | "top-left" | "bottom-right" | "bottom-left";
  /** Light grid lines at the major ticks (default true). */
  grid?: boolean;
  /** Integer scale of tick labels and axis labels; the title is one step larger (default 1). */
  textScale?: number;
}

/**
 * One set of axes and the series drawn in it. Methods that add a series return the plot, so
 * calls chain.
 *
 * @example A loss curve on a log axis, saved as a PNG
 * ```ts
 * import { Plot } from "@wax/wax/models";
 * const steps = [0, 1, 2, 3, 4], loss = [1, 0.3, 0.1, 0.05, 0.02];
 * const plot = new Plot({ title: "loss", xLabel: "step", logY: true }).line(steps, loss, { label: "train" });
 * const dir = await Deno.makeTempDir();
 * await plot.save(`${dir}/loss.png`, { width: 320, height: 240 });
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class Plot {
  /** The options the plot was made with. */
  readonly opts: PlotOptions;
  #series: Series[] = [];
  #legend: LegendEntry[] = [];
  #nextColor = 0;

  /**
   * An empty plot.
   * @param opts Titles, ranges, log axes, aspect, legend, grid, text scale.
   */
  constructor(opts: PlotOptions = {}) {
    this.opts = opts;
  }

  #color(c: Color | undefined): Color {
    return c ?? PALETTE[this.#nextColor++ % PALETTE.length];
  }

  /**
   * Adds a line through `(xs[i], ys[i])`; non-finite points break it.
   * @param xs x values.
   * @param ys y values (same length).
   * @param opts `color`, `width`, `label`, `dots`.
   * @returns This plot.
   */
  line(xs: ArrayLike<number>, ys: ArrayLike<number>, opts: LineOptions = {}): this {
    sameLength("Plot.line", xs, ys);
    const color = this.#color(opts.color);
    this.#series.push({ kind: "line", xs, ys, opts, color });
    if (opts.label) this.#legend.push({ label: opts.label, color, kind: "line" });
    return this;
  }

  /**
   * Adds points, coloured by an integer class label when `labels` is given.
   * @param xs x values.
   * @param ys y values (same length).
   * @param opts `labels`, `names`, `color`, `label`, `size`, `shape`, `alpha`.
   * @returns This plot.
   */
  scatter(xs: ArrayLike<number>, ys: ArrayLike<number>, opts: ScatterOptions = {}): this {
    sameLength("Plot.scatter", xs, ys);
    const shape = opts.shape ?? "circle";
    let colors: Color[];
    if (opts.labels) {
      sameLength("Plot.scatter labels", xs, opts.labels);
      colors = globalThis.Array.from(opts.labels, (k) => PALETTE[k % PALETTE.length]);
      for (const k of [...new Set(globalThis.Array.from(opts.labels))].sort((a, b) => a - b)) {
        this.#legend.push({
          label: opts.names?.[k] ?? String(k),
          color: PALETTE[k % PALETTE.length],
          kind: "marker",
          shape,
        });
      }
    } else {
      const c = this.#color(opts.color);
      colors = [c];
      if (opts.label) this.#legend.push({ label: opts.label, color: c, kind: "marker", shape });
    }
    this.#series.push({ kind: "scatter", xs, ys, opts, colors });
    return this;
  }

  /**
   * Adds one marker (a start, an end, a minimum), optionally with a legend entry and a note.
   * @param at The point, in data coordinates.
   * @param opts `shape`, `size`, `color`, `stroke`, `label`, `text`.
   * @returns This plot.
   */
  marker(at: Point, opts: PointMarkerOptions = {}): this {
    this.#series.push({ kind: "marker", at, opts });
    if (opts.label) {
      this.#legend.push({ label: opts.label, color: opts.color ?? "#000", kind: "marker", shape: opts.shape });
    }
    return this;
  }

  /**
   * Adds filled contour bands and/or contour lines of a field.
   * @param field The field on a grid.
   * @param opts `levels` (required), `fill`, `lines`, `colormap`, `lineColor`, `lineWidth`.
   * @returns This plot.
   */
  contour(field: Field, opts: ContourOptions): this {
    if (field.values.length !== field.nx * field.ny) {
      throw new Error(
        `Plot.contour: the field has ${field.values.length} values, expected nx·ny = ${field.nx * field.ny}`,
      );
    }
    this.#series.push({ kind: "contour", field, opts });
    return this;
  }

  /**
   * Adds arrows at points in the directions of vectors (a gradient field with `gradient: true`).
   * @param points Positions, in data coordinates.
   * @param vectors One vector per point, in data units.
   * @param opts `length`, `gradient`, `anchor`, `color`, `width`.
   * @returns This plot.
   */
  arrows(points: Point[], vectors: Point[], opts: ArrowFieldOptions = {}): this {
    sameLength("Plot.arrows", points, vectors);
    this.#series.push({ kind: "arrows", points, vectors, opts });
    return this;
  }

  /**
   * Adds a note at a data point.
   * @param at The anchor, in data coordinates.
   * @param text The text.
   * @param opts Text options (colour, alignment, halo, ...).
   * @returns This plot.
   */
  text(at: Point, text: string, opts: TextOptions = {}): this {
    this.#series.push({ kind: "text", at, text, opts });
    return this;
  }

  /**
   * Draws the plot into a rectangle of a canvas.
   * @param canvas The canvas.
   * @param rect The area to fill (default: the whole canvas).
   * @returns Where the axes landed and the data ↔ pixel maps.
   */
  render(canvas: Canvas, rect: Rect = { x: 0, y: 0, width: canvas.width, height: canvas.height }): Frame {
    const o = this.opts;
    const ts = o.textScale ?? 1;
    const lh = FONT.lineHeight * ts;
    const legendPos = o.legend ?? "auto";
    const legendBox = legendSize(this.#legend, ts);
    const top = rect.y + (o.title ? lh * 1.2 + 14 : 10);
    const bottom = rect.y + rect.height - (lh + 12) - (o.xLabel ? lh + 4 : 0);
    let [xr, yr] = [o.x ?? this.#extent("x"), o.y ?? this.#extent("y")];
    // Measure y tick labels for the left margin (the ranges may still widen for "equal").
    const probe = new Scale(yr, [bottom, top], { log: o.logY }).ticks(Math.max(2, (bottom - top) / 50));
    const yLabelW = Math.max(0, ...probe.map((t) => textWidth(t.label, ts)));
    const left = rect.x + 10 + yLabelW + 6 + (o.yLabel ? lh + 4 : 0);
    const right = rect.x + rect.width - 14 -
      (legendPos === "right" && legendBox ? legendBox.width + 12 : 0);
    const frame: Rect = { x: left, y: top, width: right - left, height: bottom - top };
    if (o.aspect === "equal" && !o.logX && !o.logY) [xr, yr] = equalize(xr, yr, frame);
    const xs = new Scale(xr, [left, right], { log: o.logX });
    const ys = new Scale(yr, [bottom, top], { log: o.logY });
    const toPixel = (p: Point): Point => [xs.toPx(p[0]), ys.toPx(p[1])];
    const fromPixel = (p: Point): Point => [xs.fromPx(p[0]), ys.fromPx(p[1])];
    const out: Frame = { rect: frame, x: xs, y: ys, toPixel, fromPixel };

    const xt = xs.ticks(Math.max(2, frame.width / 80)), yt = ys.ticks(Math.max(2, frame.height / 50));
    canvas.clip(frame);
    if (o.grid ?? true) this.#grid(canvas, frame, xt, yt, out);
    for (const s of this.#series) drawSeries(canvas, s, out);
    canvas.clip(null);
    this.#axes(canvas, out, xt, yt, ts);
    if (o.title) {
      canvas.text(o.title, [(left + right) / 2, rect.y + 10], { scale: ts + 1, align: "center", color: "#222" });
    }
    if (o.xLabel) {
      canvas.text(o.xLabel, [(left + right) / 2, rect.y + rect.height - 6], {
        scale: ts,
        align: "center",
        baseline: "bottom",
        color: "#333",
      });
    }
    if (o.yLabel) {
      canvas.text(o.yLabel, [rect.x + 8, (top + bottom) / 2], {
        scale: ts,
        align: "center",
        vertical: true,
        color: "#333",
      });
    }
    if (legendBox && legendPos !== "none") {
      drawLegend(canvas, out, { entries: this.#legend, series: this.#series, pos: legendPos, ts });
    }
    return out;
  }

  /**
   * Renders the plot on a fresh canvas.
   * @param size `width` and `height` in pixels (default 640 × 480).
   * @returns The canvas.
   */
  toCanvas(size: { width?: number; height?: number } = {}): Canvas {
    const c = new Canvas(size.width ?? 640, size.height ?? 480);
    this.render(c);
    return c;
  }

  /**
   * Renders the plot and writes it to a PNG file atomically.
   * @param path The file.
   * @param size `width` and `height` in pixels (default 640 × 480).
   */
  async save(path: string, size: { width?: number; height?: number } = {}): Promise<void> {
    await savePng(path, this.toCanvas(size));
  }

  #extent(axis: "x" | "y"): [number, number] {
    const log = axis === "x" ? this.opts.logX : this.opts.logY;
    let lo = Infinity, hi = -Infinity;
    const see = (v: number) => {
      if (Number.isFinite(v) && (!log || v > 0)) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
    };
    for (const s of this.#series) {
      if (s.kind === "line" || s.kind === "scatter") {
        for (const v of globalThis.Array.from(axis === "x" ? s.xs : s.ys)) {
          see(v);
        }
      } else if (s.kind === "marker" || s.kind === "text") see(s.at[axis === "x" ? 0 : 1]);
      else if (s.kind === "contour") { for (const v of s.field[axis]) see(v); }
      else if (s.kind === "arrows") { for (const p of s.points) see(p[axis === "x" ? 0 : 1]); }
    }
    if (!(lo <= hi)) return log ? [1, 10] : [0, 1];
    if (log) {
      const pad = Math.max(Math.log10(hi / lo) * 0.04, 0.05);
      return [lo / 10 ** pad, hi * 10 ** pad];
    }
    if (lo === hi) return [lo - (Math.abs(lo) || 1) * 0.5, hi + (Math.abs(hi) || 1) * 0.5];
    const fitted = this.#series.some((s) => s.kind === "contour");
    const pad = fitted ? 0 : (hi - lo) * 0.04;
    return [lo - pad, hi + pad];
  }

  #grid(canvas: Canvas, f: Rect, xt: Tick[], yt: Tick[], fr: Frame): void {
    const segs: [Point, Point][] = [];
    for (const t of xt.filter((t) => t.major)) {
      const px = Math.round(fr.x.toPx(t.value)) + 0.5;
      segs.push([[px, f.y], [px, f.y + f.height]]);
    }
    for (const t of yt.filter((t) => t.major)) {
      const py = Math.round(fr.y.toPx(t.value)) + 0.5;
      segs.push([[f.x, py], [f.x + f.width, py]]);
    }
    canvas.segments(segs, { color: "#e6e6e6", width: 1 });
  }

  #axes(canvas: Canvas, fr: Frame, xt: Tick[], yt: Tick[], ts: number): void {
    const f = fr.rect;
    const [x0, y0, x1, y1] = [f.x, f.y, f.x + f.width, f.y + f.height].map(Math.round);
    const segs: [Point, Point][] = [
      [[x0, y1 + 0.5], [x1, y1 + 0.5]],
      [[x0 - 0.5, y0], [x0 - 0.5, y1]],
      [[x0, y0 - 0.5], [x1, y0 - 0.5]],
      [[x1 + 0.5, y0], [x1 + 0.5, y1]],
    ];
    const ink = { color: "#444" };
    for (const t of xt) {
      const px = Math.round(fr.x.toPx(t.value)) + 0.5;
      segs.push([[px, y1], [px, y1 + (t.major ? 5 : 3)]]);
      if (t.label) canvas.text(t.label, [px, y1 + 8], { scale: ts, align: "center", ...ink });
    }
    for (const t of yt) {
      const py = Math.round(fr.y.toPx(t.value)) + 0.5;
      segs.push([[x0 - (t.major ? 5 : 3), py], [x0, py]]);
      if (t.label) canvas.text(t.label, [x0 - 8, py], { scale: ts, align: "right", baseline: "middle", ...ink });
    }
    canvas.segments(segs, { color: "#555", width: 1 });
  }
}

/**
 * Renders plots side by side in a grid of panels on one canvas.
 *
 * @param plots The plots, filled row by row.
 * @param opts `cols` (default: all in one row), `width` and `height` of each panel (default
 *   480 × 400; `width` may be one number per column).
 * @returns The canvas.
 *
 * @example Two panels
 * ```ts
 * import assert from "node:assert";
 * import { Plot, renderPanels } from "@wax/wax/models";
 * const a = new Plot({ title: "a" }).line([0, 1], [0, 1]);
 * const b = new Plot({ title: "b" }).scatter([0, 1], [1, 0]);
 * const c = renderPanels([a, b], { width: 200, height: 150 });
 * assert.deepEqual([c.width, c.height], [400, 150]);
 * ```
 */
export function renderPanels(
  plots: Plot[],
  opts: { cols?: number; width?: number | number[]; height?: number } = {},
): Canvas {
  const cols = opts.cols ?? plots.length;
  const rows = Math.ceil(plots.length / cols);
  const { height = 400 } = opts;
  const widths = globalThis.Array.from({ length: cols }, (_, i) => {
    const w = opts.width ?? 480;
    return typeof w === "number" ? w : w[i] ?? w[w.length - 1];
  });
  const canvas = new Canvas(widths.reduce((a, b) => a + b, 0), rows * height);
  plots.forEach((p, i) => {
    const c = i % cols;
    const x = widths.slice(0, c).reduce((a, b) => a + b, 0);
    p.render(canvas, { x, y: Math.floor(i / cols) * height, width: widths[c], height });
  });
  return canvas;
}

function sameLength(op: string, a: ArrayLike<unknown>, b: ArrayLike<unknown>): void {
  if (a.length !== b.length) {
    throw new Error(`${op}: lengths differ (${a.length} vs ${b.length}); pass one value per point`);
  }
}

/** Widens one of two ranges (the one with more pixels per unit) so that both get the same pixels per unit. */
function equalize(xr: [number, number], yr: [number, number], f: Rect): [[number, number], [number, number]] {
  const kx = f.width / (xr[1] - xr[0]), ky = f.height / (yr[1] - yr[0]);
  const widen = (r: [number, number], span: number): [number, number] => {
    const c = (r[0] + r[1]) / 2;
    return [c - span / 2, c + span / 2];
  };
  return kx > ky ? [widen(xr, f.width / ky), yr] : [xr, widen(yr, f.height / kx)];
}
