/** The VAE: shapes, the KL term, the ELBO and the importance-weighted bound by hand, gradients, training, resume. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Array, checkGrads, np, random } from "../mod.ts";
import {
  batchStream,
  elboTerms,
  interpolate,
  loadMnist,
  makeVae,
  quantileGrid,
  reparameterize,
  type VaeParams,
} from "../models/mod.ts";
import { assertSameCheckpoint, runExample, tinyMnist } from "./_examples_util.ts";

Deno.test("vae: every variant encodes to (mu, logVar) [B, latent], decodes to pixels in (0, 1), and trains a step", async () => {
  for (const arch of ["dense", "conv"] as const) {
    for (const latent of [2, 20]) {
      const vae = makeVae({ arch, latent, hidden: 64 });
      const s = vae.init(random.key(0));
      const x = random.uniform(random.key(1), [3, 1, 28, 28]);
      const { mu, logVar } = vae.encode(s.params, x);
      assert.deepEqual([mu.shape, logVar.shape], [[3, latent], [3, latent]], `${arch} ${latent}`);
      const px = await vae.decode(s.params, random.normal(random.key(2), [5, latent])).data();
      assert.equal(px.length, 5 * 784);
      assert.ok(px.every((v) => v > 0 && v < 1));
      assert.deepEqual(vae.reconstruct(s.params, x).shape, [3, 1, 28, 28]);
      const t = vae.elbo(s.params, x, random.key(3));
      assert.deepEqual([t.rec.shape, t.kl.shape], [[3], [3]]);
      assert.deepEqual(vae.iwBound(s.params, x, random.key(4), 4).shape, [3]);
      const [, m] = vae.step(s, x, random.key(5));
      const [loss, rec, kl] = [await m.loss.item(), await m.rec.item(), await m.kl.item()];
      assert.ok(Math.abs(loss - rec - kl) < 1e-3 * Math.abs(loss), `${loss} = ${rec} + ${kl}`);
    }
  }
});

Deno.test("KL term: the closed form for known mu and sigma, and a Monte Carlo estimate of E_q[log q - log p]", async () => {
  // mu = (1, -2), sigma = (0.5, 2): ½[(0.25 + 1 - 1 - ln 0.25) + (4 + 4 - 1 - ln 4)] = 3.625 (the logs cancel).
  const mu = np.array([[1, -2]]), logVar = np.array([[Math.log(0.25), Math.log(4)]]);
  const { kl } = elboTerms(np.zeros([1, 3]), np.zeros([1, 3]), mu, logVar);
  assert.ok(Math.abs((await kl.item()) - 3.625) < 1e-5);
  const n = 200000;
  const z = await reparameterize(random.key(6), np.broadcastTo(mu, [n, 2]), np.broadcastTo(logVar, [n, 2])).data();
  const [m, s] = [[1, -2], [0.5, 2]];
  let est = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 2; j++) {
      const v = z[i * 2 + j];
      est += (-0.5 * ((v - m[j]) / s[j]) ** 2 - Math.log(s[j]) + 0.5 * v * v) / n; // log q - log p, 2π cancels
    }
  }
  assert.ok(Math.abs(est - 3.625) < 0.03, `Monte Carlo ${est}`);
});

type Layer = { w: Array; b: Array } | null;
/** A dense relu stack on the host in float64: `layers` as `serial` lists them (null entries are relu/flatten/reshape). */
async function mlp(layers: Layer[], x: number[], reluAfter: boolean[]): Promise<number[]> {
  let h = x;
  let k = 0;
  for (const l of layers) {
    if (!l) continue;
    const [w, b] = [await l.w.data(), await l.b.data()];
    const nOut = l.w.shape[1];
    const out = globalThis.Array.from(
      { length: nOut },
      (_, j) => b[j] + h.reduce((s, v, i) => s + v * w[i * nOut + j], 0),
    );
    h = reluAfter[k++] ? out.map((v) => Math.max(0, v)) : out;
  }
  return h;
}
const softplus = (l: number) => Math.max(l, 0) + Math.log1p(Math.exp(-Math.abs(l)));

