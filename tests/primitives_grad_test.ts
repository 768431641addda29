/**
 * Derivatives of every primitive: JVP and VJP to second order against central finite
 * differences (`checkGrads`), and zero derivatives for the piecewise-constant ones.
 */
import assert from "node:assert/strict";
import {
  type Array as Arr,
  assertAllclose,
  checkGrads,
  customVjp,
  grad,
  jit,
  jvp,
  lax,
  makeJaxpr,
  np,
  stopGradient,
} from "../mod.ts";
import { bind, bind1 } from "../core/trace.ts";
import { rules } from "../core/rules.ts";
import { type Rule, type Tangent, Zero } from "../core/primitives/types.ts";
import { arr, type Host, rand } from "./_ref.ts";
import { ZERO_JVP } from "./mutation/zero_jvp.ts";

// Derivative coverage counts what runs, not what tests are called: every jvp rule in this
// process's table is wrapped to record the primitives whose rule produced a nonzero float
// tangent while a gradient check was running.
const table = rules as unknown as Record<string, Rule<unknown>>;
const differentiated = new Set<string>();
let checking = false;
for (const [prim, rule] of Object.entries(table)) {
  table[prim] = {
    ...rule,
    jvp(primals: Arr[], tangents: Tangent[], params: unknown): [Arr[], Tangent[]] {
      const out = rule.jvp(primals, tangents, params);
      if (checking && out[1].some((t) => !(t instanceof Zero) && t.dtype === "float32")) differentiated.add(prim);
      return out;
    },
  };
}
/** `checkGrads`, recording the primitives it differentiates. */
async function checked(...a: Parameters<typeof checkGrads>): Promise<void> {
  checking = true;
  try {
    await checkGrads(...a);
  } finally {
    checking = false;
  }
}

const both = { order: 2, modes: ["fwd", "rev"] as ("fwd" | "rev")[] };
const away = (x: Host, m = 0.3): Host => ({ shape: x.shape, data: x.data.map((v) => (v < 0 ? v - m : v + m)) });
const X = arr(away(rand([2, 3], 1, -1.5, 1.5)));
const Y = arr(away(rand([2, 3], 2, -1.5, 1.5)));
const P = arr(rand([2, 3], 3, 0.4, 2));

/** Registers a derivative test of `prims` (the primitives it is meant to exercise). */
function gradTest(prims: string[], label: string, f: (...xs: Arr[]) => Arr, args: Arr[], opts = both) {
  Deno.test(`grads: ${prims.join(",")}: ${label}`, async () => {
    await checked(f, args, opts);
  });
}

// Unary.
gradTest(["neg"], "neg", (x) => np.negative(x).mul(x), [X]);
gradTest(["exp"], "exp", np.exp, [X]);
gradTest(["log"], "log", np.log, [P]);
gradTest(["log1p"], "log1p", np.log1p, [P]);
gradTest(["expm1"], "expm1", np.expm1, [X]);
gradTest(["sin"], "sin", np.sin, [X]);
gradTest(["cos"], "cos", np.cos, [X]);
gradTest(["tanh"], "tanh", np.tanh, [X]);
// Scaled: sigmoid's derivative (≤ 1/4) times 8 is well above atol, so a 1 % error shows.
gradTest(["logistic"], "logistic", (x) => np.sigmoid(x).mul(8), [X]);
gradTest(["sqrt"], "sqrt", np.sqrt, [P]);
gradTest(["rsqrt"], "rsqrt", np.rsqrt, [P]);
gradTest(["abs"], "abs away from 0", (x) => np.abs(x).mul(x), [X]);
gradTest(["erf"], "erf", np.erf, [X]);

// Binary.
gradTest(["add"], "add", (a, b) => np.add(a, b).mul(a), [X, Y]);
gradTest(["sub"], "sub", (a, b) => np.subtract(a, b).mul(b), [X, Y]);
gradTest(["mul"], "mul", np.multiply, [X, Y]);
gradTest(["div"], "div", np.divide, [X, Y]);
gradTest(["pow"], "pow in both arguments", np.power, [P, X]);
gradTest(["max"], "max without ties", np.maximum, [X, Y]);
gradTest(["min"], "min without ties", np.minimum, [X, Y]);
gradTest(["atan2"], "atan2", np.arctan2, [X, Y]);
gradTest(["rem"], "rem away from jumps", np.rem, [
  np.array([0.7, -1.3, 2.2, 5.1, -4.4, 1.9], { shape: [2, 3] }),
  np.array([2, -2.5, 1.5, 3, 1.7, -0.8], { shape: [2, 3] }),
]);
gradTest(["select"], "where in both branches", (a, b) => np.where(np.greater(X, 0), a.mul(a), b.mul(a)), [X, Y]);
gradTest(["convert"], "convert float32 -> float32", (x) => bind1("convert", [x.mul(x)], { dtype: "float32" }), [X]);

