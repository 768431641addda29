// The studio (examples/studio.ts): its parts against hand-worked values, its HTTP API and a load
// test against a real server on 127.0.0.1 with tiny checkpoints, and the page in a real browser
// (Debian's chromium through puppeteer-core; ignored where no chromium is installed).
import assert from "node:assert/strict";
import { np } from "../mod.ts";
import { decodePng } from "../models/mod.ts";
import { chromiumPath, ROOT, rssOf, startStudio, within } from "./_studio.ts";
import { BadRequest, parseQuery } from "../examples/studio/params.ts";
import { QUERY_SPECS } from "../examples/studio/handlers.ts";
import { between } from "../examples/studio/handlers.ts";
import { CancelledError, JobQueue, QueueFullError } from "../examples/studio/queue.ts";
import { bilinearMatrix, downsample, nearest, psnr } from "../examples/studio/upscale.ts";
import { inkAndSlant, topEigen } from "../examples/studio/directions.ts";
import { composite, searchLatent } from "../examples/studio/optimize.ts";
import { child, type Generator, leaf } from "../examples/studio/models.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const CKPT = Deno.makeTempDirSync({ prefix: "wax_studio_" });
// Tiny models: a few steps each, trained by the first server and loaded by the next.
const TINY = ["--train-steps", "12", "--score", "100", "--queue", "8"];
globalThis.addEventListener("unload", () => Deno.removeSync(CKPT, { recursive: true }));

Deno.test("studio params: valid values are read, anything else is a 400 naming the parameter", () => {
  const spec = QUERY_SPECS["/sample.png"];
  assert.deepEqual(parseQuery(new URLSearchParams("seed=42&model=cgan&label=3"), spec).values(), {
    seed: 42,
    model: "cgan",
    label: 3,
    size: 280,
  });
  // Values come typed by their spec (checked by `deno check`): no cast at the call sites.
  const q = parseQuery(new URLSearchParams("seed=7"), spec);
  const typed: [number | undefined, number, "dcgan" | "cgan" | "vae"] = [q.get("seed"), q.get("size"), q.get("model")];
  assert.deepEqual(typed, [7, 280, "dcgan"]);
  // @ts-expect-error: /sample.png has no parameter "t"
  assert.equal(q.get("t"), undefined);
  const bad: [string, string, RegExp][] = [
    ["seed=-1", "seed", /seed must be an integer from 0 to 2147483647, got "-1"/],
    ["seed=1.5", "seed", /integer/],
    ["seed=0x10", "seed", /integer/],
    ["seed=%201", "seed", /integer/],
    ["size=27", "size", /size must be an integer from 28 to 560/],
    ["model=gpt", "model", /model must be one of dcgan, cgan, vae/],
    ["seed=1&seed=2", "seed", /given twice/],
    ["file=..%2Fetc%2Fpasswd", "file", /Unknown parameter "file"/],
  ];
  for (const [q, parameter, message] of bad) {
    assert.throws(() => parseQuery(new URLSearchParams(q), spec), (e: unknown) => {
      assert(e instanceof BadRequest, q);
      assert.equal(e.parameter, parameter, q);
      assert.match(e.message, message, q);
      return e.status === 400;
    });
  }
  const mix = QUERY_SPECS["/mix.png"];
  assert.deepEqual(parseQuery(new URLSearchParams("za=1,-2.5,.5e1&b=3&t=1"), mix).get("za"), [1, -2.5, 5]);
  for (const q of ["t=1.01", "t=NaN", "t=Infinity", "za=1,,2", "za=11"]) {
    assert.throws(() => parseQuery(new URLSearchParams(`a=1&b=2&${q}`), mix), BadRequest, q);
  }
});

Deno.test("studio queue: a full queue refuses, a cancelled waiter never runs, slots pass on", async () => {
  const q = new JobQueue({ concurrency: 1, capacity: 2 });
  const never = new AbortController().signal;
  let release!: () => void;
  const ran: string[] = [];
  const first = q.run(() => new Promise<void>((r) => (release = r)).then(() => void ran.push("first")), never);
  const leaving = new AbortController();
  const second = q.run(() => Promise.resolve(void ran.push("second")), leaving.signal);
  const third = q.run(() => Promise.resolve(void ran.push("third")), never);
  await assert.rejects(q.run(() => Promise.resolve(void ran.push("fourth")), never), QueueFullError);
  assert.deepEqual(q.stats(), { running: 1, waiting: 2, done: 0, refused: 1, cancelled: 0 });
  leaving.abort();
  await assert.rejects(second, CancelledError);
  release();
  await Promise.all([first, third]);
  assert.deepEqual(ran, ["first", "third"]);
  assert.deepEqual(q.stats(), { running: 0, waiting: 0, done: 2, refused: 1, cancelled: 1 });
});