/** ELBO pieces of one image by hand: the encoder's Gaussian, then log p(x|z) and log w for given ε. */
async function byHand(p: VaeParams, x: number[]) {
  const f = await mlp(p.enc as Layer[], x, [true, true]);
  const mu = await mlp([p.mu as Layer], f, [false]);
  const lv = await mlp([p.logVar as Layer], f, [false]);
  const logLik = async (eps: number[]) => {
    const z = mu.map((m, j) => m + Math.exp(lv[j] / 2) * eps[j]);
    const l = await mlp(p.dec as Layer[], z, [true, true, false]);
    const ll = x.reduce((s, xi, i) => s + xi * l[i] - softplus(l[i]), 0);
    const logW = ll + 0.5 * eps.reduce((s, e, j) => s + e * e + lv[j] - z[j] ** 2, 0);
    return { ll, logW };
  };
  const kl = 0.5 * mu.reduce((s, m, j) => s + Math.exp(lv[j]) + m * m - 1 - lv[j], 0);
  return { logLik, kl };
}

Deno.test("vae: the ELBO and the importance-weighted bound of a fixed tiny model match a float64 computation by hand", async () => {
  const vae = makeVae({ latent: 2, hidden: 3, imageShape: [1, 2, 2] });
  const { params } = vae.init(random.key(7));
  const xs = [[0, 0.5, 1, 0.25], [1, 1, 0, 0.75]];
  const x = np.array(xs).reshape(2, 1, 2, 2);
  const key = random.key(8);
  const t = vae.elbo(params, x, key);
  const [rec, kl] = [await t.rec.data(), await t.kl.data()];
  const eps = await random.normal(key, [2, 2]).data(); // the ε that elbo draws from the key
  const k = 3;
  const iw = await vae.iwBound(params, x, key, k).data();
  const epsK = await random.normal(key, [2, k, 2]).data();
  for (let i = 0; i < 2; i++) {
    const h = await byHand(params, xs[i]);
    const { ll } = await h.logLik([eps[2 * i], eps[2 * i + 1]]);
    assert.ok(Math.abs(rec[i] + ll) < 1e-5 * Math.max(1, Math.abs(ll)), `rec ${rec[i]} vs ${-ll}`);
    assert.ok(Math.abs(kl[i] - h.kl) < 1e-5, `kl ${kl[i]} vs ${h.kl}`);
    const logW = [];
    for (let j = 0; j < k; j++) logW.push((await h.logLik([epsK[(i * k + j) * 2], epsK[(i * k + j) * 2 + 1]])).logW);
    const m = Math.max(...logW);
    const bound = m + Math.log(logW.reduce((s, v) => s + Math.exp(v - m), 0)) - Math.log(k);
    assert.ok(Math.abs(iw[i] - bound) < 1e-5 * Math.max(1, Math.abs(bound)), `iw ${iw[i]} vs ${bound}`);
  }
});

Deno.test("reparameterize: gradients through the sample match finite differences", async () => {
  const key = random.key(9);
  const f = (mu: Array, logVar: Array) => np.tanh(reparameterize(key, mu, logVar)).mul(np.array([1, -2, 3])).sum();
  await checkGrads(f, [np.array([0.3, -0.5, 1.2]), np.array([-1, 0.2, 0.7])]);
  // And the ELBO's gradient with respect to the mean head, through sampling and decoding.
  const vae = makeVae({ latent: 2, hidden: 4, imageShape: [1, 2, 2] });
  const { params } = vae.init(random.key(10));
  const x = np.array([[0, 0.5, 1, 0.25]]).reshape(1, 1, 2, 2);
  const negElbo = (w: Array) => {
    const t = vae.elbo({ ...params, mu: { w, b: params.mu.b } }, x, random.key(11));
    return t.rec.add(t.kl).sum();
  };
  await checkGrads(negElbo, [params.mu.w]);
});

Deno.test("vae: 50 steps on 256 MNIST images raise the ELBO", async () => {
  const data = await loadMnist({ split: "test", range: [0, 1], limit: 256 });
  const x = np.array(data.images, { shape: [256, 1, 28, 28] });
  const vae = makeVae({ latent: 8, hidden: 64, learningRate: 3e-3 });
  let s = vae.init(random.key(12));
  const negElbo = async () => {
    const t = vae.elbo(s.params, x, random.key(13));
    return await t.rec.add(t.kl).mean().item();
  };
  const before = await negElbo();
  for await (const b of batchStream(data, { batchSize: 32, key: random.key(14), steps: 50 })) {
    [s] = vae.step(s, b.x, random.foldIn(random.key(15), b.step));
  }
  const after = await negElbo();
  assert.ok(after < before - 200, `-ELBO ${before} -> ${after}`);
});

