import assert from "node:assert/strict";
import { type Array, grad, jit, np, random, tree } from "../mod.ts";
import { load, loadMetadata, save } from "../core/io.ts";
import * as nn from "../nn/mod.ts";
import * as optim from "../optim/mod.ts";

const dir = await Deno.makeTempDir({ prefix: "wax_io_test" });
const file = (name: string) => `${dir}/${name}`;
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

const bytesOf = async (a: Array) => {
  const d = await a.data();
  return globalThis.Array.from(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
};
async function assertTreesIdentical(a: tree.PyTree, b: tree.PyTree) {
  const [la, da] = tree.flatten<Array>(a);
  const [lb, db] = tree.flatten<Array>(b);
  assert.equal(tree.defKey(da), tree.defKey(db));
  for (let i = 0; i < la.length; i++) {
    if (typeof la[i] !== "object") {
      assert.equal(la[i], lb[i]);
      continue;
    }
    assert.equal(la[i].dtype, lb[i].dtype);
    assert.deepEqual(la[i].shape, lb[i].shape);
    assert.deepEqual(await bytesOf(lb[i]), await bytesOf(la[i]));
  }
}

/** Writes a raw safetensors file: `header` as JSON (or raw bytes) plus `data`. */
async function writeRaw(path: string, header: unknown, data: Uint8Array = new Uint8Array(), lenOverride?: bigint) {
  const head = new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + head.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lenOverride ?? BigInt(head.length), true);
  out.set(head, 8);
  out.set(data, 8 + head.length);
  await Deno.writeFile(path, out);
}

Deno.test("save/load round-trips every dtype and the exact tree structure", async () => {
  const t = {
    gen: { conv1: { w: random.normal(random.key(0), [2, 3, 3, 3]), b: np.zeros([2]) }, layers: [np.ones([1]), null] },
    key: random.key(42),
    step: np.array(17, { dtype: "int32" }),
    mask: np.array([true, false, true]),
    scalar: np.array(-0.0),
    lr: 0.125,
    flag: false,
  };
  await save(file("rt.safetensors"), t, { note: "hello" });
  const back = await load<typeof t>(file("rt.safetensors"));
  await assertTreesIdentical(back, t);
  assert.equal(back.lr, 0.125);
  assert.equal(back.gen.layers[1], null);
  assert.equal((await loadMetadata(file("rt.safetensors"))).note, "hello");

  // The layout, read independently: 8-byte LE length, padded JSON header, contiguous data.
  const raw = await Deno.readFile(file("rt.safetensors"));
  const n = Number(new DataView(raw.buffer).getBigUint64(0, true));
  assert.equal(n % 8, 0);
  const header = JSON.parse(new TextDecoder().decode(raw.subarray(8, 8 + n)));
  assert.deepEqual(header["gen.conv1.w"].shape, [2, 3, 3, 3]);
  assert.equal(header["gen.conv1.w"].dtype, "F32");
  assert.equal(header["key"].dtype, "U32");
  assert.equal(header["step"].dtype, "I32");
  assert.equal(header["mask"].dtype, "BOOL");
  assert.deepEqual(header["gen.layers.0"].data_offsets.length, 2);
  const [b, e] = header["gen.conv1.b"].data_offsets;
  assert.deepEqual(globalThis.Array.from(new Float32Array(raw.slice(8 + n + b, 8 + n + e).buffer)), [0, 0]);
});

Deno.test("training resumes bit-identically: N+M steps vs N, save, load, M", async () => {
  const net = nn.serial({ fc1: nn.dense(16), act: nn.tanh, drop: nn.dropout(0.2), fc2: nn.dense(1) });
  const init = net.init(random.key(0), [32, 4]);
  const x = random.normal(random.key(1), [32, 4]);
  const y = np.sin(x.sum(1, true));
  const opt = optim.adamw(optim.warmupCosineDecay({ peakValue: 0.02, warmupSteps: 3, decaySteps: 20 }));
  type P = typeof init.params;
  type Ckpt = { params: P; opt: optim.StateOf<typeof opt>; key: Array; step: Array };
  const step = jit((c: Ckpt): Ckpt => {
    const [k, sub] = random.split(c.key);
    const loss = (p: P) => nn.mse(net.apply(p, x, { training: true, key: sub }), y);
    const [u, s] = opt.update(grad(loss)(c.params), c.opt, c.params);
    return { params: optim.applyUpdates(c.params, u), opt: s, key: k, step: c.step.add(1) };
  });
  const start: Ckpt = {
    params: init.params,
    opt: opt.init(init.params),
    key: random.key(7),
    step: np.array(0, { dtype: "int32" }),
  };
  let straight = start;
  for (let i = 0; i < 10; i++) straight = step(straight);
  let resumed = start;
  for (let i = 0; i < 4; i++) resumed = step(resumed);
  await save(file("ckpt.safetensors"), resumed);
  resumed = await load<Ckpt>(file("ckpt.safetensors"));
  for (let i = 0; i < 6; i++) resumed = step(resumed);
  assert.equal(await resumed.step.item(), 10);
  await assertTreesIdentical(resumed, straight);
});

