/**
 * Native AVX-512 code for the cpu backend's fused elementwise loops. A fused loop of at most four
 * (collapsed) dimensions whose float32 reads are contiguous along the last axis (the row) or
 * constant along it (a column: a per-channel value of an NCHW batch norm), with any non-negative
 * strides on the outer axes; whose bool reads are select predicates contiguous along the row; and
 * whose operations are in {@link NATIVE_OPS} is compiled to x86-64 machine code
 * (fused_x86_code.ts): an outer loop nest around rows, 16 floats per iteration in zmm registers,
 * one opmask-masked tail per row (no scalar tail, no reads past the end). Everything else keeps
 * the JavaScript loop.
 *
 * Results equal the JavaScript loop bit for bit: for +, −, ×, ÷ and √ the float32 instruction is
 * correctly rounded, as `Math.fround` of the double result is; negation and `abs` flip or clear
 * the sign bit as V8 does; comparisons are ordered (false on NaN) except `ne` (true on NaN);
 * `select` is an exact bit blend; bool results are stored as 0/1 bytes; a signalling NaN read is
 * quieted as a JS read quiets it. One exception, where JS itself varies: the payload of NaN ⊕ NaN
 * (V8's interpreter returns the right operand's for + and ×, its optimized code the left's, as
 * the vector instruction does). MXCSR is left alone, so denormals are kept.
 * Code is cached by the loop's structure: generated once per process per distinct loop.
 * @module
 */
import type { DType, TypedArray } from "../../dtype.ts";
import { addressOf, avx512Usable, kernelAt, type KernelFn, loadCode } from "./gemm/x86/exec.ts";
import {
  allocate,
  assemble,
  BLOCK,
  MAX_LEVELS,
  MAX_PTRS,
  type Program,
  type Ptr,
  ptrBase,
  type Step,
} from "./fused_x86_code.ts";
import { envSwitch } from "./switches.ts";

/**
 * Native switch: on unless the environment sets `WAX_NATIVE_ELEMENTWISE=0` (set `enabled` to
 * change it at run time). A loop runs natively when its elements times its loop-body steps
 * (loads, operations, stores) reach `minWork`: a native call costs about 4 µs, what the JS loop
 * spends on some 4000 to 16000 steps (measured: a 21-step Adam loop breaks even near 256
 * elements, a 4-step add near 4096). Keep `minWork` at 64 or more outside tests: smaller typed
 * arrays may live on V8's moving heap.
 */
export const nativeElementwise: { enabled: boolean; minWork: number } = {
  enabled: envSwitch("WAX_NATIVE_ELEMENTWISE"),
  minWork: 8192,
};

/** Counters for tests: loops compiled, loops found ineligible, native calls made (`deepCalls`: of loops with 3 or 4 axes). */
export const nativeStats: { compiled: number; ineligible: number; calls: number; deepCalls: number } = {
  compiled: 0,
  ineligible: 0,
  calls: 0,
  deepCalls: 0,
};

/** A fused loop as fusion.ts's `FusedSpec` describes it (restated here: fusion.ts imports this file). */
export interface NativeSpec<V> {
  /** Loop shape. */
  shape: number[];
  /** Inputs in argument order with their dtypes (strides come collapsed, in `loop`). */
  reads: { v: V; dtype: DType; strides?: number[] }[];
  /** Member equations in order; operands are read indices (number) or member outputs (V). */
  eqns: { prim: string; params?: unknown; ins: (number | V)[]; inDtypes: DType[]; outs: V[]; outDtypes: DType[] }[];
  /** Values written out. */
  outs: { v: V; dtype: DType }[];
}

/** vcmpps predicates matching the JS operators (ordered-false on NaN, `!==` unordered-true). */
const CMP: Record<string, number> = { eq: 0x00, lt: 0x11, le: 0x12, ne: 0x04, ge: 0x1d, gt: 0x1e };
const UNARY = ["sqrt", "neg", "abs"];
const BINARY = ["add", "sub", "mul", "div"];

/** The primitives the native loop computes (comparisons give predicates for `select` or bool results). */
export const NATIVE_OPS: ReadonlySet<string> = new Set([
  ...UNARY,
  ...BINARY,
  ...Object.keys(CMP),
  "select",
  "stopGradient",
  "convert",
  "max",
  "min",
]);

