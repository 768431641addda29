/**
 * WebGPU benchmarks: matmul 256/512/1024, a conv 14×14×64→128 (k5, s2, SAME, batch 64)
 * forward and forward+backward (dx and dw), and a DCGAN train step, for wax's webgpu backend
 * beside jax-js (webgpu) and TensorFlow.js (webgpu) on the same adapter in the same run.
 * Every timing is end to end: dispatch plus readback of every result. Inputs are the same
 * random values for all libraries; peers that fail to start are skipped with a message.
 * On a software adapter (llvmpipe) everything is ~1000× slower than on a GPU, so iteration
 * counts are small.
 *
 *   npx deno bench -A bench/webgpu_bench.ts
 *
 * `WAX_BENCH_BATCH` overrides the conv batch (default 64), `WAX_BENCH_GAN_BATCH` the DCGAN
 * batch (default 64).
 * @module
 */
import { type Array, grad, jit, lax, np, random, useBackend } from "../mod.ts";
import { makeDcgan } from "../models/dcgan.ts";
import { loadJaxJsWebgpu, loadTfjsWebgpu } from "./peers/setup.ts";
import { makeJaxjsDcganStep } from "./peers/jaxjs_dcgan.ts";
import { makeTfjsDcganStep } from "./peers/tfjs_dcgan.ts";

let hasGpu = true;
try {
  await useBackend("webgpu");
} catch (e) {
  console.warn(`wax webgpu unavailable, all benchmarks skipped: ${e instanceof Error ? e.message : e}`);
  hasGpu = false;
}
const jaxjs = hasGpu ? await loadJaxJsWebgpu() : null;
const tf = hasGpu ? await loadTfjsWebgpu() : null;
const batch = Number(Deno.env.get("WAX_BENCH_BATCH") ?? 64);
const ganBatch = Number(Deno.env.get("WAX_BENCH_GAN_BATCH") ?? 64);

/** Deterministic uniform(-0.5, 0.5) values (a small LCG), the same for every library. */
function randData(n: number, seed: number): Float32Array<ArrayBuffer> {
  const d = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    d[i] = s / 2 ** 32 - 0.5;
  }
  return d;
}
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const waxArr = (shape: number[], seed: number): Array => np.array(randData(size(shape), seed)).reshape(shape);
// deno-lint-ignore no-explicit-any
type Any = any;
const jaxArr = (shape: number[], seed: number): Any => jaxjs!.numpy.array(randData(size(shape), seed)).reshape(shape);
const tfArr = (shape: number[], seed: number): Any => tf!.tensor(randData(size(shape), seed), shape);

interface Case {
  group: string;
  n: number;
  wax: () => Promise<void>;
  jax?: () => Promise<void>;
  tf?: () => Promise<void>;
}

/** Registers one group: wax (baseline), then jax-js and tfjs when they started. */
function register(c: Case): void {
  const common = { group: c.group, n: c.n, warmup: 1, permissions: "inherit" as const };
  Deno.bench({ ...common, name: `wax ${c.group}`, baseline: true, ignore: !hasGpu, fn: c.wax });
  Deno.bench({ ...common, name: `jax-js ${c.group}`, ignore: !jaxjs || !c.jax, fn: c.jax ?? (async () => {}) });
  Deno.bench({ ...common, name: `tfjs ${c.group}`, ignore: !tf || !c.tf, fn: c.tf ?? (async () => {}) });
}

// ---- matmul ------------------------------------------------------------------------------
const waxMm = jit((x: Array, y: Array) => x.matmul(y));
const jaxMm = jaxjs?.jit((x: Any, y: Any) => jaxjs.numpy.matmul(x, y));
for (const n of [256, 512, 1024]) {
  const a = hasGpu ? waxArr([n, n], 1) : null, b = hasGpu ? waxArr([n, n], 2) : null;
  const ja = jaxjs ? jaxArr([n, n], 1) : null, jb = jaxjs ? jaxArr([n, n], 2) : null;
  const ta = tf ? tfArr([n, n], 1) : null, tb = tf ? tfArr([n, n], 2) : null;
  register({
    group: `matmul ${n}`,
    n: n >= 1024 ? 4 : 10,
    async wax() {
      using c = waxMm(a!, b!);
      await c.data();
    },
    async jax() {
      await jaxMm!(ja.ref, jb.ref).data();
    },
    async tf() {
      const c = tf!.matMul(ta, tb);
      await c.data();
      c.dispose();
    },
  });
}

