/**
 * One source of cpu elementwise maths: for every elementwise primitive and every dtype
 * combination its shape rule accepts, the plain kernel and a fused loop of that one
 * equation give the same bytes on special values (±0, ±Inf, NaNs with sign and payload,
 * subnormals, integer extremes, every pair of them for binary ops). A float NaN result
 * matches any NaN (the bits of a NaN that arithmetic makes depend on V8's compiler tier);
 * NaN payloads are still checked wherever they reach an integer result (bitcast).
 * Signalling NaNs are left out: a JS number cannot carry one, and only the word-moving kernels
 * (select, bitcast, stopGradient) keep them. Also: the template table covers exactly the
 * elementwise primitives.
 */
import assert from "node:assert/strict";
import type { Aval } from "../core/array.ts";
import { allocTyped, type DType, type TypedArray } from "../core/dtype.ts";
import { cpuKernels } from "../core/backend/cpu/mod.ts";
import { fusedKernel } from "../core/backend/cpu/fusion.ts";
import { TEMPLATES } from "../core/backend/cpu/templates.ts";
import { elementwiseRules } from "../core/primitives/elementwise.ts";
import type { Kernel } from "../core/backend/cpu/kernel_types.ts";

const DTYPES: DType[] = ["float32", "int32", "uint32", "bool"];
const bitsF32 = (...words: number[]) => [...new Float32Array(new Uint32Array(words).buffer)];
const SPECIAL: Record<DType, number[]> = {
  float32: [
    0,
    -0,
    1,
    -1,
    0.5,
    -0.5,
    1.5,
    2.5,
    -2.5,
    0.1,
    7,
    -7,
    Infinity,
    -Infinity,
    NaN,
    1e-45, // smallest subnormal
    -1.1754942e-38, // largest negative subnormal
    3.4028235e38,
    -3.4028235e38,
    16777217,
    2147483648,
    -2147483649,
    4294967296,
    ...bitsF32(0xffc00000, 0x7fc00001, 0x7fffffff), // -NaN, NaNs with payloads
  ],
  int32: [0, 1, -1, 2, -2, 7, -7, 31, 32, 33, -33, 65536, 2147483647, -2147483648, 12345, -99999],
  uint32: [0, 1, 2, 7, 31, 32, 33, 65536, 2147483647, 2147483648, 4294967295, 99999],
  bool: [0, 1],
};

/** Every combination of special values for `arity` operands of `dt`, as typed arrays of equal length. */
function operands(dts: DType[]): TypedArray[] {
  const lists = dts.map((d) => SPECIAL[d]);
  let rows: number[][] = [[]];
  for (const l of lists) rows = rows.flatMap((r) => l.map((v) => [...r, v]));
  return dts.map((d, k) => {
    const a = allocTyped(d, rows.length);
    rows.forEach((r, i) => (a[i] = r[k]));
    return a;
  });
}

/** The input dtype lists and params each primitive is tried with. */
function signatures(prim: string, arity: number): { dts: DType[]; params: Record<string, unknown> }[] {
  if (prim === "convert" || prim === "bitcast") {
    return DTYPES.flatMap((d) => DTYPES.map((to) => ({ dts: [d], params: { dtype: to } })));
  }
  if (prim === "select") return DTYPES.map((d) => ({ dts: ["bool", d, d] as DType[], params: {} }));
  return DTYPES.map((d) => ({ dts: new Array<DType>(arity).fill(d), params: {} }));
}

const UNARY = new Set([
  ..."neg exp log log1p expm1 sin cos tanh logistic sqrt rsqrt abs sign floor ceil round erf isnan not".split(" "),
  ..."convert bitcast stopGradient".split(" "),
]);
const arityOf = (prim: string) => (prim === "select" ? 3 : UNARY.has(prim) ? 1 : 2);

/** The raw words (bytes for bool) of a typed array. */
const words = (a: TypedArray): ArrayLike<number> =>
  a instanceof Uint8Array ? a : new Uint32Array(a.buffer, a.byteOffset, a.length);

Deno.test("cpu elementwise: the template table covers exactly the elementwise primitives", () => {
  assert.deepEqual(Object.keys(TEMPLATES).sort(), Object.keys(elementwiseRules).sort());
});

Deno.test("cpu elementwise: every primitive's plain kernel and fused loop agree bit for bit on special values", () => {
  const kernels = cpuKernels() as unknown as Record<string, Kernel<unknown>>;
  let checked = 0;
  for (const prim of Object.keys(elementwiseRules)) {
    const rule = elementwiseRules[prim as keyof typeof elementwiseRules];
    for (const { dts, params } of signatures(prim, arityOf(prim))) {
      const ins = operands(dts);
      const n = ins[0].length;
      const inAvals: Aval[] = dts.map((dtype) => ({ shape: [n], dtype }));
      let outAvals: Aval[];
      try {
        outAvals = rule.abstractEval(inAvals, params as never);
      } catch {
        continue; // a dtype the primitive does not take
      }
      const what = `${prim}(${dts.join(", ")})${params.dtype ? ` to ${params.dtype}` : ""}`;
      const [plain] = kernels[prim](ins, inAvals, params, outAvals);
      const [fused] = fusedKernel<string>({
        shape: [n],
        reads: dts.map((dtype, k) => ({ v: `x${k}`, dtype, strides: [1] })),
        eqns: [{
          prim,
          params,
          ins: dts.map((_, k) => k),
          inDtypes: dts,
          outs: ["y"],
          outDtypes: [outAvals[0].dtype],
        }],
        outs: [{ v: "y", dtype: outAvals[0].dtype }],
      })(ins);
      assert.equal(plain.constructor, fused.constructor, `${what}: result type`);
      assert.equal(plain.length, n, `${what}: length`);
      const [p, f] = [words(plain), words(fused)];
      for (let i = 0; i < n; i++) {
        const bothNaN = plain instanceof Float32Array && Number.isNaN(plain[i]) && Number.isNaN(fused[i]);
        if (p[i] !== f[i] && !bothNaN) {
          assert.fail(`${what}: element ${i} (inputs ${ins.map((a) => a[i]).join(", ")}): ${plain[i]} vs ${fused[i]}`);
        }
      }
      checked++;
    }
  }
  assert.ok(checked >= 110, `only ${checked} signatures checked`);
});
