/**
 * WGSL of the elementwise primitives: each primitive is an expression over its operands'
 * values (so jitCall can fuse chains into one kernel). NaN tests are bit tests, integer
 * division/remainder/shift follow the cpu kernels, float→int conversion saturates.
 * @module
 */
import type { Aval } from "../../../array.ts";
import type { DType } from "../../../dtype.ts";
import { sizeOf } from "../../../shape.ts";
import type { ElementwiseParams } from "../../../primitives/params.ts";
import type { PrimName } from "../../../primitives/types.ts";
import type { Buf, Gpu } from "../device.ts";
import type { GpuFamily, GpuKernel } from "../kernel_types.ts";
import { elementKernel, groupsFor, wgslType } from "../wgsl.ts";

/** WGSL helper functions the elementwise expressions use. */
export const PRELUDE = `
fn w_isnan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn w_nan() -> f32 { return bitcast<f32>(0x7fc00000u); }
fn w_inf() -> f32 { return bitcast<f32>(0x7f800000u); }
fn w_b(c: bool) -> u32 { return select(0u, 1u, c); }
fn w_max(a: f32, b: f32) -> f32 { if (w_isnan(a) || w_isnan(b)) { return w_nan(); } return select(b, a, a > b); }
fn w_min(a: f32, b: f32) -> f32 { if (w_isnan(a) || w_isnan(b)) { return w_nan(); } return select(b, a, a < b); }
fn w_sign(x: f32) -> f32 { if (x > 0.0) { return 1.0; } if (x < 0.0) { return -1.0; } return x; }
fn w_logistic(x: f32) -> f32 {
  if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); }
  let e = exp(x);
  return e / (1.0 + e);
}
fn w_expm1(x: f32) -> f32 {
  if (abs(x) < 0.5) {
    var t = x; var s = x;
    for (var n = 2.0; n < 14.0; n += 1.0) { t = t * x / n; s += t; }
    return s;
  }
  return exp(x) - 1.0;
}
fn w_log1p(x: f32) -> f32 {
  if (abs(x) < 0.25) {
    var p = x; var s = 0.0; var sg = 1.0;
    for (var n = 1.0; n < 24.0; n += 1.0) { s += sg * p / n; p *= x; sg = -sg; }
    return s;
  }
  return log(1.0 + x);
}
fn w_tanh(x: f32) -> f32 {
  if (w_isnan(x)) { return x; }
  let a = abs(x);
  if (a > 10.0) { return sign(x); }
  let e = w_expm1(2.0 * a);
  let r = e / (e + 2.0);
  return select(r, -r, x < 0.0);
}
fn w_erf(x: f32) -> f32 {
  if (w_isnan(x)) { return x; }
  let ax = abs(x);
  if (ax >= 4.0) { return sign(x); }
  let x2 = ax * ax;
  var term = ax; var sum = ax;
  for (var n = 0.0; n < 200.0; n += 1.0) {
    term *= (2.0 * x2) / (2.0 * n + 3.0);
    sum += term;
    if (term < sum * 1e-8) { break; }
  }
  let r = min(1.0, 1.1283791670955126 * exp(-x2) * sum);
  return select(r, -r, x < 0.0);
}
fn w_neg(x: f32) -> bool { return (bitcast<u32>(x) >> 31u) == 1u; }
// atan for t >= 0 to ~1 ulp (Cephes-style range reduction + odd polynomial): the builtin
// is only loosely specified and measured ~50 ulp off on some adapters.
fn w_atan(t: f32) -> f32 {
  var x = t;
  var y = 0.0;
  if (x > 2.414213562373095) { y = 1.5707963267948966; x = -1.0 / x; }
  else if (x > 0.4142135623730950) { y = 0.7853981633974483; x = (x - 1.0) / (x + 1.0); }
  let z = x * x;
  return y + ((((8.05374449538e-2 * z - 1.38776856032e-1) * z + 1.99777106478e-1) * z - 3.33329491539e-1) * z * x + x);
}
fn w_atan2(a: f32, b: f32) -> f32 {
  if (w_isnan(a) || w_isnan(b)) { return w_nan(); }
  let pi = 3.14159265358979;
  var r: f32;
  if (abs(a) == w_inf() && abs(b) == w_inf()) {
    r = select(pi * 0.25, pi * 0.75, b < 0.0);
  } else if (abs(a) == w_inf() || b == 0.0 && a != 0.0) {
    r = pi * 0.5;
  } else if (a == 0.0 || abs(b) == w_inf()) {
    r = select(0.0, pi, w_neg(b));
  } else {
    r = w_atan(abs(a) / abs(b));
    if (b < 0.0) { r = pi - r; }
  }
  return select(r, -r, w_neg(a));
}
fn w_isint(y: f32) -> bool { return floor(y) == y; }
fn w_pow(a: f32, b: f32) -> f32 {
  if (a == 1.0 || b == 0.0) { return 1.0; }
  if (w_isnan(a) || w_isnan(b)) { return w_nan(); }
  let ab = abs(b);
  if (ab == w_inf()) {
    let m = abs(a);
    if (m == 1.0) { return 1.0; }
    if ((m > 1.0) == (b > 0.0)) { return w_inf(); }
    return 0.0;
  }
  let odd = w_isint(b) && (floor(ab * 0.5) * 2.0 != ab);
  if (a == 0.0) {
    let neg0 = (bitcast<u32>(a) >> 31u) == 1u && odd;
    if (b > 0.0) { return select(0.0, -0.0, neg0); }
    return select(w_inf(), -w_inf(), neg0);
  }
  let m = abs(a);
  if (m == w_inf()) {
    let r = select(0.0, w_inf(), b > 0.0);
    return select(r, -r, a < 0.0 && odd);
  }
  if (a < 0.0 && !w_isint(b)) { return w_nan(); }
  var r: f32;
  if (w_isint(b) && ab <= 64.0) {
    var base = m; var e = u32(ab); var acc = 1.0;
    loop { if (e == 0u) { break; } if ((e & 1u) == 1u) { acc *= base; } base *= base; e = e >> 1u; }
    r = select(acc, 1.0 / acc, b < 0.0);
  } else {
    r = exp2(b * log2(m));
  }
  return select(r, -r, a < 0.0 && odd);
}
fn w_fmod(a: f32, b: f32) -> f32 {
  if (w_isnan(a) || w_isnan(b) || b == 0.0 || abs(a) == w_inf()) { return w_nan(); }
  if (abs(b) == w_inf()) { return a; }
  // Exact: subtract power-of-two multiples of |b| (each subtraction is exact, Sterbenz).
  var r = abs(a);
  let y = abs(b);
  for (var it = 0; it < 400 && r >= y; it++) {
    var t = ldexp(y, frexp(r).exp - frexp(y).exp);
    if (t > r) { t = t * 0.5; }
    r = r - t;
  }
  return select(r, -r, w_neg(a));
}
fn w_f2i(x: f32) -> i32 {
  if (w_isnan(x)) { return 0; }
  if (x <= -2147483648.0) { return i32(-2147483647 - 1); }
  if (x >= 2147483647.0) { return 2147483647; }
  return i32(x);
}
fn w_f2u(x: f32) -> u32 {
  if (w_isnan(x) || x <= 0.0) { return 0u; }
  if (x >= 4294967295.0) { return 4294967295u; }
  return u32(x);
}
fn w_uabs(a: i32) -> u32 { return select(bitcast<u32>(a), 0u - bitcast<u32>(a), a < 0); }
fn w_idiv(a: i32, b: i32) -> i32 {
  if (b == 0) { return 0; }
  let q = w_uabs(a) / w_uabs(b);
  return bitcast<i32>(select(q, 0u - q, (a < 0) != (b < 0)));
}
fn w_udiv(a: u32, b: u32) -> u32 { if (b == 0u) { return 0u; } return a / b; }
fn w_irem(a: i32, b: i32) -> i32 {
  if (b == 0) { return a; }
  let r = w_uabs(a) % w_uabs(b);
  return bitcast<i32>(select(r, 0u - r, a < 0));
}
fn w_urem(a: u32, b: u32) -> u32 { if (b == 0u) { return a; } return a % b; }
`;

