/**
 * The one source of the cpu's elementwise maths: for every elementwise primitive, a template
 * that writes its scalar formula as JavaScript over operand expressions. The plain kernels
 * (kernels/elementwise.ts) and the fused loops (fusion.ts) are both generated from it, so they
 * agree bit for bit. The table is a mapped type over the elementwise primitive names: a new
 * elementwise primitive without a template does not compile.
 *
 * Float maths runs in float64 and rounds on store (`Math.fround`); int32 wraps (`|0`,
 * `Math.imul`), uint32 wraps (`>>>0`), bool is 0/1 (stored with `&255`).
 * @module
 */
import type { DType } from "../../dtype.ts";
import type { ElementwiseName } from "../../primitives/params.ts";
import { cpow, erf, f2i, f2u, logistic, roundHalfEven } from "./scalar.ts";

/** A scalar expression, and whether its value already lies in the output dtype's range (no store conversion needed). */
export interface OpCode {
  /** JavaScript expression. */
  e: string;
  /** True when storing needs no conversion. */
  exact?: boolean;
}

/**
 * The scalar code of one primitive on operand expressions `x`, whose data dtype is `dt`
 * (the second operand's for `select`), for results of dtype `out`; null for a dtype the
 * primitive does not take.
 */
export type Template = (x: readonly string[], dt: DType, out: DType, params: unknown) => OpCode | null;

const float1 = (f: (a: string) => string): Template => ([a], dt) => (dt === "float32" ? { e: f(a) } : null);
const float2 = (f: (a: string, b: string) => string): Template => ([a, b], dt) =>
  dt === "float32" ? { e: f(a, b) } : null;
const compare = (op: string): Template => ([a, b]) => ({ e: `+(${a} ${op} ${b})`, exact: true });
const bitwise = (op: string): Template => ([a, b], dt) => ({
  e: `(${a} ${op} ${b})`,
  exact: dt === "int32" || dt === "bool",
});
const minmax = (f: "max" | "min"): Template => ([a, b]) => ({ e: `Math.${f}(${a}, ${b})`, exact: true });
const FOUR_BYTE = new Set<DType>(["float32", "int32", "uint32"]);
/** Names of the one-element bitcast views the generated code reads bits through. */
const BC_VIEW: Record<string, string> = { float32: "bcF", int32: "bcI", uint32: "bcU" };

