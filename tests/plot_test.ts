// The plotting module, checked by reading pixels back against geometry worked out by hand.
import assert from "node:assert/strict";
import {
  Canvas,
  contourLevels,
  contourSegments,
  decodePng,
  encodePng,
  formatTick,
  gridPoints,
  Plot,
  type Point,
  readPng,
  renderPanels,
  type Rgba,
  savePng,
  Scale,
} from "../models/plot/mod.ts";

const isDark = ([r, g, b]: Rgba) => r + g + b < 200;
const isRed = ([r, g, b]: Rgba) => r > 180 && g < 110 && b < 110;
const isBlue = ([r, g, b]: Rgba) => b > 180 && r < 110 && g < 110;
const isWhite = ([r, g, b]: Rgba) => r === 255 && g === 255 && b === 255;

/** Pixels of a canvas matching a predicate, as pixel-centre coordinates. */
function pixels(c: Canvas, pred: (p: Rgba) => boolean): Point[] {
  const out: Point[] = [];
  for (let y = 0; y < c.height; y++) {
    for (let x = 0; x < c.width; x++) if (pred(c.get(x, y))) out.push([x + 0.5, y + 0.5]);
  }
  return out;
}

/** The unit direction of the principal axis of a point cloud (2-d PCA). */
function principalAxis(pts: Point[]): Point {
  const n = pts.length;
  const [mx, my] = [pts.reduce((a, p) => a + p[0], 0) / n, pts.reduce((a, p) => a + p[1], 0) / n];
  let [sxx, sxy, syy] = [0, 0, 0];
  for (const [x, y] of pts) [sxx, sxy, syy] = [sxx + (x - mx) ** 2, sxy + (x - mx) * (y - my), syy + (y - my) ** 2];
  const t = 0.5 * Math.atan2(2 * sxy, sxx - syy);
  return [Math.cos(t), Math.sin(t)];
}

const angleDeg = (a: Point, b: Point) =>
  (Math.acos(Math.abs(a[0] * b[0] + a[1] * b[1]) / Math.hypot(...a) / Math.hypot(...b)) * 180) / Math.PI;

Deno.test("plot: a line between two points colours the pixels on it and none far from it", () => {
  const c = new Canvas(60, 40);
  const [a, b]: Point[] = [[5.5, 5.5], [54.5, 33.5]];
  c.line(a, b, { color: "#000", width: 2 });
  for (let t = 0; t <= 1; t += 0.02) {
    const [x, y] = [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])];
    assert.ok(isDark(c.get(Math.floor(x), Math.floor(y))), `pixel on the line at (${x}, ${y}) is not dark`);
  }
  // Each inked pixel's centre is within half the width + ½ of the segment.
  const [dx, dy] = [b[0] - a[0], b[1] - a[1]];
  for (const [x, y] of pixels(c, (p) => !isWhite(p))) {
    const t = Math.max(0, Math.min(1, ((x - a[0]) * dx + (y - a[1]) * dy) / (dx * dx + dy * dy)));
    assert.ok(Math.hypot(x - a[0] - t * dx, y - a[1] - t * dy) < 1.51, `stray pixel at (${x}, ${y})`);
  }
});

Deno.test("plot: a filled polygon covers its area and a circle covers πr²", () => {
  const c = new Canvas(40, 40);
  c.polygon([[4, 4], [14, 4], [14, 10], [4, 10]], "#000");
  assert.ok(isDark(c.get(8, 6)) && isWhite(c.get(15, 6)) && isWhite(c.get(8, 11)));
  const ink = (x0: number, x1: number) => {
    let s = 0;
    for (let y = 0; y < 40; y++) for (let x = x0; x < x1; x++) s += 1 - c.get(x, y)[0] / 255;
    return s;
  };
  assert.ok(Math.abs(ink(0, 18) - 60) < 0.5, `rectangle ink ${ink(0, 18)}, expected 60`);
  c.circle([29, 20], 6, { fill: "#000" });
  const disc = ink(18, 40);
  assert.ok(Math.abs(disc - Math.PI * 36) / (Math.PI * 36) < 0.02, `disc ink ${disc}, expected ${Math.PI * 36}`);
});

Deno.test("plot: text renders in the glyph's pixels (T: a bar over a stem), upright and rotated", () => {
  const c = new Canvas(40, 30);
  c.text("T", [10, 5], { color: "#000" });
  for (let x = 10; x < 15; x++) assert.ok(isDark(c.get(x, 5)), `top bar at x=${x}`);
  for (let y = 6; y < 12; y++) assert.ok(isDark(c.get(12, y)), `stem at y=${y}`);
  for (const [x, y] of [[10, 6], [14, 11], [11, 8], [13, 8], [9, 5], [15, 5], [12, 12]]) {
    assert.ok(isWhite(c.get(x, y)), `(${x}, ${y}) should be blank`);
  }
  assert.equal(pixels(c, isDark).length, 5 + 6);
  // Rotated a quarter turn counter-clockwise: the bar becomes the left column, the stem points right.
  const r = new Canvas(40, 30);
  r.text("T", [10, 20], { color: "#000", vertical: true });
  for (let y = 15; y < 20; y++) assert.ok(isDark(r.get(10, y)), `bar at y=${y}`);
  for (let x = 11; x < 17; x++) assert.ok(isDark(r.get(x, 17)), `stem at x=${x}`);
  assert.equal(pixels(r, isDark).length, 11);
  // Scale 2 doubles every glyph pixel.
  const s = new Canvas(40, 30);
  s.text("T", [0, 0], { color: "#000", scale: 2 });
  assert.equal(pixels(s, isDark).length, 4 * 11);
});

