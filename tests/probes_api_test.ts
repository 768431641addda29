/**
 * Probes of the API's edges (issue 11): jit's static-argument cache keys, integer weak
 * scalars out of range, plain-number leaves in checkpoints, async functions given to
 * transforms, PRNG keys and shapes, and the errors of load and vmap. Each probe returned a
 * wrong answer or an unclear error before its fix; the expected values are worked out by hand.
 */
import assert from "node:assert/strict";
import {
  type Array,
  customVjp,
  grad,
  jit,
  jvp,
  linearize,
  load,
  loadMetadata,
  makeJaxpr,
  np,
  random,
  save,
  valueAndGrad,
  vjp,
  vmap,
} from "../mod.ts";
import { assertAllclose } from "../core/testing.ts";

const scaleBy = (s: number) => (x: Array) => x.mul(s);

// ---- 1. jit: static arguments are keyed like JAX keys them ----

Deno.test("jit: a static function is keyed by identity, not by its source text", async () => {
  const f = jit((g: (x: Array) => Array, x: Array) => g(x), { staticArgnums: [0] });
  const x = np.array([1, 2]);
  const by2 = scaleBy(2), by3 = scaleBy(3);
  await assertAllclose(f(by2, x), [2, 4]);
  await assertAllclose(f(by3, x), [3, 6]); // same source text, different closure
  assert.equal(f.traceCount, 2);
  await assertAllclose(f(by2, x), [2, 4]);
  assert.equal(f.traceCount, 2, "the same function object reuses its program");
  // Functions inside a static object are keyed by identity too.
  const h = jit((cfg: { act: (x: Array) => Array }, x: Array) => cfg.act(x), { staticArgnums: [0] });
  await assertAllclose(h({ act: by2 }, x), [2, 4]);
  await assertAllclose(h({ act: by3 }, x), [3, 6]);
  assert.equal(h.traceCount, 2);
});

Deno.test("jit: static primitives are keyed by value (-0 apart from 0, NaN alike, bigint)", async () => {
  const f = jit((x: Array, s: unknown) => (Object.is(s, -0) ? x.neg() : x.add(typeof s === "number" ? 0 : 1)), {
    staticArgnums: [1],
  });
  const x = np.array([1, 2]);
  await assertAllclose(f(x, 0), [1, 2]);
  await assertAllclose(f(x, -0), [-1, -2]); // a distinct key: 1/-0 differs from 1/0
  assert.equal(f.traceCount, 2);
  f(x, NaN);
  f(x, Number("nan"));
  assert.equal(f.traceCount, 3, "every NaN is one key");
  await assertAllclose(f(x, "1"), [2, 3]);
  await assertAllclose(f(x, 1), [1, 2]);
  assert.equal(f.traceCount, 5, "the string '1' and the number 1 are different keys");
  f(x, 5n);
  f(x, 5n);
  f(x, null);
  f(x, undefined);
  f(x, true);
  assert.equal(f.traceCount, 9, "bigint, null, undefined and true are keys of their own");
});

Deno.test("jit: plain lists and objects are keyed by contents, class instances by identity", async () => {
  let runs = 0;
  const f = jit((x: Array, cfg: { k: number[] }) => {
    runs++;
    return x.mul(cfg.k[0] + cfg.k[1]);
  }, { staticArgnums: [1] });
  const x = np.array([1, 2]);
  await assertAllclose(f(x, { k: [1, 2] }), [3, 6]);
  await assertAllclose(f(x, { k: [1, 2] }), [3, 6]); // a new but equal object
  await assertAllclose(f(x, { k: [1, 3] }), [4, 8]);
  assert.equal(runs, 2);
  class Cfg {
    constructor(readonly k: number) {}
  }
  const g = jit((x: Array, c: Cfg) => x.mul(c.k), { staticArgnums: [1] });
  const c = new Cfg(2);
  g(x, c);
  g(x, c);
  g(x, new Cfg(2));
  assert.equal(g.traceCount, 2, "an instance is keyed by identity (JAX's default hash)");
  // A negative index counts from the end.
  const h = jit((s: number, x: Array) => x.mul(s), { staticArgnums: [-2] });
  await assertAllclose(h(3, x), [3, 6]);
  await assertAllclose(h(4, x), [4, 8]);
  assert.equal(h.traceCount, 2);
});

