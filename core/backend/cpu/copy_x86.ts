/**
 * Native AVX-512 copy of float32 runs for the cpu backend's convolution kernels: the padded copy
 * of an input and the copy of a GEMM product into the output's layout (`conv_phase.ts`), which
 * move a few hundred thousand short rows per call (14 or 49 floats) where a JavaScript loop pays
 * a few nanoseconds per element.
 *
 * The layout is three nested levels: `outer` blocks and `inner` planes (each with a source and a
 * destination stride), and in each plane `rows` runs of `len` elements at offsets from two tables.
 * A run moves 16 floats at a time, then one opmask-masked tail (no access past its end). A run
 * may land spread out (`dstStep` elements apart, e.g. one phase of a transposed convolution's
 * output): each 16 floats then go out with one `vscatterdps`.
 * Bit-exact: a copy. `WAX_NATIVE_COPY=0` turns it off (the JavaScript loops then run).
 * @module
 */
import { Asm, mem, R } from "./gemm/x86/asm.ts";
import { addressOf as addr, type KernelFn, loadKernels, setInt64 } from "./gemm/x86/exec.ts";
import { envSwitch } from "./switches.ts";

/** Native switch: on unless the environment sets `WAX_NATIVE_COPY=0` (set `enabled` to change it at run time). */
export const nativeCopy: { enabled: boolean } = { enabled: envSwitch("WAX_NATIVE_COPY") };

/** Parameter block (8-byte slots). Strides and offsets in bytes. */
const B = {
  src: 0,
  dst: 1,
  outer: 2,
  inner: 3,
  rows: 4,
  srcOuter: 5,
  dstOuter: 6,
  srcInner: 7,
  dstInner: 8,
  srcRows: 9,
  dstRows: 10,
  n16: 11,
  tail: 12,
  /** Spread runs: address of 16 int32 element offsets (j·dstStep), destination bytes per 16 floats, all-ones mask. */
  index: 13,
  chunk: 14,
  full: 15,
  size: 16,
};
const slot = (s: number) => mem(R.rdi, 8 * s);
/** The zmm register holding the spread offsets. */
const IDX = 8;

/** Machine code of the copy (see the module doc); `spread`: scattered to `dstStep` apart. */
function copyCode(spread: boolean): Uint8Array {
  const { rax, rcx, rdx, rbx, rsi, r8, r9, r10, r11, r12, r13, r14, r15 } = R;
  const a = new Asm();
  for (const r of [rbx, r12, r13, r14, r15]) a.push(r);
  a.movLoad(rsi, slot(B.src)).movLoad(rdx, slot(B.dst)).movLoad(r12, slot(B.outer)).movLoad(rbx, slot(B.n16));
  if (spread) a.movLoad(rax, slot(B.index)).vmovupsLoad(IDX, mem(rax));
  else a.kmovwLoad(1, slot(B.tail));
  a.label("outer").movLoad(r13, slot(B.inner)).mov(r14, rsi).mov(r15, rdx);
  a.label("inner").movLoad(r8, slot(B.srcRows)).movLoad(r9, slot(B.dstRows)).movLoad(r10, slot(B.rows));
  a.label("row").mov(r11, r14).addLoad(r11, mem(r8)).mov(rcx, r15).addLoad(rcx, mem(r9)).movImm32(rax, 0);
  a.test(rbx, rbx).jz("tail");
  if (spread) {
    // A scatter clears its mask, so each one reloads it.
    a.label("by16").vmovupsLoad(0, mem(r11, 0, rax)).kmovwLoad(2, slot(B.full)).vscatterdps(mem(rcx, 0, IDX, 4), 0, 2);
    a.addImm(rax, 64).addLoad(rcx, slot(B.chunk)).cmp(rax, rbx).jne("by16");
    // An all-zero tail mask moves nothing.
    a.label("tail").kmovwLoad(1, slot(B.tail)).vmovupsLoad(0, mem(r11, 0, rax), 1).vscatterdps(
      mem(rcx, 0, IDX, 4),
      0,
      1,
    );
  } else {
    a.label("by16").vmovupsLoad(0, mem(r11, 0, rax)).vmovupsStore(mem(rcx, 0, rax), 0);
    a.addImm(rax, 64).cmp(rax, rbx).jne("by16");
    // An all-zero tail mask moves nothing.
    a.label("tail").vmovupsLoad(0, mem(r11, 0, rax), 1).vmovupsStore(mem(rcx, 0, rax), 0, 1);
  }
  a.addImm(r8, 8).addImm(r9, 8).dec(r10).jnz("row");
  a.addLoad(r14, slot(B.srcInner)).addLoad(r15, slot(B.dstInner)).dec(r13).jnz("inner");
  a.addLoad(rsi, slot(B.srcOuter)).addLoad(rdx, slot(B.dstOuter)).dec(r12).jnz("outer");
  for (const r of [r15, r14, r13, r12, rbx]) a.pop(r);
  return a.vzeroupper().ret().finish();
}

