/**
 * Checkpoints in the safetensors format: an 8-byte little-endian header length, a JSON
 * header (`{ name: { dtype, shape, data_offsets }, __metadata__: {...} }`) and the raw
 * little-endian tensor bytes. Pytree paths become names (`gen.conv1.w`), so Python's
 * `safetensors` reads the files and files it wrote load here. The exact tree structure
 * (lists, nulls, plain numbers) is kept in the metadata, so optimizer state, PRNG keys and
 * step counters round-trip and training resumes bit-identically. Loading only parses JSON
 * and copies bytes; it never runs anything.
 * @module
 */
import { Array } from "./array.ts";
import type { DType, TypedArray } from "./dtype.ts";
import type { PyTree } from "./tree.ts";
import { array } from "./np/creation.ts";

const TO_ST: Record<DType, string> = { float32: "F32", int32: "I32", uint32: "U32", bool: "BOOL" };
const FROM_ST: Record<string, [DType, number]> = {
  F32: ["float32", 4],
  I32: ["int32", 4],
  U32: ["uint32", 4],
  BOOL: ["bool", 1],
};
const TREE_KEY = "wax.tree";
/** Largest header accepted (the limit of the reference implementation). */
const MAX_HEADER = 100_000_000;

type Enc = null | Enc[] | { t: string } | { n: string } | { b: boolean } | { u: 1 } | { d: Record<string, Enc> };

function checkHost() {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new Error("save/load: safetensors is little-endian and this host is big-endian; not supported");
  }
}

/**
 * `e` (a file system error) with `message` in front, keeping its class (so `instanceof
 * Deno.errors.NotFound` still works) and the original as `cause`.
 */
function withContext(e: unknown, message: string): Error {
  const detail = e instanceof Error ? e.message : String(e);
  const Ctor = (e instanceof Error ? e.constructor : Error) as ErrorConstructor;
  try {
    return new Ctor(`${message}: ${detail}`, { cause: e });
  } catch {
    return new Error(`${message}: ${detail}`, { cause: e });
  }
}

/** Opens `path` for reading, with an error that names `op` and the path. */
async function openRead(op: string, path: string): Promise<Deno.FsFile> {
  try {
    return await Deno.open(path, { read: true });
  } catch (e) {
    const relative = !/^([A-Za-z]:)?[\\/]/.test(path);
    const hint = e instanceof Deno.errors.NotFound && relative ? ` (relative paths resolve from ${Deno.cwd()})` : "";
    throw withContext(e, `${op}: cannot open ${path}${hint}`);
  }
}

/** Walks a pytree: tensors in path order, plus a JSON encoding of the structure. */
function encode(t: PyTree): { enc: Enc; tensors: [string, Array][] } {
  const tensors: [string, Array][] = [];
  const go = (x: unknown, path: string[]): Enc => {
    if (x === null) return null;
    if (x === undefined) return { u: 1 };
    if (x instanceof Array) {
      const name = path.join(".");
      tensors.push([name, x]);
      return { t: name };
    }
    if (typeof x === "number") return { n: Object.is(x, -0) ? "-0" : String(x) }; // String(-0) is "0"
    if (typeof x === "boolean") return { b: x };
    if (globalThis.Array.isArray(x)) return x.map((v, i) => go(v, [...path, String(i)]));
    if (typeof x === "object" && Object.getPrototypeOf(x) === Object.prototype) {
      const d: Record<string, Enc> = {};
      for (const [k, v] of Object.entries(x)) {
        if (k === "" || k.includes(".")) {
          throw new Error(
            `save: key ${JSON.stringify(k)} at ${path.join(".") || "the root"} is empty or contains "."; ` +
              `safetensors names join keys with ".", so rename it`,
          );
        }
        d[k] = go(v, [...path, k]);
      }
      return { d };
    }
    throw new TypeError(`save: unsupported value of type ${typeof x} at ${path.join(".") || "the root"}`);
  };
  return { enc: go(t, []), tensors };
}

/**
 * Saves a pytree of arrays as a safetensors file, atomically (a temporary file in the same
 * folder, synced, then renamed over `path`).
 *
 * @param path The file to write.
 * @param tree The pytree: arrays, plain numbers/booleans, null, lists and objects whose keys
 *   contain no ".".
 * @param metadata Extra string metadata for the header (`__metadata__`).
 * @returns When the file is in place.
 *
 * @example Save and load parameters with optimizer state
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { load, save } from "@wax/wax";
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * await save(path, { gen: { w: np.ones([2, 3]), b: np.zeros([3]) }, step: np.array(7, { dtype: "int32" }) });
 * const back = await load<{ gen: { w: np.Array }; step: np.Array }>(path);
 * assert(back.gen.w.shape.join() === "2,3" && (await back.step.item()) === 7);
 * await Deno.remove(path);
 * ```
 */
