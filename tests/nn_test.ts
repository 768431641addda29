import assert from "node:assert/strict";
import { type Array, assertAllclose, checkGrads, grad, jit, np, random, vmap } from "../mod.ts";
import * as nn from "../nn/mod.ts";

const host = async (a: Array) => globalThis.Array.from(await a.data());
const rnd = (seed: number, shape: number[]) => random.normal(random.key(seed), shape);
const idx = (shape: number[]) => (...i: number[]) => i.reduce((f, v, k) => f * shape[k] + v, 0);

Deno.test("dense matches a plain loop", async () => {
  const fc = nn.dense(3);
  const { params, outputShape } = fc.init(random.key(0), [2, 4]);
  assert.deepEqual(outputShape, [2, 3]);
  const x = rnd(1, [2, 4]);
  const [xs, ws, bs] = [await host(x), await host(params.w), await host(params.b!)];
  const want: number[] = [];
  for (let n = 0; n < 2; n++) {
    for (let o = 0; o < 3; o++) {
      let s = bs[o];
      for (let i = 0; i < 4; i++) s += xs[n * 4 + i] * ws[i * 3 + o];
      want.push(s);
    }
  }
  await assertAllclose(fc.apply(params, x), want, { atol: 1e-5 });
  assert.equal(nn.dense(2, { useBias: false }).init(random.key(0), [1, 3]).params.b, null);
});

/** Cross-correlation of NCHW `x` with OIHW `w`, by loops: stride s, padding [pt, pl]. */
async function convLoop(x: Array, w: Array, s: number, pads: [number, number], outHW: [number, number]) {
  const [N, C, H, W] = x.shape;
  const [O, , KH, KW] = w.shape;
  const [xs, ws] = [await host(x), await host(w)];
  const [xi, wi] = [idx(x.shape), idx(w.shape)];
  const out: number[] = [];
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      for (let p = 0; p < outHW[0]; p++) {
        for (let q = 0; q < outHW[1]; q++) {
          let acc = 0;
          for (let c = 0; c < C; c++) {
            for (let a = 0; a < KH; a++) {
              for (let b = 0; b < KW; b++) {
                const [h, v] = [p * s + a - pads[0], q * s + b - pads[1]];
                if (h >= 0 && h < H && v >= 0 && v < W) acc += xs[xi(n, c, h, v)] * ws[wi(o, c, a, b)];
              }
            }
          }
          out.push(acc);
        }
      }
    }
  }
  return out;
}

Deno.test("conv2d matches a plain loop (stride 2 SAME, explicit padding)", async () => {
  const x = rnd(2, [2, 3, 7, 7]);
  const conv = nn.conv2d(4, 3, { stride: 2, padding: "SAME" });
  const { params, outputShape } = conv.init(random.key(3), x.shape);
  assert.deepEqual(outputShape, [2, 4, 4, 4]);
  const bias = await host(params.b!);
  const loop = await convLoop(x, params.w, 2, [1, 1], [4, 4]);
  const plus = loop.map((v, i) => v + bias[Math.floor(i / 16) % 4]);
  await assertAllclose(conv.apply(params, x), plus, { atol: 1e-4 });
  const c2 = nn.conv2d(2, [2, 3], { padding: 1, useBias: false });
  const p2 = c2.init(random.key(4), x.shape).params;
  await assertAllclose(c2.apply(p2, x), await convLoop(x, p2.w, 1, [1, 1], [8, 7]), { atol: 1e-4 });
});

