/**
 * Part of the exit-race reproduction (see `repro.ts`): a little WebGPU work with no wax code.
 * @module
 */

/** Requests a device and runs `pipes` small compute passes, reading some results back. */
export async function gpuWork(tag: number, pipes = 25): Promise<number> {
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) return 1; // nothing to reproduce without an adapter
  const device = await adapter.requestDevice();
  const n = 1 << 12;
  let acc = 0;
  for (let i = 0; i < pipes; i++) {
    const module = device.createShaderModule({
      code: `@group(0) @binding(0) var<storage, read_write> a: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
  if (g.x < arrayLength(&a)) { a[g.x] = a[g.x] * 2.0 + ${tag * 100 + i}.0; } }`,
    });
    const pipeline = device.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" } });
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const buffer = device.createBuffer({ size: n * 4, usage });
    device.queue.writeBuffer(buffer, 0, new Float32Array(n).fill(1));
    const entries = [{ binding: 0, resource: { buffer } }];
    const bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    const readback = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(n / 64);
    pass.end();
    encoder.copyBufferToBuffer(buffer, 0, readback, 0, 16);
    device.queue.submit([encoder.finish()]);
    if (i % 5 === 0) {
      await readback.mapAsync(GPUMapMode.READ);
      acc += new Float32Array(readback.getMappedRange())[0];
      readback.unmap();
    }
  }
  return acc;
}
