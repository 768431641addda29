/**
 * Elementwise primitives: unary math, binary arithmetic and comparisons, `select`,
 * `convert` and `bitcast`. Operands have equal shapes (broadcasting lives in `np`).
 * @module
 */
import type { Array, Aval } from "../array.ts";
import { type DType, isFloat } from "../dtype.ts";
import { fmt, shapeEq } from "../shape.ts";
import { batchElementwise } from "./batching.ts";
import {
  add,
  bind1,
  convert,
  div,
  full,
  instantiate,
  mul,
  neg,
  plus,
  productJvp,
  scale,
  select,
  sub,
  term,
  unary,
} from "./ops.ts";
import type { BinaryName, ElementwiseParams, NoParams, UnaryName } from "./params.ts";
import { type FamilyRules, LinearIn, type Rule, type Tangent, Zero } from "./types.ts";

type Kind = "float" | "int" | "bool" | "any" | "intOrBool" | "num";
function checkKind(op: string, a: Aval, kind: Kind) {
  const ok = kind === "any" || (kind === "float" && isFloat(a.dtype)) ||
    (kind === "int" && (a.dtype === "int32" || a.dtype === "uint32")) ||
    (kind === "bool" && a.dtype === "bool") || (kind === "intOrBool" && !isFloat(a.dtype)) ||
    (kind === "num" && a.dtype !== "bool");
  if (!ok) throw new TypeError(`${op}: unsupported dtype ${a.dtype}; it needs ${kind} input (cast with astype)`);
}

function sameAvals(op: string, avals: readonly Aval[]) {
  const [a] = avals;
  for (const b of avals.slice(1)) {
    if (!shapeEq(a.shape, b.shape)) {
      throw new Error(`${op}: shapes differ: ${avals.map((x) => fmt(x.shape)).join(" vs ")}`);
    }
    if (a.dtype !== b.dtype) {
      throw new TypeError(`${op}: dtypes differ: ${avals.map((x) => x.dtype).join(" vs ")}; cast one with astype`);
    }
  }
}

const zeroOut = (avals: Aval[]): Tangent[] => avals.map((a) => new Zero(a));

function unaryRule(
  name: UnaryName,
  kind: Kind,
  deriv: ((x: Array, y: Array) => Array) | null,
  out?: DType,
): Rule<NoParams> {
  return {
    abstractEval([a]) {
      checkKind(name, a, kind);
      return [{ shape: a.shape, dtype: out ?? a.dtype }];
    },
    jvp([x], [t]) {
      const y = unary(name, x);
      return [[y], [deriv && !(t instanceof Zero) ? mul(t, deriv(x, y)) : new Zero(y.aval)]];
    },
    batch: batchElementwise(([x]) => [unary(name, x)]),
  };
}

function binaryRule(
  name: BinaryName,
  kind: Kind,
  jvp: ((x: Array, y: Array, tx: Tangent, ty: Tangent, out: Array) => Tangent) | null,
  out?: DType,
): Rule<NoParams> {
  return {
    abstractEval(avals) {
      sameAvals(name, avals);
      checkKind(name, avals[0], kind);
      return [{ shape: avals[0].shape, dtype: out ?? avals[0].dtype }];
    },
    jvp([x, y], [tx, ty]) {
      const o = bind1(name, [x, y], {});
      return [[o], [jvp ? jvp(x, y, tx, ty, o) : new Zero(o.aval)]];
    },
    batch: batchElementwise((args) => [bind1(name, args, {})]),
  };
}

const one = (x: Array) => full(x.aval, 1);
const isLinear = (a: unknown): boolean => a instanceof LinearIn;

function linearBinary(name: "add" | "sub"): Rule<NoParams> {
  const r = binaryRule(name, "num", (_x, _y, tx, ty) => plus(tx, name === "add" ? ty : term(ty, neg)));
  r.transpose = ([ct], args) => {
    if (ct instanceof Zero) return [null, null];
    return args.map((a, i) => (!isLinear(a) ? null : i === 1 && name === "sub" ? neg(ct) : ct));
  };
  return r;
}