Deno.test("plot: a contour of x² + y² = r² lies at radius r", () => {
  const n = 81;
  const g = gridPoints({ nx: n, ny: n, x: [-2, 2], y: [-2, 2] });
  const values = g.xs.map((x, i) => x * x + g.ys[i] ** 2);
  const r = 1.3;
  const plot = new Plot({ x: [-2, 2], y: [-2, 2], aspect: "equal", grid: false })
    .contour({ values, nx: n, ny: n, x: [-2, 2], y: [-2, 2] }, { levels: [r * r], fill: false, lineColor: "#f00" });
  const c = new Canvas(320, 320);
  const frame = plot.render(c);
  const [cx, cy] = frame.toPixel([0, 0]);
  const R = frame.x.toPx(r) - cx;
  assert.ok(Math.abs(R - (cy - frame.y.toPx(r))) < 1e-9, "equal aspect: same pixels per unit on both axes");
  const red = pixels(c, ([r, g, b]) => r > 200 && g < 230 && b < 230);
  assert.ok(red.length > 2 * Math.PI * R, `only ${red.length} contour pixels for a circle of ${R.toFixed(1)} px`);
  for (const [x, y] of red) {
    const d = Math.hypot(x - cx, y - cy);
    assert.ok(Math.abs(d - R) <= 1.5, `contour pixel at distance ${d.toFixed(2)} px, expected ${R.toFixed(2)} ± 1.5`);
  }
});

Deno.test("plot: a gradient arrow is perpendicular to the rendered contour, also on unequal axes", () => {
  // f = x² + 4y² on a frame where a y unit is longer than an x unit; at (1, 0.5), f = 2, ∇f = (2, 4).
  const n = 121;
  const g = gridPoints({ nx: n, ny: n, x: [-2, 2], y: [-1, 1] });
  const values = g.xs.map((x, i) => x * x + 4 * g.ys[i] ** 2);
  const measure = (gradient: boolean) => {
    const plot = new Plot({ x: [-2, 2], y: [-1, 1], grid: false })
      .contour({ values, nx: n, ny: n, x: [-2, 2], y: [-1, 1] }, { levels: [2], fill: false, lineColor: "#f00" })
      .arrows([[1, 0.5]], [[2, 4]], { gradient, anchor: "tail", length: 40, color: "#00f", width: 2 });
    const c = new Canvas(420, 330);
    const frame = plot.render(c);
    assert.ok(Math.abs(frame.x.slope(0) - frame.y.slope(0) * -1) > 30, "the axes must have different scales");
    const tail = frame.toPixel([1, 0.5]);
    const near = (p: Point, d: number) => Math.hypot(p[0] - tail[0], p[1] - tail[1]) < d;
    const tangent = principalAxis(pixels(c, isRed).filter((p) => near(p, 25)));
    const arrow = pixels(c, isBlue);
    assert.ok(arrow.length > 40, "the arrow was drawn");
    return angleDeg(principalAxis(arrow), tangent);
  };
  const a = measure(true);
  assert.ok(Math.abs(a - 90) < 3, `gradient arrow meets the contour at ${a.toFixed(1)}°, expected 90°`);
  // Mapping the gradient like a displacement (the mistake `gradient: true` avoids) is visibly off.
  assert.ok(Math.abs(measure(false) - 90) > 10);
});

Deno.test("plot: a scatter point lands at its data coordinates", () => {
  const plot = new Plot({ x: [0, 10], y: [0, 5], grid: false }).scatter([3], [4], { color: "#00f", size: 3, alpha: 1 });
  const c = new Canvas(300, 200);
  const { rect } = plot.render(c);
  // Where (3, 4) must land, from the axes rectangle alone.
  const [ex, ey] = [rect.x + (3 / 10) * rect.width, rect.y + (1 - 4 / 5) * rect.height];
  const blue = pixels(c, isBlue);
  const [mx, my] = [blue.reduce((a, p) => a + p[0], 0) / blue.length, blue.reduce((a, p) => a + p[1], 0) / blue.length];
  assert.ok(
    blue.length > 15 && Math.hypot(mx - ex, my - ey) < 0.75,
    `point at (${mx}, ${my}), expected (${ex}, ${ey})`,
  );
});

