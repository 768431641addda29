/**
 * Loaded before every test module (`deno task test` passes `--preload`): each test, passed or
 * failed, ends by waiting for the WebGPU device to finish the work it was given. `deno test` runs
 * each module in its own isolate and drops it, and the device with it, when the module ends;
 * wgpu gives unfinished GPU work about six seconds and then aborts the whole process, which
 * Mesa's software adapter can exceed on a loaded machine.
 * @module
 */
import { tmpdir } from "node:os";
import { webgpuIdle } from "../core/backend/webgpu/mod.ts";

// Mesa's Vulkan driver probes for a Wayland display and, where XDG_RUNTIME_DIR is unset (CI, containers),
// prints "error: XDG_RUNTIME_DIR is invalid or not set" on stderr, in this process and in every example the
// tests run as a subprocess, whose stderr the tests read. Any absolute path keeps it quiet (nothing is written there).
if (!Deno.env.get("XDG_RUNTIME_DIR")) Deno.env.set("XDG_RUNTIME_DIR", tmpdir());

type TestFn = (t: Deno.TestContext) => void | Promise<void>;
type Registrar = (...args: unknown[]) => void;

/** `fn`, then wait for the GPU, whatever `fn` did. */
function thenIdle(fn: TestFn): TestFn {
  return async (t) => {
    try {
      await fn(t);
    } finally {
      await webgpuIdle();
    }
  };
}

/** A registrar like `register` whose test function (in any of `Deno.test`'s call forms) ends with `thenIdle`. */
function wrapped(register: Registrar): Registrar {
  return (...args) =>
    register(
      ...args.map((a) =>
        typeof a === "function"
          ? thenIdle(a as TestFn)
          : typeof a === "object" && a !== null && typeof (a as { fn?: unknown }).fn === "function"
          ? { ...a, fn: thenIdle((a as { fn: TestFn }).fn) }
          : a
      ),
    );
}

const test = Deno.test as unknown as Registrar & { only: Registrar; ignore: Registrar };
Object.defineProperty(Deno, "test", {
  value: Object.assign(wrapped(test), { only: wrapped(test.only), ignore: wrapped(test.ignore) }),
});
