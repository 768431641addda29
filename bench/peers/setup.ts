/**
 * Loads the peer libraries for side-by-side benchmarks: jax-js and TensorFlow.js, each on its
 * wasm or its webgpu backend. Each loader returns null when the peer cannot start.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import * as jax from "@jax-js/jax";

/** TensorFlow.js on its wasm backend, or null. */
export async function loadTfjs(): Promise<typeof tf | null> {
  try {
    setWasmPaths(new URL("../../node_modules/@tensorflow/tfjs-backend-wasm/dist/", import.meta.url).href);
    if (!(await tf.setBackend("wasm"))) return null;
    await tf.ready();
    return tf;
  } catch {
    return null;
  }
}

/** jax-js on its wasm backend, or null. */
export async function loadJaxJs(): Promise<typeof jax | null> {
  try {
    const devices = await jax.init("wasm");
    if (!devices.includes("wasm")) return null;
    jax.defaultDevice("wasm");
    return jax;
  } catch {
    return null;
  }
}

/** TensorFlow.js on its webgpu backend (same adapter as wax), or null with the reason logged. */
export async function loadTfjsWebgpu(): Promise<typeof tf | null> {
  try {
    await import("@tensorflow/tfjs-backend-webgpu");
    if (!(await tf.setBackend("webgpu"))) throw new Error("setBackend('webgpu') returned false");
    await tf.ready();
    return tf;
  } catch (e) {
    console.warn(`tfjs webgpu skipped: ${e instanceof Error ? e.message : e}`);
    return null;
  }
}

/** jax-js on its webgpu backend, or null with the reason logged. */
export async function loadJaxJsWebgpu(): Promise<typeof jax | null> {
  try {
    const devices = await jax.init("webgpu");
    if (!devices.includes("webgpu")) throw new Error(`init gave ${devices.join(", ")}`);
    jax.defaultDevice("webgpu");
    return jax;
  } catch (e) {
    console.warn(`jax-js webgpu skipped: ${e instanceof Error ? e.message : e}`);
    return null;
  }
}