// Reductions.
const R = arr(rand([2, 3, 4], 5));
const Rp = arr(rand([2, 3, 4], 6, 0.5, 1.5));
gradTest(["reduceSum"], "sum over axes 0,2", (x) => np.sum(x.mul(x), { axis: [0, 2] }), [R]);
gradTest(["reduceMax"], "max over axis 1", (x) => np.max(x, { axis: 1 }).mul(np.sum(x, { axis: 1 })), [R]);
gradTest(["reduceMin"], "min over axes 0,2", (x) => np.min(x, { axis: [0, 2] }).mul(np.sum(x, { axis: [0, 2] })), [R]);
gradTest(["reduceProd"], "prod over axis 2", (x) => np.prod(x, { axis: 2 }), [Rp]);
gradTest(["reduceProd"], "prod over axes 0,1", (x) => np.prod(x, { axis: [0, 1] }), [Rp]);
gradTest(["cumsum"], "cumsum forward", (x) => np.cumsum(x.mul(x), { axis: 1 }), [R]);
gradTest(["cumsum"], "cumsum reverse", (x) => np.cumsum(x.mul(x), { axis: 2, reverse: true }), [R]);

// Movement.
gradTest(["reshape"], "reshape", (x) => np.reshape(x.mul(x), [4, 6]), [R]);
gradTest(["broadcastInDim"], "broadcast a size-1 axis", (x) => np.broadcastTo(x.mul(x), [2, 3, 4]), [
  arr(rand([3, 1], 7)),
]);
gradTest(["transpose"], "transpose", (x) => np.transpose(x.mul(x), [2, 0, 1]), [R]);
gradTest(["slice"], "strided slice", (x) => lax.slice(x.mul(x), [0, 1, 0], [2, 3, 4], [1, 1, 3]), [R]);
gradTest(
  ["pad"],
  "pad with interior, negative lo and a traced value",
  (x, v) => bind1("pad", [x.mul(x), v.mul(v)], { lo: [1, -1], hi: [0, 2], interior: [1, 1] }),
  [X, np.array(0.7)],
);
gradTest(["concatenate"], "concatenate", (a, b) => np.concatenate([a.mul(b), b, a], 1), [X, Y]);
gradTest(["rev"], "flip", (x) => np.flip(x.mul(x), [0, 2]), [R]);

// Indexing.
const idx = np.array([2, 0, 2, 1], { dtype: "int32", shape: [2, 2] });
gradTest(["gather"], "gather along axis 1 with repeats", (x) => bind1("gather", [x.mul(x), idx], { axis: 1 }), [X]);
gradTest(
  ["scatterAdd"],
  "scatterAdd in operand and updates",
  (x, u) => bind1("scatterAdd", [x.mul(x), idx, u.mul(x.sum())], { axis: 1 }),
  [X, arr(rand([2, 2, 2], 8))],
);
gradTest(["dynamicSlice"], "dynamicSlice", (x) => lax.dynamicSlice(x.mul(x), [1, 2, 0], [1, 2, 3]), [R]);
gradTest(
  ["dynamicUpdateSlice"],
  "dynamicUpdateSlice in operand and update",
  (x, u) => lax.dynamicUpdateSlice(x.mul(x), u.mul(u), [0, 1]),
  [X, arr(rand([2, 2], 9))],
);

// Contractions.
gradTest(["dotGeneral"], "matmul", (a, b) => np.matmul(a, b), [arr(rand([2, 3], 10)), arr(rand([3, 4], 11))]);
gradTest(
  ["dotGeneral"],
  "dotGeneral with batch dims in odd places",
  (a, b) => bind1("dotGeneral", [a, b.mul(b)], { contract: [[2], [0]], batch: [[1], [2]] }),
  [arr(rand([4, 2, 3], 12)), arr(rand([3, 5, 2], 13))],
);
const convCfgs: [string, number[], number[], Record<string, unknown>][] = [
  ["strides, padding, dilations", [1, 2, 5, 4], [3, 2, 2, 3], {
    strides: [2, 1],
    padding: [[1, 0], [2, 1]],
    lhsDilation: [2, 1],
    rhsDilation: [1, 2],
  }],
  ["featureGroupCount 2", [2, 4, 4, 3], [4, 2, 2, 2], { featureGroupCount: 2 }],
  ["batchGroupCount 2", [4, 2, 3, 3], [4, 2, 2, 2], { batchGroupCount: 2 }],
  ["NHWC / HWIO, SAME", [2, 4, 3, 3], [2, 2, 3, 2], { padding: "SAME", dimensionNumbers: ["NHWC", "HWIO", "NHWC"] }],
];
convCfgs.forEach(([label, ls, rs, o], i) =>
  gradTest(
    ["convGeneralDilated"],
    `conv ${label}`,
    (l, r) => lax.convGeneralDilated(l.mul(l), r, o),
    [arr(rand(ls, 20 + i)), arr(rand(rs, 30 + i))],
  )
);

