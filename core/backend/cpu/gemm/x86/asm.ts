/**
 * A tiny x86-64 machine-code encoder: just the general-purpose and AVX-512
 * (EVEX) instructions the GEMM kernel generator needs. Register operands are
 * numbers (GPR 0..15 in hardware order rax, rcx, rdx, rbx, rsp, rbp, rsi,
 * rdi, r8..r15; zmm 0..31; opmask k 0..7). Labels are resolved by
 * {@link Asm.finish}; every jump is encoded with a 32-bit displacement.
 *
 * @module
 */

/** General-purpose register numbers (hardware encoding). */
export const R = {
  rax: 0,
  rcx: 1,
  rdx: 2,
  rbx: 3,
  rsp: 4,
  rbp: 5,
  rsi: 6,
  rdi: 7,
  r8: 8,
  r9: 9,
  r10: 10,
  r11: 11,
  r12: 12,
  r13: 13,
  r14: 14,
  r15: 15,
} as const;

/** A memory operand `[base + index·scale + disp]`. */
export interface Mem {
  base: number;
  index?: number;
  scale?: 1 | 2 | 4 | 8;
  disp?: number;
}

/** Shorthand for a memory operand. */
export function mem(base: number, disp = 0, index?: number, scale: 1 | 2 | 4 | 8 = 1): Mem {
  return { base, disp, index, scale };
}

/** Options of an EVEX-encoded vector instruction. */
interface Evex {
  map: 1 | 2 | 3; // 0F, 0F38, 0F3A
  pp: 0 | 1 | 2 | 3; // none, 66, F3, F2
  w: 0 | 1;
  op: number;
  mask?: number;
  zero?: boolean;
  bcst?: boolean;
  /** Disp8 compression factor (bytes of the memory operand). */
  n: number;
}

/** Growable byte buffer with labels and x86-64 instruction helpers. */
export class Asm {
  private buf: number[] = [];
  private labels = new Map<string, number>();
  private fixups: { at: number; label: string }[] = [];

  /** Current code size in bytes. */
  get size(): number {
    return this.buf.length;
  }

  /** Append raw bytes. */
  bytes(...b: number[]): this {
    for (const x of b) this.buf.push(x & 0xff);
    return this;
  }

  private imm32(v: number): void {
    this.bytes(v, v >> 8, v >> 16, v >> 24);
  }

  /** ModRM (+SIB, +disp) for `reg` and memory operand `m`; `n` is the disp8 scale. */
  private modrmMem(reg: number, m: Mem, n = 1, vsib = false): void {
    const disp = m.disp ?? 0;
    const base = m.base & 7;
    const hasIndex = m.index !== undefined;
    if (hasIndex && m.index === 4 && !vsib) throw new Error("asm: rsp cannot be an index");
    let mod: number, dispBytes: number;
    if (disp === 0 && base !== 5) {
      mod = 0, dispBytes = 0;
    } else if (disp % n === 0 && disp / n >= -128 && disp / n <= 127) {
      mod = 1, dispBytes = 1;
    } else {
      mod = 2, dispBytes = 4;
    }
    if (hasIndex || base === 4) {
      const ss = { 1: 0, 2: 1, 4: 2, 8: 3 }[m.scale ?? 1];
      const idx = hasIndex ? m.index! & 7 : 4;
      this.bytes((mod << 6) | ((reg & 7) << 3) | 4, (ss << 6) | (idx << 3) | base);
    } else {
      this.bytes((mod << 6) | ((reg & 7) << 3) | base);
    }
    if (dispBytes === 1) this.bytes(disp / n);
    else if (dispBytes === 4) this.imm32(disp);
  }

  private rex(w: number, reg: number, m: Mem | number): void {
    const idx = typeof m === "number" ? 0 : m.index ?? 0;
    const base = typeof m === "number" ? m : m.base;
    const b = 0x40 | (w << 3) | ((reg >> 3 & 1) << 2) | ((idx >> 3 & 1) << 1) | (base >> 3 & 1);
    if (b !== 0x40) this.bytes(b);
  }

