"""What every PyTorch peer shares: the twin of bench/bench_util.h (command line, timing protocol,
one JSON line per measurement). Keep the two in step so both sides are measured the same way."""

import argparse
import ctypes
import json
import os
import resource
import time


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--only", default="", help="run only the measurements whose name has this")
    args = parser.parse_args()
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    return args


def wants(args, bench):
    """Whether the measurement `bench` was asked for (see --only)."""
    return args.only in bench


def setup_torch(threads):
    """Sets PyTorch's thread count and the BLAS's, which torch.set_num_threads does not reach when
    the BLAS is a pthreads OpenBLAS. Returns fields naming torch's version and its BLAS, for every
    report."""
    import torch

    torch.set_num_threads(threads)
    fields = {"torch": torch.__version__}
    with open("/proc/self/maps") as maps:
        mapped = {line.split()[-1] for line in maps if "blas" in line.split()[-1]}
    openblas = sorted(path for path in mapped if "libopenblas" in path)
    if not openblas:
        return {**fields, "blas": ",".join(sorted(mapped)) or "none"}
    lib = ctypes.CDLL(openblas[0])  # the copy already loaded: dlopen returns the same handle
    lib.openblas_set_num_threads(threads)
    lib.openblas_get_corename.restype = ctypes.c_char_p
    return {
        **fields,
        "blas": os.path.basename(openblas[0]),
        "blas_core": lib.openblas_get_corename().decode(),
        "blas_threads": lib.openblas_get_num_threads(),
    }


def measure(args, fn, sync=lambda: None):
    """Times fn like bench::measure (bench_util.h, Note [Timing protocol]); returns seconds per
    iteration as a dict with median, min, max, repeats, iters_per_repeat. `sync` waits for work fn
    only queued (torch.cuda.synchronize), once after each timed batch."""
    warmup_s = 0.02 if args.quick else 0.2
    calibrate_s = 0.01 if args.quick else 0.05
    repeat_s = 0.02 if args.quick else 0.1
    repeats = 3 if args.quick else 7

    def seconds_for(iters):
        start = time.perf_counter()
        for _ in range(iters):
            fn()
        sync()
        return time.perf_counter() - start

    warmup_end = time.perf_counter() + warmup_s
    fn()
    sync()
    while time.perf_counter() < warmup_end:
        fn()
        sync()
    iters = 1
    elapsed = seconds_for(iters)
    while elapsed < calibrate_s:
        iters *= 2
        elapsed = seconds_for(iters)
    per_repeat = max(1, int(iters * repeat_s / elapsed))
    per_iter = sorted(seconds_for(per_repeat) / per_repeat for _ in range(repeats))
    return {
        "median": per_iter[len(per_iter) // 2],
        "min": per_iter[0],
        "max": per_iter[-1],
        "repeats": repeats,
        "iters_per_repeat": per_repeat,
    }


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KiB


class Report:
    """One measurement, printed as one JSON line."""

    def __init__(self, bench, args, impl="pytorch", **fields):
        self.fields = {"bench": bench, "impl": impl, "threads": args.threads, **fields}

    def us_per_iter(self, timing):
        self.fields["us_per_iter"] = timing["median"] * 1e6
        return self.timing(timing)

    def gflops(self, flops, timing):
        self.fields["gflops"] = flops / timing["median"] * 1e-9
        return self.timing(timing)

    def timing(self, timing):
        """How the figure was measured: the spread of the repeats and their size."""
        self.fields["spread_pct"] = (timing["max"] - timing["min"]) / timing["median"] * 100.0
        self.fields["repeats"] = timing["repeats"]
        self.fields["iters_per_repeat"] = timing["iters_per_repeat"]
        return self

    def print(self):
        self.fields["peak_rss_mb"] = peak_rss_mb()
        print(json.dumps(self.fields), flush=True)
