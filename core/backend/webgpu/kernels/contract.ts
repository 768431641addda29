/**
 * WGSL of the contractions, both through one batched GEMM template `C[g,m,n] = Σ_k A·B`
 * whose operand loads are generated functions: dotGeneral folds every transpose into the
 * loads (no copies); convolution is an implicit GEMM (M = output channels of a group,
 * N = batch × output positions, K = input channels × taps) whose B load computes the padded,
 * strided, dilated input position (no im2col buffer). Tiles are 64×64×16 with a 4×4 register
 * block per invocation; small problems use one invocation per output.
 * @module
 */
import type { DType } from "../../../dtype.ts";
import { sizeOf, stridesOf } from "../../../shape.ts";
import type { ContractParams, ConvParams, DotDims } from "../../../primitives/contract.ts";
import type { Buf, Gpu } from "../device.ts";
import type { GpuFamily } from "../kernel_types.ts";
import { bindings, groupsFor, MAX_GROUPS, WG, wgslType } from "../wgsl.ts";
import { outBuf } from "./elementwise.ts";

/** A GEMM problem: sizes, dtype and WGSL load/store functions `la(g,m,k)`, `lb(g,k,n)`, `st(g,m,n,v)`. */
export interface Gemm {
  G: number;
  M: number;
  N: number;
  K: number;
  dtype: DType;
  /** WGSL module-scope functions `la`, `lb` (returning the accumulator type) and `st`. */
  fns: string;
}

/** Register block per invocation (R×R outputs) and workgroup shape. */
const R = 4, WX = 8, WY = 8;

/** The accumulator type (bool accumulates in u32 and stores `acc != 0`). */
const accType = (d: DType) => wgslType(d);

/**
 * Register-blocked GEMM: each invocation owns an R×R block of C and streams A and B from
 * memory (no workgroup memory: software adapters compile barriers very slowly, and caches
 * serve the reuse). Out-of-range rows/columns load clamped indices and are not stored.
 */
function blocked(p: Gemm): string {
  const T = accType(p.dtype);
  const zero = T === "f32" ? "0.0" : T === "i32" ? "0" : "0u";
  const decl: string[] = [], body: string[] = [], stores: string[] = [];
  for (let i = 0; i < R; i++) {
    for (let j = 0; j < R; j++) decl.push(`  var c${i}_${j}: ${T} = ${zero};`);
  }
  for (let i = 0; i < R; i++) body.push(`    let a${i} = la(g, mi${i}, k);`);
  for (let j = 0; j < R; j++) body.push(`    let b${j} = lb(g, k, ni${j});`);
  for (let i = 0; i < R; i++) {
    for (let j = 0; j < R; j++) {
      body.push(T === "f32" ? `    c${i}_${j} = fma(a${i}, b${j}, c${i}_${j});` : `    c${i}_${j} += a${i} * b${j};`);
    }
  }
  for (let i = 0; i < R; i++) {
    for (let j = 0; j < R; j++) {
      stores.push(`  if (m0 + ${i} < ${p.M} && n0 + ${j} < ${p.N}) { st(g, m0 + ${i}, n0 + ${j}, c${i}_${j}); }`);
    }
  }
  const idx = (v: string, lim: number) =>
    Array.from({ length: R }, (_, i) => `  let ${v}i${i} = min(${v}0 + ${i}, ${lim - 1});`).join("\n");
  return `${p.fns}
@compute @workgroup_size(${WX}, ${WY})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let one = i32(min(nwg.x, 1u)); // 1, opaque to the compiler: keeps the k loop rolled
  let g = i32(gid.z);
  let m0 = i32(gid.y) * ${R};
  let n0 = i32(gid.x) * ${R};
  if (m0 >= ${p.M} || n0 >= ${p.N}) { return; }
${idx("m", p.M)}
${idx("n", p.N)}
${decl.join("\n")}
  for (var k = 0; k < ${p.K} * one; k++) {
${body.join("\n")}
  }
${stores.join("\n")}
}
`;
}

