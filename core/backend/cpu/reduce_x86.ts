/**
 * Native AVX-512 float32 sums for the cpu backend's `reduceSum`, accumulating in float64 like the
 * JavaScript kernel (kernels/reduce.ts `sumInPlace`). Two layouts, as `sumInPlace` sees them after
 * merging axes (the reduced axes into at most two runs: r1 runs, s1 apart, of r2 elements, s2 apart):
 *
 * - rows: s2 = 1 (each output sums r1 contiguous runs; batch-norm statistics, row sums). Four
 *   zmm accumulators of 8 doubles each take 32 floats per iteration (`vcvtps2pd`), then 8 at a
 *   time, then one opmask-masked tail (no reads past the end); the 8 lanes left per output are
 *   added in JavaScript, then rounded to float32. The order differs from the sequential JS loop,
 *   so a result may differ from it in the last bit of the double sum: after rounding to float32
 *   results agree bit for bit almost always and within 1 ulp always, and exactly when the sum is exact.
 * - columns: the kept axes merge into one contiguous axis (a [B, O] bias gradient summed over B).
 *   Each column accumulates in a double lane in the JS order (runs, then elements), 32 columns
 *   per block, so results equal the JS kernel's bit for bit.
 *
 * NaN and ±Inf propagate as in JS (double additions); a sum of −0s is +0 as in JS (the
 * accumulators start at +0); float32 overflow rounds to ±Inf as `Math.fround` does.
 * Other layouts, and sums under `nativeReduce.minWork` elements, stay in JavaScript.
 * @module
 */
import { Asm, mem, R } from "./gemm/x86/asm.ts";
import { addressOf as addr, type KernelFn, loadKernels } from "./gemm/x86/exec.ts";
import { allocUninit } from "./pool.ts";
import { envSwitch } from "./switches.ts";

/**
 * Native switch: on unless the environment sets `WAX_NATIVE_REDUCE=0` (set `enabled` to change it
 * at run time). A sum runs natively when it reads at least `minWork` elements (a native call costs
 * a few µs, what the JS loop spends on some thousands of elements). Keep `minWork` at 64 or more
 * outside tests.
 */
export const nativeReduce: { enabled: boolean; minWork: number } = {
  enabled: envSwitch("WAX_NATIVE_REDUCE"),
  minWork: 4096,
};

/** Counters for tests: native calls of each layout. */
export const nativeReduceStats: { rows: number; cols: number } = { rows: 0, cols: 0 };

/** Row kernel block (8-byte words): x, bases, rows, r1, s1 bytes, n32 bytes, n8 bytes, tail mask, out. */
const RB = { x: 0, bases: 8, rows: 16, r1: 24, s1: 32, n32: 40, n8: 48, tail: 56, out: 64, size: 9 };
/** Column kernel block: x, out, n32 bytes, n8 bytes, tail mask, r1, s1 bytes, r2, s2 bytes. */
const CB = { x: 0, out: 8, n32: 16, n8: 24, tail: 32, r1: 40, s1: 48, r2: 56, s2: 64, size: 9 };

/** Machine code of the row kernel (see the module doc). */
function rowCode(): Uint8Array {
  const a = new Asm();
  a.movLoad(R.rsi, mem(R.rdi, RB.x)).movLoad(R.rdx, mem(R.rdi, RB.bases)).movLoad(R.r8, mem(R.rdi, RB.out));
  a.movLoad(R.r9, mem(R.rdi, RB.rows)).kmovwLoad(1, mem(R.rdi, RB.tail));
  a.label("row");
  for (let z = 0; z < 4; z++) a.vpxord(z, z, z);
  a.movLoad(R.r11, mem(R.rdx)).add(R.r11, R.rsi).movLoad(R.r10, mem(R.rdi, RB.r1));
  a.label("run").movImm32(R.rax, 0).movLoad(R.rcx, mem(R.rdi, RB.n32)).test(R.rcx, R.rcx).jz("by8");
  a.label("loop32");
  for (let z = 0; z < 4; z++) a.vcvtps2pd(4 + z, mem(R.r11, 32 * z, R.rax)).vaddpd(z, z, 4 + z);
  a.addImm(R.rax, 128).cmp(R.rax, R.rcx).jne("loop32");
  a.label("by8").movLoad(R.rcx, mem(R.rdi, RB.n8)).cmp(R.rax, R.rcx).jz("tail");
  a.label("loop8").vcvtps2pd(4, mem(R.r11, 0, R.rax)).vaddpd(0, 0, 4);
  a.addImm(R.rax, 32).cmp(R.rax, R.rcx).jne("loop8");
  a.label("tail").movLoad(R.rcx, mem(R.rdi, RB.tail)).test(R.rcx, R.rcx).jz("next");
  a.vcvtps2pd(5, mem(R.r11, 0, R.rax), 1).vaddpd(1, 1, 5);
  a.label("next").addLoad(R.r11, mem(R.rdi, RB.s1)).dec(R.r10).jnz("run");
  a.vaddpd(0, 0, 1).vaddpd(2, 2, 3).vaddpd(0, 0, 2).vmovupdStore(mem(R.r8), 0);
  a.addImm(R.r8, 64).addImm(R.rdx, 8).dec(R.r9).jnz("row");
  return a.vzeroupper().ret().finish();
}

