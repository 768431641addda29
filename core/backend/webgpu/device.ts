/**
 * The WebGPU device, the size-bucketed buffer pool, the pending command encoder that eager
 * ops and jitted calls record into, the pipeline cache and the instrumentation counters.
 * @module
 */

/** A reference-counted GPU buffer (arrays that alias one buffer, e.g. reshape, share it). */
export interface Buf {
  /** The buffer (its size is the pool bucket, at least `bytes`). */
  readonly buffer: GPUBuffer;
  /** Bytes in use. */
  readonly bytes: number;
  /** Holders: arrays and in-flight programs. */
  refs: number;
}

/** Counters for tests and benchmarks. */
export const counters = { submits: 0, dispatches: 0, pipelines: 0, buffersCreated: 0 };

/** Resets the counters to zero. */
export function resetCounters(): void {
  counters.submits = 0;
  counters.dispatches = 0;
  counters.pipelines = 0;
  counters.buffersCreated = 0;
}

const USAGE = 0x80 /* STORAGE */ | 0x4 /* COPY_SRC */ | 0x8; /* COPY_DST */

/** Rounds a byte size up to its pool bucket: 2^k or 1.5·2^k, at least 16. */
export function bucketOf(bytes: number): number {
  if (bytes <= 16) return 16;
  const p = 2 ** Math.ceil(Math.log2(bytes));
  return bytes <= p * 0.75 ? p * 0.75 : p;
}

/**
 * A byte count for messages, short and exact.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { formatBytes } from "./device.ts";
 * assert.equal(formatBytes(2 ** 42), "4 TiB (4398046511104 bytes)");
 * assert.equal(formatBytes(12), "12 bytes");
 * ```
 */
export function formatBytes(n: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let k = 0;
  while (k < units.length - 1 && n >= 1024 ** (k + 1)) k++;
  const short = k === 0 ? `${n} bytes` : `${+(n / 1024 ** k).toPrecision(3)} ${units[k]}`;
  return k === 0 ? short : `${short} (${n} bytes)`;
}

/** The operation being recorded, for error messages: its name and the shapes/dtypes of its results. */
export interface OpContext {
  op: string;
  avals: readonly { readonly shape: readonly number[]; readonly dtype: string }[];
}

const describe = (c: OpContext | null) =>
  c
    ? `${c.op} (computing ${c.avals.map((a) => `[${a.shape.join(", ")}] ${a.dtype}`).join(", ") || "no result"})`
    : "webgpu";

/** Wraps an error with what happened and what to do. */
export function gpuError(what: string): Error {
  return new Error(`webgpu: ${what}. The cpu backend is available: await useBackend("cpu")`);
}

/** One dispatch: WGSL source, read-only inputs, read-write outputs and workgroup counts. */
export interface Dispatch {
  code: string;
  ins: Buf[];
  outs: Buf[];
  groups: [number, number?, number?];
}

/** The device and everything that records work on it. */
export class Gpu {
  readonly pool = new Map<number, GPUBuffer[]>();
  readonly pipelines = new Map<string, GPUComputePipeline>();
  readonly layouts = new Map<string, GPUBindGroupLayout>();
  encoder: GPUCommandEncoder | null = null;
  pass: GPUComputePassEncoder | null = null;
  pendingDispatches = 0;
  /** Nesting depth of programs being recorded (no eager flushes inside). */
  recording = 0;
  lost: string | null = null;
  lastError: string | null = null;
  /** Submit eager work after this many dispatches. */
  flushEvery = 64;
  readonly maxStorage: number;
  readonly scratchCopies: GPUBuffer[] = [];
  /** True on a software adapter (llvmpipe, lavapipe, SwiftShader): kernels avoid workgroup barriers. */
  software = false;
  /** The operation being recorded (allocation and device errors name it). */
  context: OpContext | null = null;
  /** Buffers allocated by the operation being recorded (see {@link Gpu.scoped}). */
  made: Buf[] | null = null;
  /** Buffers the device failed to create (out of memory): destroyed, never pooled. */
  readonly failed = new WeakSet<GPUBuffer>();

  constructor(readonly device: GPUDevice, readonly info: GPUAdapterInfo) {
    this.maxStorage = device.limits.maxStorageBuffersPerShaderStage;
    device.lost.then((l) => {
      this.lost = `device lost (${l.reason}): ${l.message}`;
    });
    device.addEventListener("uncapturederror", (e) => {
      const err = (e as GPUUncapturedErrorEvent).error;
      this.lastError = err instanceof GPUOutOfMemoryError ? `out of GPU memory: ${err.message}` : err.message;
    });
  }

