/**
 * Machine code of a native fused loop (fused_x86.ts lowers a fused spec to a {@link Program}):
 * register allocation over zmm and opmask registers, then AVX-512 code from the encoder in
 * gemm/x86/asm.ts. The loop runs a nest of up to three outer levels (counts in the block) around
 * rows of `cols` elements: per row, 16 lanes per iteration and one opmask-masked tail iteration.
 * After each iteration of level l a pointer moves by its `steps[l]` (the stride of that axis less
 * what the inner levels moved), so a row-broadcast read (bias) stays put and a column broadcast
 * (a per-channel value) moves along its own strides.
 * @module
 */
import { Asm, mem, R } from "./gemm/x86/asm.ts";

/** One step of a loop body over virtual registers (vectors and predicates number separately). */
export type Step =
  | { op: "load"; s: number; d: number; q?: boolean }
  | { op: "loadp"; s: number; p: number; t: number }
  | { op: "add" | "sub" | "mul" | "div" | "vmax" | "vmin" | "and" | "or"; d: number; a: number; b: number }
  | { op: "sqrt" | "neg" | "abs"; d: number; a: number }
  | { op: "cmp"; imm: number; p: number; a: number; b: number }
  | { op: "sel"; d: number; p: number; a: number; b: number }
  | { op: "store"; s: number; a: number }
  | { op: "storep"; s: number; p: number; t: number };

/** A pointer: element bytes, bytes to move after each outer iteration, and whether it is read once per row (broadcast). */
export interface Ptr {
  /** Element bytes. */
  size: 1 | 4;
  /**
   * Bytes the pointer moves after an iteration of each outer level (outermost first; the last is
   * the row), net of the inner levels: with axis strides s (bytes) and counts n, step l is
   * s[l] − n[l+1]·s[l+1], so one full iteration of level l moves the pointer by s[l].
   */
  steps: number[];
  /** Column broadcast: the vector register `d` gets `ptr[0]` at each row start (quieted when `q`). */
  bcast?: { d: number; q: boolean };
}

/** A loop program. Fixed vector registers: constants, masks and the scratch register live throughout. */
export interface Program {
  /** Constant reads: vector `d` holds block constant `c` (a float the runner writes). */
  consts: { c: number; d: number }[];
  /** Fixed vector holding the sign mask (for neg), or -1 when unused. */
  sign: number;
  /** Fixed vector holding the abs mask, or -1. */
  absMask: number;
  /** Fixed vector holding 1.0f (to quiet NaNs), or -1. */
  one: number;
  /** Fixed vector holding the integer 1 (bool stores), or -1. */
  ione: number;
  /** Fixed vector holding the NaN that JS's Math.max/min give (0xffc00000), or -1. */
  nan: number;
  /** The loop body, run once per 16 lanes. */
  body: Step[];
  /** Pointers, in block order. */
  ptrs: Ptr[];
}

/** Most outer levels of a loop (a loop has at most this many axes plus the row). */
export const MAX_LEVELS = 3;

/**
 * Parameter block: byte offsets of its fields (then constants, then pointers). `counts` holds the
 * outer levels' iteration counts (8 bytes each, outermost first); `left` the kernel's counters.
 */
export const BLOCK = {
  cols16: 0,
  tail: 8,
  sign: 16,
  abs: 20,
  one: 24,
  ione: 28,
  nan: 32,
  counts: 40,
  left: 40 + 8 * MAX_LEVELS,
  consts: 40 + 16 * MAX_LEVELS,
} as const;

/** Byte offset of the first pointer in a block with `nConst` constants. */
export const ptrBase = (nConst: number): number => Math.ceil((BLOCK.consts + 4 * nConst) / 8) * 8;

/** Pointer registers (after rdi = block, rax = index, rcx = bound, r11 = scratch); further pointers stay in the block. */
const PTR_REGS: number[] = [R.rdx, R.rsi, R.r8, R.r9, R.r10, R.rbx, R.rbp, R.r12, R.r13, R.r14, R.r15];
const CALLEE_SAVED: number[] = [R.rbx, R.rbp, R.r12, R.r13, R.r14, R.r15];
/** Most pointers a program may have. */
export const MAX_PTRS = 64;

/** Physical registers of a program's virtual ones. */
export interface Regs {
  /** Vector register number to zmm. */
  z: Map<number, number>;
  /** Predicate number to opmask k2..k7. */
  k: Map<number, number>;
}