  /** EVEX prefix + opcode + operands; `rm` is a zmm number or memory operand. */
  private evex(e: Evex, reg: number, vvvv: number, rm: number | Mem): void {
    const isMem = typeof rm !== "number";
    const x = isMem ? (rm.index ?? 0) >> 3 & 1 : rm >> 4 & 1; // X extends rm for vector registers
    const b = isMem ? rm.base >> 3 & 1 : rm >> 3 & 1;
    const p0 = ((~reg >> 3 & 1) << 7) | ((~x & 1) << 6) | ((~b & 1) << 5) | ((~reg >> 4 & 1) << 4) | e.map;
    const p1 = (e.w << 7) | ((~vvvv & 15) << 3) | 4 | e.pp;
    const ll = 2; // 512-bit
    const p2 = ((e.zero ? 1 : 0) << 7) | (ll << 5) | ((e.bcst ? 1 : 0) << 4) | ((~vvvv >> 4 & 1) << 3) |
      (e.mask ?? 0);
    this.bytes(0x62, p0, p1, p2, e.op);
    if (isMem) this.modrmMem(reg, rm, e.bcst ? 4 : e.n, e.op === 0x92 || e.op === 0xa2);
    else this.bytes(0xc0 | ((reg & 7) << 3) | (rm & 7));
  }

  /** `vmovups zmm{k}{z}, [m]` (masked load with zeroing when `mask` is set). */
  vmovupsLoad(dst: number, m: Mem, mask = 0): this {
    this.evex({ map: 1, pp: 0, w: 0, op: 0x10, mask, zero: mask !== 0, n: 64 }, dst, 0, m);
    return this;
  }

  /** `vmovups [m]{k}, zmm`. */
  vmovupsStore(m: Mem, src: number, mask = 0): this {
    this.evex({ map: 1, pp: 0, w: 0, op: 0x11, mask, n: 64 }, src, 0, m);
    return this;
  }

  /** `vbroadcastss zmm, dword [m]`. */
  vbroadcastss(dst: number, m: Mem): this {
    this.evex({ map: 2, pp: 1, w: 0, op: 0x18, n: 4 }, dst, 0, m);
    return this;
  }

  /** `vfmadd231ps dst{k}, a, b` — dst += a·b; `b` may be memory (optionally `{1to16}`). */
  vfmadd231ps(dst: number, a: number, b: number | Mem, opts: { mask?: number; bcst?: boolean } = {}): this {
    this.evex({ map: 2, pp: 1, w: 0, op: 0xb8, mask: opts.mask, bcst: opts.bcst, n: 64 }, dst, a, b);
    return this;
  }

  /** `vmulps dst, a, b`. */
  vmulps(dst: number, a: number, b: number): this {
    this.evex({ map: 1, pp: 0, w: 0, op: 0x59, n: 64 }, dst, a, b);
    return this;
  }

  /** `vgatherdps dst{k}, [base + zmm_index·scale]` (index zmm0..15; the mask is cleared). */
  vgatherdps(dst: number, m: Mem, mask: number): this {
    if (m.index === undefined || m.index >= 16 || mask === 0) throw new Error("asm: bad vgatherdps operands");
    this.evex({ map: 2, pp: 1, w: 0, op: 0x92, mask, n: 4 }, dst, 0, m);
    return this;
  }

  /** `vscatterdps [base + zmm_index·scale]{k}, src` (index zmm0..15; the mask is cleared). */
  vscatterdps(m: Mem, src: number, mask: number): this {
    if (m.index === undefined || m.index >= 16 || mask === 0) throw new Error("asm: bad vscatterdps operands");
    this.evex({ map: 2, pp: 1, w: 0, op: 0xa2, mask, n: 4 }, src, 0, m);
    return this;
  }

  /** `vpxord dst, a, b`. */
  vpxord(dst: number, a: number, b: number): this {
    this.evex({ map: 1, pp: 1, w: 0, op: 0xef, n: 64 }, dst, a, b);
    return this;
  }

  /** `vaddps dst, a, b` (`b` a register or memory operand). */
  vaddps(dst: number, a: number, b: number | Mem): this {
    this.evex({ map: 1, pp: 0, w: 0, op: 0x58, n: 64 }, dst, a, b);
    return this;
  }

  /** `vsubps dst, a, b` (dst = a − b). */
  vsubps(dst: number, a: number, b: number | Mem): this {
    this.evex({ map: 1, pp: 0, w: 0, op: 0x5c, n: 64 }, dst, a, b);
    return this;
  }

  /** `vdivps dst, a, b` (dst = a / b). */
  vdivps(dst: number, a: number, b: number | Mem): this {
    this.evex({ map: 1, pp: 0, w: 0, op: 0x5e, n: 64 }, dst, a, b);
    return this;
  }

  /** `vsqrtps dst, a`. */
  vsqrtps(dst: number, a: number | Mem): this {
    this.evex({ map: 1, pp: 0, w: 0, op: 0x51, n: 64 }, dst, 0, a);
    return this;
  }

  /** `vmaxps dst, a, b` (b when either is NaN or both are zero). */
  vmaxps(dst: number, a: number, b: number): this {
    this.evex({ map: 1, pp: 0, w: 0, op: 0x5f, n: 64 }, dst, a, b);
    return this;
  }