export async function save(path: string, tree: PyTree, metadata: Record<string, string> = {}): Promise<void> {
  checkHost();
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== "string") throw new TypeError(`save: metadata value for ${JSON.stringify(k)} must be a string`);
  }
  if (TREE_KEY in metadata) throw new Error(`save: metadata key ${TREE_KEY} is reserved for the tree structure`);
  const { enc, tensors } = encode(tree);
  const header: Record<string, unknown> = { __metadata__: { ...metadata, [TREE_KEY]: JSON.stringify(enc) } };
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, a] of tensors) {
    const data: TypedArray = await a.data();
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    header[name] = { dtype: TO_ST[a.dtype], shape: a.shape, data_offsets: [offset, offset + bytes.byteLength] };
    chunks.push(bytes);
    offset += bytes.byteLength;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (new TextEncoder().encode(json).byteLength % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(head.byteLength), true);
  const slash = path.lastIndexOf("/");
  const tmp = `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.${crypto.randomUUID()}.tmp`;
  let file: Deno.FsFile;
  try {
    file = await Deno.open(tmp, { write: true, createNew: true });
  } catch (e) {
    throw withContext(
      e,
      `save: cannot create a temporary file next to ${path} (does its folder exist and is it writable?)`,
    );
  }
  try {
    for (const c of [prefix, head, ...chunks]) {
      for (let done = 0; done < c.byteLength;) done += await file.write(c.subarray(done));
    }
    await file.sync();
    file.close();
    await Deno.rename(tmp, path);
  } catch (e) {
    try {
      file.close();
    } catch { /* already closed */ }
    await Deno.remove(tmp).catch(() => {});
    throw withContext(e, `save: writing ${path} failed`);
  }
}

interface Entry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

async function readExact(file: Deno.FsFile, n: number, what: string, path: string): Promise<Uint8Array> {
  const buf = new Uint8Array(n);
  for (let got = 0; got < n;) {
    const r = await file.read(buf.subarray(got));
    if (r === null) throw new Error(`load: ${path} is truncated: ended while reading the ${what}`);
    got += r;
  }
  return buf;
}

/** Reads and validates the header; returns the entries, metadata and where the data starts. */
async function readHeader(file: Deno.FsFile, path: string) {
  const size = (await file.stat()).size;
  if (size < 8) throw new Error(`load: ${path} is truncated (${size} bytes); a safetensors file starts with 8 bytes`);
  const n = Number(new DataView((await readExact(file, 8, "header length", path)).buffer).getBigUint64(0, true));
  if (n > MAX_HEADER) throw new Error(`load: ${path}: header length ${n} exceeds the ${MAX_HEADER}-byte limit`);
  if (n > size - 8) {
    throw new Error(`load: ${path}: header length ${n} exceeds the file (${size} bytes); truncated or not safetensors`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(await readExact(file, n, "header", path)));
  } catch (e) {
    throw new Error(`load: ${path}: the header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof raw !== "object" || raw === null || globalThis.Array.isArray(raw)) {
    throw new Error(`load: ${path}: the header must be a JSON object`);
  }
  const dataLen = size - 8 - n;
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, v] of Object.entries(raw as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof v !== "object" || v === null) throw new Error(`load: ${path}: __metadata__ must be an object`);
      for (const [k, s] of Object.entries(v)) {
        if (typeof s !== "string") throw new Error(`load: ${path}: metadata ${JSON.stringify(k)} is not a string`);
        metadata[k] = s;
      }
      continue;
    }
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const bad = (why: string) => new Error(`load: ${path}: tensor ${JSON.stringify(name)}: ${why}`);
    if (typeof e !== "object" || e === null) throw bad("entry is not an object");
    const st = FROM_ST[e.dtype as string];
    if (!st) {
      throw bad(
        `unsupported dtype ${JSON.stringify(e.dtype)}; wax loads F32, I32, U32 and BOOL (convert the file first)`,
      );
    }
    const isInt = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 0;
    if (!globalThis.Array.isArray(e.shape) || !e.shape.every(isInt)) throw bad("shape must be non-negative integers");
    const offs = e.data_offsets;
    if (!globalThis.Array.isArray(offs) || offs.length !== 2 || !offs.every(isInt) || offs[0] > offs[1]) {
      throw bad("data_offsets must be [begin, end] with 0 ≤ begin ≤ end");
    }
    if (offs[1] > dataLen) throw bad(`data_offsets [${offs}] run past the ${dataLen} data bytes (truncated file?)`);
    const numel = (e.shape as number[]).reduce((a, b) => a * b, 1);
    if (numel * st[1] !== offs[1] - offs[0]) {
      throw bad(
        `shape [${e.shape}] of ${e.dtype} needs ${numel * st[1]} bytes, but data_offsets [${offs}] span ${
          offs[1] - offs[0]
        }`,
      );
    }
    entries.push({ name, dtype: st[0], shape: e.shape as number[], begin: offs[0], end: offs[1] });
  }
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  for (const e of sorted) {
    if (e.begin < pos) {
      throw new Error(`load: ${path}: tensor ${JSON.stringify(e.name)} overlaps the previous tensor's bytes`);
    }
    if (e.begin > pos) {
      throw new Error(`load: ${path}: ${e.begin - pos} unused bytes before tensor ${JSON.stringify(e.name)}`);
    }
    pos = e.end;
  }
  if (pos !== dataLen) throw new Error(`load: ${path}: ${dataLen - pos} trailing bytes after the last tensor`);
  return { entries, metadata, dataLen };
}

