/**
 * WGSL of the contractions, both through one batched GEMM template `C[g,m,n] = Σ_k A·B`
 * whose operand loads are generated functions: dotGeneral folds every transpose into the
 * loads (no copies); convolution is an implicit GEMM (M = output channels of a group,
 * N = batch × output positions, K = input channels × taps) whose B load computes the padded,
 * strided, dilated input position (no im2col buffer). Each invocation owns a 16×16 register
 * block (16 rows × 4 vec4 columns), workgroups of 8 invocations walk m fastest so neighbouring
 * workgroups share their B columns in cache; tiny problems use one invocation per output.
 * The store `st` may carry a fused epilogue (bias, activation, scale: see epilogue.ts). A long
 * k is split into chunks whose partial results a reduction sums (split-K, see `runGemm`).
 * @module
 */
import type { Aval } from "../../../array.ts";
import type { DType } from "../../../dtype.ts";
import { sizeOf, stridesOf } from "../../../shape.ts";
import type { ContractParams, ConvParams, DotDims } from "../../../primitives/params.ts";
import type { Buf, Gpu } from "../device.ts";
import type { GpuFamily } from "../kernel_types.ts";
import { bindings, groupsFor, MAX_GROUPS, plainStore, type Store, WG, wgslType } from "../wgsl.ts";
import { helperTrips, LOOP_BUDGET, MAX_TRIPS, splitLoop } from "../loops.ts";
import { outBuf } from "./elementwise.ts";
import { plainLoad, reduceLoad } from "./reduce.ts";

/** A GEMM problem: sizes, dtype, WGSL load functions `la(g,m,k)`, `lb(g,k,n)` and where C goes. */
export interface Gemm {
  G: number;
  M: number;
  N: number;
  K: number;
  dtype: DType;
  /** WGSL module-scope functions `la`, `lb` (returning the accumulator type). */
  fns: string;
  /** WGSL flat output index of C[g, m, n] (from i32 `g`, `m`, `n`). */
  outIndex: string;
  /** Elements of the output. */
  size: number;
  /** Optional `lb4(g, k, n)`: B at columns n..n+3 (n a multiple of 4, maybe ≥ N: clamp) as one vector load. */
  lb4?: string;
  /** Input bindings declared as arrays of vec4 (for `lb4`; `fns` must index them so). */
  vec4In?: number[];
}

/** How a GEMM kernel walks k: all of it (S = 1), or chunk `ks` (set by main) of S chunks of `kc`. */
interface KRange {
  S: number;
  kc: number;
  /**
   * Store through one rolled loop instead of one unrolled `st` call per element of the block
   * (a fused epilogue inlined 256 times makes the kernel compile very slowly).
   */
  rolledStore: boolean;
}

/**
 * GEMM tiling: rows per invocation `RM` (taken from the workgroup id, so A loads are uniform:
 * one scalar load broadcast to all SIMD lanes on CPU adapters), groups of 4 columns per
 * invocation `VB`, invocations per workgroup `WX` (one row of columns), and whether workgroup
 * x walks m (`mFast`: consecutive workgroups reuse the same B columns). Measured on llvmpipe:
 * 16/4/8/m-fast beat 8×4 and 4×4 blocks by 2–4× (bench/webgpu_bench.ts). Mutable for tuning.
 */
export const gemmTiling = { RM: 16, VB: 4, WX: 8, mFast: true };

/** The accumulator type (bool accumulates in u32 and stores `acc != 0`). */
const accType = (d: DType) => wgslType(d);

/**
 * Register-blocked GEMM: each invocation owns RM rows × 4·VB columns of C (vec4 accumulators)
 * and streams A and B from memory (no workgroup memory: software adapters compile barriers
 * very slowly, and caches serve the reuse). Rows come from the workgroup id so the A loads are
 * uniform; B columns are loaded 4 at a time (`lb4`, one vector load when B is contiguous in n).
 * Out-of-range rows/columns load clamped indices and are not stored. Each output accumulates
 * over k in order with fma, like the scalar kernel.
 */