Deno.test("convTranspose2d: DCGAN shapes 7→7→14→28 and a PyTorch-style scatter loop", async () => {
  const gen = nn.serial({
    up0: nn.convTranspose2d(16, 5, { stride: 1, padding: "SAME" }),
    up1: nn.convTranspose2d(8, 5, { stride: 2, padding: "SAME" }),
    up2: nn.convTranspose2d(1, 5, { stride: 2, padding: "SAME" }),
  });
  const { params, outputShape } = gen.init(random.key(0), [2, 32, 7, 7]);
  assert.deepEqual(outputShape, [2, 1, 28, 28]);
  assert.deepEqual(gen.apply(params, rnd(1, [2, 32, 7, 7])).shape, [2, 1, 28, 28]);
  assert.deepEqual(nn.convTranspose2d(3, 4, { stride: 2 }).init(random.key(0), [1, 2, 5, 5]).outputShape, [
    1,
    3,
    12,
    12,
  ]);

  // PyTorch ConvTranspose2d(padding p, output_padding op): y[i*s + a - p] += x[i] * k[a],
  // where our OIHW kernel is k with I/O swapped and the spatial axes flipped.
  const [s, p, op, K] = [2, 1, 1, 3];
  const layer = nn.convTranspose2d(2, K, { stride: s, padding: p, outputPadding: op });
  const x = rnd(5, [1, 3, 4, 4]);
  const { params: q, outputShape: os } = layer.init(random.key(6), x.shape);
  const Ho = (4 - 1) * s - 2 * p + K + op;
  assert.deepEqual(os, [1, 2, Ho, Ho]);
  const [xs, ws, bs] = [await host(x), await host(q.w), await host(q.b!)];
  const [xi, wi, yi] = [idx([1, 3, 4, 4]), idx([2, 3, K, K]), idx([1, 2, Ho, Ho])];
  const want = new Float64Array(2 * Ho * Ho);
  for (let o = 0; o < 2; o++) {
    for (let h = 0; h < Ho; h++) for (let v = 0; v < Ho; v++) want[yi(0, o, h, v)] = bs[o];
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < 4; i++) {
        for (let j = 0; j < 4; j++) {
          for (let a = 0; a < K; a++) {
            for (let b = 0; b < K; b++) {
              const [h, v] = [i * s + a - p, j * s + b - p];
              if (h < 0 || h >= Ho || v < 0 || v >= Ho) continue;
              want[yi(0, o, h, v)] += xs[xi(0, c, i, j)] * ws[wi(o, c, K - 1 - a, K - 1 - b)];
            }
          }
        }
      }
    }
  }
  await assertAllclose(layer.apply(q, x), want, { atol: 1e-4 });
});

Deno.test("maxPool and avgPool match loops (overlapping windows, SAME)", async () => {
  const x = rnd(7, [2, 2, 5, 5]);
  const xs = await host(x);
  const xi = idx(x.shape);
  const loop = (op: "max" | "avg", k: number, s: number, outN: number) => {
    const out: number[] = [];
    for (let n = 0; n < 2; n++) {
      for (let c = 0; c < 2; c++) {
        for (let p = 0; p < outN; p++) {
          for (let q = 0; q < outN; q++) {
            let acc = op === "max" ? -Infinity : 0;
            for (let a = 0; a < k; a++) {
              for (let b = 0; b < k; b++) {
                const [h, v] = [p * s + a, q * s + b];
                const val = h < 5 && v < 5 ? xs[xi(n, c, h, v)] : op === "max" ? -Infinity : 0;
                acc = op === "max" ? Math.max(acc, val) : acc + val / (k * k);
              }
            }
            out.push(acc);
          }
        }
      }
    }
    return out;
  };
  await assertAllclose(nn.maxPool(3, { stride: 1 }).apply(null, x), loop("max", 3, 1, 3));
  await assertAllclose(nn.avgPool(2, { stride: 1 }).apply(null, x), loop("avg", 2, 1, 4), { atol: 1e-6 });
  // SAME with window 2 stride 2 on 5: pads only at the high end.
  await assertAllclose(nn.maxPool(2, { padding: "SAME" }).apply(null, x), loop("max", 2, 2, 3));
  assert.deepEqual(nn.maxPool(2).init(random.key(0), [2, 2, 5, 5]).outputShape, [2, 2, 2, 2]);
});

