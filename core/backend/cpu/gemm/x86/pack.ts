/**
 * Generated AVX-512 packing routines. One routine packs `npanels` panels of
 * `width` elements × kc steps from a strided source into the contiguous
 * layout the macro-kernel reads: dst[panel][p][r] = alpha·src[panel·ps +
 * p·pStride + r·rStride]. Rows beyond the valid width of the last panel are
 * zero (masked loads / gathers with zeroed destinations).
 *
 * Two variants: `contiguous` (r stride 1: masked vector loads) and `gather`
 * (any r stride: `vgatherdps` with a precomputed index vector per 16 rows).
 *
 * @module
 */
import { Asm, mem, R } from "./asm.ts";

/** Slots of the packing parameter block (BigInt64Array indices). */
export const Q = {
  /** Address of the first source element. */
  src: 0,
  /** Address of the destination. */
  dst: 1,
  /** Steps (kc) per panel, ≥ 1. */
  kc: 2,
  /** Number of panels, ≥ 1. */
  npanels: 3,
  /** Source bytes between consecutive p. */
  pStride: 4,
  /** Source bytes between consecutive panels. */
  panelStride: 5,
  /** Load opmasks (4 × u16) for full panels. */
  maskFull: 6,
  /** Load opmasks (4 × u16) for the last panel. */
  maskLast: 7,
  /** alpha as float32 bits. */
  alpha: 8,
  /** Store opmask (u16) when width < 16. */
  storeMask: 9,
  /** Address of 4×16 int32 gather indices (element offsets of each row). */
  index: 10,
  /** Indexed packer: address of the int64 byte offsets of steps p, p+1, … from `src`. */
  rows: 11,
  /** Indexed packer: address of the int32 element offsets of the panels' rows (whole panels). */
  cols: 12,
  /** Number of slots. */
  size: 13,
} as const;

const { rax, rcx, rdx, rsi, rdi, r8, r9, r10, r11 } = R;
const slot = (s: number) => mem(rdi, s * 8);
const ALPHA = 31, IDX = 8;

/**
 * Generate a packer for panels `width` elements wide (≤ 16, or a multiple of
 * 16 up to 64).
 *
 * @example
 * ```ts
 * genPacker(64, false).length > 0; // true
 * ```
 */
export function genPacker(width: number, gather: boolean): Uint8Array {
  const vecs = Math.ceil(width / 16);
  if (vecs > 4 || (width > 16 && width % 16 !== 0)) throw new Error(`genPacker: bad width ${width}`);
  const a = new Asm();
  a.movLoad(rsi, slot(Q.src)).movLoad(rdx, slot(Q.dst)).movLoad(r9, slot(Q.npanels));
  a.vbroadcastss(ALPHA, slot(Q.alpha));
  if (width < 16) a.kmovwLoad(5, slot(Q.storeMask));
  if (gather) {
    a.movLoad(rax, slot(Q.index));
    for (let j = 0; j < vecs; j++) a.vmovupsLoad(IDX + j, mem(rax, 64 * j));
  }
  a.label("panel");
  a.lea(rax, slot(Q.maskFull)).cmpImm8(r9, 1).jne("masks").lea(rax, slot(Q.maskLast));
  a.label("masks");
  if (!gather) { for (let j = 0; j < vecs; j++) a.kmovwLoad(j + 1, mem(rax, 2 * j)); }
  a.mov(rcx, rsi).movLoad(r11, slot(Q.kc));
  a.label("p");
  for (let j = 0; j < vecs; j++) {
    if (gather) {
      a.kmovwLoad(j + 1, mem(rax, 2 * j));
      a.vpxord(j, j, j);
      a.vgatherdps(j, mem(rcx, 0, IDX + j, 4), j + 1);
    } else {
      a.vmovupsLoad(j, mem(rcx, 64 * j), j + 1);
    }
    a.vmulps(j, j, ALPHA);
    if (width < 16) a.vmovupsStore(mem(rdx), j, 5);
    else a.vmovupsStore(mem(rdx, 64 * j), j);
  }
  a.addLoad(rcx, slot(Q.pStride)).addImm(rdx, width * 4).dec(r11).jnz("p");
  a.addLoad(rsi, slot(Q.panelStride)).dec(r9).jnz("panel");
  a.vzeroupper().ret();
  return a.finish();
}

/**
 * Generate an indexed packer (`width` a multiple of 16, at most 64): dst[panel][p][r] =
 * alpha·src[rows[p] + cols[panel·width + r]], with `rows` in bytes (int64) and `cols` in
 * elements (int32, readable for whole panels; lanes past the last panel's valid width are
 * masked). The GEMM reads B this way without a materialised copy, e.g. the columns of a
 * convolution straight from the image (implicit GEMM).
 *
 * @example
 * ```ts
 * genIndexedPacker(32).length > 0; // true
 * ```
 */
export function genIndexedPacker(width: number): Uint8Array {
  const vecs = width / 16;
  if (!Number.isInteger(vecs) || vecs < 1 || vecs > 4) throw new Error(`genIndexedPacker: bad width ${width}`);
  const a = new Asm();
  a.movLoad(rsi, slot(Q.src)).movLoad(rdx, slot(Q.dst)).movLoad(r9, slot(Q.npanels)).movLoad(r10, slot(Q.cols));
  a.vbroadcastss(ALPHA, slot(Q.alpha));
  a.label("panel");
  a.lea(rax, slot(Q.maskFull)).cmpImm8(r9, 1).jne("masks").lea(rax, slot(Q.maskLast));
  a.label("masks");
  for (let j = 0; j < vecs; j++) a.vmovupsLoad(IDX + j, mem(r10, 64 * j));
  a.movLoad(r8, slot(Q.rows)).movLoad(r11, slot(Q.kc));
  a.label("p");
  a.mov(rcx, rsi).addLoad(rcx, mem(r8)).addImm(r8, 8);
  for (let j = 0; j < vecs; j++) {
    a.kmovwLoad(j + 1, mem(rax, 2 * j));
    a.vpxord(j, j, j);
    a.vgatherdps(j, mem(rcx, 0, IDX + j, 4), j + 1);
    a.vmulps(j, j, ALPHA);
    a.vmovupsStore(mem(rdx, 64 * j), j);
  }
  a.addImm(rdx, width * 4).dec(r11).jnz("p");
  a.addImm(r10, width * 4).dec(r9).jnz("panel");
  a.vzeroupper().ret();
  return a.finish();
}

/** Opmask bits (4 × u16) for `w` valid elements. */
export function maskBits(w: number): bigint {
  let m = 0n;
  for (let v = 0; v < 4; v++) {
    const cnt = Math.max(0, Math.min(16, w - 16 * v));
    m |= BigInt((1 << cnt) - 1) << BigInt(16 * v);
  }
  return m;
}
