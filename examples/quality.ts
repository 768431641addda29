/**
 * The long quality runs (`deno task quality`): runs each generative example's default training
 * one after another, each into `out/quality/<name>/`, and prints its summary line, its wall and
 * CPU time, and its metrics against the targets. Exit status 1 when a run fails or misses a
 * target. Name examples to run only those: `deno task quality dcgan`.
 *
 * To add an example: one entry in `RUNS` (its flags, and the metrics its summary line prints
 * with the least value each must reach).
 * @module
 */
import { join } from "node:path";

/** One quality run: an example, its flags, and targets read from its summary line. */
interface QualityRun {
  /** `examples/<name>.ts`. */
  name: string;
  /** Flags beyond `--out` (none: the default run). */
  args?: string[];
  /** Metric name as printed in the summary line (`<name> <number>`), and the least value it must reach. */
  targets: Record<string, number>;
  /** Metrics that must stay at or below a value (an error, a loss). */
  atMost?: Record<string, number>;
}

const RUNS: QualityRun[] = [
  { name: "dcgan", targets: { "MNIST score": 9.0, "confident": 85 } },
  { name: "cgan", targets: { "label accuracy": 97, "MNIST score": 9.0 } },
  { name: "autoencoder", targets: {}, atMost: { "test MSE": 0.008 } },
  { name: "autoencoder", args: ["--noise", "gaussian:0.5"], targets: { "denoising gain": 3 } },
  { name: "autoencoder", args: ["--holdout", "0", "--code", "8"], targets: { "AUROC": 0.9 } },
  { name: "autoencoder", args: ["--holdout", "2", "--code", "8"], targets: {} },
  { name: "autoencoder", args: ["--holdout", "1", "--code", "8"], targets: {} },
  { name: "vae", targets: { "test ELBO": -100 } },
];

const root = new URL("..", import.meta.url).pathname;
const wanted = Deno.args.length ? RUNS.filter((r) => Deno.args.includes(r.name)) : RUNS;
if (Deno.args.some((a) => !RUNS.some((r) => r.name === a))) {
  console.error(`quality: unknown example in ${Deno.args.join(" ")}; known: ${RUNS.map((r) => r.name).join(", ")}`);
  Deno.exit(2);
}
const hasTime = await Deno.stat("/usr/bin/time").then(() => true, () => false);
let failed = 0;
for (const run of wanted) {
  const out = join(root, "out", "quality", run.name);
  await Deno.remove(out, { recursive: true }).catch(() => {});
  const cmd = [
    Deno.execPath(),
    "run",
    "-A",
    join(root, "examples", `${run.name}.ts`),
    "--out",
    out,
    ...(run.args ?? []),
  ];
  // /usr/bin/time reports the child's CPU time (user + sys) besides its wall time.
  const [exe, ...args] = hasTime ? ["/usr/bin/time", "-f", "\nquality-time %e %U %S", ...cmd] : cmd;
  console.log(`== ${run.name}: ${cmd.slice(3).join(" ")}`);
  const t0 = performance.now();
  const child = await new Deno.Command(exe, { args, cwd: root, stdout: "piped", stderr: "piped" }).output();
  const stdout = new TextDecoder().decode(child.stdout).trim();
  const stderr = new TextDecoder().decode(child.stderr);
  const wall = (performance.now() - t0) / 1000;
  const time = /quality-time ([\d.]+) ([\d.]+) ([\d.]+)/.exec(stderr);
  const cpu = time ? Number(time[2]) + Number(time[3]) : NaN;
  const summary = stdout.split("\n").at(-1) ?? "";
  console.log(summary);
  console.log(`   wall ${minutes(wall)}, cpu (user+sys) ${time ? minutes(cpu) : "unknown"}`);
  if (!child.success) {
    console.log(`   FAILED with exit status ${child.code}:\n${stderr.trim().split("\n").slice(-5).join("\n")}`);
    failed++;
    continue;
  }
  const bounds = [
    ...Object.entries(run.targets).map(([metric, v]) => [metric, v, "≥"] as const),
    ...Object.entries(run.atMost ?? {}).map(([metric, v]) => [metric, v, "≤"] as const),
  ];
  for (const [metric, bound, op] of bounds) {
    const m = new RegExp(`${metric} (-?[\\d.]+)`).exec(summary);
    const value = m ? Number(m[1]) : NaN;
    const ok = op === "≥" ? value >= bound : value <= bound;
    if (!ok) failed++;
    console.log(`   ${ok ? "ok  " : "MISS"} ${metric} ${m ? value : "(not printed)"} (target ${op} ${bound})`);
  }
}
console.log(failed ? `quality: ${failed} failure(s)` : `quality: all ${wanted.length} run(s) met their targets`);
if (failed) Deno.exit(1);

function minutes(seconds: number): string {
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}
