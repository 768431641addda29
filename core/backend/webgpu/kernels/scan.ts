/**
 * WGSL of the arg reductions and the scan, in loops of bounded length (see loops.ts).
 * argmax/argmin pick the first NaN, else the first extreme: each invocation folds a chunk of
 * candidates into a (value, index) pair, and further passes fold the pairs in chunk order.
 * cumsum is a blocked scan: block totals, their scan (recursively), then each block scanned
 * again from the total of the blocks before it.
 * @module
 */
import type { DType } from "../../../dtype.ts";
import { sizeOf } from "../../../shape.ts";
import type { ReduceParams } from "../../../primitives/params.ts";
import type { Buf, Gpu } from "../device.ts";
import type { GpuFamily, GpuKernel } from "../kernel_types.ts";
import { MAX_TRIPS, splitLoop } from "../loops.ts";
import { elementKernel, groupsFor, lit, wgslType } from "../wgsl.ts";
import { combiner } from "./reduce.ts";
import { outBuf, PRELUDE } from "./elementwise.ts";

/** The candidates of an arg reduction: for each output `o`, `n` values with their indices. */
export interface Candidates {
  /** Dtypes of the bound inputs the candidates read. */
  dtypes: DType[];
  /** Dtype of the values. */
  dtype: DType;
  /** WGSL statements run once per output `o` before its loop (e.g. a base offset). */
  setup?: string;
  /** Candidate `j` of output `o`: statements (which may `continue` to skip it), its value and its index (≥ 0). */
  at: (j: string) => { lines: string; value: string; index: string };
  /** Module-scope WGSL (helpers) the candidates use. */
  decls?: string;
}

/**
 * Records an arg reduction over `n` candidates for each of `O` outputs: the index of the first
 * NaN candidate, else of the first greatest (`op` ">") or least ("<") one, -1 where none.
 * Returns an int32 buffer of `O` indices.
 */
export function argReduce(gpu: Gpu, ins: Buf[], c: Candidates, O: number, n: number, op: "<" | ">"): Buf {
  const { parts: P, chunk } = splitLoop(n, MAX_TRIPS);
  const nan = (x: string) => (c.dtype === "float32" ? `w_isnan(${x})` : "false");
  const { lines, value, index } = c.at("j");
  const range = P === 1
    ? `var j = 0; j < ${n} * one; j++`
    : `var j = pp * ${chunk}; j < min(${n}, (pp + 1) * ${chunk}); j++`;
  const body = `    let o = i / ${P};
    let pp = i % ${P};
${c.setup ?? ""}
    var best = ${lit(0, c.dtype)};
    var bi = -1;
    for (${range}) {
${lines}
      let v = ${value};
      let vi = ${index};
      if (vi >= 0 && (bi < 0 || (!${nan("best")} && (${nan("v")} || v ${op} best)))) { best = v; bi = vi; }
    }
    ${P === 1 ? "out0[i] = bi;" : "out0[i] = best;\n    out1[i] = bi;"}`;
  const outDtypes: DType[] = P === 1 ? ["int32"] : [c.dtype, "int32"];
  const outs = outDtypes.map(() => gpu.alloc(4 * O * P));
  if (O === 0) return outs[0];
  gpu.dispatch({
    code: elementKernel(c.dtypes, outDtypes, O * P, body, `${PRELUDE}\n${c.decls ?? ""}`),
    ins,
    outs,
    groups: groupsFor(O * P),
  });
  if (P === 1) return outs[0];
  // The chunks' (value, index) pairs, folded in chunk order: ties keep the earlier chunk's.
  const pairs: Candidates = {
    dtypes: outDtypes,
    dtype: c.dtype,
    at: (j) => ({ lines: "", value: `in0[o * ${P} + ${j}]`, index: `in1[o * ${P} + ${j}]` }),
  };
  const r = argReduce(gpu, outs, pairs, O, P, op);
  outs.forEach((b) => gpu.release(b));
  return r;
}

