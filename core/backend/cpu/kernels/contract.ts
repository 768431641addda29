/**
 * CPU kernels of the contractions. `dotGeneral` lays both operands out as [B, M, K] /
 * [B, K, N] (or their transposes, with no copy when the input already has that layout)
 * and calls the batched GEMM; `convGeneralDilated` is in `conv.ts`. Integer dtypes use plain
 * loops with int32 wrapping.
 * @module
 */
import type { DType, TypedArray } from "../../../dtype.ts";
import { allocPooled } from "../pool.ts";
import type { ContractParams, DotDims } from "../../../primitives/params.ts";
import type { FamilyKernels } from "../kernel_types.ts";
import { sgemm, sgemmBatched } from "../gemm/mod.ts";
import { isIdentity, transposeArray } from "./movement.ts";
import { convKernel, intMatmul } from "./conv.ts";

export { type ConvPath, intMatmul, setConvColBlock, setConvPath } from "./conv.ts";

const remaining = (n: number, ...drop: number[][]) =>
  [...Array(n).keys()].filter((i) => !drop.some((d) => d.includes(i)));
const prod = (shape: readonly number[], axes: readonly number[]) => axes.reduce((n, d) => n * shape[d], 1);

/** An operand as a [B, rows, cols] buffer, possibly transposed ([B, cols, rows]). */
interface Laid {
  data: TypedArray;
  trans: boolean;
}

/** Lays out `x` as [batch, outer, inner] groups, reusing it when the axes already match. */
function layout(
  x: TypedArray,
  shape: readonly number[],
  dtype: DType,
  batch: number[],
  outer: number[],
  inner: number[],
  allowTrans: boolean,
): Laid {
  if (isIdentity([...batch, ...outer, ...inner])) return { data: x, trans: false };
  if (allowTrans && isIdentity([...batch, ...inner, ...outer])) return { data: x, trans: true };
  return { data: transposeArray(x, shape, [...batch, ...outer, ...inner], dtype), trans: false };
}

function dotGeneralKernel(
  a: TypedArray,
  b: TypedArray,
  aShape: readonly number[],
  bShape: readonly number[],
  dims: DotDims,
  dtype: DType,
): TypedArray {
  const [[ac, bc], [ab, bb]] = [dims.contract, dims.batch];
  const af = remaining(aShape.length, ac, ab), bf = remaining(bShape.length, bc, bb);
  const B = prod(aShape, ab), M = prod(aShape, af), K = prod(aShape, ac), N = prod(bShape, bf);
  const out = allocPooled(dtype, B * M * N);
  if (out.length === 0) return out;
  const float = dtype === "float32";
  const A = layout(a, aShape, dtype, ab, af, ac, float);
  const Bm = layout(b, bShape, dtype, bb, bc, bf, float);
  if (!float) {
    for (let t = 0; t < B; t++) {
      intMatmul(dtype, M, N, K, A.data, t * M * K, K, Bm.data, t * K * N, N, out, t * M * N, N);
    }
    return out;
  }
  const opts = {
    m: M,
    n: N,
    k: K,
    a: A.data as Float32Array,
    transA: A.trans,
    lda: Math.max(1, A.trans ? M : K),
    b: Bm.data as Float32Array,
    transB: Bm.trans,
    ldb: Math.max(1, Bm.trans ? K : N),
    c: out as Float32Array,
  };
  if (B === 1) sgemm(opts);
  else sgemmBatched({ ...opts, batch: B, strideA: M * K, strideB: K * N, strideC: M * N });
  return out;
}

/** Kernels of the contraction primitives. */
export const contractKernels: FamilyKernels<ContractParams> = {
  dotGeneral: ([a, b], [aa, ba], dims, [o]) => [dotGeneralKernel(a, b, aa.shape, ba.shape, dims, o.dtype)],
  convGeneralDilated: ([l, r], [la, ra], p, [o]) => [convKernel(l, r, la.shape, ra.shape, o.shape, p, o.dtype)],
};