  /** Throws a descriptive error if the device was lost or reported an error. */
  check(): void {
    if (this.lost) throw gpuError(this.lost);
    if (this.lastError) {
      const e = this.lastError;
      this.lastError = null;
      throw gpuError(e);
    }
  }

  /**
   * Runs `fn`, which records operation `op` with results `avals`, so that a failure leaves the
   * backend as it was: errors name the operation, and the buffers it allocated and still holds
   * go back to the pool.
   */
  scoped<T>(op: string, avals: OpContext["avals"], fn: () => T): T {
    const outer = { context: this.context, made: this.made };
    const made: Buf[] = [];
    this.context = { op, avals };
    this.made = made;
    try {
      return fn();
    } catch (e) {
      for (const b of made) {
        if (b.refs > 0) {
          b.refs = 1;
          this.release(b);
        }
      }
      throw e;
    } finally {
      this.context = outer.context;
      this.made = outer.made;
      for (const b of made) outer.made?.push(b);
    }
  }

  /**
   * The pool bucket of a `bytes`-byte buffer, checked against the device's limits: every buffer
   * is bound whole as storage, so none may exceed maxStorageBufferBindingSize.
   */
  private sizeFor(bytes: number): number {
    const lim = this.device.limits;
    const max = Math.min(lim.maxStorageBufferBindingSize, lim.maxBufferSize);
    if (bytes > max) {
      const which = max === lim.maxBufferSize ? "maxBufferSize" : "maxStorageBufferBindingSize";
      throw new RangeError(
        `${describe(this.context)}: cannot allocate ${formatBytes(bytes)} on the WebGPU device ` +
          `(${this.info.description || this.info.vendor || "adapter"}): its limit is ${formatBytes(max)} per buffer ` +
          `(${which}). Use smaller arrays (e.g. split the batch), or the cpu backend: await useBackend("cpu")`,
      );
    }
    const size = bucketOf(bytes);
    return size <= max ? size : Math.ceil(bytes / 4) * 4;
  }

  /** Creates a buffer; a failure the device reports later (out of memory) names the operation. */
  private create(size: number): GPUBuffer {
    const what = describe(this.context);
    this.device.pushErrorScope("out-of-memory");
    const buffer = this.device.createBuffer({ size, usage: USAGE });
    this.device.popErrorScope().then((e) => {
      if (!e) return;
      this.failed.add(buffer);
      this.lastError ??= `${what}: out of GPU memory allocating ${formatBytes(size)}: ${e.message}`;
    }, () => {});
    counters.buffersCreated++;
    return buffer;
  }

  /** A buffer of at least `bytes` bytes from the pool (one reference). */
  alloc(bytes: number): Buf {
    const size = this.sizeFor(bytes);
    const buffer = this.pool.get(size)?.pop() ?? this.create(size);
    const b = { buffer, bytes, refs: 1 };
    this.made?.push(b);
    return b;
  }

  /** Drops one reference; the last one returns the buffer to the pool. */
  release(b: Buf): void {
    if (--b.refs > 0) return;
    if (b.refs < 0) throw new Error("webgpu: buffer released twice");
    if (this.failed.has(b.buffer)) return b.buffer.destroy();
    const size = b.buffer.size;
    let list = this.pool.get(size);
    if (!list) this.pool.set(size, list = []);
    list.push(b.buffer);
  }

  /** Destroys every pooled buffer. */
  trim(): void {
    this.flush();
    for (const list of this.pool.values()) for (const b of list) b.destroy();
    this.pool.clear();
  }

