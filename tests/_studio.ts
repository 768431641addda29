/**
 * Helpers of the studio's tests: start `examples/studio.ts` as a child process on a free
 * loopback port with tiny checkpoints, find Debian's chromium, and bound everything in time.
 * @module
 */
import { fileURLToPath } from "node:url";

/** The repository root (the studio runs there, so `deno.json` is found). */
export const ROOT: string = fileURLToPath(new URL("..", import.meta.url));

/** A running studio. */
export interface RunningStudio {
  /** Its base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** The server's process id (for its RSS). */
  pid: number;
  /** What it printed so far (stdout and stderr). */
  log(): string;
  /** Stops it and waits for it to exit. */
  stop(): Promise<void>;
}

/**
 * Starts the studio on 127.0.0.1 with a free port and waits until it listens.
 *
 * @param checkpoints Its --checkpoints folder (tiny models are trained there when absent).
 * @param extra More flags.
 * @param timeoutMs How long to wait for "listening" (default 300 s: training the tiny models is part of it).
 * @returns The running studio.
 */
export async function startStudio(
  checkpoints: string,
  extra: string[] = [],
  timeoutMs = 300_000,
): Promise<RunningStudio> {
  const args = ["run", "-A", "examples/studio.ts", "--host", "127.0.0.1", "--port", "0", "--checkpoints", checkpoints];
  const child = new Deno.Command(Deno.execPath(), {
    args: [...args, ...extra],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  })
    .spawn();
  let text = "";
  let url: string | null = null;
  let onUrl: (u: string) => void = () => {};
  const gotUrl = new Promise<string>((r) => (onUrl = r));
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)\//.exec(text);
      if (m && !url) onUrl(url = m[1]);
    }
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    await child.status;
    await drained;
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    gotUrl,
    child.status.then((s) => new Error(`the studio exited with code ${s.code} before listening`)),
    new Promise<Error>((
      r,
    ) => (timer = setTimeout(() => r(new Error(`no "listening" line in ${timeoutMs} ms`)), timeoutMs))),
  ]);
  clearTimeout(timer);
  if (outcome instanceof Error) {
    await stop();
    throw new Error(`startStudio: ${outcome.message}; it printed:\n${text}`);
  }
  return { url: outcome, pid: child.pid, log: () => text, stop };
}

/** The resident set size of a process in bytes (Linux), or null where /proc is not there. */
export function rssOf(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Debian's chromium (or CHROMIUM_PATH), or null when none is installed. */
export function chromiumPath(): string | null {
  const env = Deno.permissions.querySync?.({ name: "env", variable: "CHROMIUM_PATH" }).state === "granted"
    ? Deno.env.get("CHROMIUM_PATH")
    : undefined;
  for (const p of [env, "/usr/bin/chromium", "/usr/bin/chromium-browser"]) {
    if (!p) continue;
    try {
      if (Deno.statSync(p).isFile) return p;
    } catch { /* not there */ }
  }
  return null;
}

/**
 * Runs `work` but gives up after `ms` with an error naming `what`, so a test never hangs
 * (the caller's `finally` still closes the browser and the server).
 *
 * @param what What is being waited for.
 * @param ms The limit.
 * @param work The work.
 * @returns Its result.
 */
export async function within<T>(what: string, ms: number, work: () => Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      work(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms / 1000} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
