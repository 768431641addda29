/**
 * A tiny hand-written WebAssembly binary emitter.
 *
 * Only what the GEMM kernels need: i32/f32/v128 locals, structured control
 * flow, scalar and SIMD memory ops, relaxed-SIMD fused multiply-add, one
 * imported (optionally shared) memory, and exported functions.
 *
 * @module
 */

/** WebAssembly value types used by the emitter. */
export const I32 = 0x7f;
/** f32 value type. */
export const F32 = 0x7d;
/** v128 value type (SIMD). */
export const V128 = 0x7b;
/** A value type byte. */
export type ValType = typeof I32 | typeof F32 | typeof V128;

/** Unsigned LEB128 encoding of a non-negative integer. */
export function uleb(v: number): number[] {
  const out: number[] = [];
  let x = v >>> 0;
  do {
    let byte = x & 0x7f;
    x >>>= 7;
    if (x !== 0) byte |= 0x80;
    out.push(byte);
  } while (x !== 0);
  return out;
}

/** Signed LEB128 encoding of a 32-bit integer. */
export function sleb(v: number): number[] {
  const out: number[] = [];
  let x = v | 0;
  for (;;) {
    const byte = x & 0x7f;
    x >>= 7;
    const done = (x === 0 && (byte & 0x40) === 0) || (x === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function f32Bytes(v: number): number[] {
  return Array.from(new Uint8Array(new Float32Array([v]).buffer));
}

function str(s: string): number[] {
  const b = Array.from(new TextEncoder().encode(s));
  return [...uleb(b.length), ...b];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

/**
 * Body builder for one function. Methods append instructions; local indices
 * for parameters come first, followed by locals allocated with {@link Fn.local}.
 *
 * @example
 * ```ts
 * const f = new Fn("add", [I32, I32], [I32]);
 * f.get(0).get(1).op(0x6a);
 * ```
 */
export class Fn {
  /** Instruction bytes (without locals header and final `end`). */
  readonly code: number[] = [];
  private readonly extra: ValType[] = [];

  constructor(
    /** Export name. */
    readonly name: string,
    /** Parameter types. */
    readonly params: ValType[],
    /** Result types. */
    readonly results: ValType[] = [],
  ) {}

  /** Allocate a new local of the given type and return its index. */
  local(t: ValType): number {
    this.extra.push(t);
    return this.params.length + this.extra.length - 1;
  }

  /** Append raw bytes. */
  op(...bytes: number[]): this {
    for (const b of bytes) this.code.push(b);
    return this;
  }
  /** `local.get`. */
  get(i: number): this {
    return this.op(0x20, ...uleb(i));
  }
  /** `local.set`. */
  set(i: number): this {
    return this.op(0x21, ...uleb(i));
  }
  /** `local.tee`. */
  tee(i: number): this {
    return this.op(0x22, ...uleb(i));
  }
  /** `i32.const`. */
  i32(v: number): this {
    return this.op(0x41, ...sleb(v));
  }
  /** `f32.const`. */
  f32(v: number): this {
    return this.op(0x43, ...f32Bytes(v));
  }
  /** SIMD-prefixed instruction (0xfd + LEB opcode + immediates). */
  simd(opcode: number, ...imm: number[]): this {
    return this.op(0xfd, ...uleb(opcode), ...imm);
  }
  /** `i32.add`. */
  add(): this {
    return this.op(0x6a);
  }
  /** `i32.sub`. */
  sub(): this {
    return this.op(0x6b);
  }
  /** `i32.mul`. */
  mul(): this {
    return this.op(0x6c);
  }
  /** local[i] += c (i32). */
  inc(i: number, c: number): this {
    return this.get(i).i32(c).add().set(i);
  }
  /** local[i] += local[j] (i32). */
  incBy(i: number, j: number): this {
    return this.get(i).get(j).add().set(i);
  }
  /** `f32.load` with byte offset. */
  f32Load(offset = 0): this {
    return this.op(0x2a, 2, ...uleb(offset));
  }
  /** `f32.store` with byte offset. */
  f32Store(offset = 0): this {
    return this.op(0x38, 2, ...uleb(offset));
  }
  /** `v128.load` with byte offset. */
  vLoad(offset = 0): this {
    return this.simd(0x00, 4, ...uleb(offset));
  }
  /** `v128.store` with byte offset. */
  vStore(offset = 0): this {
    return this.simd(0x0b, 4, ...uleb(offset));
  }
  /** `v128.load32_splat` with byte offset. */
  vLoadSplat(offset = 0): this {
    return this.simd(0x09, 2, ...uleb(offset));
  }
  /** `f32x4.splat`. */
  vSplat(): this {
    return this.simd(0x13);
  }
  /** `f32x4.add`. */
  vAdd(): this {
    return this.simd(0xe4);
  }
  /** `f32x4.mul`. */
  vMul(): this {
    return this.simd(0xe6);
  }
  /** Zero v128 constant. */
  vZero(): this {
    return this.simd(0x0c, ...new Array<number>(16).fill(0));
  }
  /** `f32x4.relaxed_madd` (a*b + c); stack: a b c. */
  vMadd(): this {
    return this.simd(0x105);
  }

  /** `block ... end` with empty block type. */
  block(body: () => void): this {
    this.op(0x02, 0x40);
    body();
    return this.op(0x0b);
  }
  /** `loop ... end` with empty block type. */
  loop(body: () => void): this {
    this.op(0x03, 0x40);
    body();
    return this.op(0x0b);
  }
  /** `if ... else ... end`; the condition must already be on the stack. */
  ifElse(then: () => void, otherwise?: () => void): this {
    this.op(0x04, 0x40);
    then();
    if (otherwise) {
      this.op(0x05);
      otherwise();
    }
    return this.op(0x0b);
  }
  /** `br_if depth`. */
  brIf(depth: number): this {
    return this.op(0x0d, ...uleb(depth));
  }
  /** `br depth`. */
  br(depth: number): this {
    return this.op(0x0c, ...uleb(depth));
  }

  /**
   * Counted loop: `for (i = start; i < end; i += step) body()` where `end`
   * is a local index and `start` an i32 constant. Branches inside `body`
   * must account for the two enclosing structured blocks.
   */
  forRange(i: number, start: number, end: number, step: number, body: () => void): this {
    this.i32(start).set(i);
    return this.block(() =>
      this.loop(() => {
        this.get(i).get(end).op(0x4e).brIf(1); // i32.ge_s
        body();
        this.inc(i, step).br(0);
      })
    );
  }

  /** Encoded function body (locals header + code + end). */
  body(): number[] {
    const groups: number[][] = [];
    let k = 0;
    while (k < this.extra.length) {
      let j = k;
      while (j < this.extra.length && this.extra[j] === this.extra[k]) j++;
      groups.push([...uleb(j - k), this.extra[k]]);
      k = j;
    }
    const b = [...vec(groups), ...this.code, 0x0b];
    return [...uleb(b.length), ...b];
  }
}

/** Memory import description. */
export interface MemoryImport {
  /** Import module name. */
  module: string;
  /** Import field name. */
  name: string;
  /** Minimum pages. */
  min: number;
  /** Maximum pages. */
  max: number;
  /** Whether the memory is shared (threads). */
  shared: boolean;
}

function section(id: number, payload: number[]): number[] {
  return [id, ...uleb(payload.length), ...payload];
}

/**
 * Assemble a module that imports one memory and exports the given functions.
 *
 * @example
 * ```ts
 * const f = new Fn("id", [I32], [I32]);
 * f.get(0);
 * const bytes = emitModule({ module: "env", name: "mem", min: 1, max: 1, shared: false }, [f]);
 * WebAssembly.validate(bytes); // true
 * ```
 */
export function emitModule(mem: MemoryImport, fns: Fn[]): Uint8Array<ArrayBuffer> {
  const types = fns.map((f) => [0x60, ...vec(f.params.map((p) => [p])), ...vec(f.results.map((r) => [r]))]);
  const limits = [mem.shared ? 0x03 : 0x01, ...uleb(mem.min), ...uleb(mem.max)];
  const imports = vec([[...str(mem.module), ...str(mem.name), 0x02, ...limits]]);
  const funcs = vec(fns.map((_, i) => uleb(i)));
  const exports = vec(fns.map((f, i) => [...str(f.name), 0x00, ...uleb(i)]));
  const code = vec(fns.map((f) => f.body()));
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec(types)),
    ...section(2, imports),
    ...section(3, funcs),
    ...section(7, exports),
    ...section(10, code),
  ]);
}
