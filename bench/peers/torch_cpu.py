"""PyTorch CPU timings for the kernels in bench/cpu_bench.ts; prints one JSON object.

Run with Debian's python3-torch and libopenblas0-pthread: /usr/bin/python3 bench/peers/torch_cpu.py
"""
import json
import sys
import time

import torch


def timeit(fn, min_time=1.0, max_iters=200):
    fn()
    n, t0 = 0, time.perf_counter()
    while n < max_iters and (n < 3 or time.perf_counter() - t0 < min_time):
        fn()
        n += 1
    return (time.perf_counter() - t0) / n * 1e3


def main():
    quick = "--quick" in sys.argv
    out = {"threads": torch.get_num_threads(), "version": torch.__version__, "ms": {}}
    for n in [256] if quick else [256, 512, 1024, 2048]:
        a, b = torch.randn(n, n), torch.randn(n, n)
        out["ms"][f"matmul {n}"] = timeit(lambda: a @ b)
    x = torch.randn(64, 64, 14, 14, requires_grad=True)
    w = (torch.randn(128, 64, 5, 5) * 0.05).requires_grad_(True)
    conv = lambda: torch.nn.functional.conv2d(x, w, stride=2, padding=2)
    with torch.no_grad():
        out["ms"]["conv fwd"] = timeit(conv)

    def fwd_bwd():
        x.grad = w.grad = None
        conv().sum().backward()

    out["ms"]["conv fwd+bwd"] = timeit(fwd_bwd)
    print(json.dumps(out))


main()
