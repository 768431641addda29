/**
 * WGSL of the movement primitives: every output element reads its source through index
 * arithmetic (broadcast, transpose, slice and reverse are one strided view; pad adds bounds
 * tests; concatenate writes each operand's block). Reshape aliases the buffer.
 * @module
 */
import type { DType } from "../../../dtype.ts";
import { reversedView, sizeOf, stridesOf } from "../../../shape.ts";
import type { MovementParams } from "../../../primitives/params.ts";
import type { Buf, Gpu } from "../device.ts";
import type { GpuFamily } from "../kernel_types.ts";
import { dotIdx, elementKernel, groupsFor, lit, unravel } from "../wgsl.ts";
import { outBuf } from "./elementwise.ts";

/** Merges adjacent axes that are contiguous in the strided view (fewer index ops). */
function simplify(shape: readonly number[], strides: readonly number[]): [number[], number[]] {
  const sh: number[] = [], st: number[] = [];
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const k = sh.length - 1;
    if (k >= 0 && st[k] === strides[d] * shape[d]) {
      sh[k] *= shape[d];
      st[k] = strides[d];
    } else {
      sh.push(shape[d]);
      st.push(strides[d]);
    }
  }
  return [sh, st];
}

/**
 * Records `out[i] = src[off + Σ idx_d·strides_d]` over `shape` (strides may be 0 or
 * negative) into a fresh buffer.
 */
export function stridedView(
  gpu: Gpu,
  src: Buf,
  dtype: DType,
  off: number,
  strides: readonly number[],
  shape: readonly number[],
): Buf {
  const n = sizeOf(shape);
  const out = outBuf(gpu, { shape, dtype });
  if (n === 0) return out;
  const [sh, st] = simplify(shape, strides);
  if (sh.length === 1 && st[0] === 1) {
    gpu.copy(src.buffer, off * 4, out.buffer, 0, n * 4);
    return out;
  }
  const names = sh.map((_, d) => `o${d}`);
  const body = `${unravel("i", sh, "o")}\n    out0[i] = in0[${dotIdx(names, st, off)}];`;
  gpu.dispatch({ code: elementKernel([dtype], [dtype], n, body), ins: [src], outs: [out], groups: groupsFor(n) });
  return out;
}

/** Transposes: output axis i is input axis perm[i]. */
export function transposeBuf(gpu: Gpu, x: Buf, shape: readonly number[], perm: readonly number[], dtype: DType): Buf {
  const st = stridesOf(shape);
  return stridedView(gpu, x, dtype, 0, perm.map((p) => st[p]), perm.map((p) => shape[p]));
}

/** Kernels of the movement primitives. */
export const movementKernels: GpuFamily<MovementParams> = {
  reshape: (_g, [x]) => {
    x.refs++;
    return [x];
  },
  broadcastInDim: (gpu, [x], [a], { shape, dims }, [o]) => {
    const st = stridesOf(a.shape);
    const ss = shape.map(() => 0);
    dims.forEach((d, i) => {
      if (a.shape[i] !== 1) ss[d] = st[i];
    });
    return [stridedView(gpu, x, o.dtype, 0, ss, shape)];
  },
  transpose: (gpu, [x], [a], { perm }, [o]) => [transposeBuf(gpu, x, a.shape, perm, o.dtype)],
  slice: (gpu, [x], [a], { start, strides }, [o]) => {
    const st = stridesOf(a.shape);
    const off = start.reduce((acc, s, i) => acc + s * st[i], 0);
    return [stridedView(gpu, x, o.dtype, off, st.map((s, i) => s * strides[i]), o.shape)];
  },
  rev: (gpu, [x], [a], { axes }, [o]) => {
    const { offset, strides } = reversedView(a.shape, axes);
    return [stridedView(gpu, x, o.dtype, offset, strides, a.shape)];
  },
  pad: (gpu, [x, v], [a], { lo, interior }, [o]) => {
    const n = sizeOf(o.shape);
    const out = outBuf(gpu, o);
    if (n === 0) return [out];
    const st = stridesOf(a.shape);
    const conds: string[] = [];
    const terms: string[] = [];
    o.shape.forEach((_, d) => {
      const step = interior[d] + 1;
      const p = `(o${d} - ${lo[d]})`;
      conds.push(`${p} >= 0`, `${p} < ${(a.shape[d] - 1) * step + 1}`);
      if (step > 1) conds.push(`${p} % ${step} == 0`);
      terms.push(step > 1 ? `(${p} / ${step}) * ${st[d]}` : `${p} * ${st[d]}`);
    });
    const inside = sizeOf(a.shape) === 0 ? "false" : conds.join(" && ") || "true";
    const body = `${unravel("i", o.shape, "o")}
    if (${inside}) { out0[i] = in0[${terms.join(" + ") || "0"}]; } else { out0[i] = in1[0]; }`;
    gpu.dispatch({
      code: elementKernel([o.dtype, o.dtype], [o.dtype], n, body),
      ins: [x, v],
      outs: [out],
      groups: groupsFor(n),
    });
    return [out];
  },
  concatenate: (gpu, xs, avals, { axis }, [o]) => {
    const out = outBuf(gpu, o);
    const outer = sizeOf(o.shape.slice(0, axis));
    const inner = sizeOf(o.shape.slice(axis + 1));
    const total = o.shape[axis] * inner;
    let off = 0;
    xs.forEach((x, k) => {
      const blk = avals[k].shape[axis] * inner;
      const n = outer * blk;
      if (n > 0) {
        if (outer === 1) gpu.copy(x.buffer, 0, out.buffer, off * 4, blk * 4);
        else {
          // Writes block k of every outer row; other elements are left to the other operands.
          const body = `    let b = i / ${blk};\n    out0[b * ${total} + ${off} + i % ${blk}] = in0[i];`;
          gpu.dispatch({
            code: elementKernel([o.dtype], [o.dtype], n, body),
            ins: [x],
            outs: [out],
            groups: groupsFor(n),
          });
        }
      }
      off += blk;
    });
    return [out];
  },
  iota: (gpu, _xs, _a, { dimension }, [o]) => {
    const n = sizeOf(o.shape);
    const out = outBuf(gpu, o);
    const inner = sizeOf(o.shape.slice(dimension + 1));
    const v = `(i / ${inner}) % ${o.shape[dimension]}`;
    const conv = o.dtype === "float32" ? `f32(${v})` : o.dtype === "int32" ? v : `u32(${v})`;
    gpu.dispatch({
      code: elementKernel([], [o.dtype], n, `    out0[i] = ${conv};`),
      ins: [],
      outs: [out],
      groups: groupsFor(n),
    });
    return [out];
  },
};

/** A fresh buffer holding `value` broadcast to `n` elements of `dtype`. */
export function fillBuf(gpu: Gpu, n: number, value: number, dtype: DType): Buf {
  const out = gpu.alloc(4 * n);
  if (n > 0) {
    gpu.dispatch({
      code: elementKernel([], [dtype], n, `    out0[i] = ${lit(value, dtype)};`),
      ins: [],
      outs: [out],
      groups: groupsFor(n),
    });
  }
  return out;
}
