/**
 * Runs last (test files run in name order): waits until the WebGPU device has finished every
 * submitted command and destroys the pooled buffers, so the process exits with the driver idle.
 * (One run of the suite on Mesa's software adapter aborted inside the driver at exit, after all
 * tests had passed, while GPU work could still be in flight.)
 */
import assert from "node:assert/strict";
import { webgpuInstance } from "../core/backend/webgpu/mod.ts";

Deno.test("webgpu: no device error over the whole suite; the device is left idle with an empty pool", async () => {
  const gpu = webgpuInstance()?.gpu;
  if (!gpu) return; // the suite never created a WebGPU device
  gpu.flush();
  await gpu.device.queue.onSubmittedWorkDone();
  gpu.trim();
  await gpu.device.queue.onSubmittedWorkDone();
  assert.equal(gpu.pool.size, 0);
  gpu.check();
});
