/**
 * CPU kernels of the elementwise primitives, generated from their templates (templates.ts,
 * the code the fused loops are made of): one loop per (primitive, dtypes), compiled on first
 * use, so a plain kernel and a fused run agree bit for bit. Three kernels move raw 32-bit
 * words instead of going through a JS number (which cannot carry a signalling NaN): `select`,
 * `bitcast` and `stopGradient` — data movement, no maths; tests check they agree with the
 * templates on every value a number can hold.
 * @module
 */
import type { DType, TypedArray } from "../../../dtype.ts";
import { allocUninit } from "../pool.ts";
import type { ElementwiseName, ElementwiseParams } from "../../../primitives/params.ts";
import type { FamilyKernels, Kernel } from "../kernel_types.ts";
import { compileLoop, dataDType, TEMPLATES } from "../templates.ts";

export { cpow, erf, f2i, f2u, logistic, roundHalfEven } from "../scalar.ts";

type Loop = (ins: TypedArray[], out: TypedArray, n: number) => void;

/** The loop of `prim` on inputs of `inDtypes` with results of `out`, from its template (cached by source). */
function loopOf(prim: ElementwiseName, inDtypes: readonly DType[], out: DType, params: unknown): Loop {
  const dt = dataDType(prim, inDtypes);
  const code = TEMPLATES[prim](inDtypes.map((_, k) => `x${k}[i]`), dt, out, params);
  if (!code) throw new TypeError(`cpu kernel: unsupported dtype ${dt} for ${prim}`);
  // Storing into the output's typed array is the store conversion (fround, |0, >>>0, &255).
  const reads = inDtypes.map((d, k) => `const x${k} = ins[${k}]; // ${d}`).join("\n");
  return compileLoop<Loop>(
    ["ins", "out", "n"],
    `${reads} // -> ${out}\nfor (let i = 0; i < n; i++) out[i] = ${code.e};`,
  );
}

/** The plain kernel of `prim`: its template's loop over same-shaped inputs. */
function generated<P>(prim: ElementwiseName): Kernel<P> {
  const loops = new Map<string, Loop>();
  return (ins, inAvals, params, [o]) => {
    const key = `${inAvals.map((a) => a.dtype).join(",")}>${o.dtype}`;
    let loop = loops.get(key);
    if (!loop) loops.set(key, loop = loopOf(prim, inAvals.map((a) => a.dtype), o.dtype, params));
    const n = ins[0].length;
    const out = allocUninit(o.dtype, n);
    loop(ins, out, n);
    return [out];
  };
}

/** `pred ? a : b` on the raw words: a branch-free bit select (data-dependent predicates mispredict). */
const selectK: Kernel<ElementwiseParams["select"]> = ([p, a, b], _avals, _p, [o]) => {
  const out = allocUninit(o.dtype, a.length);
  if (o.dtype === "bool") {
    for (let i = 0; i < a.length; i++) out[i] = p[i] ? a[i] : b[i];
    return [out];
  }
  const [x, y, z] = [a, b, out].map((t) => new Int32Array(t.buffer, t.byteOffset, t.length));
  for (let i = 0; i < a.length; i++) {
    const m = -(p[i] !== 0);
    z[i] = (x[i] & m) | (y[i] & ~m);
  }
  return [out];
};

/** The same bytes seen as another 32-bit dtype. */
const bitcastK: Kernel<ElementwiseParams["bitcast"]> = ([x], _a, { dtype }) => {
  const bytes = new Uint8Array(x.buffer, x.byteOffset, x.byteLength).slice();
  switch (dtype) {
    case "float32":
      return [new Float32Array(bytes.buffer)];
    case "int32":
      return [new Int32Array(bytes.buffer)];
    case "uint32":
      return [new Uint32Array(bytes.buffer)];
    default:
      throw new TypeError(`bitcast: cannot bitcast to ${dtype}`);
  }
};

/** Kernels of the elementwise primitives: every one generated from its template, but the three word moves. */
export const elementwiseKernels: FamilyKernels<ElementwiseParams> = {
  ...(Object.fromEntries(
    Object.keys(TEMPLATES).map((p) => [p, generated(p as ElementwiseName)]),
  ) as FamilyKernels<ElementwiseParams>),
  select: selectK,
  bitcast: bitcastK,
  stopGradient: ([x]) => [x],
};