/** Where the runner finds pointer slot s: input j, output k. */
type Src = { in: number } | { out: number };

/** A lowered loop: the program, the runner's view of its block, the outer level counts and the row length. */
interface Lowered {
  prog: Program;
  constReads: number[];
  srcs: Src[];
  outer: number[];
  cols: number;
}

/**
 * A pointer's byte steps after each outer level's iteration (see fused_x86_code.ts `Ptr`), from
 * its element strides `st` on the outer axes of counts `outer`.
 */
const stepsOf = (st: readonly number[], outer: readonly number[], size: number): number[] =>
  st.map((s, l) => size * (s - (l + 1 < st.length ? outer[l + 1] * st[l + 1] : 0)));

/** Lowers a fused loop (dims and read strides after fusion.ts's collapse) to a program; null when not eligible. */
function lower<V>(spec: NativeSpec<V>, dims: readonly number[], strides: readonly number[][]): Lowered | null {
  const D = dims.length;
  if (D > MAX_LEVELS + 1 || strides.some((st) => st.length !== D || st.some((x) => !(x >= 0)))) return null;
  const outer = D > 1 ? dims.slice(0, -1) : [1], cols = D ? dims[D - 1] : 1;
  // A read's strides on the outer axes and along the row (a 0-d loop reads element 0 once).
  const rowCol = (st: readonly number[]): [number[], number] =>
    D > 1 ? [st.slice(0, -1), st[D - 1]] : D === 1 ? [[0], st[0]] : [[0], 1];
  const isConst = (st: readonly number[]) => st.every((x) => x === 0);
  const steps = (st: readonly number[], size: number) => stepsOf(st, outer, size);
  let nv = 0, np = 0, nan = -1;
  const body: Step[] = [];
  const consts: Program["consts"] = [];
  const constReads: number[] = [], srcs: Src[] = [], ptrs: Ptr[] = [];
  const readVec = new Map<number, number>(), readPred = new Map<number, number>();
  const vec = new Map<V, number>(), pred = new Map<V, number>();
  const ptr = (src: Src, p: Ptr) => (ptrs.push(p), srcs.push(src) - 1);
  const vecRead = (j: number): number | null => {
    if (readVec.has(j)) return readVec.get(j)!;
    if (spec.reads[j].dtype !== "float32") return null;
    const [so, s1] = rowCol(strides[j]), d = nv++;
    if (D === 0 || isConst(strides[j])) consts.push({ c: constReads.push(j) - 1, d });
    else if (s1 === 1) body.push({ op: "load", s: ptr({ in: j }, { size: 4, steps: steps(so, 4) }), d });
    else if (s1 === 0) ptr({ in: j }, { size: 4, steps: steps(so, 4), bcast: { d, q: false } });
    else return null;
    readVec.set(j, d);
    return d;
  };
  const predRead = (j: number): number | null => {
    if (readPred.has(j)) return readPred.get(j)!;
    const [so, s1] = rowCol(strides[j]);
    if (spec.reads[j].dtype !== "bool" || s1 !== 1) return null;
    const p = np++;
    body.push({ op: "loadp", s: ptr({ in: j }, { size: 1, steps: steps(so, 1) }), p, t: nv++ });
    readPred.set(j, p);
    return p;
  };
  const operand = (x: number | V): number | null => (typeof x === "number" ? vecRead(x) : vec.get(x) ?? null);
  for (const e of spec.eqns) {
    if (!NATIVE_OPS.has(e.prim) || e.outs.length !== 1) return null;
    const isCmp = e.prim in CMP;
    if (e.outDtypes[0] !== (isCmp ? "bool" : "float32")) return null;
    if (e.prim === "select") {
      const x = e.ins[0];
      const p = typeof x === "number" ? predRead(x) : pred.get(x);
      const [b, a] = [operand(e.ins[1]), operand(e.ins[2])];
      if (p === undefined || p === null || a === null || b === null) return null;
      if (e.inDtypes[1] !== "float32" || e.inDtypes[2] !== "float32") return null;
      body.push({ op: "sel", d: nv, p, a, b }); // vblendmps: p ? b (the `true` operand) : a
      vec.set(e.outs[0], nv++);
      continue;
    }
    if (e.inDtypes.some((t) => t !== "float32")) return null;
    const args = e.ins.map(operand);
    if (args.some((a) => a === null)) return null;
    const [a, b] = args as number[];
    if (isCmp) {
      body.push({ op: "cmp", imm: CMP[e.prim], p: np, a, b });
      pred.set(e.outs[0], np++);
    } else if (e.prim === "stopGradient" || e.prim === "convert") {
      vec.set(e.outs[0], a);
    } else if (e.prim === "max" || e.prim === "min") {
      // Math.max/min: vmaxps/vminps, then equal operands (+0 and -0 too) give a & b (max: +0) or
      // a | b (min: -0), and a NaN operand gives NaN.
      if (nan < 0) nan = nv++;
      const max = e.prim === "max", [t, m, r1, r] = [nv++, nv++, nv++, nv++];
      body.push({ op: max ? "and" : "or", d: t, a, b }, { op: "cmp", imm: 0x00, p: np, a, b });
      body.push({ op: max ? "vmax" : "vmin", d: m, a, b }, { op: "sel", d: r1, p: np++, a: m, b: t });
      body.push({ op: "cmp", imm: 0x03, p: np, a, b }, { op: "sel", d: r, p: np++, a: r1, b: nan });
      vec.set(e.outs[0], r);
    } else {
      const d = nv++;
      body.push(BINARY.includes(e.prim) ? { op: e.prim as "add", d, a, b } : { op: e.prim as "sqrt", d, a });
      vec.set(e.outs[0], d);
    }
  }
  for (const [k, o] of spec.outs.entries()) {
    const a = o.dtype === "float32" ? vec.get(o.v) : o.dtype === "bool" ? pred.get(o.v) : undefined;
    if (a === undefined) return null;
    const size = o.dtype === "bool" ? 1 : 4;
    const s = ptr({ out: k }, { size, steps: steps(outer.map((_, l) => cols * prod(outer.slice(l + 1))), size) });
    body.push(o.dtype === "bool" ? { op: "storep", s, p: a, t: nv++ } : { op: "store", s, a });
  }
  if (ptrs.length > MAX_PTRS || ptrs.some((p) => p.steps.some((x) => Math.abs(x) >= 2 ** 31))) return null;
  // JS reads a float32 into a double, which quiets a signalling NaN; arithmetic quiets it too, but
  // neg, abs, select and a plain store move bits, so their loaded operands are quieted (× 1.0).
  const moved = new Set(
    body.flatMap((s) =>
      s.op === "neg" || s.op === "abs" || s.op === "store" ? [s.a] : s.op === "sel" ? [s.a, s.b] : []
    ),
  );
  for (const s of body) if (s.op === "load" && moved.has(s.d)) s.q = true;
  for (const p of ptrs) if (p.bcast && moved.has(p.bcast.d)) p.bcast.q = true;
  const any = (f: (s: Step) => boolean) => body.some(f);
  const fixed = (need: boolean) => (need ? nv++ : -1);
  const prog: Program = {
    consts,
    sign: fixed(any((s) => s.op === "neg")),
    absMask: fixed(any((s) => s.op === "abs")),
    one: fixed(any((s) => s.op === "load" && !!s.q) || ptrs.some((p) => p.bcast?.q)),
    ione: fixed(any((s) => s.op === "storep")),
    nan,
    body,
    ptrs,
  };
  return { prog, constReads, srcs, outer, cols };
}

