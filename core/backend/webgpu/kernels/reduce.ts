/**
 * WGSL of the sum/prod/max/min reductions: one invocation per output for short rows, a
 * workgroup tree per output for long rows of few outputs, and rows too long for one
 * invocation's loop budget (see loops.ts) in chunks whose partial results are reduced again.
 * @module
 */
import type { Aval } from "../../../array.ts";
import type { DType } from "../../../dtype.ts";
import { mergeAxes, sizeOf, stridesOf } from "../../../shape.ts";
import type { ReduceParams } from "../../../primitives/params.ts";
import type { Buf, Gpu } from "../device.ts";
import type { GpuFamily, GpuKernel } from "../kernel_types.ts";
import { bindings, dotIdx, elementKernel, groupsFor, lit, plainStore, type Store, unravel, wgslType } from "../wgsl.ts";
import { helperTrips, MAX_TRIPS, splitLoop, tripsFor } from "../loops.ts";
import { PRELUDE } from "./elementwise.ts";

/** A reduction operator. */
export type Op = "sum" | "prod" | "max" | "min";

/** The combine expression and identity of a reduction on `dtype`. */
export function combiner(op: Op, dtype: DType): { f: (a: string, b: string) => string; init: string } {
  const F = dtype === "float32", B = dtype === "bool";
  switch (op) {
    case "sum":
      return { f: (a, b) => (B ? `(${a} | ${b})` : `(${a} + ${b})`), init: lit(0, dtype) };
    case "prod":
      return { f: (a, b) => (B ? `(${a} & ${b})` : `(${a} * ${b})`), init: lit(1, dtype) };
    case "max":
      return {
        f: (a, b) => (F ? `w_max(${a}, ${b})` : B ? `(${a} | ${b})` : `max(${a}, ${b})`),
        init: lit(F ? -Infinity : dtype === "int32" ? -2147483648 : 0, dtype),
      };
    case "min":
      return {
        f: (a, b) => (F ? `w_min(${a}, ${b})` : B ? `(${a} & ${b})` : `min(${a}, ${b})`),
        init: lit(F ? Infinity : dtype === "int32" ? 2147483647 : dtype === "uint32" ? 4294967295 : 1, dtype),
      };
  }
}

/** WGSL declaring `${v}` = input offset of (output `o`, reduction index `r`). */
function offsets(a: Aval, axes: readonly number[]): { base: string; red: string; R: number; O: number } {
  const st = stridesOf(a.shape);
  const keep = a.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const red = [...axes].sort((p, q) => p - q);
  const [ks, kst] = mergeAxes(keep.map((d) => a.shape[d]), keep.map((d) => st[d]));
  const [rs, rst] = mergeAxes(red.map((d) => a.shape[d]), red.map((d) => st[d]));
  const kn = ks.map((_, d) => `k${d}`), rn = rs.map((_, d) => `r${d}`);
  return {
    base: `${unravel("o", ks, "k")}\n    let base = ${dotIdx(kn, kst)};`,
    red: `${unravel("r", rs, "r")}\n      let off = base + ${dotIdx(rn, rst)};`,
    R: sizeOf(red.map((d) => a.shape[d])),
    O: sizeOf(keep.map((d) => a.shape[d])),
  };
}

const TREE = 128;

/**
 * How a reduction reads its element at flat index `off`: WGSL statements computing it from
 * the bound inputs `in0..` (of `dtypes`), and the value's expression. A plain reduction reads
 * `in0[off]`; a fused one computes an elementwise chain there (see fusion.ts).
 */
export interface Load {
  dtypes: DType[];
  code: (off: string) => { lines: string; value: string };
}

/** The load of a reduction reading its input buffer `in0` directly. */
export const plainLoad = (d: DType): Load => ({ dtypes: [d], code: (off) => ({ lines: "", value: `in0[${off}]` }) });

/** Records a reduction of `x` over `axes` with `op`. */
export function reduceBuf(gpu: Gpu, x: Buf, a: Aval, axes: readonly number[], op: Op): Buf {
  return reduceLoad(gpu, [x], { load: plainLoad(a.dtype), aval: a, axes, op })[0];
}

/** A reduction: what it reads (`load`, of aval `aval`), over which axes, how, and how it stores. */
export interface ReduceSpec {
  load: Load;
  aval: Aval;
  axes: readonly number[];
  op: Op;
  /** Default: the plain store of the reduced value. */
  store?: Store;
}

/**
 * Records a reduction. `xs` are the buffers `load` reads, then the extra inputs of the
 * store (an epilogue computed on each reduced value before it is written); returns the
 * store's outputs. (The kernels declare all of `PRELUDE`, so `store.decls` is not needed.)
 * Rows longer than one invocation may loop over (see loops.ts) are reduced in chunks first:
 * partial results `[O, P]`, then a reduction of those (recursively), whose store is the real one.
 */
