/**
 * cpu fusion: jitted programs whose elementwise runs execute as generated loops give exactly
 * (bit for bit, NaN for NaN) what the unfused kernels give — eager and jit with fusion off —
 * over long chains, every dtype, broadcast operands, several outputs, values used after a run,
 * NaN/Inf/-0 and integer wrap-around; and fusion can be switched off.
 */
import assert from "node:assert/strict";
import { type Array as Arr, jit, np, random } from "../mod.ts";
import { bind, bind1 } from "../core/trace.ts";
import { fusion, profile } from "../core/backend/cpu/executor.ts";
import type { DType } from "../core/dtype.ts";
import * as optim from "../optim/mod.ts";
import { cpuTest } from "./_backend.ts";

const list = (y: Arr | Arr[]) => (globalThis.Array.isArray(y) ? y : [y]);
const op = (prim: string, ...xs: Arr[]) => bind1(prim as never, xs, {} as never);
const bcast = (x: Arr, shape: number[], dims: number[]) => bind1("broadcastInDim", [x], { shape, dims });
const cvt = (x: Arr, dtype: DType) => bind1("convert", [x], { dtype });
const bitcast = (x: Arr, dtype: DType) => bind1("bitcast", [x], { dtype });

/** Same dtype, shape and bits (any NaN equals any NaN). */
async function assertSame(a: Arr, b: Arr, what: string) {
  assert.deepEqual(a.shape, b.shape, what);
  assert.equal(a.dtype, b.dtype, what);
  const [x, y] = [await a.data(), await b.data()];
  assert.equal(x.length, y.length, what);
  for (let i = 0; i < x.length; i++) {
    const ok = Object.is(x[i], y[i]) || (Number.isNaN(x[i]) && Number.isNaN(y[i]));
    if (!ok) assert.fail(`${what}: element ${i}: ${x[i]} vs ${y[i]}`);
  }
}

/** Runs `f` eagerly, jitted with fusion off and jitted with fusion on; all results must agree exactly. */
async function checkFused(f: (...xs: Arr[]) => Arr | Arr[], args: Arr[], minFused = 1) {
  const eager = list(f(...args));
  const g = jit(f);
  const saved = fusion.enabled;
  try {
    fusion.enabled = false;
    const plain = list(g(...args));
    fusion.enabled = true;
    profile.enabled = true;
    profile.calls.clear();
    profile.ms.clear();
    const fused = list(g(...args));
    profile.enabled = false;
    const calls = [...profile.calls];
    assert.ok((profile.calls.get("fused") ?? 0) >= minFused, `expected fused loops, ran ${JSON.stringify(calls)}`);
    for (const p of ["add", "mul", "sub", "select", "threefry2x32", "convert", "gt"]) {
      assert.ok(!profile.calls.has(p), `${p} should have been fused: ${JSON.stringify(calls)}`);
    }
    assert.equal(fused.length, eager.length);
    for (let i = 0; i < eager.length; i++) {
      await assertSame(plain[i], eager[i], `output ${i}: jit (unfused) vs eager`);
      await assertSame(fused[i], eager[i], `output ${i}: jit (fused) vs eager`);
    }
  } finally {
    fusion.enabled = saved;
    profile.enabled = false;
  }
}

const special = [NaN, Infinity, -Infinity, -0, 0, 1, -1, 0.5, -0.5, 1.5, 2.5, -2.5, 1e-30, 3.4e38, -3.4e38, 7];
const floats = (n: number, seed: number) =>
  globalThis.Array.from(
    { length: n },
    (_, i) => (i < special.length ? special[(i + seed) % special.length] : Math.sin(i * 12.9898 + seed) * 4),
  );
const ints = [0, 1, -1, 2, -2, 7, -7, 31, 32, 33, 2147483647, -2147483648, 65536, -65537, 12345, -99999];
const uints = [0, 1, 2, 7, 31, 32, 33, 4294967295, 2147483648, 2147483647, 65536, 99999, 3, 5, 1000000007, 12];

/** These tests exercise the cpu executor: each runs on cpu whatever backend the suite uses. */

cpuTest("fusion: a long float32 chain with NaN, Inf and -0 is bit-exact", async () => {
  const x = np.array(floats(32, 0)).reshape(4, 8);
  const y = np.array(floats(32, 5)).reshape(4, 8);
  await checkFused((x: Arr, y: Arr) => {
    let a = op("add", op("mul", x, y), op("sin", x));
    a = op("div", a, op("sub", y, op("exp", x)));
    const b = op("tanh", op("logistic", op("log1p", op("abs", a))));
    const c = op("atan2", op("pow", op("sqrt", op("abs", x)), y), op("rsqrt", op("abs", y)));
    const d = op("max", op("min", b, c), op("erf", op("expm1", op("cos", a))));
    const e = op("add", op("round", op("mul", x, y)), op("rem", op("floor", x), op("ceil", y)));
    const s = op("select", op("gt", d, e), op("sign", d), op("neg", e));
    return [s, op("log", op("abs", op("isnan", a).astype("float32").add(s))), d];
  }, [x, y]);
});

