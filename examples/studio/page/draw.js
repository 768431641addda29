// Drawing pads: white strokes on black, read back as 28×28 grey pixels in [0, 1] (area averages),
// optionally normalised the way MNIST was (the ink's bounding box fitted into 20×20, its centre of
// mass moved to the middle of 28×28), which is what the VAE's encoder expects.
"use strict";

/** Area-averages an RGBA canvas down to 28×28 values in [0, 1] (red channel). */
function canvasTo28(canvas) {
  const { width: w, height: h } = canvas;
  const data = canvas.getContext("2d").getImageData(0, 0, w, h).data;
  const out = new Float32Array(784);
  const count = new Float32Array(784);
  for (let y = 0; y < h; y++) {
    const cy = Math.min(27, Math.floor((y * 28) / h));
    for (let x = 0; x < w; x++) {
      const i = cy * 28 + Math.min(27, Math.floor((x * 28) / w));
      out[i] += data[(y * w + x) * 4] / 255;
      count[i]++;
    }
  }
  return out.map((v, i) => v / count[i]);
}

/** MNIST's normalisation of a 28×28 drawing (see the header). */
function normalize28(px) {
  let [x0, y0, x1, y1] = [28, 28, -1, -1];
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      if (px[y * 28 + x] > 0.05) {
        [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
      }
    }
  }
  if (x1 < 0) return px;
  const scale = 20 / Math.max(x1 - x0 + 1, y1 - y0 + 1);
  // Resample the box into a scaled image (bilinear), then shift its centre of mass to (14, 14).
  const sw = Math.max(1, Math.round((x1 - x0 + 1) * scale)), sh = Math.max(1, Math.round((y1 - y0 + 1) * scale));
  const box = new Float32Array(sw * sh);
  const at = (x, y) => (x < 0 || y < 0 || x > 27 || y > 27 ? 0 : px[y * 28 + x]);
  for (let y = 0; y < sh; y++) {
    for (let x = 0; x < sw; x++) {
      const sx = x0 + (x + 0.5) / scale - 0.5, sy = y0 + (y + 0.5) / scale - 0.5;
      const fx = Math.floor(sx), fy = Math.floor(sy), ax = sx - fx, ay = sy - fy;
      box[y * sw + x] = (1 - ay) * ((1 - ax) * at(fx, fy) + ax * at(fx + 1, fy)) +
        ay * ((1 - ax) * at(fx, fy + 1) + ax * at(fx + 1, fy + 1));
    }
  }
  let [m, mx, my] = [0, 0, 0];
  for (let y = 0; y < sh; y++) {
    for (let x = 0; x < sw; x++) {
      [m, mx, my] = [m + box[y * sw + x], mx + x * box[y * sw + x], my + y * box[y * sw + x]];
    }
  }
  const ox = Math.round(14 - (m ? mx / m : sw / 2) - 0.5), oy = Math.round(14 - (m ? my / m : sh / 2) - 0.5);
  const out = new Float32Array(784);
  for (let y = 0; y < sh; y++) {
    for (let x = 0; x < sw; x++) {
      const tx = x + ox, ty = y + oy;
      if (tx >= 0 && ty >= 0 && tx < 28 && ty < 28) out[ty * 28 + tx] = Math.min(1, box[y * sw + x]);
    }
  }
  return out;
}

/**
 * Makes a canvas a drawing pad. `onchange` runs when a stroke ends.
 * Returns { pixels(), normalized(), clear(), empty() }.
 */
function makePad(canvas, onchange = () => {}) {
  const ctx = canvas.getContext("2d");
  const brush = canvas.width / 12;
  let drawn = false, last = null;
  const wrap = canvas.parentElement.classList.contains("pad-wrap") ? canvas.parentElement : null;
  const clear = () => {
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    drawn = false;
    wrap?.classList.remove("drawn");
  };
  clear();
  const point = (e) => {
    const r = canvas.getBoundingClientRect();
    return [((e.clientX - r.left) * canvas.width) / r.width, ((e.clientY - r.top) * canvas.height) / r.height];
  };
  const stroke = (a, b) => {
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = brush;
    ctx.lineCap = ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(a[0], a[1]);
    ctx.lineTo(b[0], b[1]);
    ctx.stroke();
    drawn = true;
    wrap?.classList.add("drawn");
  };
  canvas.addEventListener("pointerdown", (e) => {
    canvas.setPointerCapture(e.pointerId);
    last = point(e);
    stroke(last, [last[0] + 0.01, last[1]]);
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!last) return;
    const p = point(e);
    stroke(last, p);
    last = p;
  });
  const end = () => {
    if (!last) return;
    last = null;
    onchange();
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  return {
    pixels: () => canvasTo28(canvas),
    normalized: () => normalize28(canvasTo28(canvas)),
    clear,
    empty: () => !drawn,
    /** Draws a stroke through points given in 28×28 coordinates (for scripted drawing). */
    polyline(points) {
      const k = canvas.width / 28;
      for (let i = 1; i < points.length; i++) {
        stroke([points[i - 1][0] * k, points[i - 1][1] * k], [points[i][0] * k, points[i][1] * k]);
      }
      onchange();
    },
  };
}

/** Paints 28×28 values in [0, 1] into a canvas, scaled (nearest), with an optional mask shading. */
function paint28(canvas, px, mask) {
  const ctx = canvas.getContext("2d");
  const k = canvas.width / 28;
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      const g = Math.round(px[y * 28 + x] * 255);
      const kept = !mask || mask[y * 28 + x] > 0;
      ctx.fillStyle = kept ? `rgb(${g},${g},${g})` : `rgb(${30 + g * 0.25},${34 + g * 0.25},${48 + g * 0.25})`;
      ctx.fillRect(x * k, y * k, k, k);
    }
  }
}

globalThis.makePad = makePad;
globalThis.paint28 = paint28;