const rulesUnary: FamilyRules<{ [K in UnaryName]: NoParams }> = {
  neg: {
    ...unaryRule("neg", "num", (x) => full(x.aval, -1)),
    transpose: ([ct]) => [ct instanceof Zero ? null : neg(ct)],
  },
  exp: unaryRule("exp", "float", (_x, y) => y),
  log: unaryRule("log", "float", (x) => div(one(x), x)),
  log1p: unaryRule("log1p", "float", (x) => div(one(x), add(one(x), x))),
  expm1: unaryRule("expm1", "float", (x, y) => add(y, one(x))),
  sin: unaryRule("sin", "float", (x) => unary("cos", x)),
  cos: unaryRule("cos", "float", (x) => neg(unary("sin", x))),
  tanh: unaryRule("tanh", "float", (_x, y) => sub(one(y), mul(y, y))),
  logistic: unaryRule("logistic", "float", (_x, y) => mul(y, sub(one(y), y))),
  sqrt: unaryRule("sqrt", "float", (_x, y) => div(full(y.aval, 0.5), y)),
  rsqrt: unaryRule("rsqrt", "float", (x, y) => div(scale(y, -0.5), x)),
  abs: unaryRule("abs", "num", (x) => unary("sign", x)),
  sign: unaryRule("sign", "num", null),
  floor: unaryRule("floor", "float", null),
  ceil: unaryRule("ceil", "float", null),
  round: unaryRule("round", "float", null),
  erf: unaryRule("erf", "float", (x) => scale(unary("exp", neg(mul(x, x))), 2 / Math.sqrt(Math.PI))),
  isnan: unaryRule("isnan", "float", null, "bool"),
  not: unaryRule("not", "intOrBool", null),
};

function minmaxJvp() {
  // Like JAX: the tangent follows the operand equal to the result, split evenly at ties;
  // where the result is NaN it equals neither operand and the tangent is 0.
  return (x: Array, y: Array, tx: Tangent, ty: Tangent, o: Array): Tangent => {
    const xw = convert(bind1("eq", [x, o], {}), x.dtype);
    const yw = convert(bind1("eq", [y, o], {}), x.dtype);
    const half = (w: Array, other: Array) => mul(w, sub(one(w), scale(other, 0.5)));
    return plus(term(tx, (t) => mul(t, half(xw, yw))), term(ty, (t) => mul(t, half(yw, xw))));
  };
}

const rulesBinary: FamilyRules<{ [K in BinaryName]: NoParams }> = {
  add: linearBinary("add"),
  sub: linearBinary("sub"),
  mul: {
    ...binaryRule("mul", "num", (x, y, tx, ty, o) => productJvp(mul, [x, y], [tx, ty], o.aval)),
    transpose([ct], [x, y]) {
      if (ct instanceof Zero) return [null, null];
      if (isLinear(x) && isLinear(y)) throw new Error("mul: transpose of a product of two linear values (not linear)");
      return isLinear(x) ? [mul(ct, y as Array), null] : [null, mul(x as Array, ct)];
    },
  },
  div: {
    ...binaryRule(
      "div",
      "num",
      (_x, y, tx, ty, o) => plus(term(tx, (t) => div(t, y)), term(ty, (t) => neg(div(mul(t, o), y)))),
    ),
    transpose([ct], [x, y]) {
      if (!isLinear(x) || isLinear(y)) throw new Error("div: transpose is only defined for a linear numerator");
      return [ct instanceof Zero ? null : div(ct, y as Array), null];
    },
  },
  pow: binaryRule("pow", "float", (x, y, tx, ty, o) => {
    const dx = term(tx, (t) => mul(t, mul(y, bind1("pow", [x, sub(y, one(y))], {}))));
    // d/dy x^y = log(x) x^y, taken as 0 where x == 0 (like JAX).
    const zero = full(x.aval, 0);
    const safeLog = select(bind1("eq", [x, zero], {}), zero, unary("log", x));
    return plus(dx, term(ty, (t) => mul(t, mul(safeLog, o))));
  }),
  max: binaryRule("max", "any", minmaxJvp()),
  min: binaryRule("min", "any", minmaxJvp()),
  atan2: binaryRule("atan2", "float", (x, y, tx, ty) => {
    const d = add(mul(x, x), mul(y, y));
    return plus(term(tx, (t) => div(mul(t, y), d)), term(ty, (t) => neg(div(mul(t, x), d))));
  }),
  rem: binaryRule("rem", "num", (x, y, tx, ty) => {
    if (!isFloat(x.dtype)) return new Zero(x.aval);
    const q = div(x, y);
    const trunc = select(bind1("lt", [q, full(q.aval, 0)], {}), unary("ceil", q), unary("floor", q));
    return plus(tx, term(ty, (t) => neg(mul(t, trunc))));
  }),
  eq: binaryRule("eq", "any", null, "bool"),
  ne: binaryRule("ne", "any", null, "bool"),
  lt: binaryRule("lt", "any", null, "bool"),
  le: binaryRule("le", "any", null, "bool"),
  gt: binaryRule("gt", "any", null, "bool"),
  ge: binaryRule("ge", "any", null, "bool"),
  and: binaryRule("and", "intOrBool", null),
  or: binaryRule("or", "intOrBool", null),
  xor: binaryRule("xor", "intOrBool", null),
  shiftLeft: binaryRule("shiftLeft", "int", null),
  shiftRightLogical: binaryRule("shiftRightLogical", "int", null),
};

