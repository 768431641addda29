/**
 * CPU kernel benchmarks with peers in the same run: matmul 256–2048 and the DCGAN-sized
 * convolution (batch 64, 14×14×64 → 128, kernel 5, stride 2) forward and forward+backward.
 * Peers: jax-js (wasm) and TensorFlow.js (wasm). PyTorch runs from `deno task bench:peers`.
 * Every library is timed to "result computed" (wax `blockUntilReady`, jax-js `blockUntilReady`,
 * tfjs-wasm and PyTorch compute synchronously), without copying results to JS arrays; wax also
 * as users write it (the result read with `.data()` and dropped, never disposed).
 * @module
 */
import { type Array, grad, jit, lax, np, random } from "../mod.ts";
import { makeDcgan } from "../models/mod.ts";
import { loadJaxJs, loadTfjs } from "./peers/setup.ts";
import { warmupGemm } from "../core/backend/cpu/gemm/mod.ts";

// Start wax's GEMM worker thread before timing, as each peer is initialised first: under `deno
// bench` its module is type-checked when it starts (1–1.3 s here, on one of the two cores), and
// the first benchmarks would otherwise run on one thread beside the checker.
warmupGemm(30_000);

const tf = await loadTfjs();
const jax = await loadJaxJs();
const quick = Deno.env.get("WAX_BENCH_QUICK") === "1";
const sizes = quick ? [256] : [256, 512, 1024, 2048];

for (const n of sizes) {
  const group = `matmul ${n}`;
  const [ka, kb] = random.split(random.key(n));
  const a = random.normal(ka, [n, n]);
  const b = random.normal(kb, [n, n]);
  await a.data();
  Deno.bench({ name: `wax ${group}`, group, baseline: true }, async () => {
    (await np.matmul(a, b).blockUntilReady()).dispose();
  });
  // As users write it: the result read and dropped, never disposed (storage comes back when it is collected).
  Deno.bench({ name: `wax-as-users-write-it ${group}`, group }, async () => {
    await np.matmul(a, b).data();
  });
  if (tf) {
    const ta = tf.randomNormal([n, n]);
    const tb = tf.randomNormal([n, n]);
    Deno.bench({ name: `tfjs-wasm ${group}`, group }, () => {
      // tfjs-wasm runs kernels synchronously: the product is computed when matMul returns.
      tf.matMul(ta, tb).dispose();
    });
  }
  if (jax && n <= 1024) {
    // Random operands (as for wax and tfjs), so no library can shortcut a constant input.
    const [ja, jb] = [jax.random.normal(jax.random.key(1), [n, n]), jax.random.normal(jax.random.key(2), [n, n])];
    Deno.bench({ name: `jax-js-wasm ${group}`, group, n: n >= 1024 ? 3 : 10, warmup: 1 }, async () => {
      const c = jax.numpy.matmul(ja.ref, jb.ref);
      await c.blockUntilReady();
      c.dispose();
    });
  }
}

// Convolution: x [64, 64, 14, 14] (NCHW), w [128, 64, 5, 5] (OIHW), stride 2, SAME → [64, 128, 7, 7].
{
  const [kx, kw] = random.split(random.key(7));
  const x = random.normal(kx, [64, 64, 14, 14]);
  const w = random.normal(kw, [128, 64, 5, 5]).mul(0.05);
  await w.data();
  const conv = (x: Array, w: Array) => lax.convGeneralDilated(x, w, { strides: [2, 2], padding: "SAME" });
  const fwd = jit(conv);
  const fwdBwd = jit(grad((x: Array, w: Array) => conv(x, w).sum(), { argnums: [0, 1] }));
  Deno.bench({ name: "wax conv fwd", group: "conv fwd", baseline: true }, async () => {
    (await fwd(x, w).blockUntilReady()).dispose();
  });
  Deno.bench({ name: "wax conv fwd+bwd", group: "conv fwd+bwd", baseline: true }, async () => {
    for (const g of fwdBwd(x, w) as Array[]) (await g.blockUntilReady()).dispose();
  });
  Deno.bench({ name: "wax-as-users-write-it conv fwd", group: "conv fwd" }, async () => {
    await fwd(x, w).data();
  });
  Deno.bench({ name: "wax-as-users-write-it conv fwd+bwd", group: "conv fwd+bwd" }, async () => {
    for (const g of fwdBwd(x, w) as Array[]) await g.data();
  });
  if (tf) {
    type T4 = import("@tensorflow/tfjs").Tensor4D;
    const tx = tf.randomNormal([64, 14, 14, 64]) as T4;
    const tw = tf.randomNormal([5, 5, 64, 128]) as T4;
    Deno.bench({ name: "tfjs-wasm conv fwd", group: "conv fwd" }, () => {
      tf.conv2d(tx, tw, 2, "same").dispose();
    });
    // tfjs-wasm has no Conv2DBackpropFilter kernel; training a convnet fails there.
    let trains = true;
    try {
      const g = tf.grad((w) => tf.conv2d(tx, w as T4, 2, "same").sum())(tw);
      await g.data();
    } catch {
      trains = false;
    }
    if (trains) {
      Deno.bench({ name: "tfjs-wasm conv fwd+bwd", group: "conv fwd+bwd" }, () => {
        const [gx, gw] = tf.grads((a, b) => tf.conv2d(a as T4, b as T4, 2, "same").sum())([tx, tw]);
        gx.dispose();
        gw.dispose();
      });
    } else console.error("tfjs-wasm: conv backward is not available (Conv2DBackpropFilter missing)");
  }
  if (jax) {
    const jx = jax.random.normal(jax.random.key(3), [64, 64, 14, 14]);
    const jw = jax.random.normal(jax.random.key(4), [128, 64, 5, 5]);
    Deno.bench({ name: "jax-js-wasm conv fwd", group: "conv fwd", n: 2, warmup: 0 }, async () => {
      const y = jax.lax.convGeneralDilated(jx.ref, jw.ref, [2, 2], "SAME");
      await y.blockUntilReady();
      y.dispose();
    });
    // The same loss as wax's (sum of the output), both gradients, one jitted program.
    type J = import("@jax-js/jax").Array;
    const jconv = (x: J, w: J) => jax.lax.convGeneralDilated(x, w, [2, 2], "SAME");
    const jFwdBwd = jax.jit(jax.grad((x: J, w: J) => jax.numpy.sum(jconv(x, w)), { argnums: [0, 1] }));
    Deno.bench({ name: "jax-js-wasm conv fwd+bwd", group: "conv fwd+bwd", n: 1, warmup: 1 }, async () => {
      const gs = jFwdBwd(jx.ref, jw.ref) as J[];
      for (const g of gs) await g.blockUntilReady();
      for (const g of gs) g.dispose();
    });
  }
}

// The TensorFlow-tutorial DCGAN train step (one D update then one G update), batch 64.
{
  const gan = makeDcgan();
  let state = gan.init(random.key(0));
  const real = random.uniform(random.key(1), [64, 1, 28, 28], { minval: -1, maxval: 1 });
  let i = 0;
  Deno.bench(
    { name: "wax dcgan step", group: "dcgan step", baseline: true, n: quick ? 2 : 10, warmup: 1 },
    async () => {
      const [next, losses] = gan.step(state, real, random.key(i++));
      state = next;
      await losses.g.data();
    },
  );
}
