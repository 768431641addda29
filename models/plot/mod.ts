/**
 * The project's one small plotting module, on pngjs: an RGBA `Canvas` (anti-aliased lines,
 * polygons, circles, markers, arrows, bitmap text), `Plot` (axes with tick labels, line plots
 * with log axes, scatter plots coloured by label with a legend, filled contours with
 * contour lines, arrow fields), and atomic PNG writes.
 *
 * @example A scatter plot of 2-d codes coloured by class
 * ```ts
 * import assert from "node:assert";
 * import { Plot } from "@wax/wax/models";
 * const plot = new Plot({ title: "codes" }).scatter([0, 1, 2], [2, 0, 1], { labels: [0, 1, 1], names: ["zero", "one"] });
 * const canvas = plot.toCanvas({ width: 300, height: 200 });
 * assert.equal(canvas.width, 300);
 * ```
 * @module
 */
export * from "./raster.ts";
export * from "./font.ts";
export * from "./axis.ts";
export * from "./contour.ts";
export * from "./plot.ts";
export type {
  ArrowFieldOptions,
  ContourOptions,
  Frame,
  LineOptions,
  PointMarkerOptions,
  ScatterOptions,
} from "./series.ts";
export * from "./png.ts";
export * from "./quantize.ts";