Deno.test("batchNorm: batch statistics, running-state update, eval mode, jit", async () => {
  const bn = nn.batchNorm({ momentum: 0.8, eps: 1e-3 });
  const x = rnd(8, [4, 3, 2, 2]).mul(2).add(1);
  const { params, state } = bn.init(random.key(0), x.shape);
  const scale = np.array([1, 2, 0.5]);
  const bias = np.array([0, -1, 3]);
  const p = { scale, bias };
  const [y, next] = jit((p: nn.NormParams, s: nn.BatchNormState, x: Array) =>
    bn.apply(p, x, { training: true, state: s })
  )(
    p,
    state,
    x,
  );
  const xs = await host(x);
  const xi = idx(x.shape);
  const [sc, bi] = [await host(scale), await host(bias)];
  const wantY = new Float64Array(xs.length);
  const [means, vars] = [[] as number[], [] as number[]];
  for (let c = 0; c < 3; c++) {
    const vals: number[] = [];
    for (let n = 0; n < 4; n++) for (let h = 0; h < 2; h++) for (let w = 0; w < 2; w++) vals.push(xs[xi(n, c, h, w)]);
    const m = vals.reduce((a, b) => a + b) / vals.length;
    const v = vals.reduce((a, b) => a + (b - m) ** 2, 0) / vals.length;
    means.push(m);
    vars.push(v);
    for (let n = 0; n < 4; n++) {
      for (let h = 0; h < 2; h++) {
        for (let w = 0; w < 2; w++) {
          wantY[xi(n, c, h, w)] = ((xs[xi(n, c, h, w)] - m) / Math.sqrt(v + 1e-3)) * sc[c] + bi[c];
        }
      }
    }
  }
  await assertAllclose(y, wantY, { atol: 1e-4 });
  await assertAllclose(next.mean, means.map((m) => 0.2 * m), { atol: 1e-5 });
  await assertAllclose(next.var, vars.map((v) => 0.8 + 0.2 * v), { atol: 1e-5 });
  // Eval mode uses the running statistics and returns the state unchanged.
  const [ye, same] = bn.apply(params, x, { state: next });
  assert.equal(same, next);
  const [nm, nv] = [await host(next.mean), await host(next.var)];
  await assertAllclose(
    ye,
    xs.map((v, i) => {
      const c = Math.floor(i / 4) % 3;
      return (v - nm[c]) / Math.sqrt(nv[c] + 1e-3);
    }),
    { atol: 1e-4 },
  );
  assert.throws(() => bn.apply(params, x), /opts.state/);
});

Deno.test("layerNorm normalises the last axis", async () => {
  const ln = nn.layerNorm();
  const x = rnd(9, [3, 5]);
  const { params } = ln.init(random.key(0), x.shape);
  const xs = await host(x);
  const want = xs.map((_, i) => {
    const row = xs.slice(Math.floor(i / 5) * 5, Math.floor(i / 5) * 5 + 5);
    const m = row.reduce((a, b) => a + b) / 5;
    const v = row.reduce((a, b) => a + (b - m) ** 2, 0) / 5;
    return (xs[i] - m) / Math.sqrt(v + 1e-5);
  });
  await assertAllclose(ln.apply(params, x), want, { atol: 1e-4 });
});

Deno.test("dropout: keep rate, scaling, key required, identity in eval", async () => {
  const d = nn.dropout(0.25);
  const y = await host(d.apply(null, np.ones([4000]), { training: true, key: random.key(1) }));
  const kept = y.filter((v) => v !== 0);
  assert.ok(Math.abs(kept.length / 4000 - 0.75) < 0.03);
  assert.ok(kept.every((v) => Math.abs(v - 4 / 3) < 1e-6));
  assert.throws(() => d.apply(null, np.ones([3]), { training: true }), /key/);
  await assertAllclose(d.apply(null, np.ones([3])), [1, 1, 1]);
});

Deno.test("embedding looks up rows and accumulates gradients of repeated indices", async () => {
  const emb = nn.embedding(5, 2);
  const { params } = emb.init(random.key(0), [3]);
  const ids = np.array([4, 1, 4], { dtype: "int32" });
  const t = await host(params.table);
  await assertAllclose(emb.apply(params, ids), [t[8], t[9], t[2], t[3], t[8], t[9]]);
  const g = grad((p: { table: Array }) => emb.apply(p, ids).sum())(params);
  await assertAllclose(g.table, [0, 0, 1, 1, 0, 0, 0, 0, 2, 2]);
});

