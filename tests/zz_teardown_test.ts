/**
 * Runs last (test files run in name order). `deno test` runs each test module in its own isolate
 * on its own thread; on Mesa's GL driver a thread that used EGL keeps state in libEGL that both the
 * process's exit (libEGL's destructor) and the thread's own shutdown free, and when the two meet
 * the process aborts at exit after a green suite (reproduced with no wax code by
 * `tests/exit_race/repro.ts`). `deno task test` therefore keeps WebGPU off the GL backend
 * (`DENO_WEBGPU_BACKEND=vulkan,metal,dx12`). This checks that a WebGPU device in the test process
 * really left libEGL unloaded, so the suite cannot silently go back to the racy driver.
 */
import assert from "node:assert/strict";

const adapter = await globalThis.navigator?.gpu?.requestAdapter().catch(() => null);

Deno.test({
  name: "webgpu: the test process runs WebGPU without EGL (the GL backend races the process exit)",
  ignore: !adapter || Deno.build.os !== "linux",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const device = await adapter!.requestDevice();
  const maps = await Deno.readTextFile("/proc/self/maps");
  const egl = maps.split("\n").find((line) => /libEGL/.test(line));
  device.destroy();
  assert.equal(
    egl,
    undefined,
    `WebGPU loaded ${egl?.trim().split(/\s+/).at(-1)}: run the tests with \`deno task test\`, which sets ` +
      `DENO_WEBGPU_BACKEND=vulkan,metal,dx12 (install Mesa's lavapipe, Debian's mesa-vulkan-drivers, for a ` +
      `software adapter); see tests/exit_race/repro.ts for why`,
  );
});