function argK(op: "<" | ">"): GpuKernel<{ axis: number }> {
  return (gpu, [x], [a], { axis }, [o]) => {
    const n = a.shape[axis];
    const inner = sizeOf(a.shape.slice(axis + 1));
    const O = sizeOf(o.shape);
    if (O === 0) return [outBuf(gpu, o)];
    const c: Candidates = {
      dtypes: [a.dtype],
      dtype: a.dtype,
      setup: `    let base = (o / ${inner}) * ${n * inner} + o % ${inner};`,
      at: (j) => ({ lines: "", value: `in0[base + ${j} * ${inner}]`, index: j }),
    };
    return [argReduce(gpu, [x], c, O, n, op)];
  };
}

/**
 * Records the inclusive sum-scan of `lines` lines of `n` elements of `dtype` in `x`, element
 * `t` of line `L` at `(L / inner) · n · inner + L % inner + t · inner` (scanned from the last
 * element when `reverse`); returns a buffer of `x`'s layout.
 */
export function cumsumBuf(
  gpu: Gpu,
  x: Buf,
  dtype: DType,
  shape: { lines: number; n: number; inner: number },
  reverse: boolean,
): Buf {
  const { lines, n, inner } = shape;
  const out = gpu.alloc(4 * lines * n);
  if (lines * n === 0) return out;
  const { f, init } = combiner("sum", dtype);
  const T = wgslType(dtype);
  const base = (line: string) => `    let base = (${line} / ${inner}) * ${n * inner} + ${line} % ${inner};`;
  const off = (t: string) => `base + ${reverse ? `(${n - 1} - ${t})` : t} * ${inner}`;
  const scan = (range: string) =>
    `    for (${range}) {
      let off = ${off("t")};
      acc = ${f("acc", "in0[off]")};
      out0[off] = acc;
    }`;
  if (n <= MAX_TRIPS) {
    gpu.dispatch({
      code: elementKernel(
        [dtype],
        [dtype],
        lines,
        `${base("i")}\n    var acc = ${init};\n${scan(`var t = 0; t < ${n} * one; t++`)}`,
      ),
      ins: [x],
      outs: [out],
      groups: groupsFor(lines),
    });
    return out;
  }
  // Blocks of `chunk` steps (in scan order): their totals, then the totals' inclusive scan.
  const { parts: B, chunk } = splitLoop(n, MAX_TRIPS);
  const range = `var t = b * ${chunk}; t < min(${n}, (b + 1) * ${chunk}); t++`;
  const head = `    let line = i / ${B};\n    let b = i % ${B};\n${base("line")}\n    var acc: ${T} = ${init};`;
  const totals = gpu.alloc(4 * lines * B);
  gpu.dispatch({
    code: elementKernel(
      [dtype],
      [dtype],
      lines * B,
      `${head}\n    for (${range}) { acc = ${f("acc", `in0[${off("t")}]`)}; }\n    out0[i] = acc;`,
    ),
    ins: [x],
    outs: [totals],
    groups: groupsFor(lines * B),
  });
  const before = cumsumBuf(gpu, totals, dtype, { lines, n: B, inner: 1 }, false);
  gpu.release(totals);
  // Each block again, starting from the total of the blocks before it.
  gpu.dispatch({
    code: elementKernel(
      [dtype, dtype],
      [dtype],
      lines * B,
      `${head}\n    if (b > 0) { acc = in1[i - 1]; }\n${scan(range)}`,
    ),
    ins: [x, before],
    outs: [out],
    groups: groupsFor(lines * B),
  });
  gpu.release(before);
  return out;
}

const cumsumK: GpuKernel<ReduceParams["cumsum"]> = (gpu, [x], [a], { axis, reverse }) => {
  const n = a.shape[axis];
  const inner = sizeOf(a.shape.slice(axis + 1));
  const lines = n === 0 ? 0 : sizeOf(a.shape) / n;
  return [cumsumBuf(gpu, x, a.dtype, { lines, n, inner }, reverse)];
};

/** Kernels of argmax, argmin and cumsum. */
export const scanKernels: GpuFamily<Pick<ReduceParams, "argmax" | "argmin" | "cumsum">> = {
  argmax: argK(">"),
  argmin: argK("<"),
  cumsum: cumsumK,
};