const rulesOther: FamilyRules<Pick<ElementwiseParams, "select" | "convert" | "bitcast" | "stopGradient">> = {
  select: {
    abstractEval([p, a, b]) {
      if (p.dtype !== "bool") throw new TypeError(`select: predicate must be bool, got ${p.dtype}`);
      sameAvals("select", [a, b]);
      if (!shapeEq(p.shape, a.shape)) {
        throw new Error(`select: predicate shape ${fmt(p.shape)} differs from ${fmt(a.shape)}`);
      }
      return [a];
    },
    jvp([p, a, b], [, ta, tb]) {
      const o = select(p, a, b);
      if (ta instanceof Zero && tb instanceof Zero) return [[o], [ta]];
      return [[o], [select(p, instantiate(ta), instantiate(tb))]];
    },
    batch: batchElementwise(([p, a, b]) => [select(p, a, b)]),
    transpose([ct], [p, a, b]) {
      if (isLinear(p)) throw new Error("select: the predicate cannot be linear");
      if (ct instanceof Zero) return [null, null, null];
      const z = full(ct.aval, 0);
      return [null, isLinear(a) ? select(p as Array, ct, z) : null, isLinear(b) ? select(p as Array, z, ct) : null];
    },
  },
  convert: {
    abstractEval([a], { dtype }) {
      return [{ shape: a.shape, dtype }];
    },
    jvp([x], [t], { dtype }) {
      const y = convert(x, dtype);
      const ok = isFloat(dtype) && isFloat(x.dtype) && !(t instanceof Zero);
      return [[y], [ok ? convert(t as Array, dtype) : new Zero(y.aval)]];
    },
    batch: (args, dims, p) => [[convert(args[0], p.dtype)], dims],
    transpose([ct], [x]) {
      return [ct instanceof Zero ? null : convert(ct, (x as { aval: Aval }).aval.dtype)];
    },
  },
  bitcast: {
    abstractEval([a], { dtype }) {
      if (a.dtype === "bool" || dtype === "bool") throw new TypeError("bitcast: only 32-bit dtypes can be bitcast");
      return [{ shape: a.shape, dtype }];
    },
    jvp([x], _t, p) {
      const y = bind1("bitcast", [x], p);
      return [[y], zeroOut([y.aval])];
    },
    batch: (args, dims, p) => [[bind1("bitcast", args, p)], dims],
  },
  stopGradient: {
    abstractEval: ([a]) => [a],
    jvp([x]) {
      const y = bind1("stopGradient", [x], {});
      return [[y], [new Zero(y.aval)]];
    },
    batch: (args, dims) => [[bind1("stopGradient", args, {})], dims],
  },
};

/** Rules of every elementwise primitive. */
export const elementwiseRules: FamilyRules<ElementwiseParams> = { ...rulesUnary, ...rulesBinary, ...rulesOther };