Deno.test("studio upscaler maths: bilinear weights, nearest, block averages and PSNR by hand", async () => {
  // Half-pixel centres: output i samples (i + ½)/2 − ½ = −¼, ¼, ¾, 1¼, clamped to [0, 1].
  assert.deepEqual([...bilinearMatrix(2, 2)], [1, 0, 0.75, 0.25, 0.25, 0.75, 0, 1]);
  const x = np.array([[1, 2], [3, 4]]).reshape([1, 1, 2, 2]);
  assert.deepEqual(await nearest(x, 2).reshape([4, 4]).tolist(), [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [
    3,
    3,
    4,
    4,
  ]]);
  assert.deepEqual(await downsample(nearest(x, 2), 2).reshape([2, 2]).tolist(), [[1, 2], [3, 4]]);
  // Every pixel off by 0.1: MSE 0.01, PSNR 10·log10(1/0.01) = 20 dB.
  const a = np.full([2, 1, 4, 4], 0.5);
  assert(Math.abs((await psnr(a.add(0.1), a)) - 20) < 1e-4);
});

Deno.test("studio directions: ink and slant of a drawn line, eigenvectors of a 2×2 matrix", () => {
  // A one-pixel line x = 14 + 0.5·(14 − y): it leans right by half a pixel per row.
  const img = new Float32Array(784);
  for (let y = 4; y < 25; y += 2) img[y * 28 + 14 + 0.5 * (14 - y)] = 1;
  const { ink, slant } = inkAndSlant(img);
  assert.equal(ink, 11);
  assert(Math.abs(slant - 0.5) < 1e-9, `slant ${slant}`);
  // [[2, 1], [1, 2]]: eigenvalues 3 along (1, 1)/√2 and 1 along (1, −1)/√2.
  const { vectors, values } = topEigen(Float64Array.from([2, 1, 1, 2]), 2, 2);
  assert(Math.abs(values[0] - 3) < 1e-9 && Math.abs(values[1] - 1) < 1e-9, `${values}`);
  assert(Math.abs(Math.abs(vectors[0][0]) - Math.SQRT1_2) < 1e-9 && Math.abs(vectors[0][0] - vectors[0][1]) < 1e-9);
  // Spherical interpolation of orthogonal unit vectors: the midpoint is (a + b)/√2.
  const mid = between(Float32Array.from([1, 0]), Float32Array.from([0, 1]), 0.5, "spherical");
  assert(Math.abs(mid[0] - Math.SQRT1_2) < 1e-6 && Math.abs(mid[1] - Math.SQRT1_2) < 1e-6);
});

Deno.test("studio latent search: grad through a generator finds a latent that draws the target", async () => {
  // A stand-in generator: pixels = sigmoid(z·W); the target is the image of a known latent.
  const w = np.array(Float32Array.from({ length: 8 * 784 }, (_, i) => Math.sin(i * 12.9898) * 2), { shape: [8, 784] });
  const gen: Generator = {
    name: "vae",
    latent: 8,
    classes: 0,
    params: { w },
    render: (p, z) =>
      np.divide(1, np.exp(np.matmul(z, leaf(child(p, "w", "params"), "w")).neg()).add(1)).reshape([-1, 1, 28, 28]),
    sample: (z) => gen.render(gen.params, z, null),
    source: "test",
    steps: 0,
    small: true,
  };
  const target = Float32Array.from(await gen.sample(np.array([[0.5, -1, 0.3, 0.8, -0.2, 1.1, 0, -0.7]]), null).data());
  const mask = Float32Array.from({ length: 784 }, (_, i) => (i % 28 < 14 ? 1 : 0));
  const search = { target, mask, steps: 150, restarts: 4, seed: 1, prior: 0, label: null };
  let last = null;
  for await (const f of searchLatent(gen, search, { every: 50 })) last = f;
  assert(last && last.step === 150);
  assert(last.error < 0.05 * last.initial, `error ${last.error} from ${last.initial}`);
  const kept = composite(target, mask, last.image);
  for (let i = 0; i < 784; i++) if (mask[i]) assert.equal(kept[i], target[i]);
});