const prod = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

const codeCache = new Map<string, KernelFn | null>();

/** Compiles (once per loop structure) the kernel of a program; null if it needs too many registers or code cannot load. */
function kernelOf(prog: Program): KernelFn | null {
  const key = JSON.stringify(prog);
  if (codeCache.has(key)) return codeCache.get(key)!;
  const regs = allocate(prog);
  const p = regs ? loadCode(assemble(prog, regs)) : null;
  const fn = p ? kernelAt(p) : null;
  if (fn) nativeStats.compiled++;
  codeCache.set(key, fn);
  return fn;
}

let usable: boolean | undefined;

/** Runs a native fused loop: writes `outs` from `ins` (both in spec order), `n` elements each; false when it declines. */
export type NativeRunner = (ins: TypedArray[], outs: TypedArray[], n: number) => boolean;

/**
 * The native runner of fused loop `spec` over the collapsed loop `loop` (fusion.ts: `dims` and
 * each read's `strides` in elements), or null when the loop is not eligible or AVX-512 code
 * cannot run here. The runner declines (returns false) below `nativeElementwise.minWork`
 * (elements × body steps), where the call costs more than the loop.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { nativeFused } from "./fused_x86.ts";
 * const run = nativeFused({
 *   shape: [5000],
 *   reads: [{ v: "x", dtype: "float32", strides: [1] }, { v: "y", dtype: "float32", strides: [0] }],
 *   eqns: [{ prim: "mul", params: {}, ins: [0, 1], inDtypes: ["float32", "float32"], outs: ["z"], outDtypes: ["float32"] }],
 *   outs: [{ v: "z", dtype: "float32" }],
 * }, { dims: [5000], strides: [[1], [0]] });
 * if (run) {
 *   const x = Float32Array.from({ length: 5000 }, (_, i) => i), z = new Float32Array(5000);
 *   assert.ok(run([x, Float32Array.of(0.5)], [z], 5000)); // ran natively
 *   assert.equal(z[4999], 2499.5);
 *   assert.equal(run([x, Float32Array.of(0.5)], [z], 10), false); // too small: the caller runs the JS loop
 * }
 * ```
 *
 * @example A per-channel scale on [N, C, HW] = [4, 3, 1000] (the read is constant along each row)
 * ```ts
 * import assert from "node:assert";
 * import { nativeFused } from "./fused_x86.ts";
 * const run = nativeFused({
 *   shape: [4, 3, 1000],
 *   reads: [{ v: "x", dtype: "float32" }, { v: "s", dtype: "float32" }],
 *   eqns: [{ prim: "mul", params: {}, ins: [0, 1], inDtypes: ["float32", "float32"], outs: ["z"], outDtypes: ["float32"] }],
 *   outs: [{ v: "z", dtype: "float32" }],
 * }, { dims: [4, 3, 1000], strides: [[3000, 1000, 1], [0, 1, 0]] });
 * if (run) {
 *   const x = new Float32Array(12000).fill(2), z = new Float32Array(12000);
 *   assert.ok(run([x, Float32Array.of(1, 10, 100)], [z], 12000));
 *   assert.deepEqual([z[0], z[1000], z[2999], z[3000], z[11999]], [2, 20, 200, 2, 200]);
 * }
 * ```
 */