function blocked(p: Gemm, rm: number, VB: number, kr: KRange): string {
  const { WX, mFast } = gemmTiling;
  const [wm, wn] = mFast ? ["x", "y"] : ["y", "x"];
  const T = accType(p.dtype), V = `vec4<${T}>`;
  const zero = T === "f32" ? "0.0" : T === "i32" ? "0" : "0u";
  const decl: string[] = [], body: string[] = [], stores: string[] = [];
  for (let i = 0; i < rm; i++) {
    for (let j = 0; j < VB; j++) decl.push(`  var c${i}_${j} = ${V}(${zero});`);
  }
  for (let j = 0; j < VB; j++) body.push(`    let b${j} = lb4(g, k, n${j});`);
  for (let i = 0; i < rm; i++) body.push(`    let a${i} = ${V}(la(g, mi${i}, k));`);
  for (let i = 0; i < rm; i++) {
    for (let j = 0; j < VB; j++) {
      body.push(T === "f32" ? `    c${i}_${j} = fma(a${i}, b${j}, c${i}_${j});` : `    c${i}_${j} += a${i} * b${j};`);
    }
  }
  if (kr.rolledStore) {
    const all = Array.from({ length: rm * VB }, (_, t) => `c${Math.floor(t / VB)}_${t % VB}`);
    stores.push(`  var cs = array<${V}, ${rm * VB}>(${all.join(", ")});
  for (var t = 0; t < ${rm * VB} * one; t++) {
    let mt = m0 + t / ${VB};
    let nt = n0 + (t % ${VB}) * ${WX * 4};
    for (var c = 0; c < 4 * one; c++) {
      if (mt < ${p.M} && nt + c < ${p.N}) { st(g, mt, nt + c, cs[t][c]); }
    }
  }`);
  }
  for (let i = 0; i < rm && !kr.rolledStore; i++) {
    for (let j = 0; j < VB; j++) {
      for (let c = 0; c < 4; c++) {
        stores.push(
          `  if (m0 + ${i} < ${p.M} && n${j} + ${c} < ${p.N}) { st(g, m0 + ${i}, n${j} + ${c}, c${i}_${j}[${c}]); }`,
        );
      }
    }
  }
  const rows = Array.from({ length: rm }, (_, i) => `  let mi${i} = min(m0 + ${i}, ${p.M - 1});`).join("\n");
  const cols = Array.from(
    { length: VB },
    (_, j) => `  let n${j} = (i32(wid.${wn}) * ${WX * VB} + ${j * WX} + i32(lid.x)) * 4;`,
  )
    .join("\n");
  return `${p.lb4 ?? scalarLb4(T, p.N)}
@compute @workgroup_size(${WX})
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let one = i32(min(nwg.x, 1u)); // 1, opaque to the compiler: keeps the k loop rolled
  let g = i32(wid.z) % ${p.G};
  ks = i32(wid.z) / ${p.G};
  let m0 = i32(wid.${wm}) * ${rm};
${rows}
${cols}
${decl.join("\n")}
  for (${kLoop(p, kr)}) {
${body.join("\n")}
  }
${stores.join("\n")}
}
`;
}

/** The k loop's header: all of k (kept rolled by the opaque `one`), or chunk `ks`. */
const kLoop = (p: Gemm, kr: KRange) =>
  kr.S === 1 ? `var k = 0; k < ${p.K} * one; k++` : `var k = ks * ${kr.kc}; k < min(${p.K}, (ks + 1) * ${kr.kc}); k++`;

/** `lb4` from four scalar `lb` loads (columns clamped to the last one). */
const scalarLb4 = (T: string, N: number) =>
  `fn lb4(g: i32, k: i32, n: i32) -> vec4<${T}> {
  return vec4<${T}>(lb(g, k, min(n, ${N - 1})), lb(g, k, min(n + 1, ${N - 1})), lb(g, k, min(n + 2, ${N - 1})),
    lb(g, k, min(n + 3, ${N - 1})));
}`;

function naive(p: Gemm, kr: KRange): string {
  const T = accType(p.dtype);
  const MN = p.M * p.N;
  return `@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let one = i32(min(nwg.x, 1u));
  for (var iu = gid.y * nwg.x * ${WG}u + gid.x; iu < ${p.G * MN * kr.S}u; iu += nwg.x * nwg.y * ${WG}u) {
    ks = i32(iu) / ${p.G * MN};
    let i = i32(iu) % ${p.G * MN};
    let g = i / ${MN};
    let m = (i / ${p.N}) % ${p.M};
    let n = i % ${p.N};
    var acc: ${T} = ${T === "f32" ? "0.0" : T === "i32" ? "0" : "0u"};
    for (${kLoop(p, kr)}) { acc += la(g, m, k) * lb(g, k, n); }
    st(g, m, n, acc);
  }
}
`;
}

