/**
 * Worker thread of the x86 GEMM path (`node:worker_threads`, started by
 * driver.ts). It receives the addresses of the already generated kernels and
 * a shared control block, then loops: wait for a command, run its slice on
 * raw pointers into the main thread's arrays, acknowledge.
 *
 * @module
 */
import { parentPort } from "node:worker_threads";
import { type Blocking, codesAt, decodeJob, J, makeCtx, runSlice } from "./slice.ts";
import type { TileConfig } from "./kernel.ts";
import { ACK, CLAIM, CMD, ERR, JOB_BASE, READY, SPIN_MS } from "./control.ts";

interface Init {
  sab: SharedArrayBuffer;
  slot: number;
  codes: bigint[];
  tile: TileConfig;
  blocking: Blocking;
}

parentPort?.once("message", (msg: Init) => {
  const ctl = new Int32Array(msg.sab);
  const slot = msg.slot;
  let err = 0;
  let run = (): void => {};
  try {
    const ctx = makeCtx(msg.tile, msg.blocking, codesAt(msg.codes));
    const q = new Float64Array(msg.sab, JOB_BASE + slot * J.size * 8, J.size);
    run = () => runSlice(ctx, decodeJob(q));
  } catch {
    err = 1;
  }
  // Read the command counter before announcing readiness: the main thread
  // may send the first command right after seeing READY.
  let seen = Atomics.load(ctl, CMD + slot);
  Atomics.store(ctl, ERR + slot, err);
  Atomics.store(ctl, READY + slot, err ? 2 : 1);
  Atomics.notify(ctl, READY + slot);
  if (err) return;
  for (;;) {
    const t0 = performance.now();
    let spins = 0;
    while (Atomics.load(ctl, CMD + slot) === seen) {
      if ((++spins & 255) === 0 && performance.now() - t0 > SPIN_MS) break;
    }
    Atomics.wait(ctl, CMD + slot, seen);
    const cmd = Atomics.load(ctl, CMD + slot);
    if (cmd === seen) continue;
    seen = cmd;
    // Run the share only if the main thread has not taken it back (it does when this thread is late).
    if (Atomics.compareExchange(ctl, CLAIM + slot, cmd, -1) === cmd) {
      try {
        run();
      } catch {
        Atomics.store(ctl, ERR + slot, 1);
      }
    }
    Atomics.store(ctl, ACK + slot, cmd);
    Atomics.notify(ctl, ACK + slot);
  }
});
