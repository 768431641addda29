/**
 * Part of the exit-race reproduction (see `repro.ts`), no wax code: submits compute passes with
 * new shaders and exits at once, or (`wait`) after the queue reports the work done.
 * @module
 */
const adapter = await navigator.gpu.requestAdapter();
if (!adapter) Deno.exit(0); // nothing to reproduce without an adapter
const device = await adapter.requestDevice();
for (let i = 0; i < 20; i++) {
  const module = device.createShaderModule({
    code: `@group(0) @binding(0) var<storage, read_write> a: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) { a[g.x] = a[g.x] * ${
      i + 2
    }.0 + sin(a[g.x]); }`,
  });
  const pipeline = device.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" } });
  const buffer = device.createBuffer({ size: 4 * 64 * 64, usage: GPUBufferUsage.STORAGE });
  const entries = [{ binding: 0, resource: { buffer } }];
  const bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(64);
  pass.end();
  device.queue.submit([encoder.finish()]);
}
if (Deno.args[0] === "wait") await device.queue.onSubmittedWorkDone();
Deno.exit(2);
