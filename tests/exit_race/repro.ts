/**
 * Reproduces, with no wax code, the two ways Mesa's software drivers crash a Deno process as it
 * exits; the first made CI fail about one run in four.
 *
 * `--case threads` (the default): `deno test` runs each test module in its own isolate on its
 * own thread. On Mesa's GL driver a thread that has used EGL keeps per-thread state in libglvnd's
 * libEGL. When the process exits, `exit()` runs libEGL's destructor (`_dl_fini`), which frees that
 * state, while a test thread shutting down at the same moment frees it too from its pthread key
 * destructor (`__nptl_deallocate_tsd`): a double free that glibc reports as "double free or
 * corruption", "corrupted size vs. prev_size in fastbins" or "malloc_consolidate(): unaligned
 * fastbin chunk", exit status 134 after a green summary; core dumps show exactly those two
 * stacks. The script writes twelve test modules doing a little WebGPU work (`gpu_work.ts`) and a
 * last one doing none, and runs `deno test` on them. With `--backend gl` some runs abort; with
 * `--backend vulkan,metal,dx12` (lavapipe: libEGL is never loaded) none do, which is why
 * `deno task test` sets `DENO_WEBGPU_BACKEND` so.
 *
 * `--case busy-exit`: on Mesa's Vulkan driver a process that exits while the driver is still
 * compiling or running submitted kernels crashes (status 139 or 134): `exit()` tears LLVM down
 * under the driver's queue thread. `busy_exit.ts` submits work and exits at once, or with
 * `--wait` after `onSubmittedWorkDone()`, which never crashes. Hence the test harness ends every
 * test with the GPU idle (`tests/_preload.ts`), the examples wait for it before an error exit,
 * and importing wax's libraries runs no GPU work (`tests/import_work_test.ts`).
 *
 * Run: `deno run -A tests/exit_race/repro.ts [--case threads|busy-exit] [--runs 100]
 * [--backend gl|vulkan,metal,dx12] [--wait]`
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    case: { type: "string", default: "threads" },
    runs: { type: "string", default: "100" },
    backend: { type: "string", default: "gl" },
    wait: { type: "boolean", default: false },
  },
});
if (values.case !== "threads" && values.case !== "busy-exit") {
  throw new Error(`repro: --case must be threads or busy-exit, got ${values.case}`);
}
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) {
  throw new Error(`repro: --runs must be a positive integer, got ${values.runs}`);
}

const dir = await Deno.makeTempDir({ prefix: "exit_race_" });
const work = new URL("./gpu_work.ts", import.meta.url).href;
for (let m = 1; m <= 12; m++) {
  await Deno.writeTextFile(
    join(dir, `m${String(m).padStart(2, "0")}_test.ts`),
    `import { gpuWork } from "${work}";
Deno.test({ name: "gpu module ${m}", sanitizeResources: false, sanitizeOps: false }, async () => {
  if (!(await gpuWork(${m}) > 0)) throw new Error("the compute passes returned no result");
});
`,
  );
}
await Deno.writeTextFile(join(dir, "zz_test.ts"), `Deno.test("last module: no GPU work", () => {});\n`);

const counts = new Map<string, number>();
for (let i = 1; i <= runs; i++) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: values.case === "threads"
      ? ["test", "-A", "--no-prompt", "--no-check", dir]
      : ["run", "-A", "--no-check", new URL("./busy_exit.ts", import.meta.url).pathname, values.wait ? "wait" : "now"],
    env: { DENO_WEBGPU_BACKEND: values.backend ?? "gl", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  const green = /^ok \| 13 passed \| 0 failed/m.test(text);
  const glibc = /(double free[^\n]*|corrupted[^\n]*|malloc[^\n]*chunk[^\n]*)/.exec(text)?.[1];
  const expected = values.case === "threads" ? 0 : 2;
  const what = out.code === expected
    ? `exit ${expected} (as it should)`
    : `exit ${out.code}${green ? " after a green summary" : ""}${glibc ? `: ${glibc}` : ""}`;
  counts.set(what, (counts.get(what) ?? 0) + 1);
  if (out.code !== expected) console.log(`run ${i}: ${what}`);
}
await Deno.remove(dir, { recursive: true });
console.log(
  `--case ${values.case}${values.wait ? " --wait" : ""}, DENO_WEBGPU_BACKEND=${values.backend}, ${runs} runs:`,
);
for (const [what, n] of counts) console.log(`  ${n} × ${what}`);