  /** `vminps dst, a, b` (b when either is NaN or both are zero). */
  vminps(dst: number, a: number, b: number): this {
    this.evex({ map: 1, pp: 0, w: 0, op: 0x5d, n: 64 }, dst, a, b);
    return this;
  }

  /** `vpord dst, a, b`. */
  vpord(dst: number, a: number, b: number): this {
    this.evex({ map: 1, pp: 1, w: 0, op: 0xeb, n: 64 }, dst, a, b);
    return this;
  }

  /** `vpandd dst, a, b`. */
  vpandd(dst: number, a: number, b: number | Mem): this {
    this.evex({ map: 1, pp: 1, w: 0, op: 0xdb, n: 64 }, dst, a, b);
    return this;
  }

  /** `vcmpps k, a, b, imm8` (predicate `imm`, e.g. 0x1e = GT_OQ; `k` 1..7). */
  vcmpps(k: number, a: number, b: number, imm: number): this {
    this.evex({ map: 1, pp: 0, w: 0, op: 0xc2, n: 64 }, k, a, b);
    return this.bytes(imm);
  }

  /** `vblendmps dst{k}, a, b` — lanes of `b` where `k` is set, else of `a`. */
  vblendmps(dst: number, k: number, a: number, b: number): this {
    this.evex({ map: 2, pp: 1, w: 0, op: 0x65, mask: k, n: 64 }, dst, a, b);
    return this;
  }

  /** `vpmovzxbd zmm{k}{z}, xmmword [m]` — 16 bytes zero-extended to dwords (masked lanes read nothing). */
  vpmovzxbd(dst: number, m: Mem, mask = 0): this {
    this.evex({ map: 2, pp: 1, w: 0, op: 0x31, mask, zero: mask !== 0, n: 16 }, dst, 0, m);
    return this;
  }

  /** `vpmovdb xmmword [m]{k}, zmm` — the low byte of each dword lane. */
  vpmovdbStore(m: Mem, src: number, mask = 0): this {
    this.evex({ map: 2, pp: 2, w: 0, op: 0x31, mask, n: 16 }, src, 0, m);
    return this;
  }

  /** `vptestmd k, a, b` — lanes where `a & b` is nonzero. */
  vptestmd(k: number, a: number, b: number): this {
    this.evex({ map: 2, pp: 1, w: 0, op: 0x27, n: 64 }, k, a, b);
    return this;
  }

  /** `vmovdqa32 dst{k}{z}, src` — lanes of `src` where `k` is set, zero elsewhere. */
  vmovdqa32Zero(dst: number, k: number, src: number): this {
    this.evex({ map: 1, pp: 1, w: 0, op: 0x6f, mask: k, zero: true, n: 64 }, dst, 0, src);
    return this;
  }

  /** `vcvtps2pd zmm{k}{z}, ymmword [m]` — 8 floats widened to doubles (masked lanes read nothing). */
  vcvtps2pd(dst: number, m: Mem, mask = 0): this {
    this.evex({ map: 1, pp: 0, w: 0, op: 0x5a, mask, zero: mask !== 0, n: 32 }, dst, 0, m);
    return this;
  }

  /** `vaddpd dst, a, b` (8 doubles). */
  vaddpd(dst: number, a: number, b: number): this {
    this.evex({ map: 1, pp: 1, w: 1, op: 0x58, n: 64 }, dst, a, b);
    return this;
  }

  /** `vmovupd [m]{k}, zmm` (8 doubles). */
  vmovupdStore(m: Mem, src: number, mask = 0): this {
    this.evex({ map: 1, pp: 1, w: 1, op: 0x11, mask, n: 64 }, src, 0, m);
    return this;
  }

  /** `mov qword [m], r64`. */
  movStore(m: Mem, src: number): this {
    this.rex(1, src, m);
    this.bytes(0x89);
    this.modrmMem(src, m);
    return this;
  }

  /** `add qword [m], imm32`. */
  addMemImm(m: Mem, v: number): this {
    this.rex(1, 0, m);
    this.bytes(0x81);
    this.modrmMem(0, m);
    this.imm32(v);
    return this;
  }

  /** `dec qword [m]`. */
  decMem(m: Mem): this {
    this.rex(1, 0, m);
    this.bytes(0xff);
    this.modrmMem(1, m);
    return this;
  }

  /** `cmp a, b` (64-bit registers). */
  cmp(a: number, b: number): this {
    this.rex(1, b, a);
    this.bytes(0x39, 0xc0 | ((b & 7) << 3) | (a & 7));
    return this;
  }