function naive(p: Gemm): string {
  const T = accType(p.dtype);
  const MN = p.M * p.N;
  return `${p.fns}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let one = i32(min(nwg.x, 1u));
  for (var iu = gid.x; iu < ${p.G * MN}u; iu += nwg.x * ${WG}u) {
    let i = i32(iu);
    let g = i / ${MN};
    let m = (i / ${p.N}) % ${p.M};
    let n = i % ${p.N};
    var acc: ${T} = ${T === "f32" ? "0.0" : T === "i32" ? "0" : "0u"};
    for (var k = 0; k < ${p.K} * one; k++) { acc += la(g, m, k) * lb(g, k, n); }
    st(g, m, n, acc);
  }
}
`;
}

/** Records a GEMM: register-blocked when the output is large enough, else one invocation per output. */
export function runGemm(gpu: Gpu, p: Gemm, ins: Buf[], out: Buf, dtypes: DType[], outDtype: DType): void {
  if (p.G * p.M * p.N === 0) return;
  const big = p.M >= 8 && p.N >= 8 && p.K >= 4 && p.G <= MAX_GROUPS;
  const code = `${bindings(dtypes, [outDtype])}\n${big ? blocked(p) : naive(p)}`;
  const groups: [number, number, number] = big
    ? [Math.ceil(p.N / (R * WX)), Math.ceil(p.M / (R * WY)), p.G]
    : [groupsFor(p.G * p.M * p.N)[0], 1, 1];
  gpu.dispatch({ code, ins, outs: [out], groups });
}

/** Splits axes into contiguous runs: returns WGSL computing Σ idx·stride of flat `v` over `axes`. */
function axisOffset(v: string, shape: readonly number[], st: readonly number[], axes: readonly number[]): string {
  // Merge runs that are contiguous in memory, drop size-1 axes.
  const sh: number[] = [], ss: number[] = [];
  for (const d of axes) {
    if (shape[d] === 1) continue;
    const k = sh.length - 1;
    if (k >= 0 && ss[k] === st[d] * shape[d]) {
      sh[k] *= shape[d];
      ss[k] = st[d];
    } else {
      sh.push(shape[d]);
      ss.push(st[d]);
    }
  }
  if (sh.length === 0) return "0";
  const inner = sh.map((_, i) => sizeOf(sh.slice(i + 1)));
  return sh.map((n, i) => {
    let q = inner[i] === 1 ? v : `(${v} / ${inner[i]})`;
    if (i > 0) q = `(${q} % ${n})`;
    return ss[i] === 1 ? q : `${q} * ${ss[i]}`;
  }).join(" + ");
}

const storeFn = (d: DType, idx: string) =>
  `fn st(g: i32, m: i32, n: i32, v: ${accType(d)}) { out0[${idx}] = ${
    d === "bool" ? "select(0u, 1u, v != 0u)" : "v"
  }; }`;

function dotGeneral(
  gpu: Gpu,
  [a, b]: Buf[],
  as: readonly number[],
  bs: readonly number[],
  dims: DotDims,
  dtype: DType,
): Buf {
  const [[ac, bc], [ab, bb]] = [dims.contract, dims.batch];
  const aFree = as.map((_, i) => i).filter((i) => !ac.includes(i) && !ab.includes(i));
  const bFree = bs.map((_, i) => i).filter((i) => !bc.includes(i) && !bb.includes(i));
  const G = sizeOf(ab.map((d) => as[d])), M = sizeOf(aFree.map((d) => as[d]));
  const N = sizeOf(bFree.map((d) => bs[d])), K = sizeOf(ac.map((d) => as[d]));
  const sa = stridesOf(as), sb = stridesOf(bs);
  const T = accType(dtype);
  const fns = `fn la(g: i32, m: i32, k: i32) -> ${T} { return in0[${axisOffset("g", as, sa, ab)} + ${
    axisOffset("m", as, sa, aFree)
  } + ${axisOffset("k", as, sa, ac)}]; }
fn lb(g: i32, k: i32, n: i32) -> ${T} { return in1[${axisOffset("g", bs, sb, bb)} + ${axisOffset("k", bs, sb, bc)} + ${
    axisOffset("n", bs, sb, bFree)
  }]; }
${storeFn(dtype, `(g * ${M} + m) * ${N} + n`)}`;
  const out = gpu.alloc(4 * G * M * N);
  runGemm(gpu, { G, M, N, K, dtype, fns }, [a, b], out, [dtype, dtype], dtype);
  return out;
}

