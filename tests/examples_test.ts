/** The examples run as a user runs them: subprocesses on small MNIST-format files written here. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { assertSameCheckpoint, runExample, tinyMnist } from "./_examples_util.ts";

const root = await tinyMnist(128);
const example = (name: string, args: string[]) => runExample(root, name, args);

Deno.test("examples: --help prints the usage (exit 0); bad flags print the usage and the reason (exit 2), no stack trace", async () => {
  const cases: [string, string[], RegExp][] = [
    ["dcgan", ["--steps", "-3"], /--steps must be an integer ≥ 1, got "-3"/],
    ["dcgan", ["--steps", "abc"], /--steps must be an integer ≥ 1, got "abc"/],
    ["dcgan", ["--batch", "0"], /--batch must be an integer ≥ 1, got "0"/],
    ["dcgan", ["--stepz", "3"], /Unknown option '--stepz'/],
    ["dcgan", ["--clusters", "1"], /--clusters must be 0 or an integer ≥ 2, got "1"/],
    ["dcgan", ["--codes", "10"], /--codes 10 and --clusters 100: pick one of them/],
    ["dcgan", ["--clusters", "500"], /--clusters 500 needs as many training images; there are 128/],
    ["classifier", ["--batch", "0"], /--batch must be an integer ≥ 1, got "0"/],
    ["classifier", ["--dataset", "cifar"], /--dataset must be mnist or fashion, got "cifar"/],
  ];
  for (const [name, args, why] of cases) {
    const r = await example(name, args);
    assert.equal(r.code, 2, `${name} ${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`^Usage: deno run -A examples/${name}\\.ts \\[flags\\]`));
    assert.match(r.stderr, new RegExp(`\\nexamples/${name}\\.ts: ${why.source}`));
    assert.doesNotMatch(r.stderr, /^\s+at /m);
  }
  for (const name of ["dcgan", "classifier"]) {
    const r = await example(name, ["--help"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--steps N .*\n[^]*--resume .*\n[^]*--every N/);
    assert.equal(r.stderr, "");
  }
});

Deno.test("examples/classifier.ts: progress, losses.csv, checkpoints, one summary line; resume ends bit-identical", async () => {
  const [a, b] = [join(root, "clf-a"), join(root, "clf-b")];
  const common = ["--batch", "8", "--every", "2", "--backend", "cpu"];
  const ra = await example("classifier", [...common, "--steps", "4", "--out", a]);
  assert.equal(ra.code, 0, ra.stderr);
  assert.match(
    ra.stderr,
    /step 4\/4 \(100%\) {2}epoch 1 {2}loss [0-9.]+ {2}acc [0-9.]+ {2}\| [0-9.]+ step\/s {2}elapsed \d+:\d\d {2}eta 0:00/,
  );
  assert.match(
    ra.stdout,
    /^classifier: test accuracy \d+\.\d\d% on mnist after 4 steps in \d+:\d\d; not saved for the metrics/,
  );
  assert.equal(ra.stdout.trim().split("\n").length, 1);
  assert.match(await Deno.readTextFile(join(a, "losses.csv")), /^step,epoch,seconds,loss,acc\n4,0,/);
  assert.deepEqual([...Deno.readDirSync(join(a, "checkpoints"))].map((e) => e.name).sort(), [
    "latest",
    "step_00000002.safetensors",
    "step_00000004.safetensors",
  ]);
  const rb1 = await example("classifier", [...common, "--steps", "2", "--out", b]);
  assert.equal(rb1.code, 0, rb1.stderr);
  const rb2 = await example("classifier", [...common, "--steps", "4", "--out", b, "--resume"]);
  assert.equal(rb2.code, 0, rb2.stderr);
  assert.match(rb2.stdout, /after 4 steps \(resumed at step 2\)/);
  await assertSameCheckpoint(
    join(a, "checkpoints", "step_00000004.safetensors"),
    join(b, "checkpoints", "step_00000004.safetensors"),
  );
  // A complete run (all its epochs) saves the classifier where the metrics look for it.
  const rc = await example("classifier", ["--epochs", "1", "--batch", "16", "--out", join(root, "clf-c")]);
  assert.equal(rc.code, 0, rc.stderr);
  assert.match(rc.stdout, /after 8 steps in .*; saved for the metrics to .*cache\/classifier\/mnist\.safetensors/);
  assert.ok(Deno.statSync(join(root, "cache", "classifier", "mnist.safetensors")).isFile);
  // --resume refuses a checkpoint of another model, clearly.
  const rd = await example("dcgan", ["--resume", "--out", a, "--batch", "8"]);
  assert.equal(rd.code, 1);
  assert.match(
    rd.stderr,
    /examples\/dcgan\.ts: Cannot resume from .*step_00000004\.safetensors: it was saved by another run \(model: "classifier" there, "dcgan" here;/,
  );
  assert.doesNotMatch(rd.stderr, /^\s+at /m);
});

Deno.test("examples/dcgan.ts: samples, losses.csv, checkpoints, one summary line; resume ends bit-identical", async () => {
  const [a, b] = [join(root, "gan-a"), join(root, "gan-b")];
  // Constant learning rates: the default cosine decay spans the run's --steps, so a run extended
  // from 2 to 3 steps decays differently from a 3-step run.
  // Four clusters of the training images condition the nets (fewer than the default's 100, for speed).
  const common = ["--batch", "8", "--every", "2", "--decay", "none", "--clusters", "4"];
  const ra = await example("dcgan", [...common, "--steps", "3", "--out", a]);
  assert.equal(ra.code, 0, ra.stderr);
  assert.match(ra.stderr, /step 3\/3 \(100%\) {2}epoch 1 {2}d [0-9.]+ {2}g [0-9.]+ .*\| [0-9.]+ step\/s/);
  assert.match(
    ra.stdout,
    /^dcgan: 3 steps in \d+:\d\d; .*samples .*step_00003\.png/,
  );
  assert.equal(ra.stdout.trim().split("\n").length, 1);
  for (const f of ["step_00002.png", "step_00003.png", "losses.csv"]) assert.ok(Deno.statSync(join(a, f)).isFile, f);
  const rb1 = await example("dcgan", [...common, "--steps", "2", "--out", b]);
  assert.equal(rb1.code, 0, rb1.stderr);
  const rb2 = await example("dcgan", [...common, "--steps", "3", "--out", b, "--resume"]);
  assert.equal(rb2.code, 0, rb2.stderr);
  assert.match(rb2.stdout, /^dcgan: 3 steps \(resumed at step 2\) in /);
  await assertSameCheckpoint(
    join(a, "checkpoints", "step_00000003.safetensors"),
    join(b, "checkpoints", "step_00000003.safetensors"),
  );
});

Deno.test("examples: clean up", async () => {
  await Deno.remove(root, { recursive: true });
});
