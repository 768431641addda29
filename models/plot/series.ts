/**
 * The series a `Plot` holds (lines, points, markers, contours, arrows, notes), their options,
 * how each is drawn in a frame, and the legend.
 * @module
 */
import type { Scale } from "./axis.ts";
import { type Colormap, colormap, contourSegments, type Field, sampleField } from "./contour.ts";
import { FONT, textWidth } from "./font.ts";
import { type Canvas, type Color, type MarkerShape, type Point, type Rect, rgba, type TextOptions } from "./raster.ts";

/** Options of `Plot.line`. */
export interface LineOptions {
  /** Colour (default: the next palette colour). */
  color?: Color;
  /** Width in pixels (default 2). */
  width?: number;
  /** Legend entry. */
  label?: string;
  /** Radius of a dot at each vertex (default 0: none). */
  dots?: number;
}

/** Options of `Plot.scatter`. */
export interface ScatterOptions {
  /** One colour for all points (default: the next palette colour; ignored with `labels`). */
  color?: Color;
  /** An integer class per point: colours from the palette, one legend entry per class. */
  labels?: ArrayLike<number>;
  /** Legend names of the classes (default: the class numbers). */
  names?: string[];
  /** Legend entry when there are no `labels`. */
  label?: string;
  /** Marker radius in pixels (default 3). */
  size?: number;
  /** Marker shape (default "circle"). */
  shape?: MarkerShape;
  /** Opacity (default 0.85). */
  alpha?: number;
}

/** Options of `Plot.marker`. */
export interface PointMarkerOptions {
  /** Shape (default "circle"). */
  shape?: MarkerShape;
  /** Radius in pixels (default 5). */
  size?: number;
  /** Fill colour (default black). */
  color?: Color;
  /** Outline colour (default white). */
  stroke?: Color;
  /** Legend entry. */
  label?: string;
  /** A note written beside the marker. */
  text?: string;
}

/** Options of `Plot.contour`. */
export interface ContourOptions {
  /** Contour levels, increasing. */
  levels: number[];
  /** Fill the bands between levels with colours of `colormap` (default true). */
  fill?: boolean;
  /** Draw the level curves (default true). */
  lines?: boolean;
  /** Colour map of the bands (default `colormap("haze")`). */
  colormap?: Colormap;
  /** Colour of the level curves (default translucent dark grey). */
  lineColor?: Color;
  /** Width of the level curves (default 1). */
  lineWidth?: number;
}

/** Options of `Plot.arrows`. */
export interface ArrowFieldOptions {
  /** Arrow length in pixels; every arrow gets it (directions only) (default 14). */
  length?: number;
  /**
   * The vectors are gradients (covectors): draw them in the direction of steepest ascent on
   * the picture, so they cross the level curves at right angles even when the axes have
   * different scales (default false: displacements, mapped like points).
   */
  gradient?: boolean;
  /** Where the point sits on its arrow (default "middle"). */
  anchor?: "tail" | "middle";
  /** Colour (default translucent dark grey). */
  color?: Color;
  /** Line width (default 1.2). */
  width?: number;
}

/** Where a rendered plot put things: the axes rectangle and the data ↔ pixel maps. */
export interface Frame {
  /** The axes rectangle in canvas pixels. */
  rect: Rect;
  /** The x scale (data → canvas x). */
  x: Scale;
  /** The y scale (data → canvas y). */
  y: Scale;
  /** Canvas pixel of a data point. */
  toPixel(p: Point): Point;
  /** Data point at a canvas pixel. */
  fromPixel(p: Point): Point;
}

