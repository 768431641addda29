/**
 * WGSL of the indexing primitives. Indices are clamped like the cpu kernels. scatterAdd is
 * race-free: each output element sums the updates whose (clamped) index lands on it, in
 * index order (many indices in chunks, see foldTerms). Dynamic slice starts are read on the
 * device (no readback).
 * @module
 */
import { sizeOf, stridesOf } from "../../../shape.ts";
import type { IndexingParams } from "../../../primitives/params.ts";
import type { GpuFamily } from "../kernel_types.ts";
import { elementKernel, groupsFor, unravel } from "../wgsl.ts";
import { combiner, foldTerms } from "./reduce.ts";
import { outBuf } from "./elementwise.ts";

const clampStart = (d: number, dim: number, size: number) => `clamp(in_s[${d}], 0, ${dim - size})`;

/** Kernels of the indexing primitives. */
export const indexingKernels: GpuFamily<IndexingParams> = {
  gather: (gpu, [x, idx], [a, ia], { axis }, [o]) => {
    const out = outBuf(gpu, o);
    const N = sizeOf(o.shape);
    if (N === 0) return [out];
    const n = a.shape[axis], inner = sizeOf(a.shape.slice(axis + 1)), m = sizeOf(ia.shape);
    const body = `    let ii = i % ${inner};
    let j = (i / ${inner}) % ${m};
    let b = i / ${inner * m};
    out0[i] = in0[(b * ${n} + clamp(in1[j], 0, ${n - 1})) * ${inner} + ii];`;
    gpu.dispatch({
      code: elementKernel([a.dtype, "int32"], [o.dtype], N, body),
      ins: [x, idx],
      outs: [out],
      groups: groupsFor(N),
    });
    return [out];
  },
  scatterAdd: (gpu, [x, idx, u], [a, ia], { axis }, [o]) => {
    const N = sizeOf(o.shape);
    if (N === 0) return [outBuf(gpu, o)];
    const n = a.shape[axis], inner = sizeOf(a.shape.slice(axis + 1)), m = sizeOf(ia.shape);
    const { f, init } = combiner("sum", a.dtype);
    // Many indices are folded in chunks (see foldTerms); the chunk at index 0 starts from x.
    const body = (lo: string, hi: string, first: string) =>
      `    let ii = e % ${inner};
    let r = (e / ${inner}) % ${n};
    let b = e / ${inner * n};
    var acc = ${first === "true" ? "in0[e]" : `select(${init}, in0[e], ${first})`};
    for (var j = ${lo}; j < ${hi}; j++) {
      if (clamp(in1[j], 0, ${n - 1}) == r) { acc = ${f("acc", `in2[(b * ${m} + j) * ${inner} + ii]`)}; }
    }`;
    const fold = { dtype: o.dtype, N, n: m, op: "sum" as const };
    return [foldTerms(gpu, [x, idx, u], [a.dtype, "int32", a.dtype], fold, body, "")];
  },
  dynamicSlice: (gpu, [x, s], [a], { sizes }, [o]) => {
    const out = outBuf(gpu, o);
    const N = sizeOf(sizes);
    if (N === 0) return [out];
    const st = stridesOf(a.shape);
    const terms = sizes.map((_, d) => `(o${d} + ${clampStart(d, a.shape[d], sizes[d])}) * ${st[d]}`);
    const body = `${unravel("i", sizes, "o")}\n    out0[i] = in0[${terms.join(" + ") || "0"}];`;
    gpu.dispatch({
      code: elementKernel([a.dtype, "int32"], [o.dtype], N, body.replaceAll("in_s", "in1")),
      ins: [x, s],
      outs: [out],
      groups: groupsFor(N),
    });
    return [out];
  },
  dynamicUpdateSlice: (gpu, [x, u, s], [a, ua], _p, [o]) => {
    const out = outBuf(gpu, o);
    const N = sizeOf(a.shape);
    if (N === 0) return [out];
    const ust = stridesOf(ua.shape);
    const lines = a.shape.map((dim, d) => `    let p${d} = o${d} - ${clampStart(d, dim, ua.shape[d])};`);
    const inside = a.shape.map((_, d) => `p${d} >= 0 && p${d} < ${ua.shape[d]}`).join(" && ") || "true";
    const uoff = a.shape.map((_, d) => `p${d} * ${ust[d]}`).join(" + ") || "0";
    const body = `${unravel("i", a.shape, "o")}
${lines.join("\n")}
    if (${sizeOf(ua.shape) === 0 ? "false" : inside}) { out0[i] = in1[${uoff}]; } else { out0[i] = in0[i]; }`;
    gpu.dispatch({
      code: elementKernel([a.dtype, a.dtype, "int32"], [o.dtype], N, body.replaceAll("in_s", "in2")),
      ins: [x, u, s],
      outs: [out],
      groups: groupsFor(N),
    });
    return [out];
  },
};