/** Machine code of the column kernel (see the module doc). */
function colCode(): Uint8Array {
  const a = new Asm();
  a.movLoad(R.rsi, mem(R.rdi, CB.x)).movLoad(R.rdx, mem(R.rdi, CB.out)).movImm32(R.rax, 0);
  a.kmovwLoad(1, mem(R.rdi, CB.tail));
  /** One block of `acc` accumulators (8 columns each) at column byte offset rax; `mask` for the tail. */
  const block = (name: string, acc: number, mask: number) => {
    for (let z = 0; z < acc; z++) a.vpxord(z, z, z);
    a.lea(R.r8, mem(R.rsi, 0, R.rax)).movLoad(R.r9, mem(R.rdi, CB.r1));
    a.label(`${name}i`).mov(R.r11, R.r8).movLoad(R.r10, mem(R.rdi, CB.r2));
    a.label(`${name}j`);
    for (let z = 0; z < acc; z++) a.vcvtps2pd(4 + z, mem(R.r11, 32 * z), mask).vaddpd(z, z, 4 + z);
    a.addLoad(R.r11, mem(R.rdi, CB.s2)).dec(R.r10).jnz(`${name}j`);
    a.addLoad(R.r8, mem(R.rdi, CB.s1)).dec(R.r9).jnz(`${name}i`);
    for (let z = 0; z < acc; z++) a.vmovupdStore(mem(R.rdx, 64 * z, R.rax, 2), z, mask);
  };
  a.label("b32").movLoad(R.rcx, mem(R.rdi, CB.n32)).cmp(R.rax, R.rcx).jz("b8");
  block("w32", 4, 0);
  a.addImm(R.rax, 128).jmp("b32");
  a.label("b8").movLoad(R.rcx, mem(R.rdi, CB.n8)).cmp(R.rax, R.rcx).jz("bt");
  block("w8", 1, 0);
  a.addImm(R.rax, 32).jmp("b8");
  a.label("bt").movLoad(R.rcx, mem(R.rdi, CB.tail)).test(R.rcx, R.rcx).jz("done");
  block("wt", 1, 1);
  a.label("done");
  return a.vzeroupper().ret().finish();
}

let kernels: Record<"row" | "col", KernelFn> | null | undefined;
/** The kernels, loaded on first use (null, also kept, where they cannot run). */
const kernelsOf = () =>
  kernels === undefined ? (kernels = loadKernels(() => ({ row: rowCode(), col: colCode() }))) : kernels;

/** Whether native sums can run in this process (AVX-512, FFI permission). */
export function nativeReduceUsable(): boolean {
  return kernelsOf() !== null;
}

/**
 * Sums float32 `x` natively (float64 accumulation) in `sumInPlace`'s merged layout: output r (in
 * row-major order over the kept axes `ks`, element strides `kst`) sums, for i < r1 and j < r2,
 * `x[base_r + i·s1 + j·s2]`. Returns the float32 sums, or null when the layout is not one of the
 * native two, the sum is under `nativeReduce.minWork`, or native code cannot run (the caller then
 * runs the JavaScript loop).
 *
 * @example Per-channel sums of an NCHW [2, 3, 4, 1000] array (batch-norm statistics)
 * ```ts
 * import assert from "node:assert";
 * import { nativeSumF32 } from "./reduce_x86.ts";
 * const x = new Float32Array(2 * 3 * 4000).fill(0.5);
 * // reduced: r1 = 2 runs 12000 apart of r2 = 4000 contiguous; kept: 3 channels 4000 apart
 * const out = nativeSumF32(x, 2, 12000, 4000, 1, [3], [4000]);
 * if (out) assert.deepEqual([...out], [4000, 4000, 4000]); // null where AVX-512 is not usable
 * ```
 *
 * @example Column sums of a [64, 100] array (reduced over axis 0)
 * ```ts
 * import assert from "node:assert";
 * import { nativeSumF32 } from "./reduce_x86.ts";
 * const x = Float32Array.from({ length: 6400 }, (_, i) => i % 100);
 * const out = nativeSumF32(x, 1, 0, 64, 100, [100], [1]);
 * if (out) assert.equal(out[7], 7 * 64);
 * ```
 */