/** A legend row. */
export type LegendEntry = { label: string; color: Color; kind: "line" | "marker"; shape?: MarkerShape };
/** A series of a plot. */
export type Series =
  | { kind: "line"; xs: ArrayLike<number>; ys: ArrayLike<number>; opts: LineOptions; color: Color }
  | { kind: "scatter"; xs: ArrayLike<number>; ys: ArrayLike<number>; opts: ScatterOptions; colors: Color[] }
  | { kind: "marker"; at: Point; opts: PointMarkerOptions }
  | { kind: "contour"; field: Field; opts: ContourOptions }
  | { kind: "arrows"; points: Point[]; vectors: Point[]; opts: ArrowFieldOptions }
  | { kind: "text"; at: Point; text: string; opts: TextOptions };

/** Draws one series in a frame (the canvas clipped to it). */
export function drawSeries(canvas: Canvas, s: Series, fr: Frame): void {
  const P = fr.toPixel;
  if (s.kind === "line") {
    const pts = globalThis.Array.from(s.xs, (x, i) => P([x, s.ys[i]]));
    canvas.polyline(pts, { color: s.color, width: s.opts.width ?? 2 });
    if (s.opts.dots) { for (const p of pts) canvas.circle(p, s.opts.dots, { fill: s.color }); }
  } else if (s.kind === "scatter") {
    const { size = 3, shape = "circle", alpha = 0.85 } = s.opts;
    for (let i = 0; i < s.xs.length; i++) {
      const fill = rgba(s.colors[s.colors.length === 1 ? 0 : i], alpha);
      canvas.marker(P([s.xs[i], s.ys[i]]), { shape, size, fill });
    }
  } else if (s.kind === "marker") {
    const { shape = "circle", size = 5, color = "#000", stroke = "#fff", text } = s.opts;
    const p = P(s.at);
    canvas.marker(p, { shape, size, fill: color, stroke, width: 1.5 });
    if (text) canvas.text(text, [p[0] + size + 4, p[1]], { baseline: "middle", color: "#111", halo: "#fffc" });
  } else if (s.kind === "contour") drawContour(canvas, s.field, s.opts, fr);
  else if (s.kind === "arrows") {
    const { length = 14, gradient = false, anchor = "middle", color = "#333a", width = 1.2 } = s.opts;
    s.points.forEach((pt, i) => {
      const [vx, vy] = s.vectors[i];
      const [kx, ky] = [fr.x.slope(pt[0]), fr.y.slope(pt[1])];
      const [dx, dy] = gradient ? [vx / kx, vy / ky] : [vx * kx, vy * ky];
      const n = Math.hypot(dx, dy);
      if (!(n > 0) || !Number.isFinite(n)) return;
      const [ux, uy] = [(dx / n) * length, (dy / n) * length];
      const p = P(pt);
      const from: Point = anchor === "tail" ? p : [p[0] - ux / 2, p[1] - uy / 2];
      canvas.arrow(from, [from[0] + ux, from[1] + uy], { color, width, head: Math.max(4, length * 0.35) });
    });
  } else canvas.text(s.text, P(s.at), s.opts);
}

function drawContour(canvas: Canvas, field: Field, opts: ContourOptions, fr: Frame): void {
  const { levels, fill = true, lines = true, lineColor = "#2228", lineWidth = 1 } = opts;
  if (fill) {
    const cmap = opts.colormap ?? colormap("haze");
    const colors = levels.map((_, k) => cmap(k / levels.length)).concat([cmap(1)]);
    canvas.shade(fr.rect, (x, y) => {
      const v = sampleField(field, fr.fromPixel([x, y]));
      if (Number.isNaN(v)) return null;
      let k = 0;
      while (k < levels.length && v > levels[k]) k++;
      return colors[k];
    });
  }
  if (lines) {
    for (const level of levels) {
      const segs = contourSegments(field, level).map(([a, b]): [Point, Point] => [fr.toPixel(a), fr.toPixel(b)]);
      canvas.segments(segs, { color: lineColor, width: lineWidth });
    }
  }
}

/** The size of the legend box of some entries at a text scale (null for no entries). */
export function legendSize(entries: LegendEntry[], ts: number): { width: number; height: number } | null {
  if (!entries.length) return null;
  const w = Math.max(...entries.map((e) => textWidth(e.label, ts)));
  return { width: w + 24 * ts + 16, height: entries.length * FONT.lineHeight * ts * 1.3 + 10 };
}