/** The template of every elementwise primitive. */
export const TEMPLATES: { readonly [K in ElementwiseName]: Template } = {
  neg: ([a], dt) =>
    dt === "float32"
      ? { e: `-${a}`, exact: true }
      : dt === "int32"
      ? { e: `-${a}` }
      : dt === "uint32"
      ? { e: `(-${a})` }
      : null,
  exp: float1((a) => `Math.exp(${a})`),
  log: float1((a) => `Math.log(${a})`),
  log1p: float1((a) => `Math.log1p(${a})`),
  expm1: float1((a) => `Math.expm1(${a})`),
  sin: float1((a) => `Math.sin(${a})`),
  cos: float1((a) => `Math.cos(${a})`),
  tanh: float1((a) => `Math.tanh(${a})`),
  logistic: float1((a) => `logistic(${a})`),
  sqrt: float1((a) => `Math.sqrt(${a})`),
  rsqrt: float1((a) => `1 / Math.sqrt(${a})`),
  floor: float1((a) => `Math.floor(${a})`),
  ceil: float1((a) => `Math.ceil(${a})`),
  round: float1((a) => `roundHalfEven(${a})`),
  erf: float1((a) => `erf(${a})`),
  abs: ([a], dt) =>
    dt === "float32"
      ? { e: `Math.abs(${a})`, exact: true }
      : dt === "int32"
      ? { e: `Math.abs(${a})` }
      : dt === "uint32"
      ? { e: a, exact: true }
      : null,
  sign: ([a], dt) =>
    dt === "float32" || dt === "int32"
      ? { e: `(${a} > 0 ? 1 : ${a} < 0 ? -1 : ${a})` }
      : dt === "uint32"
      ? { e: `(${a} > 0 ? 1 : 0)` }
      : null,
  isnan: ([a], dt) => (dt === "float32" ? { e: `+(${a} !== ${a})`, exact: true } : null),
  not: ([a], dt) => (dt === "bool" ? { e: `(${a} ? 0 : 1)`, exact: true } : { e: `~${a}` }),

  add: ([a, b], dt) => (dt === "bool" ? { e: `(${a} | ${b})`, exact: true } : { e: `(${a} + ${b})` }),
  sub: ([a, b], dt) => (dt === "bool" ? null : { e: `(${a} - ${b})` }),
  mul: ([a, b], dt) =>
    dt === "bool"
      ? { e: `(${a} & ${b})`, exact: true }
      : dt === "float32"
      ? { e: `(${a} * ${b})` }
      : { e: `Math.imul(${a}, ${b})` },
  div: ([a, b], dt) =>
    dt === "float32"
      ? { e: `(${a} / ${b})` }
      : dt === "int32"
      ? { e: `(${b} === 0 ? 0 : (${a} / ${b}) | 0)` }
      : dt === "uint32"
      ? { e: `(${b} === 0 ? 0 : (${a} / ${b}) >>> 0)` }
      : null,
  pow: float2((a, b) => `cpow(${a}, ${b})`),
  atan2: float2((a, b) => `Math.atan2(${a}, ${b})`),
  max: minmax("max"),
  min: minmax("min"),
  // Integer remainder keeps the dividend's sign and x % 0 = x (so x = (x/y)·y + x%y with x/0 = 0).
  rem: ([a, b], dt) => (dt === "float32" ? { e: `(${a} % ${b})` } : { e: `(${b} === 0 ? ${a} : ${a} % ${b})` }),
  // Comparisons and selects are branch-free: a select on data-dependent signs mispredicts a
  // branch for every other element (5x slower on a batch-norm + leaky-ReLU loop).
  eq: compare("==="),
  ne: compare("!=="),
  lt: compare("<"),
  le: compare("<="),
  gt: compare(">"),
  ge: compare(">="),
  and: bitwise("&"),
  or: bitwise("|"),
  xor: bitwise("^"),
  shiftLeft: ([a, b]) => ({ e: `((${b} >>> 0) >= 32 ? 0 : ${a} << ${b})` }),
  shiftRightLogical: ([a, b]) => ({ e: `((${b} >>> 0) >= 32 ? 0 : ${a} >>> ${b})` }),

  select: ([p, a, b], dt) => {
    // Bit select with the mask -1 (pick a) or 0 (pick b); floats through the bitcast views.
    const m = `-(${p} !== 0)`;
    if (dt !== "float32") {
      const e = `((${a} & ${m}) | (${b} & ~${m}))`;
      return { e: dt === "uint32" ? `(${e} >>> 0)` : e, exact: true };
    }
    return {
      e: `(bcI[0] = ((bcF[0] = ${a}, bcI[0]) & ${m}) | ((bcF[0] = ${b}, bcI[0]) & ~${m}), bcF[0])`,
      exact: true,
    };
  },
  stopGradient: ([a]) => ({ e: a, exact: true }),
  convert: ([a], dt, out) => {
    if (out === "bool") return { e: `+(${a} !== 0)`, exact: true };
    if (dt === "float32" && out === "int32") return { e: `f2i(${a})` };
    if (dt === "float32" && out === "uint32") return { e: `f2u(${a})` };
    return { e: a, exact: dt === out };
  },
  bitcast: ([a], dt, _out, params) => {
    const to = (params as { dtype: DType }).dtype;
    if (!FOUR_BYTE.has(dt) || !FOUR_BYTE.has(to)) return null;
    if (to === dt) return { e: a, exact: true };
    if (dt === "float32" || to === "float32") {
      return { e: `(${BC_VIEW[dt]}[0] = ${a}, ${BC_VIEW[to]}[0])`, exact: true };
    }
    return { e: a };
  },
};

