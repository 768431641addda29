import assert from "node:assert/strict";
import { join } from "node:path";
import { type Array, jit, np, random, save, valueAndGrad } from "../mod.ts";
import * as nn from "../nn/mod.ts";
import * as optim from "../optim/mod.ts";
import { batchStream, type Dataset } from "../models/data/mod.ts";
import {
  CheckpointError,
  CheckpointManager,
  FlagError,
  formatDuration,
  formatMetric,
  History,
  parseFlags,
  Progress,
  totalSteps,
  TrainLog,
  usage,
} from "../models/train/mod.ts";
import { readPng } from "../models/plot/mod.ts";
import { cpuTest } from "./_backend.ts";

Deno.test("Progress: off a terminal, a plain line every N steps with step/total, epoch, metrics, rate, elapsed, ETA", () => {
  let out = "";
  let t = 0;
  const p = new Progress({ total: 30, every: 10, tty: false, write: (s) => (out += s), now: () => t });
  for (let step = 1; step <= 30; step++) {
    t += 250; // 4 steps a second
    p.update(step, {
      epoch: Math.floor((step - 1) / 20),
      metrics: step % 10 === 0 ? { loss: 3 / step, acc: 0.5 } : {},
    });
  }
  p.done();
  assert.equal(
    out,
    "step 10/30 (33%)  epoch 1  loss 0.3  acc 0.5  | 4.00 step/s  elapsed 0:03  eta 0:05\n" +
      "step 20/30 (66%)  epoch 1  loss 0.15  acc 0.5  | 4.00 step/s  elapsed 0:05  eta 0:03\n" +
      "step 30/30 (100%)  epoch 2  loss 0.1  acc 0.5  | 4.00 step/s  elapsed 0:08  eta 0:00\n",
  );
});

Deno.test("Progress: on a terminal one line is redrawn in place, at most 10 times a second; log() keeps it", () => {
  const writes: string[] = [];
  let t = 0;
  const p = new Progress({ total: 4, start: 2, tty: true, write: (s) => writes.push(s), now: () => t });
  p.update(3, { metrics: { d: 1 } }); // t = 0: first draw
  t = 50;
  p.update(3); // within 100 ms: skipped
  p.log("wrote a.png");
  t = 2000;
  p.update(4); // the last step is always drawn
  p.done();
  assert.deepEqual(writes, [
    "\rstep 3/4 (75%)  d 1  | ? step/s  elapsed 0:00  eta ?\x1b[K",
    "\r\x1b[Kwrote a.png\nstep 3/4 (75%)  d 1  | ? step/s  elapsed 0:00  eta ?\x1b[K",
    "\rstep 4/4 (100%)  d 1  | 1.00 step/s  elapsed 0:02  eta 0:00\x1b[K",
    "\n",
  ]);
  assert.deepEqual([formatDuration(59.6), formatDuration(3725), formatDuration(NaN)], ["1:00", "1:02:05", "?"]);
  assert.deepEqual([formatMetric(0.123456), formatMetric(12345.6), formatMetric(2e-5), formatMetric(0)], [
    "0.1235",
    "12350",
    "2.00e-5",
    "0",
  ]);
});

Deno.test("History: interval means, CSV, and a resumed run keeps only the rows up to its step", async () => {
  const h = new History(["d", "g"]);
  for (const [d, g] of [[1, 10], [3, 20]]) h.add({ d: np.array(d), g });
  assert.equal(h.pending, 2);
  assert.deepEqual(await h.flush(2, 0), { d: 2, g: 15 });
  assert.equal(await h.flush(2, 0), null, "nothing added since the last flush");
  h.add({ d: np.array(5), g: np.array(7) });
  await h.flush(3, 1);
  const csv = h.toCsv();
  assert.match(csv, /^step,epoch,seconds,d,g\n2,0,[0-9.]+,2,15\n3,1,[0-9.]+,5,7\n$/);
  const again = new History(["d", "g"]);
  again.restore(csv, 2);
  assert.deepEqual(again.rows.map((r) => [r.step, r.values.d]), [[2, 2]]);
  assert.throws(
    () => new History(["d"]).restore(csv, 2),
    /columns step,epoch,seconds,d,g, expected step,epoch,seconds,d/,
  );
  assert.throws(() => h.add({ d: 1 }), /no value for g/);
  assert.throws(() => new History(["a,b"]), /plain identifier/);
});

