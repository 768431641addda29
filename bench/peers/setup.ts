/**
 * Loads the peer libraries for side-by-side benchmarks: jax-js (wasm backend) and
 * TensorFlow.js (wasm backend). Each loader returns null when the peer cannot start.
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