cpuTest("fusion: int32, uint32 and bool wrap, divide and shift exactly like the kernels", async () => {
  const i = np.array(ints, { dtype: "int32" }), j = np.array([...ints].reverse(), { dtype: "int32" });
  const u = np.array(uints, { dtype: "uint32" }), v = np.array([...uints].reverse(), { dtype: "uint32" });
  await checkFused((i: Arr, j: Arr, u: Arr, v: Arr) => {
    const a = op("add", op("mul", i, j), op("sub", j, op("neg", i)));
    const b = op("div", a, op("rem", j, i));
    const c = op("xor", op("shiftLeft", a, j), op("or", op("and", b, i), op("not", j)));
    const d = op("abs", op("sign", op("shiftRightLogical", c, i)));
    const uu = op("add", op("mul", u, v), op("sub", v, op("neg", u)));
    const ud = op("div", uu, op("rem", u, v));
    const us = op("xor", op("shiftLeft", ud, v), op("shiftRightLogical", op("not", u), v));
    const bo = op("and", op("lt", a, b), op("not", op("ge", c, d)));
    const bo2 = op("or", op("xor", bo, op("eq", u, v)), op("ne", i, j));
    const mixed = op("add", cvt(us, "int32"), cvt(bo2, "int32"));
    return [
      d,
      us,
      bo2,
      op("max", mixed, op("min", a, c)),
      cvt(mixed, "uint32"),
      op("max", bo, bo2),
      op("select", bo, bo2, op("not", bo)),
    ];
  }, [i, j, u, v]);
});

cpuTest("fusion: selects pick exactly on every dtype (branch-free bit select)", async () => {
  // NaN, ±Inf, -0 and +0 in both branches; uint32 above 2^31; int32 extremes; predicates from
  // comparisons (including NaN comparisons), from bool inputs and from their negation.
  const x = np.array([NaN, -0, 0, Infinity, -Infinity, 1.5, -2.5, 3e38, -1e-45, 7], { dtype: "float32" });
  const y = np.array([0, NaN, -0, -Infinity, 5, -1.5, NaN, -3e38, 1e-45, -7], { dtype: "float32" });
  const i = np.array([-2147483648, 2147483647, -1, 0, 1, 5, -5, 100, -100, 3], { dtype: "int32" });
  const u = np.array([4294967295, 2147483648, 0, 1, 3000000000, 7, 8, 9, 10, 11], { dtype: "uint32" });
  const b = np.array([1, 0, 1, 0, 1, 1, 0, 0, 1, 0], { dtype: "bool" });
  await checkFused((x: Arr, y: Arr, i: Arr, u: Arr, b: Arr) => {
    const p = op("gt", x, y), q = op("ne", x, x), r = op("not", b);
    const iu = cvt(u, "int32"), ui = cvt(i, "uint32");
    return [
      op("select", p, x, y),
      op("select", q, y, x),
      op("select", b, op("neg", x), y),
      op("select", r, i, iu),
      op("select", op("lt", i, iu), u, ui),
      op("select", p, b, r),
      op("add", op("select", op("le", x, y), x, op("mul", y, x)), x),
    ];
  }, [x, y, i, u, b]);
});

cpuTest("fusion: convert and bitcast between every dtype", async () => {
  const x = np.array([...floats(16, 3), 3e9, -3e9, 4294967296, 2147483648, 1.7, -1.7, 255.5, 256], {
    dtype: "float32",
  });
  await checkFused((x: Arr) => {
    const i = cvt(x, "int32"), u = cvt(x, "uint32"), b = cvt(x, "bool");
    const fi = cvt(i, "float32"), fu = cvt(u, "float32"), fb = cvt(b, "float32");
    const iu = cvt(u, "int32"), ui = cvt(i, "uint32"), ib = cvt(b, "int32"), bi = cvt(i, "bool");
    const bits = bitcast(x, "uint32"), back = bitcast(op("xor", bits, u), "float32");
    const ibits = bitcast(x, "int32"), uFromI = bitcast(ibits, "uint32"), iFromU = bitcast(u, "int32");
    return [fi, fu, fb, iu, ui, ib, bi, back, bitcast(iFromU, "float32"), uFromI];
  }, [x]);
});

cpuTest("fusion: broadcast operands are read in place, scalars, rows, columns and unit axes", async () => {
  const x = np.array(floats(24, 1)).reshape(2, 3, 4);
  const row = np.array([1.5, -2, NaN, 4]), col = np.array([3, 0.25, -1]), s = np.array(0.75);
  const m = np.array(floats(8, 2)).reshape(2, 1, 4);
  await checkFused((x: Arr, row: Arr, col: Arr, s: Arr, m: Arr) => {
    const r = bcast(row, [2, 3, 4], [2]);
    const c = bcast(col, [2, 3, 4], [1]);
    const sc = bcast(s, [2, 3, 4], []);
    const t = bcast(m, [2, 3, 4], [0, 1, 2]); // a unit axis
    const c2 = bcast(bcast(col, [3, 1], [0]), [2, 3, 4], [1, 2]); // broadcast of a broadcast, unit axis
    const y = op("add", op("mul", x, r), op("div", c, sc));
    return [op("sub", op("max", y, t), c2), op("mul", y, sc)];
  }, [x, row, col, s, m]);
});