const defs = (s: Step): string[] => {
  switch (s.op) {
    case "store":
      return [];
    case "storep":
      return [`v${s.t}`];
    case "loadp":
      return [`v${s.t}`, `p${s.p}`];
    case "cmp":
      return [`p${s.p}`];
    default:
      return [`v${s.d}`];
  }
};

const uses = (s: Step): string[] => {
  switch (s.op) {
    case "load":
    case "loadp":
      return [];
    case "storep":
      return [`p${s.p}`];
    case "sel":
      return [`p${s.p}`, `v${s.a}`, `v${s.b}`];
    case "cmp":
    case "add":
    case "sub":
    case "mul":
    case "div":
    case "vmax":
    case "vmin":
    case "and":
    case "or":
      return [`v${s.a}`, `v${s.b}`];
    default:
      return [`v${s.a}`];
  }
};

/**
 * Assigns zmm and opmask registers (k1 is the tail mask); null when a program needs more than there are.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { allocate, assemble, type Program } from "./fused_x86_code.ts";
 * // y = sqrt(x): one contiguous read, one write.
 * const prog: Program = {
 *   consts: [], sign: -1, absMask: -1, one: -1, ione: -1, nan: -1,
 *   body: [{ op: "load", s: 0, d: 0 }, { op: "sqrt", d: 1, a: 0 }, { op: "store", s: 1, a: 1 }],
 *   ptrs: [{ size: 4, steps: [0] }, { size: 4, steps: [0] }],
 * };
 * const regs = allocate(prog)!;
 * assert.equal(regs.z.get(1), regs.z.get(0)); // x dies where y is born: same register
 * assert.equal(assemble(prog, regs).at(-1), 0xc3); // ends with ret
 * ```
 */
export function allocate(prog: Program): Regs | null {
  const z = new Map<number, number>(), k = new Map<number, number>();
  const free = { v: Array.from({ length: 32 }, (_, i) => 31 - i), p: [7, 6, 5, 4, 3, 2] };
  const fixed = [
    ...prog.consts.map((c) => c.d),
    ...prog.ptrs.flatMap((p) => (p.bcast ? [p.bcast.d] : [])),
    prog.sign,
    prog.absMask,
    prog.one,
    prog.ione,
    prog.nan,
  ].filter((d) => d >= 0);
  if (fixed.length > 32) return null;
  for (const d of fixed) z.set(d, free.v.pop()!);
  const fixedSet = new Set(fixed.map((d) => `v${d}`));
  const last = new Map<string, number>();
  prog.body.forEach((s, i) => uses(s).forEach((u) => last.set(u, i)));
  const reg = (u: string) => (u[0] === "v" ? z : k);
  const release = (u: string) => free[u[0] as "v" | "p"].push(reg(u).get(Number(u.slice(1)))!);
  for (const [i, s] of prog.body.entries()) {
    // Operands dying here free their registers first: every instruction reads before it writes.
    for (const u of new Set(uses(s))) if (last.get(u) === i && !fixedSet.has(u)) release(u);
    for (const d of defs(s)) {
      const pool = free[d[0] as "v" | "p"];
      if (!pool.length) return null;
      reg(d).set(Number(d.slice(1)), pool.pop()!);
    }
    for (const d of defs(s)) if (!last.has(d) || last.get(d)! < i) release(d); // dead or scratch
  }
  return { z, k };
}