Deno.test("studio flags: --help prints the usage (exit 0), a bad flag the usage and the reason (exit 2)", async () => {
  const run = async (args: string[]) => {
    const cmd = new Deno.Command(Deno.execPath(), { args: ["run", "-A", "examples/studio.ts", ...args], cwd: ROOT });
    const r = await cmd.output();
    return { code: r.code, out: text(r.stdout), err: text(r.stderr) };
  };
  const help = await run(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.out, /^Usage: deno run -A examples\/studio\.ts \[flags\]/);
  for (
    const [args, why] of [[["--port", "70000"], /--port must be an integer from 0 to 65535, got 70000/], [
      ["--colour"],
      /Unknown option '--colour'/,
    ]] as const
  ) {
    const r = await run([...args]);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /^Usage: /);
    assert.match(r.err, why);
  }
});

/** Fetches and returns status, headers and body bytes, with a time limit. */
async function get(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; headers: Headers; body: Uint8Array }> {
  const r = await fetch(url, { signal: AbortSignal.timeout(120_000), ...init });
  return { status: r.status, headers: r.headers, body: new Uint8Array(await r.arrayBuffer()) };
}

/** The grey levels of a PNG, and checks it is `side × side`. */
function grey(png: Uint8Array, side: number): number[] {
  const c = decodePng(png);
  assert.equal(c.width, side);
  assert.equal(c.height, side);
  return Array.from({ length: side * side }, (_, i) => c.data[4 * i]);
}