  /** The pending encoder (created on demand). */
  enc(): GPUCommandEncoder {
    return this.encoder ??= this.device.createCommandEncoder();
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  /** Records a buffer-to-buffer copy (offsets and size in bytes, multiples of 4). */
  copy(src: GPUBuffer, srcOff: number, dst: GPUBuffer, dstOff: number, bytes: number): void {
    if (bytes <= 0) return;
    this.endPass();
    this.enc().copyBufferToBuffer(src, srcOff, dst, dstOff, bytes);
  }

  private layout(nIn: number, nOut: number): GPUBindGroupLayout {
    const key = `${nIn},${nOut}`;
    let l = this.layouts.get(key);
    if (!l) {
      const entries: GPUBindGroupLayoutEntry[] = [];
      for (let i = 0; i < nIn + nOut; i++) {
        entries.push({
          binding: i,
          visibility: 4, // COMPUTE
          buffer: { type: i < nIn ? "read-only-storage" : "storage" },
        });
      }
      l = this.device.createBindGroupLayout({ entries });
      this.layouts.set(key, l);
    }
    return l;
  }

  /** The cached pipeline of `code` (bindings: inputs read-only, then outputs). */
  pipeline(code: string, nIn: number, nOut: number): GPUComputePipeline {
    let p = this.pipelines.get(code);
    if (!p) {
      counters.pipelines++;
      // A kernel the device rejects is a wax bug: report it once, naming the operation.
      const what = describe(this.context);
      this.device.pushErrorScope("validation");
      const module = this.device.createShaderModule({ code });
      if (Deno.env.get("WAX_WGSL_DEBUG")) {
        module.getCompilationInfo().then((info) => {
          for (const m of info.messages) if (m.type === "error") console.error(m.message, "\n", code);
        });
      }
      p = this.device.createComputePipeline({
        layout: this.device.createPipelineLayout({ bindGroupLayouts: [this.layout(nIn, nOut)] }),
        compute: { module, entryPoint: "main" },
      });
      this.device.popErrorScope().then((e) => {
        if (e) this.lastError ??= `${what}: the device rejected a generated kernel (a wax bug): ${e.message}`;
      }, () => {});
      this.pipelines.set(code, p);
    }
    return p;
  }

  /** Records one compute dispatch into the pending encoder. */
  dispatch(d: Dispatch): void {
    const [x, y = 1, z = 1] = d.groups;
    if (x === 0 || y === 0 || z === 0) return;
    const maxGroups = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (Math.max(x, y, z) > maxGroups) {
      throw new Error(`webgpu: ${describe(this.context)}: a dispatch of [${d.groups}] workgroups exceeds ${maxGroups}`);
    }
    const nIn = d.ins.length, nOut = d.outs.length;
    if (nIn + nOut > this.maxStorage) {
      throw new Error(`webgpu: kernel needs ${nIn + nOut} storage buffers; the device allows ${this.maxStorage}`);
    }
    const pipe = this.pipeline(d.code, nIn, nOut);
    const bind = this.device.createBindGroup({
      layout: this.layout(nIn, nOut),
      entries: [...d.ins, ...d.outs].map((b, i) => ({ binding: i, resource: { buffer: b.buffer } })),
    });
    this.pass ??= this.enc().beginComputePass();
    this.pass.setPipeline(pipe);
    this.pass.setBindGroup(0, bind);
    this.pass.dispatchWorkgroups(x, y, z);
    counters.dispatches++;
    this.pendingDispatches++;
  }

  /** Submits eager work once enough dispatches are pending (never inside a program). */
  maybeFlush(): void {
    if (this.recording === 0 && this.pendingDispatches >= this.flushEvery) this.flush();
  }

  /** Submits the pending encoder, if any (one `queue.submit`). */
  flush(): void {
    if (!this.encoder) return;
    this.endPass();
    const cmd = this.encoder.finish();
    this.encoder = null;
    this.pendingDispatches = 0;
    this.device.queue.submit([cmd]);
    counters.submits++;
    for (const b of this.scratchCopies.splice(0)) b.destroy();
  }

  /** Uploads host bytes into a pooled buffer, ordered after the pending work. */
  upload(data: ArrayBufferView, bytes: number): Buf {
    const b = this.alloc(bytes);
    if (bytes === 0) return b;
    if (this.encoder) {
      // A queue write would run before the pending (unsubmitted) commands: stage it instead.
      const size = Math.ceil(bytes / 4) * 4;
      const staging = this.device.createBuffer({ size, usage: 0x2 /* MAP_WRITE */ | 0x4, mappedAtCreation: true });
      new Uint8Array(staging.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, bytes));
      staging.unmap();
      this.copy(staging, 0, b.buffer, 0, size);
      this.scratchCopies.push(staging);
    } else {
      this.device.queue.writeBuffer(b.buffer, 0, data.buffer as ArrayBuffer, data.byteOffset, Math.ceil(bytes / 4) * 4);
    }
    return b;
  }

  /** Copies `bytes` bytes of a buffer to the host (submits pending work first). */
  async download(b: Buf, bytes: number): Promise<ArrayBuffer> {
    this.check();
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    const staging = this.device.createBuffer({ size, usage: 0x1 /* MAP_READ */ | 0x8 });
    if (bytes > 0) this.copy(b.buffer, 0, staging, 0, size);
    this.flush();
    try {
      await staging.mapAsync(1 /* READ */);
    } catch (e) {
      this.check();
      throw gpuError(`readback failed: ${(e as Error).message}`);
    }
    const out = staging.getMappedRange().slice(0, bytes);
    staging.unmap();
    staging.destroy();
    this.check();
    return out;
  }
}
