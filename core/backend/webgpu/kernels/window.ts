/**
 * WGSL of the window primitives. Windows are walked in row-major order over in-bounds
 * positions (padding is never read), like the cpu kernels. selectAndScatterAdd is a gather:
 * each input element sums the cotangents of the windows that selected it. No invocation loops
 * longer than loops.ts allows: long windows are folded in chunks, and large windows' selections
 * are recorded once per window (an arg reduction, see scan.ts).
 * @module
 */
import type { Aval } from "../../../array.ts";
import { sizeOf, stridesOf } from "../../../shape.ts";
import type { Window, WindowParams } from "../../../primitives/params.ts";
import type { Buf, Gpu } from "../device.ts";
import type { GpuFamily } from "../kernel_types.ts";
import { MAX_TRIPS } from "../loops.ts";
import { elementKernel, groupsFor, lit, unravel } from "../wgsl.ts";
import { combiner, foldTerms } from "./reduce.ts";
import { argReduce, type Candidates } from "./scan.ts";
import { outBuf, PRELUDE } from "./elementwise.ts";

/**
 * WGSL statements visiting taps [lo, hi) (default: all) of the window of output index q0..:
 * `visit` sees `off` (input offset).
 */
function windowLoop(a: Aval, w: Window, visit: string, indent = "    ", lo = "0", hi = `${sizeOf(w.window)}`): string {
  return [`${indent}for (var t = ${lo}; t < ${hi}; t++) {`, tapLines(a, w, indent), visit, `${indent}}`].join("\n");
}

/** WGSL statements of window tap `t` of output index q0..: its input offset `off`, or `continue` out of bounds. */
function tapLines(a: Aval, w: Window, indent: string): string {
  const st = stridesOf(a.shape);
  const nd = a.shape.length;
  const lines = [unravel("t", w.window, "k").replaceAll("    let", `${indent}  let`)];
  const conds: string[] = [];
  const terms: string[] = [];
  for (let d = 0; d < nd; d++) {
    lines.push(`${indent}  let p${d} = q${d} * ${w.strides[d]} - ${w.padding[d][0]} + k${d};`);
    conds.push(`p${d} >= 0 && p${d} < ${a.shape[d]}`);
    terms.push(`p${d} * ${st[d]}`);
  }
  lines.push(`${indent}  if (!(${conds.join(" && ") || "true"})) { continue; }`);
  lines.push(`${indent}  let off = ${terms.join(" + ") || "0"};`);
  return lines.join("\n");
}

