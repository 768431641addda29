/**
 * WGSL text helpers shared by the kernel generators: storage types, literals, bindings,
 * index unravelling and the grid-stride main function.
 * @module
 */
import type { DType } from "../../dtype.ts";
import { stridesOf } from "../../shape.ts";

/** The WGSL storage type of a dtype (bool is stored as u32 0/1). */
export function wgslType(d: DType): string {
  return d === "float32" ? "f32" : d === "int32" ? "i32" : "u32";
}

const f32buf = new Float32Array(1);
const u32view = new Uint32Array(f32buf.buffer);
/** A literal of `dtype` with exactly the value `v` (floats as bit patterns when needed). */
export function lit(v: number, dtype: DType): string {
  if (dtype === "float32") {
    f32buf[0] = v;
    const r = f32buf[0];
    if (Number.isFinite(r) && !Object.is(r, -0)) {
      const s = String(r);
      return /[.e]/.test(s) ? `${s}f` : `${s}.0f`;
    }
    return `bitcast<f32>(${u32view[0]}u)`;
  }
  if (dtype === "int32") return v === -2147483648 ? "i32(-2147483647 - 1)" : `${v | 0}i`;
  if (dtype === "bool") return v ? "1u" : "0u";
  return `${v >>> 0}u`;
}

/** Binding declarations: inputs `in0..` read-only, outputs `out0..` read-write. */
export function bindings(ins: readonly DType[], outs: readonly DType[]): string {
  const lines: string[] = [];
  ins.forEach((d, i) => lines.push(`@group(0) @binding(${i}) var<storage, read> in${i}: array<${wgslType(d)}>;`));
  outs.forEach((d, i) =>
    lines.push(`@group(0) @binding(${ins.length + i}) var<storage, read_write> out${i}: array<${wgslType(d)}>;`)
  );
  return lines.join("\n");
}

/** Workgroup size of the simple (one invocation per element) kernels. */
export const WG = 64;
/** Most workgroups along x in one dispatch. */
export const MAX_GROUPS = 65535;

/**
 * Workgroups for `n` invocations of `wg` each: one dimension while it fits
 * (maxComputeWorkgroupsPerDimension is 65,535), else folded into two, so that each
 * invocation of {@link elementKernel} handles one element (its loop runs once).
 */
export function groupsFor(n: number, wg = WG): [number, number] {
  const total = Math.ceil(n / wg);
  const y = Math.max(1, Math.ceil(total / MAX_GROUPS));
  return [Math.ceil(total / y), y];
}

/**
 * A kernel whose body runs once per element `i` in [0, n) (grid-stride over the 1-D or 2-D
 * grid of {@link groupsFor}), as i32. `decls` go at module scope (helpers), `body` may `continue`.
 */
export function elementKernel(
  ins: readonly DType[],
  outs: readonly DType[],
  n: number,
  body: string,
  decls = "",
): string {
  if (n > 2 ** 31 - 1) throw new Error(`webgpu: a kernel over ${n} elements exceeds the 2^31 index range`);
  return `${bindings(ins, outs)}
${decls}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * nwg.y * ${WG}u;
  let one = i32(min(nwg.x, 1u)); // 1, opaque to the compiler: loops bounded by \`n * one\` are not unrolled
  for (var iu = gid.y * nwg.x * ${WG}u + gid.x; iu < ${n}u; iu += stride) {
    let i = i32(iu);
${body}
  }
}
`;
}

/**
 * WGSL statements declaring `${name}0..` (i32) as the multi-index of flat index `flat` in
 * `shape` (row-major).
 */
export function unravel(flat: string, shape: readonly number[], name: string): string {
  const st = stridesOf(shape);
  return shape.map((n, d) => {
    const q = st[d] === 1 ? flat : `(${flat} / ${st[d]})`;
    return `    let ${name}${d} = ${d === 0 ? q : `${q} % ${n}`};`;
  }).join("\n");
}

/** `Σ idx_d · strides_d + off` as WGSL (i32), skipping zero strides. */
export function dotIdx(names: readonly string[], strides: readonly number[], off = 0): string {
  const terms = names.map((n, d) => strides[d] === 0 ? "" : strides[d] === 1 ? n : `${n} * ${strides[d]}`)
    .filter((t) => t);
  if (off !== 0 || terms.length === 0) terms.push(String(off));
  return terms.join(" + ");
}

/**
 * How a kernel stores its result: WGSL statements that write `out0..` (of `outs` dtypes) at
 * flat output index `idx` from the result `value`, reading extra inputs `in{first}..` (of
 * `ins` dtypes). A plain store writes `out0[idx] = value`; a fused epilogue first computes an
 * elementwise chain of the value (see epilogue.ts).
 */
export interface Store {
  /** Dtypes of the extra inputs the store reads. */
  ins: DType[];
  /** Dtypes of the outputs it writes. */
  outs: DType[];
  /** The statements, given the binding number of the first extra input. */
  code: (first: number, idx: string, value: string) => string;
  /** True for a fused epilogue (larger code than a plain store). */
  fused?: boolean;
  /** Helper functions the statements call (a subset of the elementwise `PRELUDE`). */
  decls?: string;
}

/** The store of a kernel with one output of `dtype` and no epilogue. */
export const plainStore = (dtype: DType): Store => ({
  ins: [],
  outs: [dtype],
  code: (_first, idx, value) => `out0[${idx}] = ${value};`,
});