Deno.test({
  name: "studio server: pictures, 400s, bodies, streamed searches, cancellation and 200 concurrent requests",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    // This server trains the tiny models, on the cpu backend whatever WAX_BACKEND says (training them on
    // a software WebGPU adapter takes minutes); the browser test's server loads them on WAX_BACKEND's.
    const studio = await startStudio(CKPT, [...TINY, "--backend", "cpu"]);
    try {
      const u = studio.url;
      const health = JSON.parse(text((await get(`${u}/healthz`)).body));
      assert.equal(health.ok, true);
      assert.deepEqual(Object.keys(health.models), ["dcgan", "cgan", "vae"]);
      assert.equal(health.upscaler.score.images, 100);
      // One seed, one picture; no seed, a new one each time.
      const a = await get(`${u}/sample.png?seed=42&model=vae`), b = await get(`${u}/sample.png?seed=42&model=vae`);
      assert.equal(a.status, 200);
      assert.deepEqual(a.body, b.body);
      const px = grey(a.body, 280);
      assert(Math.max(...px) > Math.min(...px), "the digit is blank");
      const r1 = await get(`${u}/sample.png?size=28`), r2 = await get(`${u}/sample.png?size=28`);
      assert.notEqual(r1.headers.get("x-seed"), r2.headers.get("x-seed"));
      for (const path of ["/grid.png?n=4", "/mix.png?a=1&b=2&t=0.3", "/tune.png?seed=1&dir=pc1&amount=2"]) {
        assert.equal((await get(`${u}${path}`)).status, 200, path);
      }
      assert.equal(decodePng((await get(`${u}/upscale.png?seed=1&factor=4`)).body).width, 112);
      // Refusals: status, and a JSON message naming the parameter.
      const refusals: [string, RequestInit, number, string][] = [
        ["/sample.png?seed=abc", {}, 400, "seed"],
        ["/grid.png?n=101", {}, 400, "n"],
        ["/mix.png?a=1&zb=1,2", {}, 400, "zb"],
        ["/tune.png?amount=1", {}, 400, "dir"],
        ["/upscale.png?method=magic", {}, 400, "method"],
        ["/sample.png?model=vae&label=3", {}, 400, "label"],
        ["/outpaint", { method: "POST", headers: { "content-type": "text/plain" }, body: "x" }, 415, "content-type"],
        [
          "/outpaint",
          { method: "POST", headers: { "content-type": "application/json" }, body: "x".repeat(70000) },
          413,
          "body",
        ],
        ["/pattern", { method: "POST", headers: { "content-type": "application/json" }, body: "{" }, 400, "body"],
        [
          "/pattern",
          { method: "POST", headers: { "content-type": "application/json" }, body: '{"pixels":[1]}' },
          400,
          "pixels",
        ],
      ];
      for (const [path, init, status, parameter] of refusals) {
        const r = await get(`${u}${path}`, init);
        assert.equal(r.status, status, `${path}: ${text(r.body)}`);
        const j = JSON.parse(text(r.body));
        assert.equal(j.parameter, parameter, path);
        assert.match(j.error, new RegExp(parameter, "i"), path);
      }
      assert.equal((await get(`${u}/outpaint`)).status, 405);
      assert.equal((await get(`${u}/nothing`)).status, 404);

      // Outpainting streams frames and keeps the given pixels exactly.
      const given = grey((await get(`${u}/sample.png?seed=5&model=vae&size=28`)).body, 28).map((v) => v / 255);
      const mask = given.map((_, i) => (i % 28 < 14 ? 1 : 0));
      const body = JSON.stringify({ pixels: given, mask, model: "vae", steps: 20 });
      const res = await get(`${u}/outpaint`, { method: "POST", headers: { "content-type": "application/json" }, body });
      const lines = text(res.body).trim().split("\n").map((l) => JSON.parse(l));
      assert.deepEqual(lines.map((l) => l.step), [5, 10, 15, 20]);
      const done = lines.at(-1);
      assert.equal(done.done, true);
      const result = grey(Uint8Array.from(atob(done.png), (c) => c.charCodeAt(0)), 28);
      for (let i = 0; i < 784; i++) if (mask[i]) assert.equal(result[i], Math.round(given[i] * 255), `pixel ${i}`);

      // A client that goes away cancels its search.
      const ac = new AbortController();
      const long = JSON.stringify({ pixels: given, mask, model: "vae", steps: 300, restarts: 20 });
      const stream = await fetch(`${u}/outpaint`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: long,
        signal: ac.signal,
      });
      await within("the first frame", 60_000, () => stream.body!.getReader().read());
      ac.abort();
      await within("the search's cancellation", 60_000, async () => {
        for (;;) {
          const q = JSON.parse(text((await get(`${u}/healthz`)).body)).queue.searches;
          if (q.cancelled >= 1 && q.running === 0) return;
          await new Promise((r) => setTimeout(r, 200));
        }
      });

      // 200 concurrent requests: each is a PNG or a 503 with Retry-After; memory stays bounded.
      const before = rssOf(studio.pid) ?? health.rss;
      const answers = await within(
        "200 concurrent requests",
        240_000,
        () => Promise.all(Array.from({ length: 200 }, (_, i) => get(`${u}/sample.png?seed=${i}&size=56`))),
      );
      let ok = 0, busy = 0;
      for (const r of answers) {
        if (r.status === 200) {
          ok++;
          grey(r.body, 56);
        } else {
          assert.equal(r.status, 503, text(r.body));
          assert.equal(r.headers.get("retry-after"), "1");
          busy++;
        }
      }
      assert(ok >= 1 && ok + busy === 200, `${ok} PNGs, ${busy} 503s`);
      const after = JSON.parse(text((await get(`${u}/healthz`)).body));
      const rss = rssOf(studio.pid) ?? after.rss;
      const mb = (b: number) => (b / 2 ** 20).toFixed(0);
      console.log(`200 concurrent requests: ${ok} PNGs, ${busy} 503s; server RSS ${mb(before)} → ${mb(rss)} MB`);
      assert(rss < before + 512 * 2 ** 20, `RSS grew from ${before} to ${rss} bytes`);
      assert.equal(after.queue.pictures.running, 0);
      assert.equal(after.queue.pictures.waiting, 0);
      assert.equal((await get(`${u}/sample.png?seed=1`)).status, 200);
    } finally {
      await studio.stop();
    }
  },
});

const chromium = chromiumPath();

