/**
 * Scalar fields on a grid and what plots draw from them: bilinear sampling, contour levels
 * (linear or log-spaced), contour segments by marching squares, colour maps and a
 * categorical palette.
 * @module
 */
import { type Color, type Point, type Rgba, rgba } from "./raster.ts";

/**
 * Values of a function on a regular grid: `values[j * nx + i]` is the value at
 * `x = x[0] + i·(x[1] − x[0])/(nx − 1)`, `y = y[0] + j·(y[1] − y[0])/(ny − 1)`.
 */
export interface Field {
  /** Row-major values, `ny` rows of `nx`. */
  values: ArrayLike<number>;
  /** Points per row (≥ 2). */
  nx: number;
  /** Rows (≥ 2). */
  ny: number;
  /** The x interval the grid spans. */
  x: [number, number];
  /** The y interval the grid spans. */
  y: [number, number];
}

/**
 * The grid points of a field, flattened in `values` order: evaluate a function on them (with
 * `vmap`, say) and pass the results as `values`.
 *
 * @param opts `nx`, `ny`, `x`, `y` as in `Field`.
 * @returns The x and y coordinates, each of length `nx·ny`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { gridPoints } from "@wax/wax/models";
 * const { xs, ys } = gridPoints({ nx: 3, ny: 2, x: [0, 1], y: [5, 6] });
 * assert.deepEqual([...xs], [0, 0.5, 1, 0, 0.5, 1]);
 * assert.deepEqual([...ys], [5, 5, 5, 6, 6, 6]);
 * ```
 */
export function gridPoints(opts: Omit<Field, "values">): { xs: Float32Array; ys: Float32Array } {
  const { nx, ny, x, y } = opts;
  if (!(nx >= 2 && ny >= 2)) throw new RangeError(`gridPoints: nx and ny must be at least 2, got ${nx} × ${ny}`);
  const xs = new Float32Array(nx * ny), ys = new Float32Array(nx * ny);
  for (let j = 0; j < ny; j++) {
    for (let i = 0; i < nx; i++) {
      xs[j * nx + i] = x[0] + (i * (x[1] - x[0])) / (nx - 1);
      ys[j * nx + i] = y[0] + (j * (y[1] - y[0])) / (ny - 1);
    }
  }
  return { xs, ys };
}

/**
 * The field's value at `(x, y)` by bilinear interpolation (NaN outside the grid).
 *
 * @param f The field.
 * @param p The point, in data coordinates.
 * @returns The interpolated value.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { type Field, sampleField } from "@wax/wax/models";
 * const f: Field = { values: [0, 1, 2, 3], nx: 2, ny: 2, x: [0, 1], y: [0, 1] };
 * assert.equal(sampleField(f, [0.5, 0.5]), 1.5);
 * ```
 */
export function sampleField(f: Field, p: Point): number {
  const u = ((p[0] - f.x[0]) / (f.x[1] - f.x[0])) * (f.nx - 1);
  const v = ((p[1] - f.y[0]) / (f.y[1] - f.y[0])) * (f.ny - 1);
  if (!(u >= 0 && v >= 0 && u <= f.nx - 1 && v <= f.ny - 1)) return NaN;
  const i = Math.min(f.nx - 2, Math.floor(u)), j = Math.min(f.ny - 2, Math.floor(v));
  const [s, t] = [u - i, v - j];
  const at = (di: number, dj: number) => f.values[(j + dj) * f.nx + i + di];
  return (1 - t) * ((1 - s) * at(0, 0) + s * at(1, 0)) + t * ((1 - s) * at(0, 1) + s * at(1, 1));
}

/** Options of `contourLevels`. */
export interface LevelOptions {
  /** Number of levels (default 10). */
  count?: number;
  /** Log-spaced above `lo` (for ranges spanning decades, such as losses with minimum 0) (default false). */
  log?: boolean;
  /** Decades covered by log-spaced levels (default 4). */
  decades?: number;
}

/**
 * Contour levels strictly between `lo` and `hi`: evenly spaced, or log-spaced above `lo`
 * (`lo + (hi − lo)·10^(−decades·(count − k)/count)`, k = 0 … count − 1), which resolves a
 * valley floor and a steep wall in one picture.
 *
 * @param lo The smallest value of the field.
 * @param hi The largest value of the field.
 * @param opts `count`, `log`, `decades`.
 * @returns Increasing levels.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { contourLevels } from "@wax/wax/models";
 * assert.deepEqual(contourLevels(0, 4, { count: 3 }), [1, 2, 3]);
 * assert.deepEqual(contourLevels(0, 100, { count: 2, log: true, decades: 2 }).map(Math.round), [1, 10]);
 * ```
 */
export function contourLevels(lo: number, hi: number, opts: LevelOptions = {}): number[] {
  const { count = 10, log = false, decades = 4 } = opts;
  if (!(hi > lo)) throw new RangeError(`contourLevels: need lo < hi, got lo=${lo}, hi=${hi}`);
  return globalThis.Array.from(
    { length: count },
    (_, k) => log ? lo + (hi - lo) * 10 ** (-decades * (count - k) / count) : lo + ((hi - lo) * (k + 1)) / (count + 1),
  );
}