// Windows.
const W = { window: [1, 2, 2], strides: [1, 2, 1], padding: [[0, 0], [1, 0], [0, 1]] as [number, number][] };
const WX = arr(rand([2, 5, 4], 40));
gradTest(["reduceWindow"], "sum pooling", (x) => lax.reduceWindow(x.mul(x), "sum", W.window, W), [WX]);
gradTest(
  ["reduceWindow", "selectAndGather", "selectAndScatterAdd"],
  "max pooling",
  (x) => lax.reduceWindow(x.mul(x), "max", W.window, W),
  [WX],
);
gradTest(
  ["selectAndGather"],
  "selectAndGather in its tangent operand",
  (t) => bind1("selectAndGather", [WX, t.mul(t)], W),
  [arr(rand([2, 5, 4], 41))],
);
gradTest(
  ["selectAndScatterAdd"],
  "selectAndScatterAdd in its source operand",
  (s) => bind1("selectAndScatterAdd", [s.mul(s), WX], W),
  [arr(rand([2, 3, 4], 42))],
);

// Structured.
const jf = jit((a: Arr, b: Arr) => np.sin(a).mul(b).add(np.exp(b)));
gradTest(["jitCall"], "jit of a nonlinear function", (a, b) => jf(a, b), [X, Y]);
const cube = customVjp(
  (x: Arr) => x.mul(x).mul(x),
  (x: Arr) => [x.mul(x).mul(x), x],
  (x: Arr, g: Arr) => [g.mul(x.mul(x)).mul(3)],
);
gradTest(["customVjpCall", "customLin"], "customVjp (reverse mode)", (x) => cube(x).mul(x), [X], {
  order: 2,
  modes: ["rev"],
});
Deno.test("grads: customVjpCall: forward mode says it is unsupported", () => {
  assert.throws(() => jvp((x: Arr) => cube(x), [X], [X]), /customVjp.*(forward|jvp)/);
});
gradTest(
  ["scan"],
  "scan with carry, xs and a closed-over constant",
  (c, xs, w) => {
    const [cf, ys] = lax.scan((c: Arr, x: Arr): [Arr, Arr] => [np.tanh(c.mul(w).add(x)), c.mul(x)], c, xs);
    return np.concatenate([cf, ys.reshape([-1])]);
  },
  [arr(rand([3], 50)), arr(rand([4, 3], 51)), arr(rand([3], 52))],
);

// Piecewise-constant primitives: d/dx [x · h(x)] = h(x) when h's derivative is zero.
// Values a quarter-step grid plus 0.11: away from every threshold used below, no ties.
const Q = np.array([[-1.39, 0.61, 1.36], [0.36, -0.64, 1.61]]);
const f32 = (x: Arr) => x.astype("float32");
const ints = (x: Arr) => np.floor(x.mul(4)).astype("int32");
const zeroDeriv: Record<string, (x: Arr) => Arr> = {
  sign: np.sign,
  floor: np.floor,
  ceil: np.ceil,
  round: np.round,
  isnan: (x) => f32(np.isnan(x)),
  not: (x) => f32(np.logicalNot(np.greater(x, 0))),
  eq: (x) => f32(np.equal(np.floor(x), 0)),
  ne: (x) => f32(np.notEqual(np.floor(x), 0)),
  lt: (x) => f32(np.less(x, 0.5)),
  le: (x) => f32(np.lessEqual(x, 0.5)),
  gt: (x) => f32(np.greater(x, 0.5)),
  ge: (x) => f32(np.greaterEqual(x, 0.5)),
  and: (x) => f32(np.logicalAnd(np.greater(x, 0), np.less(x, 1))),
  or: (x) => f32(np.logicalOr(np.greater(x, 1), np.less(x, 0))),
  xor: (x) => f32(np.logicalXor(np.greater(x, 1), np.less(x, 0))),
  shiftLeft: (x) => f32(bind1("shiftLeft", [ints(x), np.full([2, 3], 2, { dtype: "int32" })], {})),
  shiftRightLogical: (x) =>
    f32(bind1("shiftRightLogical", [ints(x.add(3)), np.full([2, 3], 1, { dtype: "int32" })], {})),
  argmax: (x) => np.broadcastTo(f32(np.argmax(x, { axis: 1, keepdims: true })), [2, 3]),
  argmin: (x) => np.broadcastTo(f32(np.argmin(x, { axis: 0, keepdims: true })), [2, 3]),
  iota: (x) => x.mul(0).add(bind1("iota", [], { shape: [2, 3], dtype: "float32", dimension: 1 })),
  bitcast: (x) => f32(bind1("bitcast", [ints(x)], { dtype: "uint32" })).mul(1e-10),
  threefry2x32: (x) => {
    const u = ints(x.add(3)).astype("uint32");
    return f32(bind("threefry2x32", [u, u, u, u], {})[0]).mul(2 ** -32);
  },
};
for (const [prim, hfn] of Object.entries(zeroDeriv)) {
  Deno.test(`grads: ${prim}: zero derivative`, async () => {
    await checked((x: Arr) => x.mul(hfn(x)), [Q], both);
  });
}
Deno.test("grads: stopGradient: blocks the gradient but not the value", async () => {
  const f = (x: Arr) => stopGradient(x).mul(x).sum();
  await assertAllclose(grad(f)(X), X);
  const [, t] = jvp((x: Arr) => stopGradient(x).mul(x), [X], [np.onesLike(X)]);
  await assertAllclose(t, X);
});

