/**
 * Recycled storage for the cpu backend. Fresh large typed arrays cost page faults on first
 * touch (and garbage-collector pressure), which on some virtual machines is slower than the
 * kernel that fills them; a jitted step allocates the same sizes every call. Buffers come back
 * from the executor when an intermediate dies and from the backend when an array is disposed,
 * donated or collected, and are handed out again zero-filled, like fresh ones.
 *
 * Only whole, unshared, non-shared-memory arrays of at least {@link MIN_BYTES} are pooled, and
 * at most {@link MAX_BYTES} in all (the oldest sizes go first).
 * @module
 */
import { allocTyped, type DType, type TypedArray } from "../../dtype.ts";

/** Arrays smaller than this come from V8's young generation, which is already fast. */
export const MIN_BYTES = 1 << 14;
/** Most bytes kept in the pool. */
export const MAX_BYTES = 512 * 2 ** 20;

const lists = new Map<string, TypedArray[]>();
const pooled = new WeakSet<ArrayBufferLike>();
let bytes = 0;

const keyOf = (name: string, n: number) => `${name}:${n}`;
const CTOR_NAME: Record<DType, string> = {
  float32: "Float32Array",
  int32: "Int32Array",
  uint32: "Uint32Array",
  bool: "Uint8Array",
};

/** Zero-filled storage for `size` elements of `dtype`, recycled when a buffer of that size is pooled. */
export function allocPooled(dtype: DType, size: number): TypedArray {
  const a = takeFromPool(CTOR_NAME[dtype], size);
  if (a) return a.fill(0);
  return fresh(dtype, size);
}

/** Storage whose contents are unspecified, for a kernel that writes every element. */
export function allocUninit(dtype: DType, size: number): TypedArray {
  return takeFromPool(CTOR_NAME[dtype], size) ?? fresh(dtype, size);
}

/** A new typed array; when the host cannot allocate it, an error that says how much was asked for. */
function fresh(dtype: DType, size: number): TypedArray {
  try {
    return allocTyped(dtype, size);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    const bytes = size * (dtype === "bool" ? 1 : 4);
    throw new RangeError(`cannot allocate ${bytes} bytes on the cpu backend (${e.message})`);
  }
}

/**
 * The error of operation `op` (with results `outAvals`) that failed to allocate host memory
 * (`e`, a RangeError from a typed-array constructor): names the operation, the result shapes and
 * the bytes. Other errors pass through unchanged.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { allocationError } from "./pool.ts";
 * const failure = new RangeError("Array buffer allocation failed");
 * const e = allocationError("broadcastInDim", [{ shape: [2 ** 38], dtype: "float32" }], failure);
 * assert.ok(e instanceof Error);
 * assert.match(e.message, /^broadcastInDim: out of memory computing \[274877906944\] float32 \(1099511627776 bytes\)/);
 * ```
 */
export function allocationError(
  op: string,
  outAvals: readonly { shape: readonly number[]; dtype: DType }[],
  e: unknown,
): unknown {
  if (!(e instanceof RangeError) || !/alloc|invalid (typed )?array length/i.test(e.message)) return e;
  // A message from `fresh` already says how many bytes and where; a bare one gets the results' sizes.
  const sized = e.message.startsWith("cannot allocate");
  const results = outAvals.map((a) => {
    const bytes = a.shape.reduce((p, d) => p * d, 1) * (a.dtype === "bool" ? 1 : 4);
    return `[${a.shape.join(", ")}] ${a.dtype}${sized ? "" : ` (${bytes} bytes)`}`;
  });
  const why = sized ? e.message : `cannot allocate on the cpu backend (${e.message})`;
  return new RangeError(
    `${op}: out of memory computing ${
      results.join(", ") || "its result"
    }: ${why}. Use smaller arrays (e.g. split the batch)`,
  );
}

/** Zero-filled float32 storage (see {@link allocPooled}). */
export function allocF32(size: number): Float32Array {
  return allocPooled("float32", size) as Float32Array;
}

function takeFromPool(name: string, size: number): TypedArray | undefined {
  const list = lists.get(keyOf(name, size));
  const a = list?.pop();
  if (!a) return undefined;
  if (list!.length === 0) lists.delete(keyOf(name, size));
  pooled.delete(a.buffer);
  bytes -= a.byteLength;
  return a;
}

/** Whether {@link recycle} would keep `a` (whole, unshared, not yet pooled, within the size bounds). */
export function poolable(a: TypedArray): boolean {
  const buf = a.buffer;
  if (a.byteLength < MIN_BYTES || a.byteLength > MAX_BYTES) return false;
  if (a.byteOffset !== 0 || a.byteLength !== buf.byteLength) return false;
  return buf instanceof ArrayBuffer && !pooled.has(buf);
}

/**
 * Returns storage nobody will read or write again. Views, shared memory, small arrays and
 * arrays already pooled are ignored, so a caller only has to be sure of ownership.
 */
export function recycle(a: TypedArray): void {
  if (!poolable(a)) return;
  while (bytes + a.byteLength > MAX_BYTES) evictOldest();
  const key = keyOf(a.constructor.name, a.length);
  let list = lists.get(key);
  if (!list) lists.set(key, list = []);
  list.push(a);
  pooled.add(a.buffer);
  bytes += a.byteLength;
}

function evictOldest(): void {
  const [key, list] = lists.entries().next().value!;
  for (const a of list) {
    pooled.delete(a.buffer);
    bytes -= a.byteLength;
  }
  lists.delete(key);
}

const pins = new Map<ArrayBufferLike, number>();
const deferred = new Map<ArrayBufferLike, TypedArray>();

/**
 * Keeps the storage of `arrays` out of the pool until the returned function is called: an
 * array released meanwhile (a donated input of a running jitted call) is recycled then.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { allocPooled, pin, pooledBytes, release } from "./pool.ts";
 * const a = allocPooled("float32", 1 << 16);
 * const before = pooledBytes();
 * const unpin = pin([a]);
 * release(a);
 * assert.equal(pooledBytes(), before);
 * unpin();
 * assert.equal(pooledBytes(), before + a.byteLength);
 * ```
 */
export function pin(arrays: readonly TypedArray[]): () => void {
  for (const a of arrays) pins.set(a.buffer, (pins.get(a.buffer) ?? 0) + 1);
  return () => {
    for (const a of arrays) {
      const n = pins.get(a.buffer)! - 1;
      if (n > 0) {
        pins.set(a.buffer, n);
        continue;
      }
      pins.delete(a.buffer);
      const d = deferred.get(a.buffer);
      if (d) {
        deferred.delete(a.buffer);
        recycle(d);
      }
    }
  };
}

/** Returns an array's storage to the pool: now, or when its storage is unpinned (see {@link pin}). */
export function release(a: TypedArray): void {
  if (pins.has(a.buffer)) deferred.set(a.buffer, a);
  else recycle(a);
}

/** Bytes held by the pool. */
export function pooledBytes(): number {
  return bytes;
}

/** Drops every pooled buffer (for the garbage collector to take). */
export function trimPool(): void {
  lists.clear();
  bytes = 0;
}