/**
 * The scalar code of a single-output elementwise equation, or null when `prim` is not
 * elementwise or does not take `dt`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { opCode } from "./templates.ts";
 * assert.deepEqual(opCode("add", "int32", "int32", ["a", "b"], {}), { e: "(a + b)" });
 * assert.equal(opCode("exp", "int32", "int32", ["a"], {}), null);
 * ```
 */
export function opCode(prim: string, dt: DType, out: DType, x: readonly string[], params: unknown): OpCode | null {
  const t = (TEMPLATES as Record<string, Template | undefined>)[prim];
  return t ? t(x, dt, out, params) : null;
}

/** The dtype a template reads its data operands in: the second operand's for `select`, else the first's. */
export const dataDType = (prim: string, inDtypes: readonly DType[]): DType =>
  prim === "select" ? inDtypes[1] : inDtypes[0];

/** The store conversion of `dt` applied to expression `e` (what writing into its typed array does). */
export function store(dt: DType, e: string): string {
  switch (dt) {
    case "float32":
      return `fround(${e})`;
    case "int32":
      return `(${e}) | 0`;
    case "uint32":
      return `(${e}) >>> 0`;
    case "bool":
      return `(${e}) & 255`;
  }
}

const ROT = [[13, 15, 26, 6], [17, 29, 16, 24]];
/** Unrolled threefry2x32 of one block, as `threefry2x32Block` in kernels/random.ts. */
export function threefryCode(p: string, [k0, k1, x0, x1]: string[], [y0, y1]: string[]): string {
  const ks = [`${p}k0`, `${p}k1`, `${p}k2`];
  const v0 = `${p}v0`, v1 = `${p}v1`;
  const L = [
    `const ${ks[0]} = ${k0} >>> 0, ${ks[1]} = ${k1} >>> 0, ${ks[2]} = (${k0} ^ ${k1} ^ 0x1bd11bda) >>> 0;`,
    `let ${v0} = (${x0} + ${ks[0]}) | 0, ${v1} = (${x1} + ${ks[1]}) | 0;`,
  ];
  for (let g = 0; g < 5; g++) {
    for (const r of ROT[g % 2]) {
      L.push(`${v0} = (${v0} + ${v1}) | 0; ${v1} = (${v1} << ${r}) | (${v1} >>> ${32 - r}); ${v1} ^= ${v0};`);
    }
    L.push(`${v0} = (${v0} + ${ks[(g + 1) % 3]}) | 0; ${v1} = (${v1} + ${ks[(g + 2) % 3]} + ${g + 1}) | 0;`);
  }
  L.push(`const ${y0} = ${v0} >>> 0, ${y1} = ${v1} >>> 0;`);
  return L.join("\n");
}

const helpers = { fround: Math.fround, cpow, erf, f2i, f2u, logistic, roundHalfEven };
const loopCache = new Map<string, (...args: never[]) => void>();
/** Number of distinct generated loops (for tests). */
export const loopStats: { compiled: number } = { compiled: 0 };

/**
 * Compiles (once per source text) a function of `args` whose body `src` may call the scalar
 * helpers and the one-element bitcast views `bcF`, `bcI`, `bcU`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { compileLoop } from "./templates.ts";
 * const f = compileLoop<(x: number) => number>(["x"], "return fround(x + 0.1);");
 * assert.equal(f(1), Math.fround(1.1));
 * ```
 */
export function compileLoop<F extends (...args: never[]) => unknown>(args: readonly string[], src: string): F {
  const key = `${args.join(",")}\n${src}`;
  let fn = loopCache.get(key);
  if (!fn) {
    const make = new Function(
      ...Object.keys(helpers),
      "bcF",
      "bcI",
      "bcU",
      `return function generated(${args.join(", ")}) {\n"use strict";\n${src}\n};`,
    );
    const bcF = new Float32Array(1);
    fn = make(...Object.values(helpers), bcF, new Int32Array(bcF.buffer), new Uint32Array(bcF.buffer));
    loopCache.set(key, fn!);
    loopStats.compiled++;
  }
  return fn as F;
}