/** Runs `body` with `prim`'s rule replaced by `{ ...rule, ...change(rule) }`. */
async function withRule(prim: string, change: (r: Rule<unknown>) => Partial<Rule<unknown>>, body: () => Promise<void>) {
  const rule = table[prim];
  table[prim] = { ...rule, ...change(rule) };
  try {
    await body();
  } finally {
    table[prim] = rule;
  }
}
const scaled = (ts: (Tangent | null)[], c: number) => ts.map((t) => (t instanceof Zero || t === null ? t : t.mul(c)));

Deno.test("checkGrads: a derivative rule 1 % off fails in forward and in reverse mode", async () => {
  const erfOff = (r: Rule<unknown>) => ({
    jvp: (p: Arr[], t: Tangent[], q: unknown): [Arr[], Tangent[]] => {
      const [o, ts] = r.jvp(p, t, q);
      return [o, scaled(ts, 1.01) as Tangent[]];
    },
  });
  await withRule("erf", erfOff, async () => {
    await assert.rejects(checkGrads(np.erf, [X]), /jvp of .* vs finite differences/);
    await assert.rejects(checkGrads(np.erf, [X], { modes: ["rev"] }), /vjp of .* vs finite differences/);
  });
  const sinOff = customVjp(
    (x: Arr) => np.sin(x),
    (x: Arr) => [np.sin(x), x],
    (x: Arr, g: Arr) => [g.mul(np.cos(x)).mul(1.01)],
  );
  await assert.rejects(checkGrads(sinOff, [X], { modes: ["rev"] }), /vjp of .* vs finite differences/);
  await checkGrads(np.erf, [X]);
});

Deno.test("checkGrads: a transpose rule 0.1 % out of line with its jvp rule fails the exact jvp-vjp check", async () => {
  const sumOff = (r: Rule<unknown>) => ({
    transpose: (cts: Tangent[], args: unknown[], q: unknown) => scaled(r.transpose!(cts, args as Arr[], q), 1.001),
  });
  await withRule("reduceSum", sumOff, async () => {
    const f = (x: Arr) => np.sum(x.mul(x), { axis: 1 });
    await assert.rejects(checkGrads(f, [X]), /vjp of .* disagrees with its jvp/);
  });
});

Deno.test("grads: every differentiable primitive's jvp rule ran in a gradient check", () => {
  const missing = Object.keys(rules).filter((p) => !(p in ZERO_JVP) && !differentiated.has(p));
  assert.deepEqual(missing, [], `primitives no gradient check differentiated: ${missing.join(", ")}`);
  const odd = Object.keys(ZERO_JVP).filter((p) => differentiated.has(p));
  assert.deepEqual(odd, [], `listed as having no tangent in tests/mutation/zero_jvp.ts, yet differentiated: ${odd}`);
});

Deno.test("grads: dotGeneral: the weight's cotangent comes straight from a dot, no transpose", async () => {
  // d/dw Σ(x·w) for x [B, I], w [I, O] is xᵀ·g: `dot(x, g)` contracting the batch axis is already
  // [I, O], so the rule must not build `dot(g, x)` ([O, I]) and transpose it. Batched too.
  const cases: [number[], number[], (x: Arr, w: Arr) => Arr][] = [
    [[5, 3], [3, 4], (x, w) => x.matmul(w)],
    [[2, 5, 3], [2, 3, 4], (x, w) => x.matmul(w)],
  ];
  for (const [xs, ws, f] of cases) {
    const x = arr(rand(xs, 1)), w = arr(rand(ws, 2));
    const loss = (w: Arr) => np.sin(f(x, w)).sum();
    const prims = makeJaxpr(grad(loss))(w).eqns.map((e) => e.prim);
    assert.ok(!prims.includes("transpose"), `grad of ${xs} @ ${ws}: ${prims.join(" ")}`);
    await checkGrads(loss, [w]);
  }
});