/** Loop iterations of the rolled store of a full register block with `store` (and its helpers' loops). */
const rolledStoreTrips = (store: Store) =>
  gemmTiling.RM * gemmTiling.VB * (5 + 4 * helperTrips(store.code(2, "i", "v")));

/**
 * Records a GEMM whose result goes through `store` (which reads `ins[2..]`) and returns the
 * store's outputs: register-blocked when the output is large enough, else one invocation per
 * output. `ins` are the operands then the store's extra inputs (`dtypes` likewise). A long k
 * (more than one invocation may loop over: see loops.ts) is split: chunk s of k writes a
 * partial C at s · size, and a reduction over the chunks sums them and runs the store.
 */
export function runGemm(gpu: Gpu, p: Gemm, ins: Buf[], dtypes: DType[], store: Store): Buf[] {
  if (p.G * p.M * p.N === 0) return store.outs.map(() => gpu.alloc(4 * p.size));
  const { RM, VB, WX, mFast } = gemmTiling;
  // Smaller blocks for small problems (clamped rows/columns are wasted work).
  let rm = RM, vb = VB;
  while (rm > 1 && rm > p.M) rm >>= 1;
  while (vb > 1 && 4 * vb * WX > p.N) vb >>= 1;
  const nb = Math.ceil(p.N / (4 * vb * WX)), mb = Math.ceil(p.M / rm);
  const split = p.K > MAX_TRIPS || (!!store.fused && p.K + rolledStoreTrips(store) > LOOP_BUDGET);
  const { parts: S, chunk: kc } = split ? splitLoop(p.K, MAX_TRIPS) : { parts: 1, chunk: p.K };
  const kr: KRange = { S, kc, rolledStore: !split && !!store.fused };
  const big = p.N >= 8 && p.K >= 4 && Math.max(p.G * S, nb, mb) <= MAX_GROUPS;
  const partial: Store = { ins: [], outs: [p.dtype], code: (_f, i, v) => `out0[ks * ${p.size} + ${i}] = ${v};` };
  const kIns = split ? ins.slice(0, 2) : ins;
  let decls = split ? bindings(dtypes.slice(0, 2), [p.dtype]) : bindings(dtypes, store.outs);
  for (const i of p.vec4In ?? []) {
    decls = decls.replace(`in${i}: array<${wgslType(dtypes[i])}>`, `in${i}: array<vec4<${wgslType(dtypes[i])}>>`);
  }
  const code = `${decls}
var<private> ks: i32;
${p.fns}
${storeFn(p.dtype, p.outIndex, split ? partial : store)}
${big ? blocked(p, rm, vb, kr) : naive(p, kr)}`;
  const groups: [number, number?, number?] = big
    ? (mFast ? [mb, nb, p.G * S] : [nb, mb, p.G * S])
    : groupsFor(p.G * p.M * p.N * S);
  const outs = split ? [gpu.alloc(4 * S * p.size)] : store.outs.map(() => gpu.alloc(4 * p.size));
  gpu.dispatch({ code, ins: kIns, outs, groups });
  if (!split) return outs;
  const chunks = {
    load: plainLoad(p.dtype),
    aval: { shape: [S, p.size], dtype: p.dtype },
    axes: [0],
    op: "sum" as const,
  };
  const res = reduceLoad(gpu, [outs[0], ...ins.slice(2)], { ...chunks, store });
  gpu.release(outs[0]);
  return res;
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

/** The GEMM's `st`: the output at flat index `idx` goes through `store` (extra inputs from binding 2). */
const storeFn = (d: DType, idx: string, store: Store) =>
  `fn st(g: i32, m: i32, n: i32, v: ${accType(d)}) {
  let i = ${idx};
  ${store.code(2, "i", d === "bool" ? "select(0u, 1u, v != 0u)" : "v")}
}
${store.decls ?? ""}`;

function dotGeneral(
  gpu: Gpu,
  ins: Buf[],
  as: readonly number[],
  bs: readonly number[],
  dims: DotDims,
  dtype: DType,
  store: Store,
): Buf[] {
  const [[ac, bc], [ab, bb]] = [dims.contract, dims.batch];
  const aFree = as.map((_, i) => i).filter((i) => !ac.includes(i) && !ab.includes(i));
  const bFree = bs.map((_, i) => i).filter((i) => !bc.includes(i) && !bb.includes(i));
  const G = sizeOf(ab.map((d) => as[d])), M = sizeOf(aFree.map((d) => as[d]));
  const N = sizeOf(bFree.map((d) => bs[d])), K = sizeOf(ac.map((d) => as[d]));
  const sa = stridesOf(as), sb = stridesOf(bs);
  const T = accType(dtype);
  const bOff = (n: string) => `${axisOffset("g", bs, sb, bb)} + ${axisOffset("k", bs, sb, bc)} + ${n}`;
  const nOff = axisOffset("n", bs, sb, bFree);
  // B contiguous in n with every other offset a multiple of 4: bind it as vec4 and load 4 columns at once.
  const vec = N % 4 === 0 && nOff === "n" && [...bb, ...bc].every((d) => bs[d] === 1 || sb[d] % 4 === 0);
  const fns = `fn la(g: i32, m: i32, k: i32) -> ${T} { return in0[${axisOffset("g", as, sa, ab)} + ${
    axisOffset("m", as, sa, aFree)
  } + ${axisOffset("k", as, sa, ac)}]; }
fn lb(g: i32, k: i32, n: i32) -> ${T} { ${
    vec ? `let i = ${bOff(nOff)}; return in1[i / 4][i % 4];` : `return in1[${bOff(nOff)}];`
  } }`;
  const lb4 = vec
    ? `fn lb4(g: i32, k: i32, n: i32) -> vec4<${T}> { return in1[(${bOff(`min(n, ${N - 4})`)}) / 4]; }`
    : undefined;
  const outIndex = `(g * ${M} + m) * ${N} + n`;
  const gemm = { G, M, N, K, dtype, fns, outIndex, size: G * M * N, lb4, vec4In: vec ? [1] : [] };
  return runGemm(gpu, gemm, ins, [dtype, dtype, ...store.ins], store);
}

function conv(
  gpu: Gpu,
  ins: Buf[],
  ls: readonly number[],
  rs: readonly number[],
  p: ConvParams,
  os: readonly number[],
  dtype: DType,
  store: Store,
): Buf[] {
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
}`;
  // An empty input or kernel (K = 0) makes every output zero.
  const K = S === 0 || T === 0 ? 0 : I * T;
  const outIndex = `((n / ${Q}) * ${O} + g * ${Mg} + m) * ${Q} + n % ${Q}`;
  const gemm = { G, M: Mg, N: Nout * Q, K, dtype, fns, outIndex, size: sizeOf(os) };
  return runGemm(gpu, gemm, ins, [dtype, dtype, ...store.ins], store);
}

/**
 * Records a contraction (operands `ins[0..1]` of `inAvals`, result aval `o`) whose result goes
 * through `store`, which reads `ins[2..]`; returns the store's outputs.
 */
export function contractInto<K extends keyof ContractParams>(
  gpu: Gpu,
  prim: K,
  ins: Buf[],
  inAvals: readonly Aval[],
  params: ContractParams[K],
  o: Aval,
  store: Store = plainStore(o.dtype),
): Buf[] {
  const [l, r] = inAvals;
  if (prim === "dotGeneral") return dotGeneral(gpu, ins, l.shape, r.shape, params as DotDims, o.dtype, store);
  if (sizeOf(o.shape) === 0) return store.outs.map(() => outBuf(gpu, o));
  return conv(gpu, ins, l.shape, r.shape, params as ConvParams, o.shape, o.dtype, store);
}

/** Kernels of the contraction primitives. */
export const contractKernels: GpuFamily<ContractParams> = {
  dotGeneral: (gpu, ins, avals, dims, [o]) => contractInto(gpu, "dotGeneral", ins, avals, dims, o),
  convGeneralDilated: (gpu, ins, avals, p, [o]) => contractInto(gpu, "convGeneralDilated", ins, avals, p, o),
};