export function nativeFused<V>(
  spec: NativeSpec<V>,
  loop: { dims: readonly number[]; strides: readonly number[][] },
): NativeRunner | null {
  usable ??= avx512Usable();
  if (!usable) return null;
  const low = lower(spec, loop.dims, loop.strides);
  const fn = low && kernelOf(low.prog);
  if (!low || !fn) {
    nativeStats.ineligible++;
    return null;
  }
  const { prog, constReads, srcs, outer, cols } = low;
  const rows = prod(outer), deep = outer.length > 1;
  const steps = prog.body.length, base = ptrBase(constReads.length) / 8;
  const block = new BigInt64Array(new ArrayBuffer(8 * (base + srcs.length)));
  const words = new Int32Array(block.buffer), floats = new Float32Array(block.buffer);
  block[BLOCK.cols16 / 8] = BigInt(cols & ~15), block[BLOCK.tail / 8] = BigInt((1 << (cols & 15)) - 1);
  outer.forEach((c, l) => (block[BLOCK.counts / 8 + l] = BigInt(c)));
  words[BLOCK.sign / 4] = 0x80000000 | 0, words[BLOCK.abs / 4] = 0x7fffffff;
  floats[BLOCK.one / 4] = 1, words[BLOCK.ione / 4] = 1, words[BLOCK.nan / 4] = 0xffc00000 | 0;
  return (ins, outs, n) => {
    if (n === 0 || n * steps < nativeElementwise.minWork || !nativeElementwise.enabled) return false;
    if (n !== rows * cols) {
      throw new Error(`nativeFused: ${n} elements for a ${[...outer, cols].join("×")} loop; pass the loop's size`);
    }
    for (let c = 0; c < constReads.length; c++) floats[BLOCK.consts / 4 + c] = ins[constReads[c]][0];
    for (let s = 0; s < srcs.length; s++) {
      const src = srcs[s];
      block[base + s] = addressOf("in" in src ? ins[src.in] : outs[src.out]);
    }
    fn(block);
    nativeStats.calls++;
    if (deep) nativeStats.deepCalls++;
    return true;
  };
}