Deno.test("interpolate: linear and spherical paths between two codes, checked by hand", () => {
  const lin = interpolate([1, 0, 2], [3, 4, 2], 5, "linear");
  assert.deepEqual([...lin.subarray(0, 3)], [1, 0, 2]);
  assert.deepEqual([...lin.subarray(6, 9)], [2, 2, 2]);
  assert.deepEqual([...lin.subarray(12, 15)], [3, 4, 2]);
  // Two orthogonal vectors of norm 5: slerp stays on the circle; at t = 1/2 it is (a + b)/√2.
  const sl = interpolate([3, 4], [-4, 3], 3, "spherical");
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(Math.hypot(sl[2 * i], sl[2 * i + 1]) - 5) < 1e-5);
  assert.ok(Math.abs(sl[2] - (-1 / Math.SQRT2)) < 1e-5 && Math.abs(sl[3] - 7 / Math.SQRT2) < 1e-5);
  assert.ok(Math.abs(sl[4] + 4) < 1e-5 && Math.abs(sl[5] - 3) < 1e-5);
  // Parallel vectors: the arc is the line.
  assert.deepEqual([...interpolate([1, 1], [2, 2], 3, "spherical")], [1, 1, 1.5, 1.5, 2, 2]);
  assert.throws(() => interpolate([1], [1, 2], 3, "linear"), /interpolate: needs two vectors of one length/);
});

Deno.test("quantileGrid: the normal quantiles of evenly spaced probabilities, laid out row by row from the top", async () => {
  // Φ⁻¹ at 0.05, 0.275, 0.5, 0.725, 0.95, from Python's statistics.NormalDist().inv_cdf.
  const q = [-1.6448536, -0.5977601, 0, 0.5977601, 1.6448536];
  const g = await quantileGrid(5).data();
  assert.equal(g.length, 5 * 5 * 2);
  for (let i = 0; i < 5; i++) {
    for (let j = 0; j < 5; j++) {
      const [z1, z2] = [g[(i * 5 + j) * 2], g[(i * 5 + j) * 2 + 1]];
      assert.ok(Math.abs(z1 - q[j]) < 2e-5 && Math.abs(z2 - q[4 - i]) < 2e-5, `(${i}, ${j}): ${z1}, ${z2}`);
    }
  }
  const wide = await quantileGrid(2, { lo: 0.001, hi: 0.999 }).data(); // Φ⁻¹(0.999) = 3.0902323
  assert.ok(Math.abs(wide[0] + 3.0902323) < 1e-3 && Math.abs(wide[1] - 3.0902323) < 1e-3, `${wide}`);
  assert.throws(() => quantileGrid(1), /quantileGrid: needs an integer n ≥ 2/);
});

Deno.test("examples/vae.ts: pictures, the test ELBO, --iw; stopped and resumed, it ends bit-identical", async () => {
  const root = await tinyMnist();
  const args = ["--latent", "2", "--epochs", "2", "--batch", "8", "--every", "4"];
  const a = join(root, "a"), b = join(root, "b");
  let r = await runExample(root, "vae", [...args, "--steps", "6", "--out", a]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /step 6\/6 \(100%\) {2}epoch 1 {2}loss [0-9.]+ {2}rec [0-9.]+ {2}kl [0-9.e-]+ {2}\|/);
  r = await runExample(root, "vae", [...args, "--out", a, "--resume"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /12 steps \(resumed at step 6\)/);
  r = await runExample(root, "vae", [...args, "--out", b, "--iw", "5"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /test ELBO -[0-9.]+ nats\/image \(reconstruction [0-9.]+, KL [0-9.]+\); 5-sample importance-weighted bound -[0-9.]+/,
  );
  await assertSameCheckpoint(
    join(a, "checkpoints", "step_00000012.safetensors"),
    join(b, "checkpoints", "step_00000012.safetensors"),
  );
  for (
    const f of ["samples.png", "reconstructions.png", "interpolation.png", "manifold.png", "codes.png", "losses.csv"]
  ) {
    await Deno.stat(join(b, f));
  }
  r = await runExample(root, "vae", ["--latent", "0"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--latent must be an integer from 1 to 1000, got "0"/);
  await Deno.remove(root, { recursive: true });
});
