/**
 * Runs `bench/peers/torch_cpu.py` as PyTorch's users run it: `OMP_WAIT_POLICY=PASSIVE` (its
 * thread pools otherwise busy-wait and fight over 2 cores), once with OpenBLAS pinned to its
 * Haswell kernels (as this project's machines pin it) and once free to pick its own. Callers
 * keep the faster result per measurement and say which setting gave it.
 * @module
 */

/** One PyTorch run: the OpenBLAS setting and the script's JSON output. */
export type TorchRun<T> = { label: string; out: T };

/**
 * The script's output under both OpenBLAS settings (a setting whose run fails is left out, with
 * the reason on stderr).
 *
 * @param args The script's flags.
 * @param extra More environment variables.
 * @returns One entry per setting that ran.
 */
export async function runTorch<T>(args: string[], extra: Record<string, string> = {}): Promise<TorchRun<T>[]> {
  const script = new URL("./torch_cpu.py", import.meta.url).pathname;
  const runs: TorchRun<T>[] = [];
  for (const coretype of ["Haswell", null]) {
    const env: Record<string, string> = { ...Deno.env.toObject(), ...extra, OMP_WAIT_POLICY: "PASSIVE" };
    if (coretype) env.OPENBLAS_CORETYPE = coretype;
    else delete env.OPENBLAS_CORETYPE;
    const label = coretype ? `OPENBLAS_CORETYPE=${coretype}` : "OpenBLAS picks its kernels";
    const out = await new Deno.Command("/usr/bin/python3", {
      args: [script, ...args],
      env,
      clearEnv: true,
      stdout: "piped",
      stderr: "inherit",
    }).output();
    if (out.success) runs.push({ label, out: JSON.parse(new TextDecoder().decode(out.stdout)) });
    else console.error(`PyTorch (${label}) failed with code ${out.code}: left out`);
  }
  return runs;
}
