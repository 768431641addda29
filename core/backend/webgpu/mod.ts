/**
 * The WebGPU backend: WGSL generated per (primitive, shapes, dtypes), pipelines cached by
 * source, buffers from a size-bucketed pool, eager ops recorded into a pending encoder that
 * is submitted lazily, and each jitted call recorded whole and submitted once.
 * Importing this module registers the backend; `await useBackend("webgpu")` creates the device.
 * @module
 */
import type { Array, Aval } from "../../array.ts";
import { allocTyped, type TypedArray } from "../../dtype.ts";
import { sizeOf } from "../../shape.ts";
import type { Buffers, KernelName, Params } from "../../primitives/types.ts";
import { type Backend, registerBackend, wrap } from "../backend.ts";
import { type Buf, counters, Gpu, gpuError, resetCounters } from "./device.ts";
import { gpuBuffers } from "./executor.ts";
import { setFusionLimit } from "./fusion.ts";
import type { GpuKernel, GpuKernels } from "./kernel_types.ts";
import { contractKernels } from "./kernels/contract.ts";
import { aliasIfIdentity, elementwiseKernels } from "./kernels/elementwise.ts";
import { indexingKernels } from "./kernels/indexing.ts";
import { movementKernels } from "./kernels/movement.ts";
import { randomKernels } from "./kernels/random.ts";
import { reduceKernels } from "./kernels/reduce.ts";
import { scanKernels } from "./kernels/scan.ts";
import { windowKernels } from "./kernels/window.ts";

export { counters, resetCounters };

const kernels: GpuKernels = {
  ...elementwiseKernels,
  ...reduceKernels,
  ...scanKernels,
  ...movementKernels,
  ...indexingKernels,
  ...contractKernels,
  ...windowKernels,
  ...randomKernels,
};

/** The subset of adapter info {@link isSoftwareAdapter} looks at. */
export interface AdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}

/**
 * True for software adapters (Mesa llvmpipe/lavapipe, SwiftShader, Microsoft Basic Render,
 * or any adapter flagged as a fallback): correct but slow, so cpu stays the default there.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { isSoftwareAdapter } from "./mod.ts";
 * assert(isSoftwareAdapter({ description: "llvmpipe (LLVM 15.0.6, 256 bits)" }));
 * ```
 */
export function isSoftwareAdapter(info: AdapterInfoLike): boolean {
  if (info.isFallbackAdapter) return true;
  const text = [info.vendor, info.architecture, info.device, info.description].join(" ").toLowerCase();
  return /llvmpipe|lavapipe|swiftshader|software|basic render|softpipe/.test(text);
}

/**
 * Mesa's Vulkan drivers look for a Wayland display when an adapter is requested and, where
 * XDG_RUNTIME_DIR is unset (servers, containers, CI), print "error: XDG_RUNTIME_DIR is invalid
 * or not set" on stderr. Any absolute path keeps them quiet (nothing is written there); the
 * variable is set only when it is unset and the process may write its environment.
 */
function quietWaylandProbe(): void {
  try {
    const d = (globalThis as { Deno?: typeof Deno }).Deno;
    if (d?.build.os !== "linux" || d.permissions.querySync({ name: "env" }).state !== "granted") return;
    if (!d.env.get("XDG_RUNTIME_DIR")) d.env.set("XDG_RUNTIME_DIR", "/tmp");
  } catch {
    // No permission API or environment: nothing to quiet.
  }
}

/**
 * True when the platform offers a hardware WebGPU adapter (not a software one), which makes
 * webgpu the default backend.
 *
 * @example
 * ```ts
 * import { hasHardwareAdapter } from "./mod.ts";
 * console.log(await hasHardwareAdapter());
 * ```
 */