const F = "float32";
type Expr = (a: string[], d: DType, out: DType) => string;

const byType = (f: string, i: string, u = i, b = u): Expr => ([x], d) => {
  const t = d === F ? f : d === "int32" ? i : d === "uint32" ? u : b;
  return t.replaceAll("$x", x);
};
const fl = (f: string): Expr => ([x]) => f.replaceAll("$x", x);
const bin = (f: string, i = f, u = i, b = u): Expr => ([x, y], d) => {
  const t = d === F ? f : d === "int32" ? i : d === "uint32" ? u : b;
  return t.replaceAll("$x", x).replaceAll("$y", y);
};
/** Comparisons: NaN operands make every comparison false except `ne`. */
const cmp = (op: string): Expr => ([x, y], d) =>
  d === F ? `w_b(!w_isnan(${x}) && !w_isnan(${y}) && (${x} ${op} ${y}))` : `w_b(${x} ${op} ${y})`;

function convertExpr(x: string, from: DType, to: DType): string {
  if (from === to) return x;
  if (to === "bool") return from === F ? `w_b((bitcast<u32>(${x}) & 0x7fffffffu) != 0u)` : `w_b(${x} != 0)`;
  if (from === F) return to === "int32" ? `w_f2i(${x})` : `w_f2u(${x})`;
  if (to === F) return `f32(${x})`;
  if (from === "bool") return to === "int32" ? `i32(${x})` : x;
  return `bitcast<${wgslType(to)}>(${x})`;
}

