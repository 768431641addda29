/**
 * Importing wax's libraries computes nothing: layers, models and configurations are
 * descriptions until a program runs them. (A model module once built and initialised nets at
 * import, which made every example start slower and, on Mesa's software Vulkan driver, made an
 * example that exited on a bad flag crash while the driver was still compiling those kernels.)
 */
import assert from "node:assert/strict";
import { useBackend } from "../mod.ts";
import { counters } from "../core/backend/webgpu/device.ts";

const adapter = await globalThis.navigator?.gpu?.requestAdapter().catch(() => null);

Deno.test({
  name: "importing nn, optim and the models runs no GPU work",
  ignore: !adapter,
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  await useBackend("webgpu");
  const before = { ...counters };
  await import("../nn/mod.ts");
  await import("../optim/mod.ts");
  await import("../models/mod.ts");
  await import("../models/data/mod.ts");
  assert.deepEqual(counters, before, "GPU dispatches, pipelines or buffers made while importing the libraries");
});