function conv(
  gpu: Gpu,
  ins: Buf[],
  ls: readonly number[],
  rs: readonly number[],
  p: ConvParams,
  os: readonly number[],
  dtype: DType,
): Buf {
  const nsp = ls.length - 2;
  const [Nin, C] = ls, [O, I] = rs;
  const FG = p.featureGroupCount, BG = p.batchGroupCount;
  const G = Math.max(FG, BG);
  const Nout = Nin / BG;
  const inSp = ls.slice(2), kSp = rs.slice(2), outSp = os.slice(2);
  const Q = sizeOf(outSp), T = sizeOf(kSp), S = sizeOf(inSp);
  const Mg = O / G;
  const kst = stridesOf(kSp), qst = stridesOf(outSp), ist = stridesOf(inSp);
  const A = accType(dtype);
  const zero = A === "f32" ? "0.0" : A === "i32" ? "0" : "0u";
  const posLines: string[] = [];
  for (let d = 0; d < nsp; d++) {
    const qd = Q === 1 ? "0" : `(q / ${qst[d]}) % ${outSp[d]}`;
    const kd = `(t / ${kst[d]}) % ${kSp[d]}`;
    const ld = p.lhsDilation[d];
    posLines.push(`  let p${d} = (${qd}) * ${p.strides[d]} + (${kd}) * ${p.rhsDilation[d]} - ${p.padding[d][0]};`);
    posLines.push(
      `  if (p${d} < 0 || p${d} >= ${(inSp[d] - 1) * ld + 1}${
        ld > 1 ? ` || p${d} % ${ld} != 0` : ""
      }) { return ${zero}; }`,
    );
    posLines.push(`  off += ${ld > 1 ? `(p${d} / ${ld})` : `p${d}`} * ${ist[d]};`);
  }
  const chan = FG > 1 ? `g * ${I} + i` : "i";
  const nIn = BG > 1 ? `g * ${Nout} + nb` : "nb";
  const fns = `fn la(g: i32, m: i32, k: i32) -> ${A} { return in1[(g * ${Mg} + m) * ${I * T} + k]; }
fn lb(g: i32, k: i32, n: i32) -> ${A} {
  let i = k / ${T};
  let t = k % ${T};
  let nb = n / ${Q};
  let q = n % ${Q};
  var off = (${nIn}) * ${C * S} + (${chan}) * ${S};
${posLines.join("\n")}
  return in0[off];
}
${storeFn(dtype, `((n / ${Q}) * ${O} + g * ${Mg} + m) * ${Q} + n % ${Q}`)}`;
  const out = gpu.alloc(4 * sizeOf(os));
  if (S === 0 || T === 0) {
    // Empty input or kernel: every output is zero.
    runGemm(gpu, { G, M: Mg, N: Nout * Q, K: 0, dtype, fns }, ins, out, [dtype, dtype], dtype);
    return out;
  }
  runGemm(gpu, { G, M: Mg, N: Nout * Q, K: I * T, dtype, fns }, ins, out, [dtype, dtype], dtype);
  return out;
}

/** Kernels of the contraction primitives. */
export const contractKernels: GpuFamily<ContractParams> = {
  dotGeneral: (gpu, ins, [a, b], dims, [o]) => [dotGeneral(gpu, ins, a.shape, b.shape, dims, o.dtype)],
  convGeneralDilated: (gpu, ins, [l, r], p, [o]) => {
    if (sizeOf(o.shape) === 0) return [outBuf(gpu, o)];
    return [conv(gpu, ins, l.shape, r.shape, p, o.shape, o.dtype)];
  },
};