/**
 * Segments of the level curve `f = level` by marching squares over the grid cells, in data
 * coordinates. Along cell edges the field is linear, as in `sampleField`; a saddle cell is
 * resolved by the mean of its corners. Cells with a non-finite corner are skipped.
 *
 * @param f The field.
 * @param level The level.
 * @returns Segments `[a, b]`.
 *
 * @example One cell crossed diagonally
 * ```ts
 * import assert from "node:assert";
 * import { contourSegments, type Field } from "@wax/wax/models";
 * const f: Field = { values: [0, 1, 1, 2], nx: 2, ny: 2, x: [0, 1], y: [0, 1] };
 * assert.deepEqual(contourSegments(f, 1.5), [[[1, 0.5], [0.5, 1]]]);
 * ```
 */
export function contourSegments(f: Field, level: number): [Point, Point][] {
  const { nx, ny, values: z } = f;
  const dx = (f.x[1] - f.x[0]) / (nx - 1), dy = (f.y[1] - f.y[0]) / (ny - 1);
  const out: [Point, Point][] = [];
  const v = [0, 0, 0, 0];
  for (let j = 0; j + 1 < ny; j++) {
    for (let i = 0; i + 1 < nx; i++) {
      // Corners counter-clockwise from (i, j); edge e joins corner e and corner e+1.
      v[0] = z[j * nx + i], v[1] = z[j * nx + i + 1], v[2] = z[(j + 1) * nx + i + 1], v[3] = z[(j + 1) * nx + i];
      const lo = Math.min(v[0], v[1], v[2], v[3]), hi = Math.max(v[0], v[1], v[2], v[3]);
      if (!(lo <= level && level < hi) || !Number.isFinite(lo) || !Number.isFinite(hi)) continue;
      const cross = [0, 1, 2, 3].map((e): Point | null => {
        const n = (e + 1) % 4;
        if (v[e] > level === v[n] > level) return null;
        const t = (level - v[e]) / (v[n] - v[e]);
        const [ex, ey] = [
          CORNERS[e][0] + t * (CORNERS[n][0] - CORNERS[e][0]),
          CORNERS[e][1] + t * (CORNERS[n][1] - CORNERS[e][1]),
        ];
        return [f.x[0] + (i + ex) * dx, f.y[0] + (j + ey) * dy];
      });
      const hit = cross.filter((p): p is Point => p !== null);
      if (hit.length === 2) out.push([hit[0], hit[1]]);
      else if (hit.length === 4) {
        const centreLikeFirst = (v[0] + v[1] + v[2] + v[3]) / 4 > level === v[0] > level;
        const [e0, e1, e2, e3] = hit; // all four edges are crossed, in order
        if (centreLikeFirst) out.push([e0, e1], [e2, e3]);
        else out.push([e3, e0], [e1, e2]);
      }
    }
  }
  return out;
}

const CORNERS = [[0, 0], [1, 0], [1, 1], [0, 1]];

/** A colour map: a colour for each t in [0, 1]. */
export type Colormap = (t: number) => Rgba;

const RAMPS: Record<string, string[]> = {
  // Pale, for a background under paths and markers: blue valleys to sand-coloured heights.
  haze: ["#bcd3ea", "#cfe6dc", "#e9f0cf", "#f6e7c4", "#f3d1bd"],
  // Dark to bright, for a field shown on its own.
  dusk: ["#1d1748", "#33508f", "#2f8f94", "#79c37a", "#f2e66a"],
  // White to dark blue.
  ink: ["#ffffff", "#c8d9ee", "#7ea6d6", "#3a6fb0", "#123d7a"],
};

/**
 * A colour map by name, interpolating a few hand-picked stops: "haze" (pale, for backgrounds
 * under data), "dusk" (dark to bright), "ink" (white to dark blue).
 *
 * @param name The map's name (default "haze").
 * @returns The colour map.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { colormap } from "@wax/wax/models";
 * assert.deepEqual(colormap("ink")(0), [255, 255, 255, 255]);
 * ```
 */
export function colormap(name: "haze" | "dusk" | "ink" = "haze"): Colormap {
  const stops = RAMPS[name]?.map((c) => rgba(c));
  if (!stops) throw new Error(`colormap: unknown name "${name}"; use ${Object.keys(RAMPS).join(", ")}`);
  return (t) => {
    const u = Math.max(0, Math.min(1, Number.isFinite(t) ? t : 0)) * (stops.length - 1);
    const k = Math.min(stops.length - 2, Math.floor(u));
    const s = u - k;
    const mix = (ch: number) => Math.round(stops[k][ch] * (1 - s) + stops[k + 1][ch] * s);
    return [mix(0), mix(1), mix(2), mix(3)];
  };
}

/**
 * Ten distinct colours for categories (series, classes), chosen to stay apart from each other
 * and legible on white and on the pale colour maps.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { PALETTE } from "@wax/wax/models";
 * assert.equal(new Set(PALETTE).size, 10);
 * ```
 */
export const PALETTE: readonly Color[] = [
  "#d7263d",
  "#1b63c6",
  "#1e9e4a",
  "#f08c00",
  "#8e3fb5",
  "#00a6b8",
  "#e0509a",
  "#7a5230",
  "#4d4d4d",
  "#9aaa00",
];
