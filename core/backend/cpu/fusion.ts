/**
 * Elementwise fusion for the cpu executor: a run of elementwise equations of one shape
 * becomes one generated loop (`new Function`) that reads its inputs — broadcasts by index
 * arithmetic, never materialised — and writes only the values used after the run. Every
 * operation mirrors its kernel in `kernels/elementwise.ts` bit for bit: the scalar formula
 * of the kernel, then the store conversion of the output dtype (`Math.fround`, `|0`, `>>>0`,
 * `&255`), so intermediates hold exactly what a typed array would have held.
 * Generated loops are cached by their source text.
 * @module
 */
import type { DType, TypedArray } from "../../dtype.ts";
import { allocUninit } from "./pool.ts";
import type { Eqn } from "../../ir.ts";
import { sizeOf, stridesOf } from "../../shape.ts";
import { cpow, erf, f2i, f2u, logistic, roundHalfEven } from "./kernels/elementwise.ts";

/** Fusion switch: on unless the environment sets `WAX_FUSION=0` (read once, only with env permission). */
export const fusion: { enabled: boolean } = { enabled: readEnvFlag() };

function readEnvFlag(): boolean {
  try {
    const d = (globalThis as { Deno?: typeof Deno }).Deno;
    if (!d) return true;
    if (d.permissions?.querySync?.({ name: "env", variable: "WAX_FUSION" }).state !== "granted") return true;
    return d.env.get("WAX_FUSION") !== "0";
  } catch {
    return true;
  }
}

/** A scalar expression of an operation and whether its value already has the output dtype's range. */
type OpCode = { e: string; exact?: boolean };

const FLOAT1: Record<string, string> = {
  exp: "Math.exp(#)",
  log: "Math.log(#)",
  log1p: "Math.log1p(#)",
  expm1: "Math.expm1(#)",
  sin: "Math.sin(#)",
  cos: "Math.cos(#)",
  tanh: "Math.tanh(#)",
  logistic: "logistic(#)",
  sqrt: "Math.sqrt(#)",
  rsqrt: "1 / Math.sqrt(#)",
  floor: "Math.floor(#)",
  ceil: "Math.ceil(#)",
  round: "roundHalfEven(#)",
  erf: "erf(#)",
};
const CMP: Record<string, string> = { eq: "===", ne: "!==", lt: "<", le: "<=", gt: ">", ge: ">=" };
const BITS: Record<string, string> = { and: "&", or: "|", xor: "^" };
const FOUR_BYTE = new Set<DType>(["float32", "int32", "uint32"]);
const BC_VIEW: Record<string, string> = { float32: "bcF", int32: "bcI", uint32: "bcU" };

/** The scalar code of one single-output elementwise equation on operand names `x`, or null if unsupported. */
function opCode(prim: string, dt: DType, out: DType, x: string[], params: unknown): OpCode | null {
  const [a, b, c] = x;
  const f = dt === "float32", i = dt === "int32", u = dt === "uint32", bo = dt === "bool";
  if (prim in FLOAT1) return f ? { e: FLOAT1[prim].replace("#", a) } : null;
  // Comparisons and selects are branch-free: a select on data-dependent signs mispredicts a
  // branch for every other element (5x slower on a batch-norm + leaky-ReLU loop).
  if (prim in CMP) return { e: `+(${a} ${CMP[prim]} ${b})`, exact: true };
  if (prim in BITS) return { e: `(${a} ${BITS[prim]} ${b})`, exact: i || bo };
  switch (prim) {
    case "neg":
      return f ? { e: `-${a}`, exact: true } : i ? { e: `-${a}` } : u ? { e: `(-${a})` } : null;
    case "abs":
      return f ? { e: `Math.abs(${a})`, exact: true } : i ? { e: `Math.abs(${a})` } : u ? { e: a, exact: true } : null;
    case "sign":
      return f || i ? { e: `(${a} > 0 ? 1 : ${a} < 0 ? -1 : ${a})` } : u ? { e: `(${a} > 0 ? 1 : 0)` } : null;
    case "isnan":
      return f ? { e: `+(${a} !== ${a})`, exact: true } : null;
    case "not":
      return bo ? { e: `(${a} ? 0 : 1)`, exact: true } : { e: `~${a}` };
    case "add":
      return bo ? { e: `(${a} | ${b})`, exact: true } : { e: `(${a} + ${b})` };
    case "sub":
      return bo ? null : { e: `(${a} - ${b})` };
    case "mul":
      return bo ? { e: `(${a} & ${b})`, exact: true } : f ? { e: `(${a} * ${b})` } : { e: `Math.imul(${a}, ${b})` };
    case "div":
      if (f) return { e: `(${a} / ${b})` };
      if (i) return { e: `(${b} === 0 ? 0 : (${a} / ${b}) | 0)` };
      return u ? { e: `(${b} === 0 ? 0 : (${a} / ${b}) >>> 0)` } : null;
    case "pow":
      return f ? { e: `cpow(${a}, ${b})` } : null;
    case "atan2":
      return f ? { e: `Math.atan2(${a}, ${b})` } : null;
    case "max":
    case "min":
      return { e: `Math.${prim}(${a}, ${b})`, exact: true };
    case "rem":
      return f ? { e: `(${a} % ${b})` } : { e: `(${b} === 0 ? ${a} : ${a} % ${b})` };
    case "shiftLeft":
      return { e: `((${b} >>> 0) >= 32 ? 0 : ${a} << ${b})` };
    case "shiftRightLogical":
      return { e: `((${b} >>> 0) >= 32 ? 0 : ${a} >>> ${b})` };
    case "select": {
      // Bit select with the mask -1 (pick b) or 0 (pick c); floats through the bitcast views.
      const m = `-(${a} !== 0)`;
      if (dt !== "float32") {
        const e = `((${b} & ${m}) | (${c} & ~${m}))`;
        return { e: dt === "uint32" ? `(${e} >>> 0)` : e, exact: true };
      }
      return {
        e: `(bcI[0] = ((bcF[0] = ${b}, bcI[0]) & ${m}) | ((bcF[0] = ${c}, bcI[0]) & ~${m}), bcF[0])`,
        exact: true,
      };
    }
    case "stopGradient":
      return { e: a, exact: true };
    case "convert": {
      if (out === "bool") return { e: `+(${a} !== 0)`, exact: true };
      if (f && out === "int32") return { e: `f2i(${a})` };
      if (f && out === "uint32") return { e: `f2u(${a})` };
      return { e: a, exact: dt === out };
    }
    case "bitcast": {
      const to = (params as { dtype: DType }).dtype;
      if (!FOUR_BYTE.has(dt) || !FOUR_BYTE.has(to)) return null;
      if (to === dt) return { e: a, exact: true };
      if (f || to === "float32") return { e: `(${BC_VIEW[dt]}[0] = ${a}, ${BC_VIEW[to]}[0])`, exact: true };
      return { e: a };
    }
  }
  return null;
}

