/**
 * The `lax` helpers (convolutions, conv transpose, windows, dynamic slices, scan) against plain loops written here.
 */
import assert from "node:assert/strict";
import { type Array, assertAllclose, lax, np } from "../mod.ts";

import { eq, idx, rnd, size, tol } from "./_np_util.ts";
// ---------------------------------------------------------------- lax: conv
function padsSame(n: number, k: number, s: number): [number, number] {
  const out = Math.ceil(n / s);
  const total = Math.max((out - 1) * s + k - n, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}
/** NHWC input, HWIO kernel, explicit padding, cross-correlation, plain loop. */
function convLoop(
  x: number[],
  [N, H, W, C]: number[],
  w: number[],
  [KH, KW, , O]: number[],
  s: [number, number],
  pad: [[number, number], [number, number]],
): [number[], number[]] {
  const OH = Math.floor((H + pad[0][0] + pad[0][1] - KH) / s[0]) + 1;
  const OW = Math.floor((W + pad[1][0] + pad[1][1] - KW) / s[1]) + 1;
  const out = new globalThis.Array(N * OH * OW * O).fill(0);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        for (let o = 0; o < O; o++) {
          let acc = 0;
          for (let kh = 0; kh < KH; kh++) {
            for (let kw = 0; kw < KW; kw++) {
              const ih = oh * s[0] + kh - pad[0][0];
              const iw = ow * s[1] + kw - pad[1][0];
              if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
              for (let c = 0; c < C; c++) {
                acc += x[idx([N, H, W, C], n, ih, iw, c)] * w[idx([KH, KW, C, O], kh, kw, c, o)];
              }
            }
          }
          out[idx([N, OH, OW, O], n, oh, ow, o)] = acc;
        }
      }
    }
  }
  return [out, [N, OH, OW, O]];
}
const NHWC: [string, string, string] = ["NHWC", "HWIO", "NHWC"];

Deno.test("lax.convGeneralDilated NHWC/HWIO, SAME and VALID, strides, against a loop", async () => {
  const xs = [2, 5, 6, 3];
  const ws = [3, 2, 3, 4];
  const X = rnd(size(xs), 11);
  const Wt = rnd(size(ws), 12);
  const x = np.array(X, { shape: xs });
  const w = np.array(Wt, { shape: ws });
  for (const strides of [[1, 1], [2, 2], [2, 1]] as [number, number][]) {
    for (const padding of ["SAME", "VALID"] as const) {
      const pad: [[number, number], [number, number]] = padding === "VALID"
        ? [[0, 0], [0, 0]]
        : [padsSame(5, 3, strides[0]), padsSame(6, 2, strides[1])];
      const [want, shape] = convLoop(X, xs, Wt, ws, strides, pad);
      const y = lax.convGeneralDilated(x, w, { strides, padding, dimensionNumbers: NHWC });
      assert.deepEqual(y.shape, shape, `${padding} ${strides}`);
      if (padding === "SAME") {
        assert.deepEqual(shape.slice(1, 3), [Math.ceil(5 / strides[0]), Math.ceil(6 / strides[1])]);
      }
      await assertAllclose(y, want, { atol: 1e-5, rtol: 1e-5 }, `${padding} ${strides}`);
    }
  }
  // explicit padding, and the default NCHW/OIHW layout gives the same numbers after transposes
  const [want, shape] = convLoop(X, xs, Wt, ws, [1, 1], [[1, 0], [2, 1]]);
  const yE = lax.convGeneralDilated(x, w, { padding: [[1, 0], [2, 1]], dimensionNumbers: NHWC });
  await assertAllclose(yE, want, tol);
  const yN = lax.convGeneralDilated(np.transpose(x, [0, 3, 1, 2]), np.transpose(w, [3, 2, 0, 1]), {
    padding: [[1, 0], [2, 1]],
  });
  assert.deepEqual(np.transpose(yN, [0, 2, 3, 1]).shape, shape);
  await assertAllclose(np.transpose(yN, [0, 2, 3, 1]), want, tol);
});

/**
 * Transposed convolution as a scatter: every input pixel adds `x · kernel` into the output at
 * `stride · i + k - crop` (the kernel is spatially flipped unless `transposeKernel`, JAX's default).
 */