/** Expressions of the elementwise primitives, by name (operand dtype `d`, result `out`). */
export const EXPRS: {
  [K in keyof ElementwiseParams]: (a: string[], d: DType, out: DType, p: ElementwiseParams[K]) => string;
} = {
  neg: byType("(-$x)", "(-$x)", "(0u - $x)"),
  exp: fl("exp($x)"),
  log: fl("log($x)"),
  log1p: fl("w_log1p($x)"),
  expm1: fl("w_expm1($x)"),
  sin: fl("sin($x)"),
  cos: fl("cos($x)"),
  tanh: fl("w_tanh($x)"),
  logistic: fl("w_logistic($x)"),
  sqrt: fl("sqrt($x)"),
  rsqrt: fl("(1.0 / sqrt($x))"),
  abs: byType("abs($x)", "abs($x)", "$x"),
  sign: byType("w_sign($x)", "sign($x)", "w_b($x > 0u)"),
  floor: fl("floor($x)"),
  ceil: fl("ceil($x)"),
  round: fl("round($x)"),
  erf: fl("w_erf($x)"),
  isnan: fl("w_b(w_isnan($x))"),
  not: byType("", "(~$x)", "(~$x)", "(1u - $x)"),
  add: bin("($x + $y)", "($x + $y)", "($x + $y)", "($x | $y)"),
  sub: bin("($x - $y)"),
  mul: bin("($x * $y)", "($x * $y)", "($x * $y)", "($x & $y)"),
  div: bin("($x / $y)", "w_idiv($x, $y)", "w_udiv($x, $y)"),
  pow: bin("w_pow($x, $y)"),
  max: bin("w_max($x, $y)", "max($x, $y)"),
  min: bin("w_min($x, $y)", "min($x, $y)"),
  atan2: bin("w_atan2($x, $y)"),
  rem: bin("w_fmod($x, $y)", "w_irem($x, $y)", "w_urem($x, $y)"),
  eq: cmp("=="),
  ne: (a, d, o) => `(1u - ${cmp("==")(a, d, o)})`,
  lt: cmp("<"),
  le: cmp("<="),
  gt: cmp(">"),
  ge: cmp(">="),
  and: bin("", "($x & $y)"),
  or: bin("", "($x | $y)"),
  xor: bin("", "($x ^ $y)"),
  shiftLeft: bin(
    "",
    "select(0i, $x << bitcast<u32>($y), bitcast<u32>($y) < 32u)",
    "select(0u, $x << $y, $y < 32u)",
  ),
  shiftRightLogical: bin(
    "",
    "select(0i, bitcast<i32>(bitcast<u32>($x) >> bitcast<u32>($y)), bitcast<u32>($y) < 32u)",
    "select(0u, $x >> $y, $y < 32u)",
  ),
  select: ([p, a, b]) => `select(${b}, ${a}, ${p} != 0u)`,
  convert: ([x], d, _o, { dtype }) => convertExpr(x, d, dtype),
  bitcast: ([x], _d, _o, { dtype }) => `bitcast<${wgslType(dtype)}>(${x})`,
  stopGradient: ([x]) => x,
};

/** The dtype an elementwise primitive's expression dispatches on (select: its branches). */
export const exprDType = (prim: string, inAvals: readonly Aval[]): DType =>
  prim === "select" ? inAvals[1].dtype : inAvals[0].dtype;

/** Allocates an output buffer for `a` (4 bytes per element, bool as u32). */
export const outBuf = (gpu: Gpu, a: Aval): Buf => gpu.alloc(4 * sizeOf(a.shape));

function ewKernel<K extends keyof ElementwiseParams>(prim: K): GpuKernel<ElementwiseParams[K]> {
  return (gpu, ins, inAvals, params, [o]) => {
    const n = sizeOf(o.shape);
    const out = outBuf(gpu, o);
    const d = exprDType(prim, inAvals);
    const expr = (EXPRS[prim] as (a: string[], d: DType, o: DType, p: unknown) => string)(
      ins.map((_, k) => `in${k}[i]`),
      d,
      o.dtype,
      params,
    );
    const code = elementKernel(inAvals.map((a) => a.dtype), [o.dtype], n, `    out0[i] = ${expr};`, PRELUDE);
    gpu.dispatch({ code, ins, outs: [out], groups: groupsFor(n) });
    return [out];
  };
}

/** Names of the elementwise primitives (fusable in jitCall). */
export const ELEMENTWISE = new Set<PrimName>(Object.keys(EXPRS) as PrimName[]);

/** Kernels of the elementwise primitives. */
export const elementwiseKernels: GpuFamily<ElementwiseParams> = Object.fromEntries(
  Object.keys(EXPRS).map((k) => [k, ewKernel(k as keyof ElementwiseParams)]),
) as unknown as GpuFamily<ElementwiseParams>;

/** stopGradient and same-dtype converts alias their input (no copy). */
export function aliasIfIdentity(prim: string, ins: Buf[], inAvals: readonly Aval[], params: unknown): Buf | null {
  if (prim === "stopGradient" || (prim === "convert" && (params as { dtype: DType }).dtype === inAvals[0].dtype)) {
    ins[0].refs++;
    return ins[0];
  }
  return null;
}
