/**
 * The DCGAN train step of `models/dcgan.ts` (the TensorFlow DCGAN tutorial model) written in
 * jax-js, NCHW/OIHW like wax, with the same parameter names and shapes: G dense 100→7·7·256
 * (no bias), BN, LeakyReLU(0.3), reshape, convT 5×5→128 s1, BN, LeakyReLU, convT 5×5→64 s2,
 * BN, LeakyReLU, convT 5×5→1 s2 (+bias), tanh; D conv 5×5→64 s2, LeakyReLU, dropout 0.3,
 * conv 5×5→128 s2, LeakyReLU, dropout, flatten, dense→1. Batch norm (training mode: batch
 * statistics, running statistics carried as state, momentum 0.9, eps 1e-5), dropout
 * (`uniform > rate`, scaled by 1/(1 − rate)), BCE-with-logits and Adam(1e-4, 0.9, 0.999,
 * 1e-8) are written by hand as wax's `nn`/`optim` define them. One D update then one G update,
 * the whole step under one `jax.jit` (as wax jits its whole step).
 *
 * jax-js moves arrays into every call: each value is used exactly once, and `.ref` takes an
 * extra reference where a value is read again.
 * @module
 */
import type * as jaxjs from "@jax-js/jax";

type Jax = typeof jaxjs;
type Arr = jaxjs.Array;
type Params = Record<string, Arr>;

/** Losses of one step, read back to the host. */
export interface JaxjsDcganLosses {
  /** Discriminator loss. */
  d: number;
  /** Generator loss. */
  g: number;
}

// Type aliases, not interfaces: jax-js pytrees need the implicit index signature.
type AdamState = { t: Arr; mu: Params; nu: Params };
type State = { g: Params; gState: Params; d: Params; gOpt: AdamState; dOpt: AdamState };

const latent = 100;
const slope = 0.3, rate = 0.3;
const lr = 1e-4, b1 = 0.9, b2 = 0.999, adamEps = 1e-8;
const bnMomentum = 0.9, bnEps = 1e-5;
/** Transposed-conv pads of the stride-dilated input for "SAME", k = 5 (as `nn.convTranspose2d`). */
const tPad = (s: number): [number, number][] => s === 1 ? [[2, 2], [2, 2]] : [[3, 2], [3, 2]];

/**
 * Builds the parameters and optimizer states and returns a function running one jitted train
 * step on a fixed batch of `batch` "real" images (`realData`, NCHW [batch, 1, 28, 28]) that
 * resolves once both losses are read back.
 */