Deno.test("serial: named and positional params, state threading, per-layer keys", async () => {
  const net = nn.serial({ fc: nn.dense(4), bn: nn.batchNorm(), act: nn.relu, drop: nn.dropout(0.5), out: nn.dense(2) });
  const { params, state, outputShape } = net.init(random.key(0), [8, 3]);
  assert.deepEqual(outputShape, [8, 2]);
  assert.deepEqual(Object.keys(params), ["fc", "bn", "act", "drop", "out"]);
  assert.equal(params.act, null);
  assert.ok(state !== null && state.fc === null && state.bn.mean.shape[0] === 4);
  const x = rnd(1, [8, 3]);
  const [y, s2] = net.apply(params, x, { training: true, state, key: random.key(2) });
  assert.deepEqual(y.shape, [8, 2]);
  // running mean = 0.9 · initial + 0.1 · the batch mean of the dense layer's output
  const [xs, w, b, m0] = [await host(x), await host(params.fc.w), await host(params.fc.b!), await host(state.bn.mean)];
  const fcMean = [0, 1, 2, 3].map((j) => {
    let sum = 0;
    for (let i = 0; i < 8; i++) sum += b[j] + [0, 1, 2].reduce((a, k) => a + xs[i * 3 + k] * w[k * 4 + j], 0);
    return sum / 8;
  });
  await assertAllclose(s2.bn.mean, fcMean.map((v, j) => 0.9 * m0[j] + 0.1 * v), { atol: 1e-6, rtol: 1e-5 });
  const [y2] = net.apply(params, x, { training: true, state, key: random.key(2) });
  await assertAllclose(y2, y);
  const pos = nn.serial(nn.dense(4), nn.tanh, nn.dense(1));
  const pp = pos.init(random.key(0), [2, 3]).params;
  assert.deepEqual(pp[0].w.shape, [3, 4]);
  assert.deepEqual(pos.apply(pp, np.ones([2, 3])).shape, [2, 1]);
  // Works under vmap (per-example apply) and grad.
  const per = vmap((xi: Array) => pos.apply(pp, xi.reshape(1, 3)).reshape([]))(np.ones([5, 3]));
  assert.deepEqual(per.shape, [5]);
});

Deno.test("activations match their formulas, and their exact limits at ±1e4", async () => {
  const xs = [-3, -0.5, 0, 0.7, 2.5];
  const x = np.array(xs);
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  await assertAllclose(nn.relu(x), xs.map((v) => Math.max(v, 0)));
  await assertAllclose(nn.leakyRelu(x), xs.map((v) => (v > 0 ? v : 0.01 * v)));
  await assertAllclose(nn.elu(x), xs.map((v) => (v > 0 ? v : Math.expm1(v))), { atol: 1e-6 });
  await assertAllclose(nn.sigmoid(x), xs.map(sig), { atol: 1e-6 });
  await assertAllclose(nn.softplus(x), xs.map((v) => Math.log1p(Math.exp(v))), { atol: 1e-6 });
  const tanhGelu = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
  await assertAllclose(nn.gelu(x), xs.map(tanhGelu), { atol: 1e-5 });
  const z = xs.reduce((a, v) => a + Math.exp(v), 0);
  await assertAllclose(nn.softmax(x), xs.map((v) => Math.exp(v) / z), { atol: 1e-6 });
  await assertAllclose(nn.logSoftmax(x), xs.map((v) => v - Math.log(z)), { atol: 1e-5 });
  // At ±1e4 every activation is at its asymptote: values and derivatives (of the sum) are
  // known exactly (softmax sums to 1; logSoftmax's gradient is 1 − 2·softmax).
  const big = np.array([-1e4, 1e4]);
  const limits: [(x: Array) => Array, number[], number[]][] = [
    [nn.relu, [0, 1e4], [0, 1]],
    [nn.leakyRelu, [-100, 1e4], [0.01, 1]],
    [nn.elu, [-1, 1e4], [0, 1]],
    [nn.gelu, [0, 1e4], [0, 1]],
    [nn.sigmoid, [0, 1], [0, 0]],
    [nn.tanh, [-1, 1], [0, 0]],
    [nn.softplus, [0, 1e4], [0, 1]],
    [nn.softmax, [0, 1], [0, 0]],
    [nn.logSoftmax, [-2e4, 0], [1, -1]],
  ];
  for (const [f, value, slope] of limits) {
    await assertAllclose(f(big), value, { atol: 1e-6, rtol: 1e-6 }, `${f.name} at ±1e4`);
    await assertAllclose(grad((v: Array) => f(v).sum())(big), slope, { atol: 1e-6 }, `${f.name} gradient at ±1e4`);
  }
  await checkGrads(nn.softplus, [np.array([-2, 0, 0.5, 3])], { order: 2 });
  await checkGrads((v: Array) => nn.logSoftmax(v), [np.array([0.3, -1, 2])], { order: 2 });
  await checkGrads((v: Array) => nn.elu(v), [np.array([-1.5, 0.4])], { order: 2 });
});