Deno.test("TrainLog: a resumed run continues losses.csv from its step", async () => {
  const out = await Deno.makeTempDir();
  const quiet = { write: () => {} };
  const a = await TrainLog.open({ out, names: ["loss"], total: 6, logEvery: 2, progress: quiet });
  for (let s = 1; s <= 6; s++) await a.step(s, 0, { loss: s });
  await a.save();
  const b = await TrainLog.open({ out, names: ["loss"], total: 6, start: 4, logEvery: 2, progress: quiet });
  for (let s = 5; s <= 6; s++) await b.step(s, 0, { loss: 10 * s });
  await b.save();
  const rows = (await Deno.readTextFile(join(out, "losses.csv"))).trim().split("\n").map((l) => l.split(","));
  assert.deepEqual(rows.map((r) => [r[0], r[3]]), [["step", "loss"], ["2", "1.5"], ["4", "3.5"], ["6", "55"]]);
  await Deno.remove(out, { recursive: true });
});

Deno.test("TrainLog.save draws losses.png: one line per metric in its palette colour, falling where the loss falls", async () => {
  const out = await Deno.makeTempDir();
  const log = await TrainLog.open({
    out,
    names: ["loss", "acc"],
    total: 40,
    logEvery: 4,
    progress: { write: () => {} },
  });
  for (let s = 1; s <= 40; s++) await log.step(s, 0, { loss: 2 - s / 20, acc: s / 40 });
  assert.deepEqual(await log.save(), [join(out, "losses.csv"), join(out, "losses.png")]);
  const png = await readPng(join(out, "losses.png"));
  assert.deepEqual([png.width, png.height], [640, 400]);
  const ys = (rgb: number[]) => {
    const left: number[] = [], right: number[] = [];
    for (let y = 0; y < png.height; y++) {
      for (let x = 0; x < png.width; x++) {
        const [r, g, b] = png.get(x, y);
        if (r === rgb[0] && g === rgb[1] && b === rgb[2]) (x < png.width / 2 ? left : right).push(y);
      }
    }
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    return { n: left.length + right.length, left: mean(left), right: mean(right) };
  };
  const loss = ys([0xd7, 0x26, 0x3d]); // the first palette colour
  const acc = ys([0x1b, 0x63, 0xc6]); // the second
  assert.ok(loss.n > 100 && acc.n > 100, `line pixels: ${loss.n}, ${acc.n}`);
  assert.ok(loss.left < loss.right, "the loss falls: its line is higher (smaller y) on the left");
  assert.ok(acc.left > acc.right, "the accuracy rises");
  await Deno.remove(out, { recursive: true });
});

const CONFIG = { model: "toy", batch: 4, lr: 0.1 };