/** Draws the legend at a position; "auto" takes the inside corner covering the fewest data pixels of the series. */
export function drawLegend(
  canvas: Canvas,
  fr: Frame,
  legend: { entries: LegendEntry[]; series: Series[]; pos: string; ts: number },
): void {
  const { entries, series, pos, ts } = legend;
  const size = legendSize(entries, ts)!;
  const f = fr.rect, m = 8;
  const corners: Record<string, Point> = {
    "top-right": [f.x + f.width - size.width - m, f.y + m],
    "top-left": [f.x + m, f.y + m],
    "bottom-right": [f.x + f.width - size.width - m, f.y + f.height - size.height - m],
    "bottom-left": [f.x + m, f.y + f.height - size.height - m],
    "right": [f.x + f.width + 12, f.y],
  };
  let at = corners[pos] ?? corners["top-right"];
  if (pos === "auto") {
    const pts = dataPixels(series, fr);
    let best = Infinity;
    for (const name of ["top-right", "top-left", "bottom-right", "bottom-left"]) {
      const [cx, cy] = corners[name];
      const hits = pts.filter(([x, y]) => x >= cx && x <= cx + size.width && y >= cy && y <= cy + size.height).length;
      if (hits < best) [best, at] = [hits, corners[name]];
    }
  }
  const box: Rect = {
    x: Math.round(at[0]),
    y: Math.round(at[1]),
    width: Math.round(size.width),
    height: Math.round(size.height),
  };
  canvas.fillRect(box, "#ffffffe0");
  canvas.segments(rectOutline(box), { color: "#999", width: 1 });
  const row = FONT.lineHeight * ts * 1.3;
  entries.forEach((e, i) => {
    const cy = box.y + 5 + row * (i + 0.5);
    const sx = box.x + 8;
    if (e.kind === "line") canvas.line([sx, cy], [sx + 18 * ts, cy], { color: e.color, width: 2.5 });
    else canvas.marker([sx + 9 * ts, cy], { shape: e.shape ?? "circle", size: 4, fill: e.color, stroke: "#fff" });
    canvas.text(e.label, [sx + 24 * ts, cy], { scale: ts, baseline: "middle", color: "#222" });
  });
}

/** Pixels that data occupies (line vertices densified every ~3 px, points, markers): what a legend should not cover. */
function dataPixels(series: Series[], fr: Frame): Point[] {
  const out: Point[] = [];
  for (const s of series) {
    if (s.kind === "line") {
      let prev: Point | null = null;
      for (let i = 0; i < s.xs.length; i++) {
        const p = fr.toPixel([s.xs[i], s.ys[i]]);
        if (!p.every(Number.isFinite)) {
          prev = null;
          continue;
        }
        if (prev) {
          const n = Math.min(200, Math.ceil(Math.hypot(p[0] - prev[0], p[1] - prev[1]) / 3));
          for (let k = 1; k <= n; k++) {
            out.push([prev[0] + ((p[0] - prev[0]) * k) / n, prev[1] + ((p[1] - prev[1]) * k) / n]);
          }
        } else out.push(p);
        prev = p;
      }
    } else if (s.kind === "scatter") {
      for (let i = 0; i < s.xs.length; i++) out.push(fr.toPixel([s.xs[i], s.ys[i]]));
    } else if (s.kind === "marker") out.push(fr.toPixel(s.at));
  }
  return out;
}

function rectOutline(r: Rect): [Point, Point][] {
  const [x0, y0, x1, y1] = [r.x - 0.5, r.y - 0.5, r.x + r.width + 0.5, r.y + r.height + 0.5];
  return [[[x0, y0], [x1, y0]], [[x1, y0], [x1, y1]], [[x1, y1], [x0, y1]], [[x0, y1], [x0, y0]]];
}