/** The store conversion of `dt` applied to expression `e` (what writing into its typed array does). */
function store(dt: DType, e: string): string {
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
function threefryCode(p: string, [k0, k1, x0, x1]: string[], [y0, y1]: string[]): string {
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

/** True when the cpu fusion can generate code for equation `e` (dtypes and primitive supported). */
export function canFuseEqn(e: Eqn): boolean {
  if (e.prim === "threefry2x32") return e.inputs.every((v) => v.aval.dtype === "uint32");
  if (e.outs.length !== 1 || e.inputs.length === 0 || e.inputs.length > 3) return false;
  const names = e.inputs.map((_, k) => `a${k}`);
  const dt = e.prim === "select" ? e.inputs[1].aval.dtype : e.inputs[0].aval.dtype;
  return opCode(e.prim, dt, e.outs[0].aval.dtype, names, e.params) !== null;
}

/** A fused loop: reads, member equations, the output variables it writes. */
export interface FusedSpec<V> {
  /** Loop shape (the shape of every member's outputs). */
  shape: number[];
  /** Inputs in argument order with their read strides and dtypes. */
  reads: { v: V; dtype: DType; strides: number[] }[];
  /** Member equations in order; operands are read indices (number) or member outputs (V). */
  eqns: { prim: string; params: unknown; ins: (number | V)[]; inDtypes: DType[]; outs: V[]; outDtypes: DType[] }[];
  /** Values written out. */
  outs: { v: V; dtype: DType }[];
}

type LoopFn = (ins: TypedArray[], outs: TypedArray[], dims: number[], strides: number[][]) => void;
const helpers = { fround: Math.fround, cpow, erf, f2i, f2u, logistic, roundHalfEven };
const loopCache = new Map<string, LoopFn>();
/** Number of distinct generated loops (for tests). */
export const fusionStats: { compiled: number } = { compiled: 0 };

/** Merges unit and mergeable dimensions: the smallest loop nest that reads every input correctly. */
function collapse(shape: number[], strides: number[][]): { dims: number[]; strides: number[][] } {
  const keep = shape.map((_, d) => d).filter((d) => shape[d] !== 1);
  let dims = keep.map((d) => shape[d]);
  let st = strides.map((s) => keep.map((d) => s[d]));
  for (let d = dims.length - 2; d >= 0; d--) {
    if (st.every((s) => s[d] === s[d + 1] * dims[d + 1])) {
      dims = [...dims.slice(0, d), dims[d] * dims[d + 1], ...dims.slice(d + 2)];
      st = st.map((s) => [...s.slice(0, d), s[d + 1], ...s.slice(d + 2)]);
    }
  }
  return { dims, strides: st };
}

/** Builds the runner of a fused loop: input arrays (in `spec.reads` order) to the output arrays. */
export function fusedKernel<V>(spec: FusedSpec<V>): (ins: TypedArray[]) => TypedArray[] {
  const n = sizeOf(spec.shape);
  const { dims, strides } = collapse(spec.shape, spec.reads.map((r) => r.strides));
  const r = dims.length;
  const contig = stridesOf(dims);
  // Read kinds: "i" plain, "c" constant over the loop, "h" constant along the innermost axis, "s" strided.
  const kinds = strides.map((s) =>
    s.every((x, k) => x === contig[k]) ? "i" : s.every((x) => x === 0) ? "c" : s[r - 1] === 0 ? "h" : "s"
  );
  const head: string[] = [];
  const body: string[] = [];
  const name = new Map<V, string>();
  spec.reads.forEach((rd, j) => {
    head.push(`const x${j} = ins[${j}]; // ${rd.dtype} ${kinds[j]}`);
    if (kinds[j] === "c") head.push(`const a${j} = n > 0 ? x${j}[0] : 0;`);
    if (kinds[j] === "i") body.push(`const a${j} = x${j}[i];`);
    if (kinds[j] === "s" || kinds[j] === "h") body.push(`const a${j} = x${j}[p${j}];`);
  });
  let t = 0;
  for (const e of spec.eqns) {
    const args = e.ins.map((x) => (typeof x === "number" ? `a${x}` : name.get(x)!));
    const outNames = e.outs.map(() => `t${t++}`);
    e.outs.forEach((v, k) => name.set(v, outNames[k]));
    if (e.prim === "threefry2x32") {
      body.push(threefryCode(`${outNames[0]}_`, args, outNames));
      continue;
    }
    const dt = e.prim === "select" ? e.inDtypes[1] : e.inDtypes[0];
    const c = opCode(e.prim, dt, e.outDtypes[0], args, e.params);
    if (!c) throw new Error(`fusion: no code for ${e.prim} on ${dt}`);
    body.push(`const ${outNames[0]} = ${c.exact ? c.e : store(e.outDtypes[0], c.e)};`);
  }
  spec.outs.forEach((o, k) => {
    head.push(`const o${k} = outs[${k}]; // ${o.dtype}`);
    body.push(`o${k}[i] = ${name.get(o.v)};`);
  });
  const strided = kinds.map((k, j) => (k === "s" || k === "h" ? j : -1)).filter((j) => j >= 0);
  let loop: string;
  if (r === 0) loop = `if (n > 0) { const i = 0;\n${body.join("\n")}\n}`;
  else {
    // One flat loop with an odometer for the strided reads: a loop nest lets V8 replace the
    // inner loop on the stack (OSR) and leave it on every outer step, which ran several times
    // slower than the same work in one loop.
    const L = r - 1;
    for (const j of strided) {
      const st = Array.from({ length: r }, (_, d) => `s${j}_${d} = strides[${j}][${d}]`);
      // w_d: the step when axis d wraps (back over axis d, one forward on axis d - 1).
      const w = Array.from({ length: L }, (_, k) => `w${j}_${k + 1} = s${j}_${k} - s${j}_${k + 1} * dims[${k + 1}]`);
      head.push(`const ${[...st, ...w].join(", ")}; let p${j} = 0;`);
    }
    const adv = strided.map((j) => `p${j} += s${j}_${L};`).join(" ");
    let tail = adv;
    if (strided.length && L > 0) {
      head.push(`let ${Array.from({ length: L }, (_, k) => `c${k + 1} = 0, D${k + 1} = dims[${k + 1}]`).join(", ")};`);
      const wrap = (d: number): string =>
        `c${d} = 0; ${strided.map((j) => `p${j} += w${j}_${d};`).join(" ")}` +
        (d > 1 ? ` if (++c${d - 1} === D${d - 1}) { ${wrap(d - 1)} }` : "");
      tail = `${adv} if (++c${L} === D${L}) { ${wrap(L)} }`;
    }
    loop = `for (let i = 0; i < n; i++) {\n${body.join("\n")}\n${tail}\n}`;
  }
  const src = `"use strict";\nconst n = dims.length === 0 ? 1 : dims.reduce((a, b) => a * b, 1);\n${
    head.join("\n")
  }\n${loop}`;
  let fn = loopCache.get(src);
  if (!fn) {
    const make = new Function(
      ...Object.keys(helpers),
      "bcF",
      "bcI",
      "bcU",
      `return function fused(ins, outs, dims, strides) {\n${src}\n};`,
    );
    const bcF = new Float32Array(1);
    fn = make(...Object.values(helpers), bcF, new Int32Array(bcF.buffer), new Uint32Array(bcF.buffer)) as LoopFn;
    loopCache.set(src, fn);
    fusionStats.compiled++;
  }
  const run = fn;
  const outDtypes = spec.outs.map((o) => o.dtype);
  return (ins) => {
    const outs = outDtypes.map((dt) => allocUninit(dt, n));
    run(ins, outs, dims, strides);
    return outs;
  };
}