export async function hasHardwareAdapter(): Promise<boolean> {
  try {
    quietWaylandProbe();
    const adapter = await navigator.gpu?.requestAdapter();
    if (!adapter) return false;
    const fallback = (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter;
    return !isSoftwareAdapter({ ...adapter.info, description: adapter.info.description, isFallbackAdapter: fallback });
  } catch {
    return false;
  }
}

/** The WebGPU backend. */
export class WebGpuBackend implements Backend {
  readonly name = "webgpu" as const;
  readonly buffers: Buffers<Buf>;
  constructor(readonly gpu: Gpu) {
    this.buffers = gpuBuffers(gpu, kernels);
  }

  fromHost(data: TypedArray, aval: Aval): unknown {
    this.gpu.check();
    const n = sizeOf(aval.shape);
    return this.gpu.scoped("array", [aval], () => {
      const words = aval.dtype === "bool" ? Uint32Array.from(data) : data;
      return this.gpu.upload(words, 4 * n);
    });
  }

  async read(handle: unknown, aval: Aval): Promise<TypedArray> {
    const n = sizeOf(aval.shape);
    const bytes = await this.gpu.download(handle as Buf, 4 * n);
    switch (aval.dtype) {
      case "float32":
        return new Float32Array(bytes);
      case "int32":
        return new Int32Array(bytes);
      case "uint32":
        return new Uint32Array(bytes);
      case "bool": {
        const out = allocTyped("bool", n);
        out.set(new Uint32Array(bytes));
        return out;
      }
    }
  }

  release(handle: unknown): void {
    this.gpu.release(handle as Buf);
  }

  async ready(): Promise<void> {
    // Work is queued in order: once everything submitted so far is done, so is this buffer.
    this.gpu.flush();
    await this.gpu.device.queue.onSubmittedWorkDone();
    this.gpu.check();
  }

  execute<K extends KernelName>(prim: K, args: Array[], params: Params[K], outAvals: Aval[]): Array[] {
    this.gpu.check();
    const ins = args.map((a) => a.buffer(prim).handle as Buf);
    const inAvals = args.map((a) => a.aval);
    // A failure (e.g. a buffer over the device's limits) throws one error naming the operation
    // and leaves no buffer behind: the next operation runs as if this one never happened.
    const outs = this.gpu.scoped(prim, outAvals, () => {
      const alias = aliasIfIdentity(prim, ins, inAvals, params);
      const made = alias ? [alias] : (kernels[prim] as GpuKernel<Params[K]>)(this.gpu, ins, inAvals, params, outAvals);
      this.gpu.maybeFlush();
      return made;
    });
    return outs.map((o, i) => wrap(this, o, outAvals[i]));
  }

  /** A structural operation (a jitted call, scan…): recorded whole, then submitted once. */
  operation(op: string, args: Array[], outAvals: Aval[], body: (ins: unknown[]) => unknown[]): Array[] {
    this.gpu.check();
    const ins = args.map((a) => a.buffer(op).handle as Buf);
    const outs = this.gpu.scoped(op, outAvals, () => {
      const made = body(ins) as Buf[];
      this.gpu.flush();
      return made;
    });
    return outs.map((o, i) => wrap(this, o, outAvals[i]));
  }

  /** Submits pending eager work now. */
  flush(): void {
    this.gpu.flush();
  }
}

let instance: WebGpuBackend | null = null;

/** Creates (once) the WebGPU device and backend, with errors that say what to do instead. */
export async function createWebGpu(): Promise<WebGpuBackend> {
  if (instance) return instance;
  const nav = globalThis.navigator as Navigator & { gpu?: GPU };
  if (!nav?.gpu) throw gpuError("this runtime has no navigator.gpu (WebGPU is unavailable)");
  quietWaylandProbe();
  const adapter = await nav.gpu.requestAdapter();
  if (!adapter) throw gpuError("no WebGPU adapter found (navigator.gpu.requestAdapter() returned null)");
  const lim = adapter.limits;
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({
      requiredLimits: {
        maxStorageBuffersPerShaderStage: Math.min(16, lim.maxStorageBuffersPerShaderStage),
        maxStorageBufferBindingSize: lim.maxStorageBufferBindingSize,
        maxBufferSize: lim.maxBufferSize,
      },
    });
  } catch (e) {
    throw gpuError(`requesting a device failed: ${(e as Error).message}`);
  }
  const gpu = new Gpu(device, adapter.info);
  gpu.software = isSoftwareAdapter(adapter.info);
  setFusionLimit(gpu.maxStorage);
  instance = new WebGpuBackend(gpu);
  return instance;
}

/** The WebGPU backend if it was created, else null. */
export function webgpuInstance(): WebGpuBackend | null {
  return instance;
}

/**
 * Submits pending work and waits until the GPU has finished everything wax gave it in this
 * isolate (no-op when no WebGPU backend was created, or once the device is lost). Dropping a
 * device with work still running makes wgpu wait about six seconds and then abort the process,
 * which a software adapter under load can exceed: the test harness calls this after every test
 * so each test module's isolate ends with an idle device.
 *
 * @example
 * ```ts
 * import { webgpuIdle } from "./mod.ts";
 * await webgpuIdle(); // nothing to wait for: no device was created here
 * ```
 */
export async function webgpuIdle(): Promise<void> {
  const gpu = instance?.gpu;
  if (!gpu || gpu.lost) return;
  gpu.flush();
  await gpu.device.queue.onSubmittedWorkDone();
}

/** Direct access to the WebGPU kernel table (tests and benchmarks). */
export function webgpuKernels(): GpuKernels {
  return kernels;
}

registerBackend("webgpu", createWebGpu);