Deno.test("losses: values against closed forms", async () => {
  const l = [-2, -0.3, 0.1, 4];
  const z = [0, 1, 0.5, 1];
  const bce = l.map((v, i) =>
    -(z[i] * Math.log(1 / (1 + Math.exp(-v))) + (1 - z[i]) * Math.log(1 - 1 / (1 + Math.exp(-v))))
  );
  await assertAllclose(nn.bceWithLogits(np.array(l), np.array(z)), bce.reduce((a, b) => a + b) / 4, { atol: 1e-6 });
  await assertAllclose(nn.mse(np.array([1, 2, 3]), np.array([1, 0, 0]), { reduction: "sum" }), 13);
  const logits = [[1, 2, 3], [0, -1, 4]];
  const ce = logits.map((row, i) => {
    const lse = Math.log(row.reduce((a, v) => a + Math.exp(v), 0));
    return lse - row[[2, 0][i]];
  });
  await assertAllclose(
    nn.softmaxCrossEntropy(np.array(logits), np.array([2, 0], { dtype: "int32" }), { reduction: "none" }),
    ce,
    { atol: 1e-5 },
  );
  const mu = [[0.5, -1], [0, 2]];
  const lv = [[0.1, -0.4], [1, 0]];
  const kl = mu.map((row, n) => row.reduce((a, m, j) => a + 0.5 * (Math.exp(lv[n][j]) + m * m - 1 - lv[n][j]), 0));
  await assertAllclose(nn.gaussianKl(np.array(mu), np.array(lv)), (kl[0] + kl[1]) / 2, { atol: 1e-5 });
  const ll = l.reduce(
    (a, v, i) => a + z[i] * Math.log(1 / (1 + Math.exp(-v))) + (1 - z[i]) * Math.log(1 / (1 + Math.exp(v))),
    0,
  );
  await assertAllclose(nn.bernoulliLogLikelihood(np.array([l]), np.array([z])), ll, { atol: 1e-5 });
  assert.throws(() => nn.mse(np.ones([2]), np.ones([3])), /shapes differ/);
});

Deno.test("losses: second-order gradient checks and extreme logits ±1e4", async () => {
  const x = np.array([[0.3, -1.2, 2], [1, 0.5, -0.7]]);
  const t = np.array([[0, 1, 0.3], [1, 0, 0.5]]);
  await checkGrads((a: Array) => nn.bceWithLogits(a, t), [x], { order: 2 });
  await checkGrads((a: Array) => nn.softmaxCrossEntropy(a, np.array([1, 2], { dtype: "int32" })), [x], { order: 2 });
  await checkGrads((a: Array) => nn.softmaxCrossEntropy(a, nn.softmax(t)), [x], { order: 2 });
  await checkGrads((m: Array, v: Array) => nn.gaussianKl(m, v), [x, t], { order: 2 });
  await checkGrads((a: Array) => nn.bernoulliLogLikelihood(a, t), [x], { order: 2 });
  await checkGrads((a: Array) => nn.mse(a, t), [x], { order: 2 });
  const big = np.array([[1e4, -1e4, 1e4], [-1e4, 1e4, 0]]);
  const lab = np.array([[0, 0, 1], [1, 1, 0]]);
  const fs: [string, (a: Array) => Array][] = [
    ["bce", (a) => nn.bceWithLogits(a, lab)],
    ["ce", (a) => nn.softmaxCrossEntropy(a, np.array([1, 0], { dtype: "int32" }))],
    ["ce-onehot", (a) => nn.softmaxCrossEntropy(a, np.array([[0, 0, 1], [1, 0, 0]]))],
    ["bernoulli", (a) => nn.bernoulliLogLikelihood(a, lab)],
  ];
  // Worked out by hand: at ±1e4 sigmoid and softmax saturate to exact 0s, ½s and 1s, so the
  // loss, its gradient g and h = ∇|g|² (the second order) are exact up to ln 2 terms.
  const ln2 = Math.LN2;
  const want: Record<string, [number, number[], number[]]> = {
    // mean of max(x,0) − x·z + log1p(e^−|x|); g = (σ(x) − z)/6; h = 2·g·σ'(x)/6
    bce: [(2e4 + ln2) / 6, [1, 0, 0, -1, 0, 0.5].map((v) => v / 6), [0, 0, 0, 0, 0, 1 / 144]],
    // rows: lse − x[label] = (1e4 + ln 2) + 1e4 and 1e4 + 1e4; g = (softmax − onehot)/2; h = (diag p − p pᵀ)·g = 0
    ce: [(4e4 + ln2) / 2, [0.25, -0.5, 0.25, -0.5, 0.5, 0], [0, 0, 0, 0, 0, 0]],
    "ce-onehot": [(2e4 + ln2) / 2, [0.25, 0, -0.25, -0.5, 0.5, 0], [0.125, 0, -0.125, 0, 0, 0]],
    // mean over rows of Σ z·x − softplus(x); g = (z − σ(x))/2; h = −g·σ'(x)
    bernoulli: [(-2e4 - ln2) / 2, [-0.5, 0, 0, 0.5, 0, -0.25], [0, 0, 0, 0, 0, 0.0625]],
  };
  for (const [name, f] of fs) {
    const [value, g, h] = want[name];
    await assertAllclose(f(big), value, { atol: 1e-3, rtol: 1e-6 }, `${name} at ±1e4`);
    await assertAllclose(grad(f)(big), g, { atol: 1e-6 }, `${name} gradient at ±1e4`);
    await assertAllclose(grad((a: Array) => grad(f)(a).square().sum())(big), h, { atol: 1e-6 }, `${name} h at ±1e4`);
  }
});