Deno.test("jit: arrays, typed arrays and cycles are rejected as static values", () => {
  const f = jit((_s: unknown, x: Array) => x, { staticArgnums: [0] });
  const x = np.array([1]);
  assert.throws(() => f(np.array([1, 2]), x), /jit: static argument 0 is a wax Array \(f32\[2\]\).*dynamic argument/);
  assert.throws(() => f({ w: [np.ones([1])] }, x), /jit: static argument 0\.w\[0\] is a wax Array/);
  assert.throws(() => f(new Float32Array(2), x), /jit: static argument 0 is a Float32Array/);
  const cyc: Record<string, unknown> = {};
  cyc.self = cyc;
  assert.throws(() => f(cyc, x), /jit: static argument 0\.self contains itself/);
  const g = jit((h: (x: Array) => Array, x: Array) => h(x));
  assert.throws(() => g(scaleBy(2), x), /jit: argument 0 is a function.*staticArgnums: \[0\]/);
  assert.throws(() => jit((x: Array) => x, { staticArgnums: [0.5] }), /staticArgnums must be a list of integer/);
  assert.throws(() => jit((x: Array) => x, { staticArgnums: [0], donateArgnums: [0] })(x), /both static and donated/);
});

// ---- 2. integers out of range of a weakly typed integer dtype ----

Deno.test("weak scalars: an integer out of an int32/uint32 array's range is an error, not a wrap", async () => {
  const i = np.array([1, 2], { dtype: "int32" });
  const u = np.array([0], { dtype: "uint32" });
  assert.throws(
    () => i.add(3e9),
    (e: Error) => e instanceof RangeError && /^add: the number 3000000000 does not fit int32/.test(e.message),
  );
  assert.throws(() => np.multiply(i, -(2 ** 31) - 1), /multiply: the number -2147483649 does not fit int32/);
  assert.throws(() => u.add(-1), /add: the number -1 does not fit uint32/);
  assert.throws(() => u.sub(2 ** 32), /subtract: the number 4294967296 does not fit uint32/);
  assert.throws(() => np.where(np.array([true, false]), i, 3e9), /where: the number 3000000000/);
  assert.throws(() => np.full([2], 3e9, { dtype: "int32" }), /full: the number 3000000000/);
  assert.throws(() => np.array([1, 3e9], { dtype: "int32" }), /array: the number 3000000000/);
  // A plain number passed to jit on its own: an integer beyond int32 is taken as a float (JS has one number
  // type), not wrapped to -1294967296 as it used to be.
  const scale = jit((x: Array, s: number) => x.mul(s));
  assert.deepEqual(await scale(np.array([1]), 3e9).tolist(), [3e9]);
  const wide = scale(np.array([2], { dtype: "int32" }), 3e9);
  assert.equal(wide.dtype, "float32");
  assert.deepEqual(await wide.tolist(), [6e9]);
  assert.equal((await np.array(3e9).tolist()) as number, 3e9);
  // The edges of the ranges are fine.
  assert.deepEqual(await np.array([0], { dtype: "int32" }).add(2 ** 31 - 1).tolist(), [2147483647]);
  assert.deepEqual(await np.array([0], { dtype: "int32" }).add(-(2 ** 31)).tolist(), [-2147483648]);
  assert.deepEqual(await u.add(2 ** 32 - 1).tolist(), [4294967295]);
  // Beside float32 a large integer is a float, as in JAX.
  assert.deepEqual(await np.array([1]).add(3e9).tolist(), [3e9]);
});

Deno.test("weak scalars: a non-integral number promotes an integer array to float32, as jnp", async () => {
  const i = np.array([1, 2], { dtype: "int32" });
  const y = i.add(2.5);
  assert.equal(y.dtype, "float32");
  assert.deepEqual(await y.tolist(), [3.5, 4.5]);
  const b = np.array([true, false]).add(3);
  assert.equal(b.dtype, "int32");
  assert.deepEqual(await b.tolist(), [4, 3]);
  assert.equal(np.array([1], { dtype: "uint32" }).mul(0.5).dtype, "float32");
  assert.equal(i.add(Infinity).dtype, "float32");
});

// ---- 3. plain-number leaves in checkpoints ----