function convTransposeLoop(
  x: number[],
  [N, H, W, C]: number[],
  w: number[],
  ws: number[],
  s: number,
  padding: "SAME" | "VALID",
  transposeKernel: boolean,
): [number[], number[]] {
  const K = ws[0];
  const O = transposeKernel ? ws[2] : ws[3];
  const lo = padding === "SAME" ? (s > K - 1 ? K - 1 : Math.ceil((K + s - 2) / 2)) : K - 1;
  const crop = K - 1 - lo;
  const [OH, OW] = padding === "SAME" ? [H * s, W * s] : [H * s + Math.max(K - s, 0), W * s + Math.max(K - s, 0)];
  const out = new globalThis.Array(N * OH * OW * O).fill(0);
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < H; i++) {
      for (let j = 0; j < W; j++) {
        for (let kh = 0; kh < K; kh++) {
          for (let kw = 0; kw < K; kw++) {
            const oh = s * i + kh - crop;
            const ow = s * j + kw - crop;
            if (oh < 0 || oh >= OH || ow < 0 || ow >= OW) continue;
            for (let c = 0; c < C; c++) {
              for (let o = 0; o < O; o++) {
                const wv = transposeKernel ? w[idx(ws, kh, kw, o, c)] : w[idx(ws, K - 1 - kh, K - 1 - kw, c, o)];
                out[idx([N, OH, OW, O], n, oh, ow, o)] += x[idx([N, H, W, C], n, i, j, c)] * wv;
              }
            }
          }
        }
      }
    }
  }
  return [out, [N, OH, OW, O]];
}

Deno.test("lax.convTranspose against a scatter loop (SAME/VALID, strides, transposeKernel)", async () => {
  const xs = [2, 3, 4, 2];
  const X = rnd(size(xs), 21);
  for (const K of [3, 4]) {
    for (const s of [1, 2]) {
      for (const padding of ["SAME", "VALID"] as const) {
        for (const transposeKernel of [false, true]) {
          const ws = transposeKernel ? [K, K, 3, 2] : [K, K, 2, 3];
          const Wt = rnd(size(ws), 22 + K);
          const [want, shape] = convTransposeLoop(X, xs, Wt, ws, s, padding, transposeKernel);
          const y = lax.convTranspose(np.array(X, { shape: xs }), np.array(Wt, { shape: ws }), {
            strides: [s, s],
            padding,
            dimensionNumbers: NHWC,
            transposeKernel,
          });
          const what = `K=${K} s=${s} ${padding} tk=${transposeKernel}`;
          assert.deepEqual(y.shape, shape, what);
          await assertAllclose(y, want, { atol: 1e-5, rtol: 1e-5 }, what);
        }
      }
    }
  }
});

Deno.test("lax.reduceWindow max/sum with strides and padding, against a loop", async () => {
  const xs = [1, 5, 6, 2];
  const X = rnd(size(xs), 31);
  const x = np.array(X, { shape: xs });
  const loop = (op: "max" | "sum", k: number[], s: number[], pad: [number, number][]) => {
    const os = xs.map((n, i) => Math.floor((n + pad[i][0] + pad[i][1] - k[i]) / s[i]) + 1);
    const out: number[] = [];
    for (let a = 0; a < os[0]; a++) {
      for (let b = 0; b < os[1]; b++) {
        for (let c = 0; c < os[2]; c++) {
          for (let d = 0; d < os[3]; d++) {
            let acc = op === "max" ? -Infinity : 0;
            for (let i = 0; i < k[1]; i++) {
              for (let j = 0; j < k[2]; j++) {
                const h = b * s[1] + i - pad[1][0];
                const w = c * s[2] + j - pad[2][0];
                if (h < 0 || h >= xs[1] || w < 0 || w >= xs[2]) continue;
                const v = X[idx(xs, a, h, w, d)];
                acc = op === "max" ? Math.max(acc, v) : acc + v;
              }
            }
            out.push(acc);
          }
        }
      }
    }
    return [out, os] as const;
  };
  for (const op of ["max", "sum"] as const) {
    const [w1, s1] = loop(op, [1, 2, 2, 1], [1, 2, 2, 1], [[0, 0], [0, 0], [0, 0], [0, 0]]);
    const y1 = lax.reduceWindow(x, op, [1, 2, 2, 1]);
    assert.deepEqual(y1.shape, s1);
    await assertAllclose(y1, w1, tol, `${op} 2x2`);
    const pads: [number, number][] = [[0, 0], padsSame(5, 3, 2), padsSame(6, 3, 2), [0, 0]];
    const [w2, s2] = loop(op, [1, 3, 3, 1], [1, 2, 2, 1], pads);
    const y2 = lax.reduceWindow(x, op, [1, 3, 3, 1], { strides: [1, 2, 2, 1], padding: "SAME" });
    assert.deepEqual(y2.shape, s2);
    await assertAllclose(y2, w2, tol, `${op} 3x3 SAME`);
    const [w3, s3] = loop(op, [1, 3, 2, 1], [1, 1, 1, 1], [[0, 0], [0, 0], [0, 0], [0, 0]]);
    const y3 = lax.reduceWindow(x, op, [1, 3, 2, 1], { strides: [1, 1, 1, 1] });
    assert.deepEqual(y3.shape, s3);
    await assertAllclose(y3, w3, tol, `${op} overlapping`);
  }
});