let kernels: Record<"dense" | "spread", KernelFn> | null | undefined;
/** The kernels, loaded on first use (null, also kept, where they cannot run). */
const kernelsOf = () =>
  kernels === undefined ? (kernels = loadKernels(() => ({ dense: copyCode(false), spread: copyCode(true) }))) : kernels;

const block = new BigInt64Array(B.size);
const spreadIndex = new Int32Array(16);
let tables = new BigInt64Array(0);

/** The layout of {@link copyRuns}, in elements. */
export interface RunLayout {
  /** Blocks, and the element distance between consecutive blocks in the source and the destination. */
  outer: number;
  srcOuter: number;
  dstOuter: number;
  /** Planes per block, and their distances. */
  inner: number;
  srcInner: number;
  dstInner: number;
  /** Offsets of the runs within a plane (source and destination; as many of each). */
  srcRows: ArrayLike<number>;
  dstRows: ArrayLike<number>;
  /** Elements per run. */
  len: number;
  /** Elements between consecutive destination elements of a run (default 1). */
  dstStep?: number;
}

/**
 * Copies `dst[dOff + b·dstOuter + p·dstInner + dstRows[r] + j·dstStep] = src[sOff + b·srcOuter +
 * p·srcInner + srcRows[r] + j]` for every block b, plane p, run r and j < len, natively. Returns
 * false (and copies nothing) when native code cannot run here; the caller then copies in JS.
 * The caller guarantees that every element read and written lies in `src` and `dst`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { copyRuns } from "./copy_x86.ts";
 * const src = Float32Array.from({ length: 8 }, (_, i) => i), dst = new Float32Array(12);
 * // Two rows of three, into a 4-wide destination.
 * const layout = { outer: 1, srcOuter: 0, dstOuter: 0, inner: 1, srcInner: 0, dstInner: 0,
 *   srcRows: [0, 4], dstRows: [1, 5], len: 3 };
 * if (copyRuns(src, 0, dst, 0, layout)) assert.deepEqual([...dst], [0, 0, 1, 2, 0, 4, 5, 6, 0, 0, 0, 0]);
 * ```
 */
export function copyRuns(src: Float32Array, sOff: number, dst: Float32Array, dOff: number, l: RunLayout): boolean {
  const ks = nativeCopy.enabled ? kernelsOf() : null;
  const step = l.dstStep ?? 1;
  const k = ks && (step === 1 ? ks.dense : ks.spread);
  const rows = l.srcRows.length;
  if (!k || l.outer === 0 || l.inner === 0 || rows === 0 || l.len === 0) return k !== null;
  if (tables.length < 2 * rows) tables = new BigInt64Array(2 * rows);
  // Byte offsets as int64: the source runs', then the destination runs'.
  const words = new Int32Array(tables.buffer, 0, 4 * rows);
  for (let r = 0; r < rows; r++) setInt64(words, r, l.srcRows[r] * 4), setInt64(words, rows + r, l.dstRows[r] * 4);
  const base = addr(tables), n16 = Math.floor(l.len / 16);
  block[B.src] = addr(src) + BigInt(sOff * 4), block[B.dst] = addr(dst) + BigInt(dOff * 4);
  block[B.outer] = BigInt(l.outer), block[B.inner] = BigInt(l.inner), block[B.rows] = BigInt(rows);
  block[B.srcOuter] = BigInt(l.srcOuter * 4), block[B.dstOuter] = BigInt(l.dstOuter * 4);
  block[B.srcInner] = BigInt(l.srcInner * 4), block[B.dstInner] = BigInt(l.dstInner * 4);
  block[B.srcRows] = base, block[B.dstRows] = base + BigInt(rows * 8);
  block[B.n16] = BigInt(n16 * 64), block[B.tail] = BigInt((1 << (l.len - 16 * n16)) - 1);
  if (step !== 1) {
    for (let j = 0; j < 16; j++) spreadIndex[j] = j * step;
    block[B.index] = addr(spreadIndex), block[B.chunk] = BigInt(16 * step * 4), block[B.full] = 0xffffn;
  }
  k(block);
  return true;
}
