/** Test helpers that pin a backend. */
import { defaultBackend, useBackend } from "../core/backend/backend.ts";

/** A test that runs on the cpu backend whatever `WAX_BACKEND` the suite uses, then restores it. */
export function cpuTest(name: string, fn: () => Promise<void> | void): void {
  Deno.test(name, async () => {
    const prev = defaultBackend().name;
    await useBackend("cpu");
    try {
      await fn();
    } finally {
      await useBackend(prev);
    }
  });
}
