/**
 * WGSL of the window primitives. Windows are walked in row-major order over in-bounds
 * positions (padding is never read), like the cpu kernels. selectAndScatterAdd is a gather:
 * each input element sums the cotangents of the windows that selected it.
 * @module
 */
import type { Aval } from "../../../array.ts";
import { sizeOf, stridesOf } from "../../../shape.ts";
import type { Window, WindowParams } from "../../../primitives/window.ts";
import type { GpuFamily } from "../kernel_types.ts";
import { elementKernel, groupsFor, unravel } from "../wgsl.ts";
import { combiner } from "./reduce.ts";
import { outBuf, PRELUDE } from "./elementwise.ts";

/** WGSL statements visiting the window of output index q0.. : `visit` sees `off` (input offset). */
function windowLoop(a: Aval, w: Window, visit: string, indent = "    "): string {
  const st = stridesOf(a.shape);
  const nd = a.shape.length;
  const T = sizeOf(w.window);
  const lines = [
    `${indent}for (var t = 0; t < ${T}; t++) {`,
    unravel("t", w.window, "k").replaceAll("    let", `${indent}  let`),
  ];
  const conds: string[] = [];
  const terms: string[] = [];
  for (let d = 0; d < nd; d++) {
    lines.push(`${indent}  let p${d} = q${d} * ${w.strides[d]} - ${w.padding[d][0]} + k${d};`);
    conds.push(`p${d} >= 0 && p${d} < ${a.shape[d]}`);
    terms.push(`p${d} * ${st[d]}`);
  }
  lines.push(`${indent}  if (!(${conds.join(" && ") || "true"})) { continue; }`);
  lines.push(`${indent}  let off = ${terms.join(" + ") || "0"};`);
  lines.push(visit);
  lines.push(`${indent}}`);
  return lines.join("\n");
}

/** A WGSL function `sel(q0, …) -> i32`: input offset of the window's first max (NaN first), or -1. */
function selFn(a: Aval, w: Window, arr: string): string {
  const nd = a.shape.length;
  const nan = a.dtype === "float32" ? `w_isnan(v)` : "false";
  const params = Array.from({ length: nd }, (_, d) => `q${d}: i32`).join(", ");
  return `fn sel(${params}) -> i32 {
  var best = -1;
  var bv = ${arr}[0];
${
    windowLoop(
      a,
      w,
      `    let v = ${arr}[off];
    if (best < 0) { best = off; bv = v; if (${nan}) { return off; } continue; }
    if (${nan}) { return off; }
    if (v > bv) { bv = v; best = off; }`,
      "  ",
    )
  }
  return best;
}`;
}

const qArgs = (nd: number) => Array.from({ length: nd }, (_, d) => `q${d}`).join(", ");

/** Kernels of the window primitives. */
export const windowKernels: GpuFamily<WindowParams> = {
  reduceWindow: (gpu, [x], [a], p, [o]) => {
    const out = outBuf(gpu, o);
    const N = sizeOf(o.shape);
    if (N === 0) return [out];
    const { f, init } = combiner(p.op, a.dtype);
    const body = `${unravel("i", o.shape, "q")}
    var acc = ${init};
${windowLoop(a, p, `      acc = ${f("acc", "in0[off]")};`)}
    out0[i] = acc;`;
    gpu.dispatch({
      code: elementKernel([a.dtype], [o.dtype], N, body, PRELUDE),
      ins: [x],
      outs: [out],
      groups: groupsFor(N),
    });
    return [out];
  },
  selectAndGather: (gpu, [x, t], [a], w, [o]) => {
    const out = outBuf(gpu, o);
    const N = sizeOf(o.shape);
    if (N === 0) return [out];
    const body = `${unravel("i", o.shape, "q")}
    let s = sel(${qArgs(a.shape.length)});
    if (s < 0) { out0[i] = ${
      o.dtype === "float32" ? "0.0" : o.dtype === "int32" ? "0" : "0u"
    }; } else { out0[i] = in1[s]; }`;
    gpu.dispatch({
      code: elementKernel([a.dtype, o.dtype], [o.dtype], N, body, `${PRELUDE}\n${selFn(a, w, "in0")}`),
      ins: [x, t],
      outs: [out],
      groups: groupsFor(N),
    });
    return [out];
  },
  selectAndScatterAdd: (gpu, [s, x], [sa, a], w, [o]) => {
    const out = outBuf(gpu, o);
    const N = sizeOf(a.shape);
    if (N === 0) return [out];
    const nd = a.shape.length;
    const span = w.window.map((k, d) => Math.ceil(k / w.strides[d]));
    const sst = stridesOf(sa.shape);
    const lines: string[] = [];
    const conds: string[] = [];
    for (let d = 0; d < nd; d++) {
      // Windows q with q*stride - lo <= p < q*stride - lo + window: q from ceil((p+lo-window+1)/stride).
      lines.push(`      let q${d} = w_cdiv(p${d} + ${w.padding[d][0] - w.window[d] + 1}, ${w.strides[d]}) + j${d};`);
      conds.push(`q${d} >= 0 && q${d} < ${sa.shape[d]} && q${d} * ${w.strides[d]} - ${w.padding[d][0]} <= p${d}`);
    }
    const { f, init } = combiner("sum", o.dtype);
    const body = `${unravel("i", a.shape, "p")}
    var acc = ${init};
    for (var jj = 0; jj < ${sizeOf(span)}; jj++) {
${unravel("jj", span, "j").replaceAll("    let", "      let")}
${lines.join("\n")}
      if (!(${conds.join(" && ") || "true"})) { continue; }
      if (sel(${qArgs(nd)}) == i) { acc = ${
      f("acc", `in0[${sa.shape.map((_, d) => `q${d} * ${sst[d]}`).join(" + ") || "0"}]`)
    }; }
    }
    out0[i] = acc;`;
    const cdiv = `fn w_cdiv(a: i32, b: i32) -> i32 { return select(-((-a) / b), (a + b - 1) / b, a > 0); }`;
    gpu.dispatch({
      code: elementKernel([sa.dtype, a.dtype], [o.dtype], N, body, `${PRELUDE}\n${cdiv}\n${selFn(a, w, "in1")}`),
      ins: [s, x],
      outs: [out],
      groups: groupsFor(N),
    });
    return [out];
  },
};
