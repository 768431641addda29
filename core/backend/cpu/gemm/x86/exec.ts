/**
 * Executable memory for generated x86-64 code: `mmap` a read-write anonymous
 * mapping through libc, copy the code in, `mprotect` it to read+execute, and
 * call it through `Deno.UnsafeFnPointer`. Also the availability probe (linux
 * x86_64, FFI permission granted, `avx512f` in /proc/cpuinfo), which never
 * throws and never prompts.
 *
 * @module
 */

const LIBC_SYMBOLS = {
  mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "isize"], result: "pointer" },
  mprotect: { parameters: ["pointer", "usize", "i32"], result: "i32" },
} as const;

const PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4;
const MAP_PRIVATE = 0x02, MAP_ANONYMOUS = 0x20;

let libc: Deno.DynamicLibrary<typeof LIBC_SYMBOLS> | null | undefined;

function permitted(desc: Deno.PermissionDescriptor): boolean {
  try {
    return Deno.permissions.querySync(desc).state === "granted";
  } catch {
    return false;
  }
}

/**
 * Whether this process may JIT AVX-512 code: Deno on linux x86_64, FFI
 * permission already granted, and `avx512f` listed in /proc/cpuinfo.
 *
 * @example
 * ```ts
 * if (avx512Usable()) console.log("AVX-512 JIT possible");
 * ```
 */
export function avx512Usable(): boolean {
  if (typeof Deno === "undefined" || typeof Deno.dlopen !== "function") return false;
  if (Deno.build.os !== "linux" || Deno.build.arch !== "x86_64") return false;
  if (!permitted({ name: "ffi" }) || !permitted({ name: "read", path: "/proc/cpuinfo" })) return false;
  try {
    const info = Deno.readTextFileSync("/proc/cpuinfo");
    const flags = info.split("\n").find((l) => l.startsWith("flags"));
    return flags !== undefined && /\bavx512f\b/.test(flags);
  } catch {
    return false;
  }
}

function openLibc(): Deno.DynamicLibrary<typeof LIBC_SYMBOLS> | null {
  if (libc === undefined) {
    try {
      libc = Deno.dlopen("libc.so.6", LIBC_SYMBOLS);
    } catch {
      libc = null;
    }
  }
  return libc;
}

/**
 * Copy `code` into a fresh read+execute mapping and return its address, or
 * null if libc or the mapping is unavailable. The mapping is never freed
 * (kernels are generated once per process).
 *
 * @example
 * ```ts
 * const p = avx512Usable() ? loadCode(new Uint8Array([0xb8, 42, 0, 0, 0, 0xc3])) : null;
 * ```
 */
export function loadCode(code: Uint8Array): Deno.PointerObject | null {
  const lc = openLibc();
  if (!lc) return null;
  const len = Math.ceil(Math.max(1, code.length) / 4096) * 4096;
  const p = lc.symbols.mmap(null, BigInt(len), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0n);
  if (p === null) return null;
  const addr = Deno.UnsafePointer.value(p);
  if (addr === 0n || addr === 0xffffffffffffffffn || addr === -1n) return null;
  new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(p, len)).set(code);
  if (lc.symbols.mprotect(p, BigInt(len), PROT_READ | PROT_EXEC) !== 0) return null;
  return p;
}

/** Signature of every generated kernel: one pointer to its parameter block. */
export const KERNEL_DEF = { parameters: ["buffer"], result: "void" } as const;

/** A callable generated kernel. */
export type KernelFn = (params: BigInt64Array) => void;

/**
 * Wrap the code address `addr` (a pointer object or its numeric value, e.g.
 * received by a worker) as a callable kernel.
 *
 * @example
 * ```ts
 * // const f = kernelAt(p); f(params);
 * ```
 */
export function kernelAt(addr: Deno.PointerObject | bigint): KernelFn {
  const p = typeof addr === "bigint" ? Deno.UnsafePointer.create(addr) : addr;
  if (p === null) throw new Error("kernelAt: null code address");
  const fn = new Deno.UnsafeFnPointer(p as Deno.PointerObject<typeof KERNEL_DEF>, KERNEL_DEF);
  return (params) => fn.call(params);
}

/**
 * Generate and load a set of kernels (e.g. `{ row: … , col: … }`), or null when AVX-512 code
 * cannot run here or any of them fails to load. `gen` runs only when the code can run.
 *
 * @example
 * ```ts
 * const ks = loadKernels(() => ({ ret: new Uint8Array([0xc3]) }));
 * if (ks) ks.ret(new BigInt64Array(1));
 * ```
 */
export function loadKernels<K extends string>(gen: () => Record<K, Uint8Array>): Record<K, KernelFn> | null {
  if (!avx512Usable()) return null;
  const out = {} as Record<K, KernelFn>;
  for (const [name, code] of Object.entries(gen()) as [K, Uint8Array][]) {
    const p = loadCode(code);
    if (!p) return null;
    out[name] = kernelAt(p);
  }
  return out;
}

/**
 * The address of a typed array's first element, for a kernel's parameter block.
 *
 * @example
 * ```ts
 * typeof addressOf(new Float32Array(4)); // "bigint"
 * ```
 */
export function addressOf(t: ArrayBufferView): bigint {
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(t as Float32Array)));
}

/**
 * Writes `v` (an integer below 2⁵³, e.g. a byte offset) as the int64 at index `i` of the table
 * seen as int32 `words`: the low and high halves, with no BigInt per entry.
 *
 * @example
 * ```ts
 * const t = new BigInt64Array(2);
 * setInt64(new Int32Array(t.buffer), 1, 2 ** 33 + 5);
 * t[1]; // 8589934597n
 * ```
 */
export function setInt64(words: Int32Array, i: number, v: number): void {
  words[2 * i] = v | 0;
  words[2 * i + 1] = Math.floor(v / 2 ** 32);
}
