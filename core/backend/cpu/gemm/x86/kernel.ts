/**
 * AVX-512 GEMM macro-kernel generator. One call of the generated function
 * multiplies one packed A block (mc×kc, in micro-panels of `mr` rows) by one
 * packed B block (kc×nc, in micro-panels of `nv`·16 columns) and updates the
 * matching mc×nc block of row-major C, looping over all micro-tiles in
 * machine code.
 *
 * Micro-kernel: an `mr`×(16·`nv`) tile of C lives in zmm0..; per k step it
 * loads `nv` vectors of the B panel and broadcasts `mr` scalars of the A
 * panel (into two alternating registers, or as `{1to16}` FMA memory
 * operands). The k loop is unrolled 4×. The store applies `C = acc` or
 * `C = beta·C + acc` with per-vector opmasks k1..k4, so the last column panel
 * of a ragged block writes only its valid columns; a ragged last row panel is
 * handled by a specialised tail micro-kernel that stores only `rem` rows (the
 * packed A is zero-padded, so no garbage enters the sums).
 *
 * Parameter block (int64 slots, see {@link P}); SysV ABI, one pointer arg.
 *
 * @module
 */
import { Asm, mem, R } from "./asm.ts";

/** Slots of the kernel parameter block (BigInt64Array indices). */
export const P = {
  /** Address of the packed A block. */
  ap: 0,
  /** Address of the packed B block. */
  bp: 1,
  /** Address of C[0,0] of this block. */
  c: 2,
  /** Row stride of C in bytes. */
  ldc: 3,
  /** kc >> 2. */
  kc4: 4,
  /** kc & 3. */
  kcr: 5,
  /** Number of full mr-row A panels. */
  mFull: 6,
  /** Number of B panels (≥ 1). */
  nt: 7,
  /** 0: C = acc; 1: C = beta·C + acc. */
  betaFlag: 8,
  /** beta as float32 bits (low 32 bits). */
  beta: 9,
  /** Opmasks (4 × u16) for full column panels. */
  maskFull: 10,
  /** Opmasks (4 × u16) for the last column panel. */
  maskLast: 11,
  /** Bytes between consecutive packed B panels (kc·nr·4). */
  bStride: 12,
  /** Number of slots. */
  size: 13,
} as const;

/** Shape of the register tile. */
export interface TileConfig {
  /** Rows of the C tile (broadcast A scalars). */
  mr: number;
  /** 16-float vectors per C tile row (nr = 16·nv), 1..4. */
  nv: number;
  /** Use `{1to16}` memory-broadcast FMAs instead of explicit broadcasts. */
  embed: boolean;
}

/**
 * Default tile: 12×32 with explicit broadcasts (24 accumulators). Its kc×32
 * B panel (32 KiB at kc = 256) stays in L1, which measured 5–8% faster than
 * 6×64, 8×48 or `{1to16}` variants on Zen 5.
 */
export const TILE: TileConfig = { mr: 12, nv: 2, embed: false };

const UNROLL = 4;
const BETA_REG = 31;

/** Check that the tile fits in the 32 zmm registers. */
export function tileFits(t: TileConfig): boolean {
  const regs = t.mr * t.nv + t.nv + (t.embed ? 0 : 2) + 1;
  return t.nv >= 1 && t.nv <= 4 && t.mr >= 1 && regs <= 32;
}

const { rax, rcx, rdx, rbx, rsi, rdi, r8, r9, r10, r11, r12, r13 } = R;
const slot = (s: number) => mem(rdi, s * 8);

/** One k step of the micro-kernel for `rows` rows at A offset `aOff`, B offset `bOff`. */
function kStep(a: Asm, t: TileConfig, rows: number, aOff: number, bOff: number): void {
  const bReg = t.mr * t.nv;
  for (let j = 0; j < t.nv; j++) a.vmovupsLoad(bReg + j, mem(rax, bOff + j * 64));
  for (let i = 0; i < rows; i++) {
    if (t.embed) {
      for (let j = 0; j < t.nv; j++) {
        a.vfmadd231ps(i * t.nv + j, bReg + j, mem(rdx, aOff + i * 4), { bcst: true });
      }
    } else {
      const br = bReg + t.nv + (i & 1);
      a.vbroadcastss(br, mem(rdx, aOff + i * 4));
      for (let j = 0; j < t.nv; j++) a.vfmadd231ps(i * t.nv + j, bReg + j, br);
    }
  }
}