export function nativeSumF32(
  x: Float32Array,
  r1: number,
  s1: number,
  r2: number,
  s2: number,
  ks: readonly number[],
  kst: readonly number[],
): Float32Array | null {
  if (!nativeReduce.enabled) return null;
  const rows = ks.reduce((n, v) => n * v, 1);
  if (rows * r1 * r2 < Math.max(1, nativeReduce.minWork) || r1 * r2 < 2) return null;
  // Arrays of 64 bytes or less may live on V8's moving heap; byte offsets must fit in 31 bits.
  if (x.buffer.byteLength <= 64 || x.byteLength >= 2 ** 31) return null;
  if (s2 === 1) return rowSums(x, r1, s1, r2, ks, kst, rows);
  if (ks.length === 1 && kst[0] === 1 && ks[0] >= 16) return colSums(x, r1, s1, r2, s2, ks[0]);
  return null;
}

function rowSums(
  x: Float32Array,
  r1: number,
  s1: number,
  r2: number,
  ks: readonly number[],
  kst: readonly number[],
  rows: number,
): Float32Array | null {
  const k = kernelsOf();
  if (!k) return null;
  // Byte offsets of each output's first run (row-major over the kept axes).
  const bases = new BigInt64Array(Math.max(rows, 16));
  const words = new Int32Array(bases.buffer);
  const idx = ks.map(() => 0);
  for (let r = 0, base = 0; r < rows; r++) {
    words[2 * r] = 4 * base;
    for (let d = ks.length - 1; d >= 0; d--) {
      base += kst[d];
      if (++idx[d] < ks[d]) break;
      base -= kst[d] * ks[d];
      idx[d] = 0;
    }
  }
  const lanes = new Float64Array(Math.max(8 * rows, 16));
  const block = new BigInt64Array(RB.size);
  block[RB.rows / 8] = BigInt(rows), block[RB.r1 / 8] = BigInt(r1), block[RB.s1 / 8] = BigInt(4 * s1);
  block[RB.n32 / 8] = BigInt(4 * (r2 & ~31)), block[RB.n8 / 8] = BigInt(4 * (r2 & ~7));
  block[RB.tail / 8] = BigInt((1 << (r2 & 7)) - 1);
  block[RB.x / 8] = addr(x), block[RB.bases / 8] = addr(bases), block[RB.out / 8] = addr(lanes);
  k.row(block);
  nativeReduceStats.rows++;
  const out = allocUninit("float32", rows) as Float32Array;
  for (let r = 0, p = 0; r < rows; r++, p += 8) {
    out[r] = lanes[p] + lanes[p + 1] + lanes[p + 2] + lanes[p + 3] + lanes[p + 4] + lanes[p + 5] + lanes[p + 6] +
      lanes[p + 7];
  }
  return out;
}

function colSums(x: Float32Array, r1: number, s1: number, r2: number, s2: number, cols: number): Float32Array | null {
  const k = kernelsOf();
  if (!k) return null;
  const lanes = new Float64Array(Math.max(cols, 16));
  const block = new BigInt64Array(CB.size);
  block[CB.n32 / 8] = BigInt(4 * (cols & ~31)), block[CB.n8 / 8] = BigInt(4 * (cols & ~7));
  block[CB.tail / 8] = BigInt((1 << (cols & 7)) - 1);
  block[CB.r1 / 8] = BigInt(r1), block[CB.s1 / 8] = BigInt(4 * s1);
  block[CB.r2 / 8] = BigInt(r2), block[CB.s2 / 8] = BigInt(4 * s2);
  block[CB.x / 8] = addr(x), block[CB.out / 8] = addr(lanes);
  k.col(block);
  nativeReduceStats.cols++;
  const out = allocUninit("float32", cols) as Float32Array;
  for (let c = 0; c < cols; c++) out[c] = lanes[c];
  return out;
}
