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
import { NATIVE_OPS, nativeElementwise, nativeFused, type NativeRunner } from "../fused_x86.ts";

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

/**
 * Native loops of single primitives, by primitive, dtypes and length (null: not eligible). The
 * primitives the native loops know take no parameters but `convert`'s, its result dtype, which the
 * key holds already.
 */
const nativeLoops = new Map<string, NativeRunner | null>();
/** Most native loops kept (each is generated machine code for one length). */
const NATIVE_LOOPS_MAX = 256;

/**
 * The AVX-512 loop of `prim` over `n` elements (fused_x86.ts, bit for bit the template's), or
 * null where it cannot run: the native fused loops serve single operations too, where V8's code
 * for a one-line loop is several times slower. Measured eagerly (`a.mul(b)`, dispose included):
 * 1024 elements 4.5 µs in JavaScript against 6.6 natively, 4096 14.5 against 6.0, 262,144 299
 * against 142; so from a quarter of the fused loops' threshold (2048 elements by default).
 */
function nativeLoop(prim: ElementwiseName, inDtypes: DType[], out: DType, params: unknown, n: number) {
  if (!NATIVE_OPS.has(prim) || !nativeElementwise.enabled || n < Math.max(64, nativeElementwise.minWork / 4)) {
    return null;
  }
  const key = `${prim}|${inDtypes}>${out}|${n}`;
  let run = nativeLoops.get(key);
  if (run === undefined) {
    if (nativeLoops.size >= NATIVE_LOOPS_MAX) return null;
    const reads = inDtypes.map((dtype, k) => ({ v: `x${k}`, dtype }));
    const eqn = { prim, params, ins: inDtypes.map((_, k) => k), inDtypes, outs: ["z"], outDtypes: [out] };
    run = nativeFused({ shape: [n], reads, eqns: [eqn], outs: [{ v: "z", dtype: out }] }, {
      dims: [n],
      strides: inDtypes.map(() => [1]),
    });
    nativeLoops.set(key, run);
  }
  return run;
}

/** The plain kernel of `prim`: its template's loop over same-shaped inputs (natively where it can). */
function generated<P>(prim: ElementwiseName): Kernel<P> {
  const loops = new Map<string, Loop>();
  return (ins, inAvals, params, [o]) => {
    const n = ins[0].length;
    const out = allocUninit(o.dtype, n);
    const dtypes = inAvals.map((a) => a.dtype);
    if (nativeLoop(prim, dtypes, o.dtype, params, n)?.(ins, [out], n)) return [out];
    const key = `${dtypes.join(",")}>${o.dtype}`;
    let loop = loops.get(key);
    if (!loop) loops.set(key, loop = loopOf(prim, dtypes, o.dtype, params));
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
