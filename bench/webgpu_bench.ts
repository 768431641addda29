/**
 * WebGPU benchmarks: matmul 256/512/1024 and a conv 14×14×64→128 (k5, s2, batch 64) forward
 * and forward+backward, for wax's webgpu backend beside jax-js's webgpu backend when it
 * starts. On a software adapter (llvmpipe) everything is ~1000× slower than on a GPU, so
 * iteration counts are small.
 *
 *   npx deno bench -A bench/webgpu_bench.ts
 *
 * `WAX_BENCH_BATCH` overrides the conv batch (default 64).
 */
import { type Array, grad, jit, lax, np, useBackend } from "../mod.ts";

const hasGpu = !!(await globalThis.navigator?.gpu?.requestAdapter().catch(() => null));
if (hasGpu) await useBackend("webgpu");
const batch = Number(Deno.env.get("WAX_BENCH_BATCH") ?? 64);

function rand(shape: number[]): Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = Math.random() - 0.5;
  return np.array(d).reshape(shape);
}

for (const n of [256, 512, 1024]) {
  const a = rand([n, n]), b = rand([n, n]);
  const mm = jit((x: Array, y: Array) => x.matmul(y));
  Deno.bench({
    name: `wax webgpu matmul ${n}`,
    group: `matmul ${n}`,
    baseline: true,
    ignore: !hasGpu,
    n: n >= 1024 ? 3 : 10,
    warmup: 1,
    async fn() {
      using c = mm(a, b);
      await c.data();
    },
  });
}

const x = rand([batch, 64, 14, 14]), w = rand([128, 64, 5, 5]);
const conv = (x: Array, w: Array) => lax.convGeneralDilated(x, w, { strides: [2, 2], padding: "SAME" });
const fwd = jit(conv);
const fwdBwd = jit((x: Array, w: Array) =>
  grad((x: Array, w: Array) => conv(x, w).square().sum(), { argnums: [0, 1] })(x, w)
);
Deno.bench({
  name: `wax webgpu conv fwd b${batch}`,
  group: "conv fwd",
  baseline: true,
  ignore: !hasGpu,
  n: 2,
  warmup: 1,
  async fn() {
    using y = fwd(x, w);
    await y.data();
  },
});
Deno.bench({
  name: `wax webgpu conv fwd+bwd b${batch}`,
  group: "conv fwd+bwd",
  baseline: true,
  ignore: !hasGpu,
  n: 2,
  warmup: 1,
  async fn() {
    const [gx, gw] = fwdBwd(x, w) as Array[];
    await gw.data();
    gx.dispose();
    gw.dispose();
  },
});

// jax-js (webgpu backend) on the same adapter, when it starts.
// deno-lint-ignore no-explicit-any
let jaxjs: any = null;
try {
  jaxjs = await import("@jax-js/jax");
  const devices: string[] = await jaxjs.init();
  if (!devices.includes("webgpu")) jaxjs = null;
  else jaxjs.defaultDevice("webgpu");
} catch {
  jaxjs = null;
}
for (const n of [256, 512, 1024]) {
  // deno-lint-ignore no-explicit-any
  let a: any, b: any;
  if (jaxjs) {
    a = jaxjs.numpy.array(globalThis.Array.from({ length: n * n }, () => Math.random() - 0.5)).reshape([n, n]);
    b = jaxjs.numpy.array(globalThis.Array.from({ length: n * n }, () => Math.random() - 0.5)).reshape([n, n]);
  }
  Deno.bench({
    name: `jax-js webgpu matmul ${n}`,
    group: `matmul ${n}`,
    ignore: !jaxjs,
    n: n >= 1024 ? 3 : 10,
    warmup: 1,
    async fn() {
      const c = jaxjs.numpy.matmul(a.ref, b.ref);
      await c.data();
    },
  });
}
