/**
 * WGSL of the reductions: one invocation per output for short rows, a workgroup tree
 * reduction per output for long ones; argmax/argmin and cumsum walk their axis serially.
 * @module
 */
import type { Aval } from "../../../array.ts";
import type { DType } from "../../../dtype.ts";
import { mergeAxes, sizeOf, stridesOf } from "../../../shape.ts";
import type { ReduceParams } from "../../../primitives/reduce.ts";
import type { Buf, Gpu } from "../device.ts";
import type { GpuFamily, GpuKernel } from "../kernel_types.ts";
import {
  bindings,
  dotIdx,
  elementKernel,
  groupsFor,
  lit,
  MAX_GROUPS,
  plainStore,
  type Store,
  unravel,
  wgslType,
} from "../wgsl.ts";
import { outBuf, PRELUDE } from "./elementwise.ts";

type Op = "sum" | "prod" | "max" | "min";

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

const plainLoad = (d: DType): Load => ({ dtypes: [d], code: (off) => ({ lines: "", value: `in0[${off}]` }) });

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
 */
export function reduceLoad(gpu: Gpu, xs: Buf[], spec: ReduceSpec): Buf[] {
  const { load, aval: a, axes, op } = spec;
  const store = spec.store ?? plainStore(a.dtype);
  const { lines, value } = load.code("off");
  const step = `${lines ? `${lines}\n` : ""}      acc = ${combiner(op, a.dtype).f("acc", value)};`;
  const { base, red, R, O } = offsets(a, axes);
  const outs = store.outs.map(() => gpu.alloc(4 * O));
  if (O === 0) return outs;
  const nLoad = load.dtypes.length;
  const ins = [...load.dtypes, ...store.ins];
  const { f, init } = combiner(op, a.dtype);
  const T = wgslType(a.dtype);
  let code: string;
  let groups: [number];
  if (R >= 256 && O <= 8192 && gpu.software) {
    // Two passes without workgroup memory (software adapters compile barriers slowly):
    // P partial results per output, then one invocation per output folds them.
    const P = Math.min(64, Math.ceil(R / 64)), chunk = Math.ceil(R / P);
    const part = gpu.alloc(4 * O * P);
    const body1 = `    let o = i / ${P};
    let pp = i % ${P};
${base}
    var acc: ${T} = ${init};
    for (var r = pp * ${chunk}; r < min(${R}, (pp + 1) * ${chunk}); r++) {
${red}
${step}
    }
    out0[i] = acc;`;
    gpu.dispatch({
      code: elementKernel(load.dtypes, [a.dtype], O * P, body1, PRELUDE),
      ins: xs.slice(0, nLoad),
      outs: [part],
      groups: groupsFor(O * P),
    });
    const body2 = `    var acc: ${T} = ${init};
    for (var r = 0; r < ${P} * one; r++) { acc = ${f("acc", `in0[i * ${P} + r]`)}; }
    ${store.code(1, "i", "acc")}`;
    gpu.dispatch({
      code: elementKernel([a.dtype, ...store.ins], store.outs, O, body2, PRELUDE),
      ins: [part, ...xs.slice(nLoad)],
      outs,
      groups: groupsFor(O),
    });
    gpu.release(part);
    return outs;
  }
  if (R >= 256 && O <= 8192) {
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
    groups = [Math.min(O, MAX_GROUPS)];
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

const reduceK = (op: Op): GpuKernel<{ axes: number[] }> => (gpu, [x], [a], { axes }) => [
  reduceBuf(gpu, x, a, axes, op),
];

function argK(op: "<" | ">"): GpuKernel<{ axis: number }> {
  return (gpu, [x], [a], { axis }, [o]) => {
    const n = a.shape[axis];
    const inner = sizeOf(a.shape.slice(axis + 1));
    const O = sizeOf(o.shape);
    const out = outBuf(gpu, o);
    if (O === 0) return [out];
    const nan = a.dtype === "float32" ? "w_isnan(v)" : "false";
    const body = `    let base = (i / ${inner}) * ${n * inner} + i % ${inner};
    var best = in0[base];
    var bi = 0;
    if (!(${nan.replace("v", "best")})) {
      for (var j = 1; j < ${n} * one; j++) {
        let v = in0[base + j * ${inner}];
        if (${nan}) { bi = j; break; }
        if (v ${op} best) { best = v; bi = j; }
      }
    }
    out0[i] = bi;`;
    gpu.dispatch({
      code: elementKernel([a.dtype], ["int32"], O, body, PRELUDE),
      ins: [x],
      outs: [out],
      groups: groupsFor(O),
    });
    return [out];
  };
}

const cumsumK: GpuKernel<ReduceParams["cumsum"]> = (gpu, [x], [a], { axis, reverse }, [o]) => {
  const n = a.shape[axis];
  const inner = sizeOf(a.shape.slice(axis + 1));
  const lines = sizeOf(a.shape) / Math.max(1, n);
  const out = outBuf(gpu, o);
  if (sizeOf(a.shape) === 0) return [out];
  const { f, init } = combiner("sum", a.dtype);
  const body = `    let base = (i / ${inner}) * ${n * inner} + i % ${inner};
    var acc = ${init};
    for (var t = 0; t < ${n} * one; t++) {
      let off = base + ${reverse ? `(${n - 1} - t)` : "t"} * ${inner};
      acc = ${f("acc", "in0[off]")};
      out0[off] = acc;
    }`;
  gpu.dispatch({
    code: elementKernel([a.dtype], [a.dtype], lines, body),
    ins: [x],
    outs: [out],
    groups: groupsFor(lines),
  });
  return [out];
};

/** Kernels of the reduction primitives. */
export const reduceKernels: GpuFamily<ReduceParams> = {
  reduceSum: reduceK("sum"),
  reduceProd: reduceK("prod"),
  reduceMax: reduceK("max"),
  reduceMin: reduceK("min"),
  argmax: argK(">"),
  argmin: argK("<"),
  cumsum: cumsumK,
};