cpuTest("fusion: values used after a run are written, internal ones are not, across reductions", async () => {
  const x = np.array(floats(48, 4).map((v) => (Number.isFinite(v) ? v : 1))).reshape(6, 8);
  await checkFused(
    (x: Arr) => {
      const a = op("mul", x, x);
      const b = op("add", a, x); // used after the reduction
      const m = b.sum(1, true); // not fusible: ends the run
      const c = op("sub", b, bcast(m.reshape(6), [6, 8], [0]));
      const d = op("exp", op("neg", op("abs", c)));
      return [d.sum(), a, op("div", d, bcast(d.sum(1), [6, 8], [0]))];
    },
    [x],
    2,
  );
});

cpuTest("fusion: threefry2x32 and the random samplers inside jit", async () => {
  const key = random.key(7);
  await checkFused((k: Arr) => {
    const [a, b] = random.split(k);
    return [random.uniform(a, [3, 50]), random.normal(b, [2, 75]), random.bernoulli(a, 0.3, [40])];
  }, [key]);
  const k0 = np.array(uints, { dtype: "uint32" }), k1 = np.array([...uints].reverse(), { dtype: "uint32" });
  await checkFused((k0: Arr, k1: Arr) => {
    const [y0, y1] = bind("threefry2x32", [k0, k1, op("xor", k0, k1), k1], {});
    return [op("xor", y0, y1), y1];
  }, [k0, k1]);
});

cpuTest("fusion: many independent elementwise ops between other ops still agree", async () => {
  const x = np.array(floats(64, 6).map((v) => (Number.isFinite(v) ? v : -3))).reshape(8, 8);
  await checkFused((x: Arr) => {
    let y = x;
    const outs: Arr[] = [];
    for (let k = 0; k < 6; k++) {
      y = op("add", op("mul", y, x), bcast(y.max(0), [8, 8], [1]));
      outs.push(op("tanh", y), y.matmul(x));
      y = op("tanh", y);
    }
    return outs;
  }, [x]);
});

cpuTest("fusion: an optimizer's per-leaf chains, interleaved leaf by leaf, each become one loop", async () => {
  // Adam maps over the leaves stage by stage (all first moments, all second moments, all
  // updates), so the program interleaves leaves of different shapes; each leaf's whole chain
  // should still run as one loop: one loop per distinct leaf shape here, and the same bits.
  const shapes = [[6, 5], [5], [5, 4], [4], [6, 5]];
  const params = shapes.map((s, k) => np.array(floats(s.reduce((a, b) => a * b, 1), k + 1)).reshape(...s));
  const grads = params.map((p) => np.sin(p.mul(3)));
  const adam = optim.adam(1e-2);
  const state = adam.init(params);
  const step = (ps: Arr[], gs: Arr[]) => {
    const [u] = adam.update(gs, state, ps);
    return optim.applyUpdates(ps, u);
  };
  await checkFused((...xs: Arr[]) => step(xs.slice(0, 5), xs.slice(5)), [...params, ...grads]);
  profile.enabled = true;
  profile.calls.clear();
  jit(step)(params, grads);
  profile.enabled = false;
  // Four distinct shapes, plus the scalar bias corrections.
  assert.ok(profile.calls.get("fused")! <= 5, `fused loops: ${profile.calls.get("fused")}`);
});

cpuTest("fusion: fusion.enabled = false runs the plain kernels", async () => {
  const f = jit((x: Arr) => np.exp(x).mul(2).add(1));
  const x = np.array([1, 2, 3]);
  const saved = fusion.enabled;
  try {
    fusion.enabled = false;
    profile.enabled = true;
    profile.calls.clear();
    const y = f(x);
    assert.ok(!profile.calls.has("fused") && profile.calls.has("exp"));
    fusion.enabled = true;
    profile.calls.clear();
    await assertSame(f(x), y, "fused vs unfused");
    assert.equal(profile.calls.get("fused"), 1);
    assert.ok(!profile.calls.has("exp"));
  } finally {
    fusion.enabled = saved;
    profile.enabled = false;
  }
});

cpuTest("fusion: WAX_FUSION=0 in the environment turns fusion off", async () => {
  const code = `import { fusion } from "${new URL("../core/backend/cpu/fusion.ts", import.meta.url)}";
console.log(JSON.stringify(fusion.enabled));`;
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(file, code);
  const run = async (env: Record<string, string>, perm: string) => {
    const cmd = new Deno.Command(Deno.execPath(), { args: ["run", perm, file], env, stdout: "piped", stderr: "piped" });
    const out = await cmd.output();
    return new TextDecoder().decode(out.stdout).trim();
  };
  assert.equal(await run({ WAX_FUSION: "0" }, "--allow-env"), "false");
  assert.equal(await run({ WAX_FUSION: "1" }, "--allow-env"), "true");
  assert.equal(await run({ WAX_FUSION: "0" }, "--no-prompt"), "true", "without env permission fusion stays on");
  await Deno.remove(file);
});