export function reduceLoad(gpu: Gpu, xs: Buf[], spec: ReduceSpec): Buf[] {
  const { load, aval: a, axes, op } = spec;
  const store = spec.store ?? plainStore(a.dtype);
  const { lines, value } = load.code("off");
  const step = `${lines ? `${lines}\n` : ""}      acc = ${combiner(op, a.dtype).f("acc", value)};`;
  const { base, red, R, O } = offsets(a, axes);
  if (O === 0) return store.outs.map(() => gpu.alloc(0));
  const nLoad = load.dtypes.length;
  const ins = [...load.dtypes, ...store.ins];
  const { f, init } = combiner(op, a.dtype);
  const T = wgslType(a.dtype);
  const trips = tripsFor(helperTrips(`${lines}\n${value}`));
  // Long rows of few outputs: a workgroup tree per output, or (software adapters, which
  // compile barriers slowly) at least 64 partial results per output. Rows too long for a tree
  // take chunks of 1,024 first (then a tree over the chunks).
  const few = R >= 256 && O <= 8192;
  const tree = few && !gpu.software && Math.ceil(R / TREE) <= trips;
  if (!tree && (R > trips || (few && gpu.software))) {
    const wide = few ? (gpu.software ? Math.min(64, Math.ceil(R / 64)) : Math.ceil(R / 1024)) : 1;
    const P = Math.max(wide, Math.ceil(R / trips));
    const chunk = Math.ceil(R / P);
    const part = gpu.alloc(4 * O * P);
    const body = `    let o = i / ${P};
    let pp = i % ${P};
${base}
    var acc: ${T} = ${init};
    for (var r = pp * ${chunk}; r < min(${R}, (pp + 1) * ${chunk}); r++) {
${red}
${step}
    }
    out0[i] = acc;`;
    gpu.dispatch({
      code: elementKernel(load.dtypes, [a.dtype], O * P, body, PRELUDE),
      ins: xs.slice(0, nLoad),
      outs: [part],
      groups: groupsFor(O * P),
    });
    const rest = { load: plainLoad(a.dtype), aval: { shape: [O, P], dtype: a.dtype }, axes: [1], op, store };
    const outs = reduceLoad(gpu, [part, ...xs.slice(nLoad)], rest);
    gpu.release(part);
    return outs;
  }
  const outs = store.outs.map(() => gpu.alloc(4 * O));
  let code: string;
  let groups: [number, number?];
  if (tree) {
    code = `${bindings(ins, store.outs)}
${PRELUDE}
var<workgroup> sh: array<${T}, ${TREE}>;
@compute @workgroup_size(${TREE})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  for (var ou = wid.x; ou < ${O}u; ou += nwg.x) {
    let o = i32(ou);
${base}
    var acc: ${T} = ${init};
    for (var r = i32(lid.x); r < ${R}; r += ${TREE}) {
${red}
${step}
    }
    sh[lid.x] = acc;
    workgroupBarrier();
    for (var s = ${TREE / 2}u; s > 0u; s = s >> 1u) {
      if (lid.x < s) { sh[lid.x] = ${f("sh[lid.x]", "sh[lid.x + s]")}; }
      workgroupBarrier();
    }
    if (lid.x == 0u) {
      ${store.code(nLoad, "o", "sh[0]")}
    }
    workgroupBarrier();
  }
}
`;
    groups = [O];
  } else {
    const body = `    let o = i;
${base}
    var acc: ${T} = ${init};
    for (var r = 0; r < ${R} * one; r++) {
${red}
${step}
    }
    ${store.code(nLoad, "o", "acc")}`;
    code = elementKernel(ins, store.outs, O, body, PRELUDE);
    groups = groupsFor(O);
  }
  gpu.dispatch({ code, ins: xs, outs, groups });
  return outs;
}

/** The size and operator of {@link foldTerms}: `N` outputs, each a fold of `n` terms with `op`. */
export interface Fold {
  dtype: DType;
  N: number;
  n: number;
  op: Op;
}

/**
 * Records `N` folds with `op` of `n` terms each, in bounded loops. `body(lo, hi, first)` gives
 * the WGSL statements that declare `var acc` (of the fold's dtype) and fold terms [lo, hi) of
 * output `e` into it (`first`: a WGSL bool, true in the chunk that starts at term 0, e.g. to
 * start from an initial value); they may read `in0..` (`dtypes`) and call `decls`. One kernel
 * when `n` fits one invocation's loop, else partial folds of chunks and a reduction of those.
 */
export function foldTerms(
  gpu: Gpu,
  ins: Buf[],
  dtypes: DType[],
  fold: Fold,
  body: (lo: string, hi: string, first: string) => string,
  decls = PRELUDE,
): Buf {
  const { dtype, N, n, op } = fold;
  const { parts: P, chunk } = splitLoop(n, MAX_TRIPS);
  const code = P === 1
    ? `    let e = i;\n${body("0", `${n} * one`, "true")}\n    out0[i] = acc;`
    : `    let e = i % ${N};\n    let p = i / ${N};
${body(`p * ${chunk}`, `min(${n}, (p + 1) * ${chunk})`, "p == 0")}\n    out0[i] = acc;`;
  const out = gpu.alloc(4 * N * P);
  if (N > 0) {
    gpu.dispatch({
      code: elementKernel(dtypes, [dtype], N * P, code, decls),
      ins,
      outs: [out],
      groups: groupsFor(N * P),
    });
  }
  if (P === 1 || N === 0) return out;
  const r = reduceBuf(gpu, out, { shape: [P, N], dtype }, [0], op);
  gpu.release(out);
  return r;
}

const reduceK = (op: Op): GpuKernel<{ axes: number[] }> => (gpu, [x], [a], { axes }) => [
  reduceBuf(gpu, x, a, axes, op),
];

/** Kernels of the sum/prod/max/min reductions (argmax, argmin and cumsum: see scan.ts). */
export const reduceKernels: GpuFamily<Omit<ReduceParams, "argmax" | "argmin" | "cumsum">> = {
  reduceSum: reduceK("sum"),
  reduceProd: reduceK("prod"),
  reduceMax: reduceK("max"),
  reduceMin: reduceK("min"),
};