Deno.test("plot: a log-y line through decades is straight; the legend does not cover the data", () => {
  const plot = new Plot({ x: [0, 1], y: [1e-3, 1e3], logY: true, grid: false })
    .line([0, 1], [1e-3, 1e3], { color: "#f00", width: 2, label: "a long legend entry" });
  const c = new Canvas(300, 240);
  const { rect, toPixel } = plot.render(c);
  // Half-way in x is 1 (half-way in decades), i.e. the middle of the frame.
  assert.ok(isRed(c.get(Math.floor(rect.x + rect.width / 2), Math.floor(rect.y + rect.height / 2))));
  for (let t = 0.03; t < 0.97; t += 0.01) {
    const [x, y] = toPixel([t, 10 ** (-3 + 6 * t)]);
    assert.ok(isRed(c.get(Math.floor(x), Math.floor(y))), `line pixel at t=${t.toFixed(2)} covered or missing`);
  }
  // The legend went to a corner the line does not cross: its red swatch lies far from the line.
  const [p0, p1] = [toPixel([0, 1e-3]), toPixel([1, 1e3])];
  const lineY = (x: number) => p0[1] + ((x - p0[0]) * (p1[1] - p0[1])) / (p1[0] - p0[0]);
  const swatches = pixels(c, isRed).filter(([x, y]) => Math.abs(y - lineY(x)) > 30);
  assert.ok(swatches.length > 10, "a legend swatch away from the line");
});

Deno.test("plot: ticks and their labels", () => {
  const lin = new Scale([0, 1], [0, 100]).ticks(5).map((t) => t.label);
  assert.deepEqual(lin, ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
  assert.deepEqual(new Scale([-1, 1], [0, 100]).ticks(2).map((t) => t.label), ["-1", "0", "1"]);
  const log = new Scale([1e-3, 10], [0, 100], { log: true }).ticks(6).filter((t) => t.major).map((t) => t.label);
  assert.deepEqual(log, ["0.001", "0.01", "0.1", "1", "10"]);
  assert.deepEqual([formatTick(1.5e5, 5e4), formatTick(-2.5, 0.5), formatTick(1e-6, 1e-6)], ["1.5e5", "-2.5", "1e-6"]);
  assert.throws(() => new Scale([0, 1], [0, 1], { log: true }), /log scale needs a positive domain/);
});

Deno.test("plot: marching squares and contour levels", () => {
  // f = x on [0, 1]²: the level 0.25 is the vertical line x = 0.25.
  const f = { values: [0, 1, 0, 1], nx: 2, ny: 2, x: [0, 1] as [number, number], y: [0, 1] as [number, number] };
  assert.deepEqual(contourSegments(f, 0.25), [[[0.25, 0], [0.25, 1]]]);
  const lv = contourLevels(0, 1000, { count: 3, log: true, decades: 3 });
  assert.deepEqual(lv.map((v) => Math.round(v * 1e6) / 1e6), [1, 10, 100]);
});

Deno.test("plot: PNGs decode to the right size and pixels; indexed colour round-trips", () => {
  const c = new Canvas(37, 23, "#102030");
  c.line([0, 0], [37, 23], { color: "#f80", width: 3 });
  const back = decodePng(encodePng(c));
  assert.deepEqual([back.width, back.height], [37, 23]);
  assert.deepEqual(back.data, c.data);
  const few = decodePng(encodePng(c, { colors: 256 }));
  assert.deepEqual(few.data, c.data, "a picture with under 256 colours is kept exactly");
  // 4096 colours squeezed into 16: right size, every pixel near its original.
  const many = new Canvas(64, 64);
  for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) many.blend(x, y, [x * 4, y * 4, 128, 255]);
  const q = decodePng(encodePng(many, { colors: 16 }));
  assert.deepEqual([q.width, q.height], [64, 64]);
  let worst = 0;
  for (let i = 0; i < many.data.length; i++) worst = Math.max(worst, Math.abs(many.data[i] - q.data[i]));
  assert.ok(worst <= 48, `quantization error ${worst}`);
  assert.throws(() => encodePng(many, { colors: 300 }), /colors must be an integer in \[2, 256\]/);
});

Deno.test("plot: the atomic write leaves no temp file, replaces the old picture, and cleans up on failure", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/p.png`;
    await savePng(path, new Canvas(5, 4));
    await new Plot().line([0, 1], [1, 0]).save(path, { width: 50, height: 40 });
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names, ["p.png"]);
    assert.equal((await readPng(path)).width, 50);
    await assert.rejects(() => savePng(`${dir}/missing/p.png`, new Canvas(2, 2)));
    const after = [];
    for await (const e of Deno.readDir(dir)) after.push(e.name);
    assert.deepEqual(after, ["p.png"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("plot: panels sit side by side and errors name the call", () => {
  const a = new Plot({ title: "a" }).line([0, 1], [0, 1], { color: "#f00" });
  const b = new Plot({ title: "b" }).line([0, 1], [0, 1], { color: "#00f" });
  const c = renderPanels([a, b], { width: [200, 100], height: 120 });
  assert.deepEqual([c.width, c.height], [300, 120]);
  assert.ok(pixels(c, isRed).every(([x]) => x < 200) && pixels(c, isBlue).every(([x]) => x >= 200));
  assert.throws(() => new Plot().line([0, 1], [0]), /Plot.line: lengths differ \(2 vs 1\)/);
  assert.throws(() => new Canvas(0, 3), /Canvas: width and height must be positive integers/);
});
