/**
 * A bounded job queue: at most `concurrency` jobs run at once and at most `capacity` wait; a job
 * offered to a full queue is refused at once (the server answers 503 with Retry-After), and a job
 * whose signal aborts (its client went away) leaves the queue without running, or, when it is
 * already running, sees the abort through the signal it is handed.
 * @module
 */

/** The queue was full; the request should be retried later. */
export class QueueFullError extends Error {
  /** The error's name. */
  override name = "QueueFullError";
}

/** The job's client went away before it finished. */
export class CancelledError extends Error {
  /** The error's name. */
  override name = "CancelledError";
}

/** What the queue has done so far. */
export interface QueueStats {
  /** Jobs running now. */
  running: number;
  /** Jobs waiting now. */
  waiting: number;
  /** Jobs finished (successfully or not). */
  done: number;
  /** Jobs refused because the queue was full. */
  refused: number;
  /** Jobs cancelled by their signal (waiting or running). */
  cancelled: number;
}

interface Waiter {
  start: () => void;
  onAbort: () => void;
}

/**
 * A bounded queue of async jobs.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { JobQueue, QueueFullError } from "./queue.ts";
 * const q = new JobQueue({ concurrency: 1, capacity: 1 });
 * const never = new AbortController().signal;
 * let release!: () => void;
 * const first = q.run(() => new Promise<void>((r) => (release = r)), never);
 * const second = q.run(async () => "second", never); // waits
 * await assert.rejects(q.run(async () => "third", never), QueueFullError);
 * release();
 * await first;
 * assert.equal(await second, "second");
 * ```
 */
export class JobQueue {
  readonly #concurrency: number;
  readonly #capacity: number;
  #running = 0;
  #waiting: Waiter[] = [];
  #stats = { done: 0, refused: 0, cancelled: 0 };

  /**
   * A queue.
   * @param opts `concurrency` (jobs at once, default 1) and `capacity` (jobs waiting, default 16).
   */
  constructor(opts: { concurrency?: number; capacity?: number } = {}) {
    this.#concurrency = opts.concurrency ?? 1;
    this.#capacity = opts.capacity ?? 16;
    if (!(Number.isInteger(this.#concurrency) && this.#concurrency >= 1)) {
      throw new RangeError(`JobQueue: concurrency must be an integer ≥ 1, got ${this.#concurrency}`);
    }
    if (!(Number.isInteger(this.#capacity) && this.#capacity >= 0)) {
      throw new RangeError(`JobQueue: capacity must be an integer ≥ 0, got ${this.#capacity}`);
    }
  }

  /** Counts of running, waiting, finished, refused and cancelled jobs. */
  stats(): QueueStats {
    return { running: this.#running, waiting: this.#waiting.length, ...this.#stats };
  }

  /**
   * Waits for a slot. Rejects with `QueueFullError` when `capacity` jobs already wait, and with
   * `CancelledError` when `signal` aborts before the slot is free.
   *
   * @param signal Aborts when the client goes away.
   * @returns A function that gives the slot back (call it once, when the job ends).
   */
  async enter(signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) {
      this.#stats.cancelled++;
      throw new CancelledError("JobQueue: the client went away before the job was queued");
    }
    if (this.#running >= this.#concurrency) {
      if (this.#waiting.length >= this.#capacity) {
        this.#stats.refused++;
        throw new QueueFullError(`JobQueue: ${this.#running} jobs running and ${this.#waiting.length} waiting`);
      }
      await new Promise<void>((resolve, reject) => {
        const w: Waiter = {
          start: () => {
            signal.removeEventListener("abort", w.onAbort);
            resolve();
          },
          onAbort: () => {
            this.#waiting = this.#waiting.filter((x) => x !== w);
            this.#stats.cancelled++;
            reject(new CancelledError("JobQueue: the client went away while the job waited"));
          },
        };
        signal.addEventListener("abort", w.onAbort, { once: true });
        this.#waiting.push(w);
      });
    } else {
      this.#running++;
    }
    let left = false;
    return () => {
      if (left) return;
      left = true;
      if (signal.aborted) this.#stats.cancelled++;
      this.#stats.done++;
      const next = this.#waiting.shift();
      // The slot passes straight to the next waiter, so `running` stays the same.
      if (next) next.start();
      else this.#running--;
    };
  }

  /**
   * Runs `job` in a slot (see `enter`).
   *
   * @param job The work; it gets the signal and should stop soon after it aborts.
   * @param signal Aborts when the client goes away.
   * @returns The job's result.
   */
  async run<T>(job: (signal: AbortSignal) => Promise<T>, signal: AbortSignal): Promise<T> {
    const leave = await this.enter(signal);
    try {
      return await job(signal);
    } finally {
      leave();
    }
  }
}