/** Per window (flat output index `o`), the input offset of its first max (NaN first), -1 where none (see scan.ts). */
function selectBuf(gpu: Gpu, x: Buf, a: Aval, w: Window, outShape: readonly number[]): Buf {
  const c: Candidates = {
    dtypes: [a.dtype],
    dtype: a.dtype,
    setup: unravel("o", outShape, "q"),
    at: (t) => ({ lines: `      let t = ${t};\n${tapLines(a, w, "    ")}`, value: "in0[off]", index: "off" }),
  };
  return argReduce(gpu, [x], c, sizeOf(outShape), sizeOf(w.window), ">");
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
    const N = sizeOf(o.shape), T = sizeOf(p.window);
    const { init, f } = combiner(p.op, a.dtype);
    // Windows longer than one invocation's loop are folded in chunks of taps (see foldTerms).
    const body = (lo: string, hi: string) =>
      `${unravel("e", o.shape, "q")}
    var acc = ${init};
${windowLoop(a, p, `      acc = ${f("acc", "in0[off]")};`, "    ", lo, T <= MAX_TRIPS ? `${T}` : hi)}`;
    return [foldTerms(gpu, [x], [a.dtype], { dtype: o.dtype, N, n: T, op: p.op }, body)];
  },
  selectAndGather: (gpu, [x, t], [a], w, [o]) => {
    const out = outBuf(gpu, o);
    const N = sizeOf(o.shape);
    if (N === 0) return [out];
    const zero = lit(0, o.dtype);
    if (sizeOf(w.window) > MAX_TRIPS) {
      const sel = selectBuf(gpu, x, a, w, o.shape);
      gpu.dispatch({
        code: elementKernel(
          ["int32", o.dtype],
          [o.dtype],
          N,
          `    let s = in0[i];
    if (s < 0) { out0[i] = ${zero}; } else { out0[i] = in1[s]; }`,
        ),
        ins: [sel, t],
        outs: [out],
        groups: groupsFor(N),
      });
      gpu.release(sel);
      return [out];
    }
    const body = `${unravel("i", o.shape, "q")}
    let s = sel(${qArgs(a.shape.length)});
    if (s < 0) { out0[i] = ${zero}; } else { out0[i] = in1[s]; }`;
    gpu.dispatch({
      code: elementKernel([a.dtype, o.dtype], [o.dtype], N, body, `${PRELUDE}\n${selFn(a, w, "in0")}`),
      ins: [x, t],
      outs: [out],
      groups: groupsFor(N),
    });
    return [out];
  },
  selectAndScatterAdd: (gpu, [s, x], [sa, a], w, [o]) => {
    const N = sizeOf(a.shape);
    if (N === 0) return [outBuf(gpu, o)];
    const nd = a.shape.length;
    const span = sizeOf(w.window.map((k, d) => Math.ceil(k / w.strides[d])));
    const sst = stridesOf(sa.shape);
    // The windows covering input position p: q*stride - lo <= p < q*stride - lo + window, i.e.
    // q in [ceil((p + lo - window + 1) / stride), floor((p + lo) / stride)], within [0, Q): a box
    // of at most `span` windows, walked in row-major order (the last dimension fastest).
    const box: string[] = [];
    const walk: string[] = [];
    for (let d = 0; d < nd; d++) {
      const [lo, k, st] = [w.padding[d][0], w.window[d], w.strides[d]];
      box.push(`    let qa${d} = max(0, w_cdiv(p${d} + ${lo - k + 1}, ${st}));`);
      box.push(`    let nq${d} = max(0, min(${sa.shape[d] - 1}, w_fdiv(p${d} + ${lo}, ${st})) - qa${d} + 1);`);
    }
    for (let d = nd - 1; d >= 0; d--) {
      walk.push(`      let q${d} = qa${d} + rest % nq${d};`, `      rest = rest / nq${d};`);
    }
    const count = Array.from({ length: nd }, (_, d) => `nq${d}`).join(" * ") || "1";
    const { f, init } = combiner("sum", o.dtype);
    const qOff = sa.shape.map((_, d) => `q${d} * ${sst[d]}`).join(" + ") || "0";
    const divs = `fn w_cdiv(a: i32, b: i32) -> i32 { return select(-((-a) / b), (a + b - 1) / b, a > 0); }
fn w_fdiv(a: i32, b: i32) -> i32 { return select(-((-a + b - 1) / b), a / b, a >= 0); }`;
    // Each input element sums the cotangents of the windows covering it that selected it.
    // Small windows find each window's selection inline; larger ones first record every
    // window's selection once, so no invocation loops over span × window.
    const inline = span * (sizeOf(w.window) + 1) <= MAX_TRIPS;
    const sel = inline ? null : selectBuf(gpu, x, a, w, sa.shape);
    const body = (lo: string, hi: string) =>
      `${unravel("e", a.shape, "p")}
${box.join("\n")}
    var acc = ${init};
    for (var jj = ${lo}; jj < min(${count}, ${hi}); jj++) {
      var rest = jj;
${walk.join("\n")}
      if (${inline ? `sel(${qArgs(nd)})` : `in1[${qOff}]`} == e) { acc = ${f("acc", `in0[${qOff}]`)}; }
    }`;
    const out = foldTerms(
      gpu,
      [s, sel ?? x],
      [sa.dtype, inline ? a.dtype : "int32"],
      { dtype: o.dtype, N, n: span, op: "sum" },
      (lo, hi) => body(lo, span <= MAX_TRIPS ? `${span}` : hi),
      `${PRELUDE}\n${divs}\n${inline ? selFn(a, w, "in1") : ""}`,
    );
    if (sel) gpu.release(sel);
    return [out];
  },
};