Deno.test("save/load: -0, NaN and ±Infinity number leaves round-trip", async () => {
  const path = await Deno.makeTempFile({ suffix: ".safetensors" });
  try {
    await save(path, { a: -0, b: NaN, c: Infinity, d: -Infinity, e: [0, -0, 1.5e-45], w: np.array([-0]) });
    const t = await load<{ a: number; b: number; c: number; d: number; e: number[]; w: Array }>(path);
    assert.ok(Object.is(t.a, -0), `a = ${t.a}`);
    assert.ok(Number.isNaN(t.b));
    assert.equal(t.c, Infinity);
    assert.equal(t.d, -Infinity);
    assert.ok(Object.is(t.e[0], 0) && Object.is(t.e[1], -0) && t.e[2] === 1.5e-45);
    assert.ok(Object.is((await t.w.data())[0], -0));
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("load: a tensor named __proto__.x in a foreign file does not touch Object.prototype", async () => {
  const path = await Deno.makeTempFile({ suffix: ".safetensors" });
  try {
    const header = new TextEncoder().encode(
      JSON.stringify({
        "__proto__.polluted": { dtype: "F32", shape: [1], data_offsets: [0, 4] },
      }).padEnd(64, " "),
    );
    const bytes = new Uint8Array(8 + header.byteLength + 4);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(header.byteLength), true);
    bytes.set(header, 8);
    new DataView(bytes.buffer).setFloat32(8 + header.byteLength, 7, true);
    await Deno.writeFile(path, bytes);
    const t = await load<Record<string, { polluted: Array }>>(path);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.ok(Object.hasOwn(t, "__proto__"));
    assert.deepEqual(await t["__proto__"].polluted.tolist(), [7]);
  } finally {
    delete (Object.prototype as Record<string, unknown>).polluted;
    await Deno.remove(path);
  }
});

// ---- 4. async functions given to transforms ----

/** Runs `fn` with an `unhandledrejection` listener; returns the rejections seen over a few ticks. */
async function rejectionsDuring(fn: () => void): Promise<unknown[]> {
  const seen: unknown[] = [];
  const onRejection = (e: PromiseRejectionEvent) => {
    seen.push(e.reason);
    e.preventDefault();
  };
  globalThis.addEventListener("unhandledrejection", onRejection);
  try {
    fn();
    for (let i = 0; i < 3; i++) await new Promise((r) => setTimeout(r, 10));
  } finally {
    globalThis.removeEventListener("unhandledrejection", onRejection);
  }
  return seen;
}

Deno.test("transforms: an async function is one clear error and leaves no unhandled rejection", async () => {
  // deno-lint-ignore require-await
  const asyncFn = async (x: Array) => x.sum();
  // A plain function that returns a Promise: found only when it is called.
  const promising = (x: Array) => (async () => (await x.data(), x.sum()))();
  const x = np.array([1, 2]);
  // deno-lint-ignore no-explicit-any
  const uses: [string, (f: any) => unknown][] = [
    ["jit", (f) => jit(f)(x)],
    ["grad", (f) => grad(f)(x)],
    ["valueAndGrad", (f) => valueAndGrad(f)(x)],
    ["vjp", (f) => vjp(f, x)],
    ["linearize", (f) => linearize(f, x)],
    ["jvp", (f) => jvp(f, [x], [x])],
    ["vmap", (f) => vmap(f)(x)],
    ["makeJaxpr", (f) => makeJaxpr(f)(x)],
    ["customVjp", (f) => customVjp(f, ((y: Array) => [y.sum(), null]) as never, () => [x])(x)],
  ];
  for (const [op, use] of uses) {
    for (const f of [asyncFn, promising]) {
      const seen = await rejectionsDuring(() => {
        assert.throws(
          () => use(f),
          (e: Error) => e instanceof TypeError && e.message.startsWith(`${op} traces synchronous functions`),
        );
      });
      assert.deepEqual(seen, [], `${op}: no unhandled rejection after the error`);
    }
  }
  // The process is alive and the transforms still work.
  await assertAllclose(jit((y: Array) => y.mul(2))(x), [2, 4]);
});

// ---- 5. PRNG keys and shapes ----

Deno.test("random: every entry point checks its key and says how to make one", () => {
  const k = random.key(0);
  const logits = np.zeros([3]);
  const entries: [string, (key: unknown) => unknown][] = [
    ["split", (key) => random.split(key as Array)],
    ["foldIn", (key) => random.foldIn(key as Array, 1)],
    ["bits", (key) => random.bits(key as Array, [3])],
    ["uniform", (key) => random.uniform(key as Array, [3])],
    ["normal", (key) => random.normal(key as Array, [3])],
    ["bernoulli", (key) => random.bernoulli(key as Array, 0.5, [3])],
    ["randint", (key) => random.randint(key as Array, [3], 0, 5)],
    ["categorical", (key) => random.categorical(key as Array, logits)],
    ["permutation", (key) => random.permutation(key as Array, 4)],
    ["gumbel", (key) => random.gumbel(key as Array, [3])],
  ];
  const bad: [unknown, string][] = [
    [42, "the number 42"],
    ["k", 'the string "k"'],
    [undefined, "undefined"],
    [null, "null"],
    [{}, "a plain object"],
    [np.array([1, 2]), "an array of float32\\[2\\]"],
    [np.array([1, 2, 3], { dtype: "uint32" }), "an array of uint32\\[3\\]"],
  ];
  for (const [op, use] of entries) {
    use(k); // a real key is fine
    for (const [key, what] of bad) {
      assert.throws(
        () => use(key),
        new RegExp(`^TypeError: random\\.${op}: expected a PRNG key, got ${what}\\. .*random\\.key\\(seed\\)`),
      );
    }
  }
});

Deno.test("random: shapes, counts, seeds and fold-in data are validated where passed", async () => {
  const k = random.key(0);
  assert.throws(() => random.normal(k, [2.5]), /random\.normal: shape \[2\.5\] has dimension 2\.5 at axis 0/);
  assert.throws(() => random.uniform(k, [2, -1]), /random\.uniform: shape \[2,-1\] has dimension -1 at axis 1/);
  assert.throws(() => random.bits(k, 3 as unknown as number[]), /random\.bits: shape must be a list .*\(write \[3\]\)/);
  assert.throws(() => random.split(k, 2.5), /random\.split: num must be a non-negative integer/);
  assert.deepEqual(random.split(k, 0), []);
  assert.throws(() => random.foldIn(k, 2.5), /random\.foldIn: data must be an integer/);
  assert.throws(() => random.foldIn(k, np.array(2.5)), /random\.foldIn: data must be an integer/);
  assert.throws(
    () => random.uniform(k, [2], { minval: np.array(0) as unknown as number }),
    /minval and maxval must be plain numbers/,
  );
  assert.throws(() => random.randint(k, [2], 0.5, 3), /random\.randint: minval and maxval must be integers/);
  assert.throws(() => random.key(1.5), /random\.key: seed must be an integer/);
  assert.throws(() => random.key("7" as unknown as number), /random\.key: seed must be an integer .*the string "7"/);
  // Seeds of 2^32 and more keep their high word (JAX with 64-bit ints): no silent collision with small seeds.
  assert.deepEqual(await random.key(2 ** 32 + 5).tolist(), [1, 5]);
  assert.deepEqual(await random.key(5).tolist(), [0, 5]);
  assert.deepEqual(await random.key(-1).tolist(), [0, 4294967295]);
});

Deno.test("shapes: a negative or non-integral dimension names the op, the shape and the axis", () => {
  assert.throws(
    () => np.zeros([-3]),
    /^TypeError: zeros: shape \[-3\] has dimension -3 at axis 0; dimensions must be non-negative integers$/,
  );
  assert.throws(() => np.ones([2, 1.5]), /ones: shape \[2,1\.5\] has dimension 1\.5 at axis 1/);
  assert.throws(() => np.reshape(np.ones([3]), [-3]), /reshape: shape \[-3\] has dimension -3 at axis 0; .*one -1/);
  assert.throws(() => np.ones([3]).reshape([2.5]), /reshape: shape \[2\.5\] has dimension 2\.5 at axis 0/);
  assert.throws(() => np.reshape(np.ones([4]), [-1, -1]), /reshape: shape \[-1,-1\] has more than one -1/);
  assert.throws(() => np.broadcastTo(np.ones([1]), [-2]), /broadcastTo: shape \[-2\] has dimension -2 at axis 0/);
  assert.deepEqual(np.reshape(np.ones([6]), [2, -1]).shape, [2, 3]);
});

// ---- 6. errors of load and vmap ----

Deno.test("load/loadMetadata/save: file system errors name the op and the path and keep the cause", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const missing = `${dir}/missing.safetensors`;
    for (const [op, fn] of [["load", load], ["loadMetadata", loadMetadata]] as const) {
      const e = await fn(missing).then(() => null, (e: Error) => e);
      assert.ok(e instanceof Deno.errors.NotFound, `${op}: the error keeps its class`);
      assert.ok(e.message.startsWith(`${op}: cannot open ${missing}`), e.message);
      assert.ok(e.cause instanceof Deno.errors.NotFound, `${op}: the original error is the cause`);
    }
    const e = await save(`${dir}/no/such/folder/x.safetensors`, { a: 1 }).then(() => null, (e: Error) => e);
    assert.ok(e instanceof Deno.errors.NotFound);
    assert.match(e.message, /^save: cannot create a temporary file next to .*no\/such\/folder\/x\.safetensors/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("vmap: a mismatched inAxes says what its entries must match and how to fix it", () => {
  const x = np.ones([3]);
  assert.throws(
    () => vmap((a: Array) => a, { inAxes: [0, 0] })(x),
    /vmap: inAxes has 2 entries but the function was called with 1 positional argument\(s\); give inAxes one entry per positional argument/,
  );
  assert.throws(
    () => vmap((p: Array[]) => p[0], { inAxes: [[0, 0, 0]] })([x, x]),
    /vmap: inAxes\[0\] has 3 entries but the value there is a list of 2; make inAxes\[0\] match/,
  );
  assert.throws(
    () => vmap((p: { a: Array }) => p.a, { inAxes: [{ a: 0, b: 0 }] })({ a: x }),
    /vmap: inAxes\[0\] is an object with keys \{a, b\} but the value there is an object with keys \{a\}/,
  );
  assert.throws(
    () => vmap((a: Array) => [a, a], { outAxes: [0] })(x),
    /vmap: outAxes has 1 entries but the value there is a list of 2/,
  );
});