/** Micro-kernel over one tile; A walker rdx advances by kc·mr·4, C tile at rcx. */
function micro(a: Asm, t: TileConfig, rows: number, tag: string): void {
  // Prefetch the C tile (rows may be unaligned: one extra line each).
  a.mov(r13, rcx);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j <= t.nv; j++) a.prefetcht0(mem(r13, j * 64));
    if (i + 1 < rows) a.add(r13, r8);
  }
  for (let i = 0; i < rows * t.nv; i++) a.vpxord(i, i, i);
  a.mov(rax, rsi);
  a.movLoad(r11, slot(P.kc4)).test(r11, r11).jz(`${tag}_tail`);
  a.label(`${tag}_k4`);
  for (let u = 0; u < UNROLL; u++) kStep(a, t, rows, u * t.mr * 4, u * t.nv * 64);
  a.addImm(rax, UNROLL * t.nv * 64).addImm(rdx, UNROLL * t.mr * 4).dec(r11).jnz(`${tag}_k4`);
  a.label(`${tag}_tail`);
  a.movLoad(r11, slot(P.kcr)).test(r11, r11).jz(`${tag}_store`);
  a.label(`${tag}_k1`);
  kStep(a, t, rows, 0, 0);
  a.addImm(rax, t.nv * 64).addImm(rdx, t.mr * 4).dec(r11).jnz(`${tag}_k1`);
  a.label(`${tag}_store`);
  a.movLoad(r11, slot(P.betaFlag)).test(r11, r11).jz(`${tag}_plain`);
  a.mov(r13, rcx);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < t.nv; j++) a.vfmadd231ps(i * t.nv + j, BETA_REG, mem(r13, j * 64), { mask: j + 1 });
    if (i + 1 < rows) a.add(r13, r8);
  }
  a.label(`${tag}_plain`);
  a.mov(r13, rcx);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < t.nv; j++) a.vmovupsStore(mem(r13, j * 64), i * t.nv + j, j + 1);
    if (i + 1 < rows) a.add(r13, r8);
  }
}

/**
 * Generate the macro-kernel for tile `t` whose last row panel has `rem`
 * rows (0: every row panel is full).
 *
 * @example
 * ```ts
 * const code = genMacroKernel(TILE, 0);
 * code.length > 0; // true
 * ```
 */
export function genMacroKernel(t: TileConfig, rem: number): Uint8Array {
  if (!tileFits(t)) throw new Error(`genMacroKernel: tile ${t.mr}x${16 * t.nv} does not fit in registers`);
  if (rem < 0 || rem >= t.mr) throw new Error(`genMacroKernel: rem ${rem} out of range`);
  const a = new Asm();
  a.push(rbx).push(r12).push(r13);
  a.movLoad(rsi, slot(P.bp)).movLoad(rbx, slot(P.c)).movLoad(r8, slot(P.ldc));
  a.movLoad(r9, slot(P.nt)).movLoad(r12, slot(P.ap));
  a.vbroadcastss(BETA_REG, slot(P.beta));
  a.label("jt");
  a.lea(rax, slot(P.maskFull)).cmpImm8(r9, 1).jne("masks").lea(rax, slot(P.maskLast));
  a.label("masks");
  for (let j = 0; j < t.nv; j++) a.kmovwLoad(j + 1, mem(rax, 2 * j));
  a.mov(rdx, r12).mov(rcx, rbx);
  a.movLoad(r10, slot(P.mFull)).test(r10, r10).jz("edge");
  a.label("it");
  micro(a, t, t.mr, "full");
  for (let i = 0; i < t.mr; i++) a.add(rcx, r8);
  a.dec(r10).jnz("it");
  a.label("edge");
  if (rem > 0) micro(a, t, rem, "rem");
  a.addLoad(rsi, slot(P.bStride)).addImm(rbx, t.nv * 64).dec(r9).jnz("jt");
  a.vzeroupper().pop(r13).pop(r12).pop(rbx).ret();
  return a.finish();
}