Deno.test("initializers: scales and fans", async () => {
  const k = random.key(3);
  const cases: [nn.Initializer, number][] = [
    [nn.glorotNormal(), 2 / (300 + 200)],
    [nn.glorotUniform(), 2 / (300 + 200)],
    [nn.heNormal(), 2 / 300],
    [nn.heUniform(), 2 / 300],
    [nn.normal(0.1), 0.01],
  ];
  for (const [init, variance] of cases) {
    const v = await init(k, [300, 200]).square().mean().item();
    assert.ok(Math.abs(v / variance - 1) < 0.05, `variance ${v} vs ${variance}`);
  }
  const lim = Math.sqrt(6 / (3 * 9 + 8 * 9));
  const w = nn.conv2d(8, 3).init(k, [1, 3, 5, 5]).params.w;
  assert.ok((await w.abs().max().item()) <= lim && (await w.abs().max().item()) > 0.9 * lim);
  assert.deepEqual(nn.fansOf([3, 3, 16, 32]), { fanIn: 144, fanOut: 288 });
  assert.equal(await nn.zeros()(k, [4]).abs().sum().item(), 0);
});

Deno.test("layer gradients match finite differences (conv, transposed conv, pooling, norms)", async () => {
  const x = rnd(11, [2, 2, 5, 5]);
  const conv = nn.conv2d(3, 3, { stride: 2, padding: "SAME" });
  const up = nn.convTranspose2d(2, 3, { stride: 2, padding: "SAME" });
  const bn = nn.batchNorm();
  const [pc, pu] = [conv.init(random.key(1), x.shape).params, up.init(random.key(2), [2, 3, 3, 3]).params];
  const { params: pb, state: sb } = bn.init(random.key(3), [2, 2, 6, 6]);
  const net = (v: Array) => {
    const h = nn.maxPool(2, { stride: 1 }).apply(null, nn.tanh(up.apply(pu, conv.apply(pc, v))));
    const [y] = bn.apply(pb, h, { training: true, state: sb });
    return nn.avgPool(2).apply(null, y);
  };
  // Max pooling of overlapping windows has near ties: a smaller step keeps the stencils on one
  // side of every kink (a vector output keeps each element's rounding small).
  await checkGrads(net, [x], { eps: 2 ** -10 });
  const ln = nn.layerNorm();
  const pl = ln.init(random.key(0), [3, 4]).params;
  await checkGrads((v: Array) => ln.apply(pl, v).mul(np.arange(12).reshape(3, 4)).sum(), [rnd(4, [3, 4])]);
  // The whole DCGAN-style generator trains under jit(grad).
  const gen = nn.serial({
    fc: nn.dense(8 * 7 * 7),
    bn: nn.batchNorm(),
    act: nn.relu,
    shape: nn.reshape([8, 7, 7]),
    up: nn.convTranspose2d(1, 5, { stride: 2, padding: "SAME" }),
    out: nn.tanh,
  });
  const g0 = gen.init(random.key(5), [4, 3]);
  type G = typeof g0.params;
  const z = rnd(6, [4, 3]);
  const lossOf = (p: G, s: typeof g0.state) => gen.apply(p, z, { training: true, state: s })[0].square().mean();
  const step = jit((p: G, s: typeof g0.state) => grad(lossOf)(p, s));
  const g = step(g0.params, g0.state);
  assert.deepEqual(g.up.w.shape, [1, 8, 5, 5]);
  assert.ok((await g.fc.w.abs().sum().item()) > 0);
});
