/**
 * Reproduces, with no wax code, the abort at exit that made CI fail about one run in four.
 *
 * `deno test` runs each test module in its own isolate on its own thread. On Mesa's GL driver,
 * a thread that has used EGL keeps per-thread state in libglvnd's libEGL. When the process exits,
 * `exit()` runs libEGL's destructor (`_dl_fini`), which frees that state, while a test thread that
 * is shutting down at the same moment frees it too from its pthread key destructor
 * (`__nptl_deallocate_tsd`): a double free, reported by glibc as "double free or corruption",
 * "corrupted size vs. prev_size in fastbins" or "malloc_consolidate(): unaligned fastbin chunk",
 * and exit status 134 after a green summary. Core dumps show exactly those two stacks.
 *
 * This script writes twelve test modules that each do a little WebGPU work (`gpu_work.ts`) and a
 * last module that does none, runs `deno test` on them `--runs` times and counts the aborts.
 * With `DENO_WEBGPU_BACKEND=gl` (Mesa's llvmpipe through EGL) some runs abort; with
 * `DENO_WEBGPU_BACKEND=vulkan,metal,dx12` (lavapipe, no EGL in the process) none do, which is
 * why `deno task test` sets it.
 *
 * Run: `deno run -A tests/exit_race/repro.ts [--runs 100] [--backend gl|vulkan,metal,dx12]`
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";

const { values } = parseArgs({
  args: Deno.args,
  options: { runs: { type: "string", default: "100" }, backend: { type: "string", default: "gl" } },
});
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
    args: ["test", "-A", "--no-prompt", "--no-check", dir],
    env: { DENO_WEBGPU_BACKEND: values.backend ?? "gl", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  const green = /^ok \| 13 passed \| 0 failed/m.test(text);
  const glibc = /(double free[^\n]*|corrupted[^\n]*|malloc[^\n]*chunk[^\n]*)/.exec(text)?.[1];
  const what = out.code === 0
    ? "exit 0"
    : `exit ${out.code}${green ? " after a green summary" : ""}${glibc ? `: ${glibc}` : ""}`;
  counts.set(what, (counts.get(what) ?? 0) + 1);
  if (out.code !== 0) console.log(`run ${i}: ${what}`);
}
await Deno.remove(dir, { recursive: true });
console.log(`DENO_WEBGPU_BACKEND=${values.backend}, ${runs} runs:`);
for (const [what, n] of counts) console.log(`  ${n} × ${what}`);