/** The machine code of a program with registers `regs` (see {@link allocate} for an example). */
export function assemble(prog: Program, regs: Regs): Uint8Array {
  const a = new Asm();
  const base = ptrBase(prog.consts.length);
  const inReg = PTR_REGS.slice(0, prog.ptrs.length);
  const saved = CALLEE_SAVED.filter((r) => inReg.includes(r));
  saved.forEach((r) => a.push(r));
  inReg.forEach((r, s) => a.movLoad(r, mem(R.rdi, base + 8 * s)));
  const Z = (v: number) => regs.z.get(v)!;
  const K = (p: number) => regs.k.get(p)!;
  /** The register holding pointer s: its own, or r11 loaded from the block. */
  const ptrReg = (s: number): number => {
    if (s < inReg.length) return inReg[s];
    a.movLoad(R.r11, mem(R.rdi, base + 8 * s));
    return R.r11;
  };
  const at = (s: number) => mem(ptrReg(s), 0, R.rax, prog.ptrs[s].size);
  for (const c of prog.consts) a.vbroadcastss(Z(c.d), mem(R.rdi, BLOCK.consts + 4 * c.c));
  const fixed: [number, number][] = [
    [prog.sign, BLOCK.sign],
    [prog.absMask, BLOCK.abs],
    [prog.one, BLOCK.one],
    [prog.ione, BLOCK.ione],
    [prog.nan, BLOCK.nan],
  ];
  for (const [d, off] of fixed) if (d >= 0) a.vbroadcastss(Z(d), mem(R.rdi, off));
  const body = (mask: number): void => {
    for (const s of prog.body) {
      switch (s.op) {
        case "load":
          a.vmovupsLoad(Z(s.d), at(s.s), mask);
          if (s.q) a.vmulps(Z(s.d), Z(s.d), Z(prog.one));
          break;
        case "loadp":
          a.vpmovzxbd(Z(s.t), at(s.s), mask).vptestmd(K(s.p), Z(s.t), Z(s.t));
          break;
        case "store":
          a.vmovupsStore(at(s.s), Z(s.a), mask);
          break;
        case "storep":
          a.vmovdqa32Zero(Z(s.t), K(s.p), Z(prog.ione)).vpmovdbStore(at(s.s), Z(s.t), mask);
          break;
        case "add":
          a.vaddps(Z(s.d), Z(s.a), Z(s.b));
          break;
        case "sub":
          a.vsubps(Z(s.d), Z(s.a), Z(s.b));
          break;
        case "mul":
          a.vmulps(Z(s.d), Z(s.a), Z(s.b));
          break;
        case "div":
          a.vdivps(Z(s.d), Z(s.a), Z(s.b));
          break;
        case "sqrt":
          a.vsqrtps(Z(s.d), Z(s.a));
          break;
        case "vmax":
          a.vmaxps(Z(s.d), Z(s.a), Z(s.b));
          break;
        case "vmin":
          a.vminps(Z(s.d), Z(s.a), Z(s.b));
          break;
        case "and":
          a.vpandd(Z(s.d), Z(s.a), Z(s.b));
          break;
        case "or":
          a.vpord(Z(s.d), Z(s.a), Z(s.b));
          break;
        case "neg":
          a.vpxord(Z(s.d), Z(s.a), Z(prog.sign));
          break;
        case "abs":
          a.vpandd(Z(s.d), Z(s.a), Z(prog.absMask));
          break;
        case "cmp":
          a.vcmpps(K(s.p), Z(s.a), Z(s.b), s.imm);
          break;
        case "sel":
          a.vblendmps(Z(s.d), K(s.p), Z(s.a), Z(s.b));
          break;
      }
    }
  };
  const levels = prog.ptrs[0]?.steps.length ?? 1;
  if (levels < 1 || levels > MAX_LEVELS || prog.ptrs.some((p) => p.steps.length !== levels)) {
    const got = prog.ptrs.map((p) => p.steps.length).join(", ");
    throw new Error(`assemble: pointers need 1 to ${MAX_LEVELS} steps each, all alike; got ${got}`);
  }
  for (let l = 0; l < levels; l++) {
    a.movLoad(R.r11, mem(R.rdi, BLOCK.counts + 8 * l)).movStore(mem(R.rdi, BLOCK.left + 8 * l), R.r11);
    a.label(`level${l}`);
  }
  prog.ptrs.forEach((p, s) => {
    if (!p.bcast) return;
    a.vbroadcastss(Z(p.bcast.d), mem(ptrReg(s)));
    if (p.bcast.q) a.vmulps(Z(p.bcast.d), Z(p.bcast.d), Z(prog.one));
  });
  a.movLoad(R.rcx, mem(R.rdi, BLOCK.cols16)).movImm32(R.rax, 0).test(R.rcx, R.rcx).jz("tail");
  a.label("loop");
  body(0);
  a.addImm(R.rax, 16).cmp(R.rax, R.rcx).jne("loop");
  a.label("tail").movLoad(R.rcx, mem(R.rdi, BLOCK.tail)).test(R.rcx, R.rcx).jz("next");
  a.kmovwLoad(1, mem(R.rdi, BLOCK.tail));
  body(1);
  a.label("next");
  for (let l = levels - 1; l >= 0; l--) {
    prog.ptrs.forEach((p, s) => {
      if (p.steps[l] === 0) return;
      if (s < inReg.length) a.addImm(inReg[s], p.steps[l]);
      else a.addMemImm(mem(R.rdi, base + 8 * s), p.steps[l]);
    });
    a.decMem(mem(R.rdi, BLOCK.left + 8 * l)).jnz(`level${l}`);
  }
  a.vzeroupper();
  [...saved].reverse().forEach((r) => a.pop(r));
  return a.ret().finish();
}