Deno.test({
  name: "studio page in chromium: digit, reload, seed link, mixer, tuner, pattern maker, outpainter, upscaler, a 400",
  ignore: chromium === null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { default: puppeteer } = await import("puppeteer-core");
    const studio = await startStudio(CKPT, TINY);
    const browser = await within("chromium's start", 60_000, () =>
      puppeteer.launch({
        executablePath: chromium!,
        headless: true,
        args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
      }));
    try {
      const page = await browser.newPage();
      page.setDefaultTimeout(90_000);
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      await page.setViewport({ width: 1180, height: 900 });
      // In-page code goes as text (this file is type-checked without the DOM's types).
      const js = (v: unknown) => JSON.stringify(v);
      const until = (expr: string) => page.waitForFunction(expr);
      const value = <T>(expr: string) => page.evaluate(expr) as Promise<T>;
      const ready = (sel: string) => until(`document.querySelector(${js(sel)})?.dataset.state === "ready"`);
      // The red channel of an img as the page decoded it.
      const pixels = (sel: string) =>
        value<{ w: number; h: number; red: number[] }>(`(async () => {
          const img = document.querySelector(${js(sel)});
          await img.decode();
          const c = document.createElement("canvas");
          [c.width, c.height] = [img.naturalWidth, img.naturalHeight];
          const ctx = c.getContext("2d");
          ctx.drawImage(img, 0, 0);
          const d = ctx.getImageData(0, 0, c.width, c.height).data;
          return { w: c.width, h: c.height, red: Array.from(d.filter((_, i) => i % 4 === 0)) };
        })()`);
      const hero = async () => {
        await ready("#hero-img");
        const seed = await value<string>(`document.querySelector("#hero-img").dataset.seed`);
        const model = await value<string>(`document.querySelector("#hero-model").value`);
        return { seed, model, ...(await pixels("#hero-img")) };
      };

      await page.goto(`${studio.url}/`, { waitUntil: "load" });
      const first = await hero();
      assert.equal(first.w, 336);
      assert(Math.max(...first.red) > Math.min(...first.red), "the digit is blank");
      await page.reload({ waitUntil: "load" });
      const second = await hero();
      assert.notEqual(second.seed, first.seed);
      assert.notDeepEqual(second.red, first.red);
      await page.goto(`${studio.url}/?seed=${first.seed}&model=${first.model}`, { waitUntil: "load" });
      const again = await hero();
      assert.equal(again.seed, first.seed);
      assert.deepEqual(again.red, first.red);

      // The mixer: moving the slider changes the blend.
      await ready("#mix-img");
      const mid = await pixels("#mix-img");
      const url = await value<string>(`document.querySelector("#mix-img").dataset.url`);
      await value(`(() => {
        const t = document.querySelector("#mix-t");
        t.value = "0";
        t.dispatchEvent(new Event("input"));
      })()`);
      await until(`(() => {
        const img = document.querySelector("#mix-img");
        return img.dataset.state === "ready" && img.dataset.url !== ${js(url)};
      })()`);
      assert.notDeepEqual((await pixels("#mix-img")).red, mid.red);

      // The outpainter keeps the left half of digit 5 of the VAE, measured against the server's own picture.
      await until(`document.querySelector("#outpaint-src")?.dataset.state === "ready"`);
      // Every status line the page shows while the search runs, to see its progress.
      await value(`(() => {
        const el = document.querySelector("#outpaint-status");
        globalThis.seen = [];
        new MutationObserver(() => globalThis.seen.push(el.textContent))
          .observe(el, { childList: true, characterData: true, subtree: true });
      })()`);
      await page.click("#outpaint-run");
      await until(`document.querySelector("#outpaint-img")?.dataset.state === "done"`);
      const seen = await value<string[]>(`globalThis.seen`);
      const steps = seen.flatMap((l) => /^step (\d+)\/120 · error \d\.\d{4}$/.exec(l)?.[1] ?? []).map(Number);
      assert(steps.length >= 3 && steps.every((v, i) => i === 0 || v > steps[i - 1]), `progress: ${seen.join(" | ")}`);
      assert.match(seen.at(-1) ?? "", /^done: error \d\.\d{4} \(from \d\.\d{4}\)$/);
      const out = await pixels("#outpaint-img");
      const seed = await value<string>(`document.querySelector("#outpaint-seed").value`);
      const model = await value<string>(`document.querySelector("#outpaint-model").value`);
      const src = grey((await get(`${studio.url}/sample.png?seed=${seed}&model=${model}&size=28`)).body, 28);
      assert.equal(out.w, 28);
      let worst = 0;
      for (let i = 0; i < 784; i++) if (i % 28 < 14) worst = Math.max(worst, Math.abs(out.red[i] - src[i]));
      assert(worst <= 1, `kept pixels moved by up to ${worst} grey levels`);
      // The tuner: a principal-direction slider and the cGAN's class slider each change their picture.
      const slide = async (img: string, input: string, to: string) => {
        await ready(img);
        const before = await pixels(img);
        const was = await value<string>(`document.querySelector(${js(img)}).dataset.url`);
        await value(`(() => {
          const s = document.querySelector(${js(input)});
          s.value = ${js(to)};
          s.dispatchEvent(new Event("input"));
        })()`);
        await until(`(() => {
          const i = document.querySelector(${js(img)});
          return i.dataset.state === "ready" && i.dataset.url !== ${js(was)};
        })()`);
        const url = await value<string>(`document.querySelector(${js(img)}).dataset.url`);
        assert.notDeepEqual((await pixels(img)).red, before.red, `${input} → ${to} did not change ${img}`);
        return url;
      };
      assert.match(await slide("#tune-img", "#tune-pc1", "2.5"), /[?&]pc1=2\.5(&|$)/);
      assert.match(await slide("#class-img", "#class-t", "7"), /[?&]class=7(&|$)/);

      // The pattern maker: the search through the generator brings the drawn shape closer.
      await page.click("#pattern-run");
      await until(`document.querySelector("#pattern-img")?.dataset.state === "done"`);
      const [error, initial] = await value<[number, number]>(`(() => {
        const d = document.querySelector("#pattern-img").dataset;
        return [Number(d.error), Number(d.initialError)];
      })()`);
      assert(error <= initial, `pattern error ${error} from ${initial}`);
      assert.equal((await pixels("#pattern-img")).w, 28);

      // The upscaler: three 2× pictures (56 pixels), the net's unlike bilinear's, and its PSNR figure.
      const ups = [];
      for (const m of ["nearest", "bilinear", "net"]) {
        await ready(`#up-${m}`);
        ups.push(await pixels(`#up-${m}`));
      }
      assert.deepEqual(ups.map((u) => u.w), [56, 56, 56]);
      assert.notDeepEqual(ups[2].red, ups[1].red);
      // A digit drawn on the upscaler's pad replaces the generated one in all three pictures.
      const pad = await page.$("#up-pad");
      const box = await pad?.boundingBox();
      assert(box, "no upscaler pad");
      const at = (
        x: number,
        y: number,
      ): [number, number] => [box.x + (x / 28) * box.width, box.y + (y / 28) * box.height];
      await page.mouse.move(...at(14, 5));
      await page.mouse.down();
      await page.mouse.move(...at(14, 23), { steps: 8 });
      await page.mouse.up();
      for (const m of ["nearest", "bilinear", "net"]) await ready(`#up-${m}`);
      const drawn = await pixels("#up-net");
      assert.equal(drawn.w, 56);
      assert.notDeepEqual(drawn.red, ups[2].red);
      assert.match(
        await value<string>(`document.querySelector("#psnr").textContent`),
        /^On 100 test digits its PSNR is \d+\.\d\d dB at 2× \(bilinear \d+\.\d\d dB, [+-]\d+\.\d\d dB\)/,
      );
      await Deno.mkdir("out/studio", { recursive: true });
      for (const panel of ["hero", "mixer", "tuner", "pattern", "outpaint", "upscaler"]) {
        await (await page.$(`#${panel}`))?.screenshot({ path: `out/studio/test_${panel}.png` });
      }
      await page.screenshot({ path: `${CKPT}/page.png`, fullPage: true });
      await Deno.copyFile(`${CKPT}/page.png`, "out/studio/test_page.png");

      // A bad parameter in the link: the page shows the server's 400 message.
      await page.goto(`${studio.url}/?seed=abc`, { waitUntil: "load" });
      await until(`document.querySelector("#hero-error")?.textContent !== ""`);
      const message = await value<string>(`document.querySelector("#hero-error").textContent`);
      assert.match(message!, /^400: seed must be an integer from 0 to 2147483647, got "abc"/);
      assert.deepEqual(errors, []);
    } finally {
      await within("closing chromium", 30_000, () => browser.close()).catch(() => browser.process()?.kill("SIGKILL"));
      await studio.stop();
    }
  },
});
