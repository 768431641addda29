/**
 * Elementwise fusion for the cpu executor: a run of elementwise equations of one shape
 * becomes one generated loop (`new Function`) that reads its inputs — broadcasts by index
 * arithmetic, never materialised — and writes only the values used after the run. Each
 * operation is its template (templates.ts, the same code the plain kernels are generated
 * from) followed by the store conversion of its output dtype (`Math.fround`, `|0`, `>>>0`,
 * `&255`), so intermediates hold exactly what a typed array would have held.
 * Generated loops are cached by their source text.
 * @module
 */
import type { DType, TypedArray } from "../../dtype.ts";
import { allocUninit } from "./pool.ts";
import type { Eqn } from "../../ir.ts";
import { sizeOf, stridesOf } from "../../shape.ts";
import { compileLoop, dataDType, opCode, store, threefryCode } from "./templates.ts";
import { nativeFused } from "./fused_x86.ts";
import { envSwitch } from "./switches.ts";

/** Fusion switch: on unless the environment sets `WAX_FUSION=0` (read once, only with env permission). */
export const fusion: { enabled: boolean } = { enabled: envSwitch("WAX_FUSION") };

/** True when the cpu fusion can generate code for equation `e` (dtypes and primitive supported). */
export function canFuseEqn(e: Eqn): boolean {
  if (e.prim === "threefry2x32") return e.inputs.every((v) => v.aval.dtype === "uint32");
  if (e.outs.length !== 1 || e.inputs.length === 0 || e.inputs.length > 3) return false;
  const names = e.inputs.map((_, k) => `a${k}`);
  const dt = dataDType(e.prim, e.inputs.map((v) => v.aval.dtype));
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
    const dt = dataDType(e.prim, e.inDtypes);
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
  const src = `const n = dims.length === 0 ? 1 : dims.reduce((a, b) => a * b, 1);\n${head.join("\n")}\n${loop}`;
  const fn = compileLoop<LoopFn>(["ins", "outs", "dims", "strides"], src);
  const run = fn;
  const outDtypes = spec.outs.map((o) => o.dtype);
  // AVX-512 code for eligible loops (fused_x86.ts); it declines small sizes, then the JS loop runs.
  const native = nativeFused(spec, { dims, strides });
  return (ins) => {
    const outs = outDtypes.map((dt) => allocUninit(dt, n));
    if (!native?.(ins, outs, n)) run(ins, outs, dims, strides);
    return outs;
  };
}