// ---- conv (wax and jax-js NCHW/OIHW, tfjs NHWC/HWIO: each library's native layout) -------
const xs = [batch, 64, 14, 14], ws = [128, 64, 5, 5];
const xsT = [batch, 14, 14, 64], wsT = [5, 5, 64, 128];
const waxConv = (x: Array, w: Array) => lax.convGeneralDilated(x, w, { strides: [2, 2], padding: "SAME" });
const waxFwd = jit(waxConv);
const waxFwdBwd = jit((x: Array, w: Array) =>
  grad((x: Array, w: Array) => waxConv(x, w).square().sum(), { argnums: [0, 1] })(x, w)
);
const jaxConv = (x: Any, w: Any) => jaxjs!.lax.conv(x, w, [2, 2], "SAME");
const jaxFwd = jaxjs?.jit(jaxConv);
const jaxFwdBwd = jaxjs?.jit((x: Any, w: Any) =>
  jaxjs.grad((x: Any, w: Any) => jaxjs.numpy.sum(jaxjs.numpy.square(jaxConv(x, w))), { argnums: [0, 1] })(x, w)
);
const tfConv = (x: Any, w: Any) => tf!.conv2d(x, w, 2, "same");
const tfGrads = tf?.grads((x: Any, w: Any) => tf.sum(tf.square(tfConv(x, w))));
const x = hasGpu ? waxArr(xs, 3) : null, w = hasGpu ? waxArr(ws, 4) : null;
const jx = jaxjs ? jaxArr(xs, 3) : null, jw = jaxjs ? jaxArr(ws, 4) : null;
const tx = tf ? tfArr(xsT, 3) : null, tw = tf ? tfArr(wsT, 4) : null;
register({
  group: `conv fwd b${batch}`,
  n: 3,
  async wax() {
    using y = waxFwd(x!, w!);
    await y.data();
  },
  async jax() {
    await jaxFwd!(jx.ref, jw.ref).data();
  },
  async tf() {
    const y = tfConv(tx, tw);
    await y.data();
    y.dispose();
  },
});
register({
  group: `conv fwd+bwd b${batch}`,
  n: 3,
  async wax() {
    const gs = waxFwdBwd(x!, w!) as Array[];
    await Promise.all(gs.map((g) => g.data()));
    for (const g of gs) g.dispose();
  },
  async jax() {
    const gs = jaxFwdBwd!(jx.ref, jw.ref) as Any[];
    await Promise.all(gs.map((g) => g.data()));
  },
  async tf() {
    const gs = tfGrads!([tx, tw]) as Any[];
    await Promise.all(gs.map((g) => g.data()));
    for (const g of gs) g.dispose();
  },
});

// ---- DCGAN train step (the real batch holds the same values in all three, C = 1 so NCHW = NHWC)
const gan = makeDcgan();
let ganState = hasGpu ? gan.init(random.key(0)) : null;
const real = hasGpu ? waxArr([ganBatch, 1, 28, 28], 5) : null;
let step = 0;
const tfGanStep = tf ? makeTfjsDcganStep(tf, ganBatch, randData(ganBatch * 28 * 28, 5)) : null;
const jaxGanStep = jaxjs ? makeJaxjsDcganStep(jaxjs, ganBatch, randData(ganBatch * 28 * 28, 5)) : null;
register({
  group: `dcgan step b${ganBatch}`,
  n: 2,
  async wax() {
    const [next, l] = gan.step(ganState!, real!, random.key(++step));
    ganState = next;
    await Promise.all([l.d.data(), l.g.data()]);
    l.d.dispose();
    l.g.dispose();
  },
  async jax() {
    await jaxGanStep!();
  },
  async tf() {
    await tfGanStep!();
  },
});