Deno.test("lax.dynamicSlice / dynamicUpdateSlice (with clamping) and slice", async () => {
  const x = np.arange(20).reshape(4, 5);
  await eq(lax.dynamicSlice(x, [1, 2], [2, 2]), [[7, 8], [12, 13]]);
  await eq(lax.dynamicSlice(x, [np.array(2, { dtype: "int32" }), 0], [2, 3]), [[10, 11, 12], [15, 16, 17]]);
  // starts are clamped so the window fits (XLA semantics)
  await eq(lax.dynamicSlice(x, [3, 4], [2, 2]), [[13, 14], [18, 19]]);
  await eq(lax.dynamicSlice(x, [-3, 0], [1, 2]), [[0, 1]]);
  const u = lax.dynamicUpdateSlice(x, np.array([[-1, -2]], { dtype: "int32" }), [1, 1]);
  await eq(u, [[0, 1, 2, 3, 4], [5, -1, -2, 8, 9], [10, 11, 12, 13, 14], [15, 16, 17, 18, 19]]);
  const uc = lax.dynamicUpdateSlice(np.zeros([3]), np.ones([2]), [np.array(5, { dtype: "int32" })]);
  await eq(uc, [0, 1, 1]);
  await eq(lax.slice(x, [0, 1], [4, 5], [2, 2]), [[1, 3], [11, 13]]);
});

Deno.test("lax.scan with pytrees and reverse, against a loop", async () => {
  const xsU = [1, 2, 3, 4];
  const xsV = [[1, 0], [0, 1], [2, 2], [-1, 3]];
  const body = (c: { a: Array; b: [Array] }, x: { u: Array; v: Array }): [{ a: Array; b: [Array] }, Array[]] => {
    const a = c.a.mul(0.5).add(x.u);
    const b = c.b[0].add(x.v.mul(c.a));
    return [{ a, b: [b] }, [a, b.sum()]];
  };
  const host = (reverse: boolean) => {
    let a = 1;
    let b = [0, 0];
    const ya: number[] = [];
    const yb: number[] = [];
    const order = reverse ? [3, 2, 1, 0] : [0, 1, 2, 3];
    const outA = new globalThis.Array(4);
    const outB = new globalThis.Array(4);
    for (const t of order) {
      const na = a * 0.5 + xsU[t];
      b = b.map((bi, k) => bi + xsV[t][k] * a);
      a = na;
      outA[t] = a;
      outB[t] = b[0] + b[1];
    }
    ya.push(...outA);
    yb.push(...outB);
    return { a, b, ya, yb };
  };
  for (const reverse of [false, true]) {
    const [c, ys] = lax.scan(body, { a: np.array(1), b: [np.zeros([2])] }, { u: np.array(xsU), v: np.array(xsV) }, {
      reverse,
    });
    const h = host(reverse);
    await assertAllclose(c.a, h.a, tol);
    await assertAllclose(c.b[0], h.b, tol);
    await assertAllclose(ys[0], h.ya, tol);
    await assertAllclose(ys[1], h.yb, tol);
  }
  // xs = null with a length
  const [n, ys] = lax.scan((c: Array, _x: null) => [c.add(1), c.mul(2)], np.array(0), null, { length: 3 });
  await eq(n, 3);
  await eq(ys, [0, 2, 4]);
});