  /** `kmovw k, word [m]` (VEX; base and index must be low registers). */
  kmovwLoad(k: number, m: Mem): this {
    if (m.base >= 8 || (m.index ?? 0) >= 8) throw new Error("asm: kmovw needs low registers");
    this.bytes(0xc5, 0xf8, 0x90);
    this.modrmMem(k, m);
    return this;
  }

  /** `vzeroupper`. */
  vzeroupper(): this {
    return this.bytes(0xc5, 0xf8, 0x77);
  }

  /** `prefetcht0 [m]`. */
  prefetcht0(m: Mem): this {
    this.rex(0, 0, m);
    this.bytes(0x0f, 0x18);
    this.modrmMem(1, m);
    return this;
  }

  /** `mov r64, [m]`. */
  movLoad(dst: number, m: Mem): this {
    this.rex(1, dst, m);
    this.bytes(0x8b);
    this.modrmMem(dst, m);
    return this;
  }

  /** `mov dst, src` (64-bit registers). */
  mov(dst: number, src: number): this {
    this.rex(1, src, dst);
    this.bytes(0x89, 0xc0 | ((src & 7) << 3) | (dst & 7));
    return this;
  }

  /** `mov r32, imm32` (zero-extends into the 64-bit register). */
  movImm32(dst: number, v: number): this {
    if (dst >= 8) this.bytes(0x41);
    this.bytes(0xb8 + (dst & 7));
    this.imm32(v);
    return this;
  }

  /** `lea r64, [m]`. */
  lea(dst: number, m: Mem): this {
    this.rex(1, dst, m);
    this.bytes(0x8d);
    this.modrmMem(dst, m);
    return this;
  }

  /** `add r64, imm32`. */
  addImm(dst: number, v: number): this {
    this.rex(1, 0, dst);
    this.bytes(0x81, 0xc0 | (dst & 7));
    this.imm32(v);
    return this;
  }

  /** `add r64, r64`. */
  add(dst: number, src: number): this {
    this.rex(1, src, dst);
    this.bytes(0x01, 0xc0 | ((src & 7) << 3) | (dst & 7));
    return this;
  }

  /** `add r64, [m]`. */
  addLoad(dst: number, m: Mem): this {
    this.rex(1, dst, m);
    this.bytes(0x03);
    this.modrmMem(dst, m);
    return this;
  }

  /** `dec r64`. */
  dec(dst: number): this {
    this.rex(1, 0, dst);
    this.bytes(0xff, 0xc8 | (dst & 7));
    return this;
  }

  /** `test r64, r64`. */
  test(a: number, b: number): this {
    this.rex(1, b, a);
    this.bytes(0x85, 0xc0 | ((b & 7) << 3) | (a & 7));
    return this;
  }

  /** `cmp r64, imm8`. */
  cmpImm8(a: number, v: number): this {
    this.rex(1, 0, a);
    this.bytes(0x83, 0xf8 | (a & 7), v);
    return this;
  }

  /** `push r64`. */
  push(r: number): this {
    if (r >= 8) this.bytes(0x41);
    return this.bytes(0x50 + (r & 7));
  }

  /** `pop r64`. */
  pop(r: number): this {
    if (r >= 8) this.bytes(0x41);
    return this.bytes(0x58 + (r & 7));
  }

  /** `ret`. */
  ret(): this {
    return this.bytes(0xc3);
  }

  /** Define `name` at the current position. */
  label(name: string): this {
    if (this.labels.has(name)) throw new Error(`asm: duplicate label ${name}`);
    this.labels.set(name, this.buf.length);
    return this;
  }

  private jcc(opcode: number[], label: string): this {
    this.bytes(...opcode);
    this.fixups.push({ at: this.buf.length, label });
    this.imm32(0);
    return this;
  }

  /** `jnz label`. */
  jnz(label: string): this {
    return this.jcc([0x0f, 0x85], label);
  }

  /** `jz label`. */
  jz(label: string): this {
    return this.jcc([0x0f, 0x84], label);
  }

  /** `jne label` after `cmp` (same as jnz). */
  jne(label: string): this {
    return this.jnz(label);
  }

  /** `jmp label`. */
  jmp(label: string): this {
    return this.jcc([0xe9], label);
  }

  /** Resolve labels and return the machine code. */
  finish(): Uint8Array {
    const out = Uint8Array.from(this.buf);
    const dv = new DataView(out.buffer);
    for (const f of this.fixups) {
      const target = this.labels.get(f.label);
      if (target === undefined) throw new Error(`asm: undefined label ${f.label}`);
      dv.setInt32(f.at, target - (f.at + 4), true);
    }
    return out;
  }
}