export function makeJaxjsDcganStep(
  jax: Jax,
  batch: number,
  realData: Float32Array<ArrayBuffer>,
): () => Promise<JaxjsDcganLosses> {
  const { numpy: np, random, lax, nn } = jax;

  // ---- init (weights N(0, 0.02), D's dense glorot-uniform, biases 0, BN scale 1 / shift 0)
  const keys = random.split(random.key(0), 8);
  const k = (i: number) => keys.ref.slice(i);
  const normal = (i: number, shape: number[]) => random.normal(k(i), shape).mul(0.02);
  const lim = Math.sqrt(6 / (128 * 7 * 7 + 1));
  const g: Params = {
    "fc.w": normal(0, [latent, 7 * 7 * 256]),
    "bn0.scale": np.ones([7 * 7 * 256]),
    "bn0.bias": np.zeros([7 * 7 * 256]),
    "up1.w": normal(1, [128, 256, 5, 5]),
    "bn1.scale": np.ones([128]),
    "bn1.bias": np.zeros([128]),
    "up2.w": normal(2, [64, 128, 5, 5]),
    "bn2.scale": np.ones([64]),
    "bn2.bias": np.zeros([64]),
    "up3.w": normal(3, [1, 64, 5, 5]),
    "up3.b": np.zeros([1]),
  };
  const gState: Params = {};
  for (const [name, c] of [["bn0", 7 * 7 * 256], ["bn1", 128], ["bn2", 64]] as const) {
    gState[`${name}.mean`] = np.zeros([c]);
    gState[`${name}.var`] = np.ones([c]);
  }
  const d: Params = {
    "conv1.w": normal(4, [64, 1, 5, 5]),
    "conv1.b": np.zeros([64]),
    "conv2.w": normal(5, [128, 64, 5, 5]),
    "conv2.b": np.zeros([128]),
    "fc.w": random.uniform(k(6), [128 * 7 * 7, 1], { minval: -lim, maxval: lim }),
    "fc.b": np.zeros([1]),
  };
  keys.dispose();
  const adamInit = (p: Params): AdamState => {
    const zeros = () => Object.fromEntries(Object.entries(p).map(([n, a]) => [n, np.zeros(a.shape)]));
    return { t: np.zeros([]), mu: zeros(), nu: zeros() };
  };
  let state: State = { g, gState, d, gOpt: adamInit(g), dOpt: adamInit(d) };
  const real = np.array(realData).reshape([batch, 1, 28, 28]);

  // ---- layers (each consumes its inputs)
  const leaky = (x: Arr) => nn.leakyRelu(x, slope);
  const chan = (b: Arr) => b.reshape([1, -1, 1, 1]);
  /** Training-mode batch norm over every axis but 1; returns [y, new mean, new var]. */
  const batchNorm = (x: Arr, scale: Arr, bias: Arr, mean0: Arr, var0: Arr): [Arr, Arr, Arr] => {
    const axes = [0, ...x.shape.slice(2).map((_, i) => i + 2)];
    const bshape = x.shape.map((n, i) => (i === 1 ? n : 1));
    const mean = x.ref.mean(axes);
    const xc = x.sub(mean.ref.reshape(bshape));
    const v = np.square(xc.ref).mean(axes);
    const inv = scale.div(np.sqrt(v.ref.add(bnEps)));
    const y = xc.mul(inv.reshape(bshape)).add(bias.reshape(bshape));
    const m = mean0.mul(bnMomentum).add(lax.stopGradient(mean).mul(1 - bnMomentum));
    const s = var0.mul(bnMomentum).add(lax.stopGradient(v).mul(1 - bnMomentum));
    return [y, m, s];
  };
  const convT = (x: Arr, w: Arr, s: number) => lax.convGeneralDilated(x, w, [1, 1], tPad(s), { lhsDilation: [s, s] });
  const dropout = (x: Arr, key: Arr) => np.where(random.uniform(key, x.shape).greater(rate), x.div(1 - rate), 0);
  /** Generator, training mode: [images, new batch-norm state]. */
  const gen = (p: Params, s: Params, z: Arr): [Arr, Params] => {
    const ns: Params = {};
    const bn = (x: Arr, name: string) => {
      let y: Arr;
      [y, ns[`${name}.mean`], ns[`${name}.var`]] = batchNorm(
        x,
        p[`${name}.scale`],
        p[`${name}.bias`],
        s[`${name}.mean`],
        s[`${name}.var`],
      );
      return leaky(y);
    };
    let x = bn(np.matmul(z, p["fc.w"]), "bn0").reshape([-1, 256, 7, 7]);
    x = bn(convT(x, p["up1.w"], 1), "bn1");
    x = bn(convT(x, p["up2.w"], 2), "bn2");
    x = np.tanh(convT(x, p["up3.w"], 2).add(chan(p["up3.b"])));
    return [x, ns];
  };
  /** Discriminator, training mode (dropout on): one logit per image. */
  const disc = (p: Params, x: Arr, k1: Arr, k2: Arr) => {
    const n = x.shape[0];
    let h = lax.conv(x, p["conv1.w"], [2, 2], "SAME").add(chan(p["conv1.b"]));
    h = dropout(leaky(h), k1);
    h = lax.conv(h, p["conv2.w"], [2, 2], "SAME").add(chan(p["conv2.b"]));
    h = dropout(leaky(h), k2).reshape([n, -1]);
    return np.matmul(h, p["fc.w"]).add(p["fc.b"]);
  };
  // bceWithLogits, mean: softplus(l) − l·label.
  const bceOnes = (l: Arr) => nn.softplus(l.ref).sub(l).mean();
  const bceZeros = (l: Arr) => nn.softplus(l).mean();
  /** Adam (wax's `optim.adam`): new params and state. */
  const adam = (p: Params, grads: Params, st: AdamState): [Params, AdamState] => {
    const t = st.t.add(1);
    const c1 = np.exp(t.ref.mul(Math.log(b1))).neg().add(1);
    const c2 = np.exp(t.ref.mul(Math.log(b2))).neg().add(1);
    const out: Params = {}, mu: Params = {}, nu: Params = {};
    for (const n of Object.keys(p)) {
      const gr = grads[n];
      mu[n] = st.mu[n].mul(b1).add(gr.ref.mul(1 - b1));
      nu[n] = st.nu[n].mul(b2).add(np.square(gr).mul(1 - b2));
      const u = mu[n].ref.div(c1.ref).div(np.sqrt(nu[n].ref.div(c2.ref)).add(adamEps));
      out[n] = p[n].sub(u.mul(lr));
    }
    c1.dispose();
    c2.dispose();
    return [out, { t, mu, nu }];
  };

  const trainStep = jax.jit((s: State, real: Arr, key: Arr): [State, Arr, Arr] => {
    const ks = random.split(key, 8);
    const [kz1, kz2, kr1, kr2, kf1, kf2, kg1] = [0, 1, 2, 3, 4, 5, 6].map((i) => ks.ref.slice(i));
    const kg2 = ks.slice(7);
    const n = real.shape[0];
    // Discriminator update (the fake batch is a constant for it).
    const [fake, gState] = gen(jax.tree.ref(s.g), s.gState, random.normal(kz1, [n, latent]));
    const dLoss = (d: Params) => bceOnes(disc(jax.tree.ref(d), real, kr1, kr2)).add(bceZeros(disc(d, fake, kf1, kf2)));
    const [dl, dg] = jax.valueAndGrad(dLoss)(jax.tree.ref(s.d));
    const [d, dOpt] = adam(s.d, dg, s.dOpt);
    // Generator update through the updated discriminator.
    const z = random.normal(kz2, [n, latent]);
    const gLoss = (g: Params): [Arr, Params] => {
      const [img, ns] = gen(g, gState, z);
      return [bceOnes(disc(jax.tree.ref(d), img, kg1, kg2)), ns];
    };
    const [[gl, gState2], gg] = jax.valueAndGrad(gLoss, { hasAux: true })(jax.tree.ref(s.g));
    const [g, gOpt] = adam(s.g, gg, s.gOpt);
    return [{ g, gState: gState2, d, gOpt, dOpt }, dl, gl];
  });

  let step = 0;
  return async () => {
    const [next, dl, gl] = trainStep(state, real.ref, random.key(++step));
    state = next;
    const [dv, gv] = await Promise.all([dl.data(), gl.data()]);
    return { d: dv[0], g: gv[0] };
  };
}