Deno.test("CheckpointManager: keeps the newest K, latest names the newest, files written whole", async () => {
  const dir = join(await Deno.makeTempDir(), "ckpt");
  const ckpt = new CheckpointManager(dir, { keep: 2 });
  assert.equal(await ckpt.latest(), null);
  for (const step of [5, 10, 15]) {
    await ckpt.save(step, { w: np.full([3], step), step, key: random.key(step) }, { epoch: 1, config: CONFIG });
  }
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
    "latest",
    "step_00000010.safetensors",
    "step_00000015.safetensors",
  ]);
  assert.equal(Deno.readTextFileSync(join(dir, "latest")), "step_00000015.safetensors\n");
  const info = await ckpt.latest();
  assert.deepEqual([info?.step, info?.epoch, info?.config], [15, 1, CONFIG]);
  const like = { w: np.zeros([3]), step: 0, key: random.key(0) };
  const r = await ckpt.restore(like, CONFIG);
  assert.deepEqual([await r.tree.w.tolist(), r.tree.step, await r.tree.key.tolist()], [[15, 15, 15], 15, [0, 15]]);
  // A run started afresh in the same folder replaces the newer checkpoints of the old one.
  await ckpt.save(10, like, { epoch: 0, config: CONFIG });
  assert.deepEqual(await ckpt.steps(), [10]);
  await assert.rejects(() => ckpt.save(11, { f: () => 1 }, { epoch: 0, config: CONFIG }), /f is a function/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("CheckpointManager: a crash in the middle of a save leaves the previous checkpoint in charge", async () => {
  const dir = await Deno.makeTempDir();
  const ckpt = new CheckpointManager(dir);
  const tree = (v: number) => ({ w: np.full([4], v) });
  await ckpt.save(10, tree(1), { epoch: 0, config: CONFIG });
  await ckpt.save(20, tree(2), { epoch: 0, config: CONFIG });
  // What a save killed before its rename leaves: a partial temporary file.
  const full = await Deno.readFile(join(dir, "step_00000020.safetensors"));
  await Deno.writeFile(join(dir, ".step_00000030.safetensors.1234.tmp"), full.subarray(0, 40));
  let r = await ckpt.restore(tree(0), CONFIG);
  assert.deepEqual([r.step, await r.tree.w.tolist()], [20, [2, 2, 2, 2]]);
  // A damaged newer file and no latest (a copy gone wrong): the newest file that loads is used.
  await Deno.writeFile(join(dir, "step_00000030.safetensors"), full.subarray(0, full.length - 3));
  await Deno.remove(join(dir, "latest"));
  r = await ckpt.restore(tree(0), CONFIG);
  assert.equal(r.step, 20);
  // The next save cleans up what the crash left.
  await ckpt.save(40, tree(4), { epoch: 1, config: CONFIG });
  assert.ok(![...Deno.readDirSync(dir)].some((e) => e.name.endsWith(".tmp")));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("CheckpointManager.restore refuses another model's checkpoint, a changed setting, or a different state", async () => {
  const dir = await Deno.makeTempDir();
  const ckpt = new CheckpointManager(dir);
  await assert.rejects(() => ckpt.restore({}, CONFIG), /^CheckpointError: No checkpoint in .* run without --resume/);
  await ckpt.save(3, { w: np.zeros([2, 2]) }, { epoch: 0, config: CONFIG });
  const err = await ckpt.restore({ w: np.zeros([2, 2]) }, { ...CONFIG, model: "dcgan", lr: 0.2 }).catch((e) => e);
  assert.ok(err instanceof CheckpointError);
  assert.match(
    err.message,
    /^Cannot resume from .*step_00000003\.safetensors: it was saved by another run \(model: "toy" there, "dcgan" here; lr: 0\.1 there, 0\.2 here\)\. Resume with the settings it was saved with, or use another --out/,
  );
  await assert.rejects(
    () => ckpt.restore({ w: np.zeros([2, 3]) }, CONFIG),
    /its state does not fit this model \(w: expected float32\[2,3\], found float32\[2,2\]\)/,
  );
  await assert.rejects(() => ckpt.restore({ w: np.zeros([2, 2]), b: np.zeros([2]) }, CONFIG), /the root: missing b/);
  await Deno.remove(dir, { recursive: true });
});

/** A toy classifier on 2×2 "images": a dense layer trained with Adam and dropout (so the step key matters). */
function toy() {
  const net = nn.serial({ drop: nn.dropout(0.2), fc: nn.dense(3) });
  const opt = optim.adam(0.05);
  const init = (key: Array) => {
    const params = net.init(key, [1, 4]).params;
    return { params, opt: opt.init(params) };
  };
  type State = ReturnType<typeof init>;
  const step = jit((s: State, x: Array, y: Array, key: Array) => {
    const loss = (p: State["params"]) =>
      nn.softmaxCrossEntropy(net.apply(p, x.reshape(-1, 4), { training: true, key }), y);
    const [l, g] = valueAndGrad(loss)(s.params);
    const [u, o] = opt.update(g, s.opt, s.params);
    return [{ params: optim.applyUpdates(s.params, u), opt: o }, l] as const;
  }, { donateArgnums: [0] });
  const n = 10;
  const data: Dataset = {
    images: Float32Array.from({ length: 4 * n }, (_, i) => Math.sin(i * 1.7)),
    labels: Int32Array.from({ length: n }, (_, i) => i % 3),
    size: n,
    shape: [1, 2, 2],
    classes: ["a", "b", "c"],
    source: "test",
  };
  return { init, step, data };
}

/** Trains the toy from `start` to `stop` in a fresh "process" (new objects, state from disk). */
async function toyRun(dir: string, start: number, stop: number) {
  const { init, step, data } = toy();
  const key = random.key(7);
  const [kInit, kData, kSteps] = random.split(key, 3);
  let run = { state: init(kInit), key };
  const ckpt = new CheckpointManager(dir);
  if (start > 0) run = (await ckpt.restore(run, CONFIG)).tree;
  for await (const b of batchStream(data, { batchSize: 4, key: kData, start, steps: stop })) {
    const [state] = step(run.state, b.x, b.y, random.foldIn(kSteps, b.step));
    run = { state, key: run.key };
    if (b.step + 1 === stop) await ckpt.save(stop, run, { epoch: b.epoch, config: CONFIG });
  }
  return run.state.params;
}

cpuTest(
  "resume is exact: stopped at step k and resumed, the parameters are bit-identical to an uninterrupted run",
  async () => {
    const root = await Deno.makeTempDir();
    const straight = await toyRun(join(root, "a"), 0, 7); // 7 steps over 3+ epochs of 2 batches
    await toyRun(join(root, "b"), 0, 3);
    const resumed = await toyRun(join(root, "b"), 3, 7);
    const bits = async (a: Array) => [...new Uint32Array((await a.data() as Float32Array).buffer)];
    assert.deepEqual(await bits(resumed.fc.w), await bits(straight.fc.w));
    assert.deepEqual(await bits(resumed.fc.b!), await bits(straight.fc.b!));
    // And not by accident: a different data order gives different parameters.
    const other = await toyRun(join(root, "c"), 0, 6);
    assert.notDeepEqual(await bits(other.fc.w), await bits(straight.fc.w));
    await save(join(root, "x.safetensors"), { w: straight.fc.w }); // the state saves with core/io as it is
    await Deno.remove(root, { recursive: true });
  },
);

const SPEC = {
  name: "toy",
  summary: "A toy example.",
  defaults: { epochs: 2, batch: 8, lr: 0.01, every: 5 },
  extra: { dataset: { type: "string" as const, default: "mnist", choices: ["mnist", "fashion"], help: "data" } },
};

Deno.test("parseFlags: defaults, values, --help, and every kind of bad input as a FlagError that says why", () => {
  const d = parseFlags(SPEC, []);
  assert.notEqual(d, "help");
  assert.deepEqual(d, {
    epochs: 2,
    steps: undefined,
    batch: 8,
    lr: 0.01,
    seed: 0,
    backend: undefined,
    out: "out/toy/",
    resume: false,
    every: 5,
    extra: { dataset: "mnist" },
  });
  const f = parseFlags(SPEC, [
    "--steps",
    "3",
    "--batch=16",
    "--lr",
    "1e-3",
    "--seed",
    "4",
    "--backend",
    "cpu",
    "--resume",
  ]);
  assert.ok(f !== "help");
  assert.deepEqual([f.steps, f.epochs, f.batch, f.lr, f.seed, f.backend, f.resume], [3, 2, 16, 0.001, 4, "cpu", true]);
  assert.equal(totalSteps(f, 100), 3);
  assert.equal(totalSteps(d as never, 100), 200);
  assert.equal(parseFlags(SPEC, ["--help"]), "help");
  assert.equal(parseFlags(SPEC, ["-h"]), "help");
  const bad: [string[], RegExp][] = [
    [["--steps", "-3"], /--steps/],
    [["--steps=-3"], /--steps must be an integer ≥ 1, got "-3"/],
    [["--steps", "abc"], /--steps must be an integer ≥ 1, got "abc"/],
    [["--steps", "2.5"], /--steps must be an integer ≥ 1/],
    [["--batch", "0"], /--batch must be an integer ≥ 1, got "0"/],
    [["--epochs", ""], /--epochs must be an integer ≥ 1, got ""/],
    [["--lr", "-1"], /--lr must be a positive number, got "-1"/],
    [["--lr", "fast"], /--lr must be a positive number/],
    [["--seed", "-1"], /--seed must be an integer ≥ 0/],
    [["--backend", "tpu"], /--backend must be cpu or webgpu, got "tpu"/],
    [["--dataset", "cifar"], /--dataset must be mnist or fashion, got "cifar"/],
    [["--bogus"], /Unknown option '--bogus'/],
    [["--steps"], /--steps.*argument missing/],
    [["extra"], /Unexpected argument 'extra'/],
  ];
  for (const [args, why] of bad) {
    assert.throws(() => parseFlags(SPEC, args), (e) => e instanceof FlagError && why.test(e.message));
  }
});

Deno.test("usage lists every shared flag with its default, and the example's own", () => {
  const text = usage(SPEC);
  for (const flag of ["--epochs N", "--steps N", "--batch N", "--lr X", "--seed N", "--backend NAME", "--out DIR"]) {
    assert.ok(text.includes(flag), flag);
  }
  assert.match(text, /^Usage: deno run -A examples\/toy\.ts \[flags\]\n\nA toy example\.\n\nFlags:\n/);
  assert.match(text, /--out DIR +output folder \(default out\/toy\/\)/);
  assert.match(text, /--dataset mnist\|fashion +data \(default mnist\)/);
  assert.match(text, /--help +print this and exit\n$/);
});