Deno.test("malformed files give clear errors", async () => {
  const p = file("bad.safetensors");
  const f32 = (v: number[]) => new Uint8Array(new Float32Array(v).buffer);
  await Deno.writeFile(p, new Uint8Array([1, 2, 3]));
  await assert.rejects(load(p), /truncated \(3 bytes\)/);
  await writeRaw(p, {}, new Uint8Array(), 2n ** 60n);
  await assert.rejects(load(p), /exceeds the 100000000-byte limit/);
  await writeRaw(p, {}, new Uint8Array(), 5000n);
  await assert.rejects(load(p), /exceeds the file/);
  await writeRaw(p, "{not json");
  await assert.rejects(load(p), /not valid JSON/);
  const two = {
    a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
    b: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
  };
  await writeRaw(p, two, f32([1, 2, 3]));
  await assert.rejects(load(p), /overlaps/);
  await writeRaw(p, { a: { dtype: "F16", shape: [2], data_offsets: [0, 4] } }, f32([1]));
  await assert.rejects(load(p), /unsupported dtype "F16"/);
  await writeRaw(p, { a: { dtype: "F32", shape: [1000000], data_offsets: [0, 4000000] } }, f32([1]));
  await assert.rejects(load(p), /run past the 4 data bytes/);
  await writeRaw(p, { a: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, f32([1, 2]));
  await assert.rejects(load(p), /needs 12 bytes/);
  await writeRaw(p, { a: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, f32([1, 2]));
  await assert.rejects(load(p), /trailing bytes/);
  await writeRaw(p, { a: { dtype: "I32", shape: [-1], data_offsets: [0, 4] } }, f32([1]));
  await assert.rejects(load(p), /non-negative integers/);
  // A well-formed foreign file (no wax structure) nests by name, lists from 0..n-1 keys.
  await writeRaw(p, {
    "m.layers.0.w": { dtype: "F32", shape: [1], data_offsets: [0, 4] },
    "m.layers.1.w": { dtype: "I32", shape: [], data_offsets: [4, 8] },
  }, new Uint8Array([...f32([1.5]), 7, 0, 0, 0]));
  const t = await load<{ m: { layers: { w: Array }[] } }>(p);
  assert.equal(await t.m.layers[0].w.item(), 1.5);
  assert.equal(await t.m.layers[1].w.item(), 7);
  assert.equal(t.m.layers[1].w.dtype, "int32");
});

Deno.test("writes are atomic: a failed save leaves the old file and no temp files", async () => {
  const p = file("atomic.safetensors");
  await save(p, { w: np.array([1, 2]) });
  await assert.rejects(save(p, { "bad.key": np.array([3]) }), /contains "."/);
  await assert.rejects(save(p, { w: np.array([3]) }, { "wax.tree": "x" }), /reserved/);
  const back = await load<{ w: Array }>(p);
  assert.deepEqual(await back.w.tolist(), [1, 2]);
  await save(p, { w: np.array([5]) });
  assert.deepEqual(await (await load<{ w: Array }>(p)).w.tolist(), [5]);
  const names = [...Deno.readDirSync(dir)].map((e) => e.name);
  assert.ok(!names.some((n) => n.endsWith(".tmp")), `temp files left: ${names}`);
});

const python = "/usr/bin/python3";
const hasSafetensors = (() => {
  try {
    return new Deno.Command(python, { args: ["-c", "import safetensors.numpy, numpy"], stderr: "null", stdout: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "interop with Python's safetensors, both ways",
  ignore: !hasSafetensors,
  fn: async () => {
    const ours = file("from_wax.safetensors");
    const theirs = file("from_py.safetensors");
    await save(ours, { gen: { w: np.array([[1.5, -2], [3, 4]]) }, ids: np.array([7, -1], { dtype: "int32" }) });
    const script = `
import sys, numpy as np
from safetensors.numpy import load_file, save_file
t = load_file(sys.argv[1])
assert t["gen.w"].dtype == np.float32 and t["gen.w"].tolist() == [[1.5, -2.0], [3.0, 4.0]], t
assert t["ids"].dtype == np.int32 and t["ids"].tolist() == [7, -1], t
save_file({"enc.b": np.arange(3, dtype=np.float32) / 4, "enc.n": np.array([5, 6], dtype=np.uint32),
           "mask": np.array([True, False])}, sys.argv[2], metadata={"by": "python"})
print("ok")`;
    const out = await new Deno.Command(python, { args: ["-c", script, ours, theirs] }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const t = await load<{ enc: { b: Array; n: Array }; mask: Array }>(theirs);
    assert.deepEqual(await t.enc.b.tolist(), [0, 0.25, 0.5]);
    assert.equal(t.enc.n.dtype, "uint32");
    assert.deepEqual(await t.enc.n.tolist(), [5, 6]);
    assert.equal(t.mask.dtype, "bool");
    assert.deepEqual(await t.mask.tolist(), [1, 0]);
    assert.equal((await loadMetadata(theirs)).by, "python");
  },
});
