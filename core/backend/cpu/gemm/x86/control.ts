/**
 * Layout of the shared control block between the x86 GEMM driver and its
 * workers: Int32 indices per worker slot, then one Float64 job record per
 * slot at {@link JOB_BASE} bytes.
 *
 * @module
 */

/** Most worker slots. */
export const MAX_SLOTS = 16;
/** Command counter index (bumped by the main thread). */
export const CMD = 0;
/** Acknowledged command index (set by the worker). */
export const ACK = 16;
/** Error flag index. */
export const ERR = 32;
/** Ready flag index (1 ready, 2 failed). */
export const READY = 48;
/**
 * Claim word index: the main thread offers a command here, the worker claims it (−1) before
 * running it, or the main thread takes it back (0) when the worker has not started by the time
 * the main thread's own share is done, and runs that share itself.
 */
export const CLAIM = 64;
/** Byte offset of the job records. */
export const JOB_BASE = 512;
/** Milliseconds a thread busy-waits before sleeping in `Atomics.wait`. */
export const SPIN_MS = 0.2;
/** Milliseconds of one bounded `Atomics.wait` of the main thread before re-checking. */
export const WAIT_MS = 50;
