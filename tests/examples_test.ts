/** The examples run as a user runs them: subprocesses on small MNIST-format files written here. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Array, load } from "../mod.ts";
import { encodeIdx } from "../models/data/mod.ts";

const repo = new URL("..", import.meta.url).pathname;
const root = await Deno.makeTempDir({ prefix: "wax examples " });

/** WAX_DATA_DIR/mnist with 128 training and 16 test images of random pixels (labels i mod 10). */
async function writeTinyMnist() {
  const dir = join(root, "data", "mnist");
  await Deno.mkdir(dir, { recursive: true });
  let s = 12345;
  const byte = () => (s = (s * 1103515245 + 12345) % 2 ** 31) >> 23;
  for (const [split, n] of [["train", 128], ["t10k", 16]] as const) {
    const px = Uint8Array.from({ length: n * 784 }, byte);
    await Deno.writeFile(join(dir, `${split}-images-idx3-ubyte`), encodeIdx({ dims: [n, 28, 28], data: px }));
    const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
    await Deno.writeFile(join(dir, `${split}-labels-idx1-ubyte`), encodeIdx({ dims: [n], data: labels }));
  }
}
await writeTinyMnist();

async function example(name: string, args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", `examples/${name}.ts`, ...args],
    cwd: repo,
    env: {
      WAX_BACKEND: "cpu",
      WAX_DATA_DIR: join(root, "data"),
      WAX_CACHE_DIR: join(root, "cache"),
      WAX_DATA_MIRROR: "http://127.0.0.1:9/", // nothing is downloaded
      NO_COLOR: "1",
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}

/** Every leaf of two checkpoints, compared bit for bit. */
async function assertSameCheckpoint(a: string, b: string) {
  const leaves = (t: unknown, path = ""): [string, Array][] =>
    t !== null && typeof t === "object" && !("dtype" in t)
      ? Object.entries(t).flatMap(([k, v]) => leaves(v, `${path}.${k}`))
      : t !== null && typeof t === "object"
      ? [[path, t as Array]]
      : [];
  const [la, lb] = [leaves(await load(a)), leaves(await load(b))];
  assert.deepEqual(la.map(([p]) => p), lb.map(([p]) => p));
  assert.ok(la.length > 4);
  for (let i = 0; i < la.length; i++) {
    const [x, y] = [await la[i][1].data(), await lb[i][1].data()];
    assert.deepEqual(
      new Uint8Array(x.buffer, x.byteOffset, x.byteLength),
      new Uint8Array(y.buffer, y.byteOffset, y.byteLength),
      la[i][0],
    );
  }
}

Deno.test("examples: --help prints the usage (exit 0); bad flags print the usage and the reason (exit 2), no stack trace", async () => {
  const cases: [string, string[], RegExp][] = [
    ["dcgan", ["--steps", "-3"], /--steps must be an integer ≥ 1, got "-3"/],
    ["dcgan", ["--steps", "abc"], /--steps must be an integer ≥ 1, got "abc"/],
    ["dcgan", ["--batch", "0"], /--batch must be an integer ≥ 1, got "0"/],
    ["dcgan", ["--stepz", "3"], /Unknown option '--stepz'/],
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
  const common = ["--batch", "8", "--every", "2", "--decay", "none"];
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
