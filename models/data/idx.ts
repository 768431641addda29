/**
 * The IDX file format of MNIST and Fashion-MNIST: a 4-byte magic (two zero bytes, a type
 * code, the number of dimensions), one big-endian uint32 per dimension, then the data.
 * wax reads and writes the unsigned-byte kind (type code 0x08).
 * @module
 */

/** An IDX file's contents: its dimensions and its bytes (row-major). */
export interface Idx {
  /** The dimensions, e.g. `[60000, 28, 28]` for images or `[60000]` for labels. */
  dims: number[];
  /** The data bytes, `dims` multiplied together in length. */
  data: Uint8Array;
}

/**
 * Parses an unsigned-byte IDX file, checking its magic and its length against its dimensions.
 *
 * @param bytes The file's bytes (decompressed).
 * @param what A name for the file in error messages.
 * @returns The dimensions and a view of the data bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { parseIdx } from "@wax/wax/data";
 * const { dims, data } = parseIdx(new Uint8Array([0, 0, 8, 1, 0, 0, 0, 2, 7, 9]));
 * assert.deepEqual(dims, [2]);
 * assert.deepEqual([...data], [7, 9]);
 * ```
 */
export function parseIdx(bytes: Uint8Array, what = "IDX"): Idx {
  if (bytes.length < 4) throw new Error(`${what}: file too short for an IDX header (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint16(0) !== 0 || bytes[2] !== 0x08) {
    throw new Error(`${what}: not an unsigned-byte IDX file (magic ${[...bytes.subarray(0, 4)].join(",")})`);
  }
  const nd = bytes[3];
  if (bytes.length < 4 + 4 * nd) throw new Error(`${what}: truncated header (${nd} dims)`);
  const dims = Array.from({ length: nd }, (_, i) => view.getUint32(4 + 4 * i));
  const n = dims.reduce((a, b) => a * b, 1);
  const off = 4 + 4 * nd;
  if (bytes.length !== off + n) {
    throw new Error(`${what}: expected ${off + n} bytes for dims [${dims}], got ${bytes.length}`);
  }
  return { dims, data: bytes.subarray(off) };
}

/**
 * Encodes bytes as an unsigned-byte IDX file (to make small data sets for tests, or to
 * export a subset in the format every MNIST reader understands).
 *
 * @param idx The dimensions and the data (`dims` multiplied together in length).
 * @returns The file's bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { encodeIdx, parseIdx } from "@wax/wax/data";
 * const bytes = encodeIdx({ dims: [2, 2], data: new Uint8Array([1, 2, 3, 4]) });
 * assert.deepEqual(parseIdx(bytes).dims, [2, 2]);
 * ```
 */
export function encodeIdx(idx: Idx): Uint8Array {
  const { dims, data } = idx;
  const n = dims.reduce((a, b) => a * b, 1);
  if (dims.length > 255 || data.length !== n) {
    throw new Error(`encodeIdx: dims [${dims}] need ${n} bytes, got ${data.length}`);
  }
  const out = new Uint8Array(4 + 4 * dims.length + n);
  const view = new DataView(out.buffer);
  out[2] = 0x08;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  out.set(data, 4 + 4 * dims.length);
  return out;
}
