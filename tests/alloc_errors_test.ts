/**
 * A failed allocation raises one clear error (the operation, the shape, the bytes, and on
 * WebGPU the device's limit) and leaves the backend fully usable: the next operations give the
 * right values and `memoryStats()` is where it was. On cpu and (where an adapter exists) WebGPU.
 */
import assert from "node:assert/strict";
import { type Array, jit, memoryStats, np, useBackend } from "../mod.ts";
import { type BackendName, defaultBackend } from "../core/backend/backend.ts";
import { gpuTest, webgpu } from "./webgpu_util.ts";

/** 2^38 float32 values: 1 TiB, more than any device buffer or V8 array buffer may hold. */
const HUGE = [2 ** 40 / 4];

/** Runs `fn` with `name` as the default backend, then restores the previous one. */
async function on(name: BackendName, fn: () => Promise<void>): Promise<void> {
  if (name === "webgpu") await webgpu();
  const prev = defaultBackend().name;
  await useBackend(name);
  try {
    await fn();
  } finally {
    await useBackend(prev);
  }
}

/**
 * Checks that `fail` throws a message matching `message`, and that the backend then works with
 * no array left behind. (`fail` runs twice: the first run also makes the cached scalar
 * constants and traces; the second must leave `memoryStats()` as it found it.)
 */
async function failsCleanly(name: BackendName, fail: () => unknown, message: RegExp): Promise<void> {
  const x = np.array([1, 2, 3]);
  const fails = () =>
    assert.throws(fail, (e: Error) => {
      assert.match(e.message, message);
      return true;
    });
  fails();
  const before = memoryStats()[name];
  fails();
  assert.deepEqual(memoryStats()[name], before, "memoryStats after the failed allocation");
  // Two unrelated operations afterwards give the right values.
  assert.deepEqual(await x.add(1).tolist(), [2, 3, 4]);
  assert.deepEqual(await np.arange(3).tolist(), [0, 1, 2]);
  const y: Array = x.mul(2);
  assert.deepEqual(await y.tolist(), [2, 4, 6]);
}

Deno.test("cpu: a failed allocation names the op, shape and bytes and leaves the backend usable", async () => {
  await on("cpu", async () => {
    await failsCleanly(
      "cpu",
      () => np.zeros(HUGE),
      /^broadcastInDim: out of memory computing \[274877906944\] float32: cannot allocate 1099511627776 bytes on the cpu backend/,
    );
    // Inside a jitted call: the whole call fails, and nothing it made stays alive.
    const f = jit((x: Array) => [x.add(1), np.zeros(HUGE)]);
    const arg = np.array([1, 2, 3]);
    await failsCleanly("cpu", () => f(arg), /^jitCall: out of memory .*cannot allocate 1099511627776 bytes/);
  });
});

Deno.test({
  name: "webgpu: a failed allocation names the op, shape, bytes and device limit and leaves the backend usable",
  ...gpuTest,
  fn: async () => {
    await on("webgpu", async () => {
      const limit = /its limit is .* per buffer \((maxStorageBufferBindingSize|maxBufferSize)\)/;
      await failsCleanly(
        "webgpu",
        () => np.zeros(HUGE),
        /^broadcastInDim \(computing \[274877906944\] float32\): cannot allocate 1 TiB \(1099511627776 bytes\) on the WebGPU device/,
      );
      await failsCleanly("webgpu", () => np.zeros(HUGE), limit);
      // Inside a jitted call, after other work was recorded: the step that failed is named, the
      // buffers the call had made go back to the pool, and nothing it made stays alive.
      const f = jit((x: Array) => [x.add(1), x.mul(2).sum(), np.zeros(HUGE)]);
      const step = /^jitCall > broadcastInDim \(computing \[274877906944\] float32\): cannot allocate 1 TiB/;
      const arg = np.array([1, 2, 3]);
      await failsCleanly("webgpu", () => f(arg), step);
    });
  },
});