/**
 * Reads only the `__metadata__` strings of a safetensors file (the tree structure key
 * `wax.tree` included).
 *
 * @param path The file.
 * @returns The metadata.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { loadMetadata, save } from "@wax/wax";
 * const path = await Deno.makeTempFile();
 * await save(path, { w: np.ones([1]) }, { epoch: "3" });
 * assert((await loadMetadata(path)).epoch === "3");
 * await Deno.remove(path);
 * ```
 */
export async function loadMetadata(path: string): Promise<Record<string, string>> {
  using file = await openRead("loadMetadata", path);
  return (await readHeader(file, path)).metadata;
}

function fromNames(names: string[], arrays: Map<string, Array>): PyTree {
  // Prototype-less nodes: a name such as "__proto__.x" in a foreign file stays a plain key.
  const root: Record<string, unknown> = Object.create(null);
  for (const name of names) {
    const parts = name.split(".");
    let node = root;
    parts.slice(0, -1).forEach((p) => {
      if (!Object.hasOwn(node, p) || node[p] instanceof Array) node[p] = Object.create(null);
      node = node[p] as Record<string, unknown>;
    });
    node[parts[parts.length - 1]] = arrays.get(name);
  }
  const listify = (x: unknown): PyTree => {
    if (x instanceof Array || typeof x !== "object" || x === null) return x as PyTree;
    const o = x as Record<string, unknown>;
    const keys = Object.keys(o);
    const vals = keys.map((k) => listify(o[k]));
    const isList = keys.length > 0 && keys.every((k, i) => k === String(i));
    return isList ? vals : Object.fromEntries(keys.map((k, i) => [k, vals[i]]));
  };
  return listify(root);
}

/**
 * Loads a safetensors file as a pytree. Files written by `save` come back with their exact
 * structure; other files nest by the "." in their names (objects whose keys are 0..n−1
 * become lists). Malformed files (truncated, oversized header, overlapping offsets,
 * unsupported dtypes) are rejected with a clear error before any large allocation.
 *
 * @param path The file.
 * @returns The pytree.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { load, save } from "@wax/wax";
 * const path = await Deno.makeTempFile();
 * await save(path, [np.array([1, 2]), null, 3]);
 * const t = await load<[np.Array, null, number]>(path);
 * assert(JSON.stringify(await t[0].tolist()) === "[1,2]" && t[1] === null && t[2] === 3);
 * await Deno.remove(path);
 * ```
 */
export async function load<T = PyTree>(path: string): Promise<T> {
  checkHost();
  using file = await openRead("load", path);
  const { entries, metadata, dataLen } = await readHeader(file, path);
  const data = await readExact(file, dataLen, "tensor data", path);
  const arrays = new Map<string, Array>();
  for (const e of entries) {
    const bytes = data.slice(e.begin, e.end);
    const typed = e.dtype === "float32"
      ? new Float32Array(bytes.buffer)
      : e.dtype === "int32"
      ? new Int32Array(bytes.buffer)
      : e.dtype === "uint32"
      ? new Uint32Array(bytes.buffer)
      : bytes;
    arrays.set(e.name, array(typed, { shape: e.shape, dtype: e.dtype }));
  }
  const enc = metadata[TREE_KEY];
  if (enc === undefined) return fromNames(entries.map((e) => e.name), arrays) as T;
  const decode = (x: Enc): unknown => {
    if (x === null) return null;
    if (globalThis.Array.isArray(x)) return x.map(decode);
    if ("t" in x) {
      const a = arrays.get(x.t);
      if (!a) throw new Error(`load: ${path}: the tree structure names a missing tensor ${JSON.stringify(x.t)}`);
      return a;
    }
    if ("n" in x) return Number(x.n);
    if ("b" in x) return x.b;
    if ("u" in x) return undefined;
    if ("d" in x) return Object.fromEntries(Object.entries(x.d).map(([k, v]) => [k, decode(v)]));
    throw new Error(`load: ${path}: malformed tree structure in the metadata`);
  };
  try {
    return decode(JSON.parse(enc)) as T;
  } catch (e) {
    throw new Error(`load: ${path}: cannot rebuild the tree from its metadata (${(e as Error).message})`);
  }
}
