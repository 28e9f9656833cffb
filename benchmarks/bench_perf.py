"""Performance suite: sktdi against a minimal-S4D implementation, as ratios from one run.

Run from the repository root (with the package installed)::

    python benchmarks/bench_perf.py                 # everything, ~25 min on 2 CPU cores
    python benchmarks/bench_perf.py --quick         # smoke run: small sizes, no curves
    python benchmarks/bench_perf.py --cases layer fit --max-len 4096
    python benchmarks/bench_perf.py --device cuda   # the layer case on a GPU (d_model 256)
    python benchmarks/bench_perf.py --cases layer --max-len 4096 --stem perf_layer \\
        --threads 1 --note "..."     # the layer case alone, one torch thread, a remark

The naive side is ``_minimal_s4d.py``: a minimal S4D written independently after
``state-spaces/s4`` ``models/s4/s4d.py``, and its training loop.

Cases (each measurement in a fresh subprocess, so that peak memory is its own):

``layer``
    One SSM layer, forward + backward, batch 64, ``d_model = n_states = 64``, ``L`` in
    256 ... 65,536, float32 and float64. *sktdi*: ``DiagonalSSM`` (chunked convolution,
    ``D`` skip), GELU and the GLU channel mix of ``SSMBlock``.
    *naive*: the minimal public S4D layer (``state-spaces/s4`` ``models/s4/s4d.py``):
    kernel as a complex ``einsum`` over an ``(H, N/2, L)`` tensor, FFT convolution with
    autograd's own backward, ``D`` skip, GELU, ``Conv1d(H, 2H, 1)`` + GLU. Time: best
    step, both layers in one process taking steps in turn (up to ``L = 16,384``; at
    65,536 one step each, in separate processes), with the default allocator and, for
    float32, with PyTorch's huge-page allocation (``HUGE_PAGES_ENV``). Memory: the peak
    RSS growth over the process's RSS before the first step, one process per layer, with
    freed tensors going straight back to the system (``MEMORY_ENV``). The SSM convolution
    alone is timed the same way: *sktdi* ``DiagonalSSM``, *naive* the ``S4D`` module
    (kernel, FFT convolution, ``D`` skip), without GELU and channel mix.
``fit``
    ``SSMClassifier.fit`` seconds per epoch against the minimal-S4D training loop of
    ``_minimal_s4d.py`` (same network, optimizer and batches), random (512, 1024) data: the
    median ratio over five alternating pairs in one process.
``overhead``
    ``SSMClassifier.fit`` against a bare torch loop over the *same* ``SSMNetwork``
    (same optimizer groups, batch size and epochs): the estimator's own cost, as the
    median ratio over seven alternating pairs in one process (so that both see the same
    machine state; the same fit in separate processes varied by up to 50%).
``initializer``
    ``SpectralInitializer.fit`` on 1,000 x 1,024 against one training epoch of
    ``SSMClassifier`` on the same data (``n_states = d_model = 64``).
``long``
    One training epoch of ``SSMClassifier`` at ``L = 65,536``, batch 16 (32 sequences),
    float32 and float64: time and peak memory.
``curves``
    The default ``sktdi curves`` run, end to end, wall time.
``throughput``
    Achieved FLOP/s of the FFT convolution's forward pass (``5 n log2 n`` real flops per
    complex FFT of size ``n``, half of it for a real one) next to the machine's float32
    matrix-multiply rate measured in the same run, and its bytes/s next to a large copy.

Results: ``<out>/<stem>.json`` and ``<out>/<stem>.md`` (stem ``perf``, ``perf_quick`` with
``--quick``, or ``--stem``), with the commit, command, versions and machine that made them.
"""

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import provenance, provenance_markdown  # noqa: E402

B, H, N = 64, 64, 64
LENGTHS = (256, 1024, 4096, 16384, 65536)


def _rss_mib():
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _cpu_model():
    with open("/proc/cpuinfo") as handle:
        return next((line.split(":", 1)[1].strip() for line in handle
                     if line.startswith("model name")), "unknown CPU")


# ----------------------------------------------------------------------------- workers
def build_layer(impl, dtype, device, d_model=H, n_states=N, part="layer"):
    """The whole layer (``part="layer"``) or its SSM convolution alone (``"ssm"``)."""
    from torch import nn

    if impl == "naive":
        from _minimal_s4d import build_baseline

        ssm = build_baseline(1, 2, d_model=d_model, n_states=n_states).s4d
        if part == "ssm":  # kernel, FFT convolution and D skip
            return ssm.to(device=device, dtype=dtype)
        mix = nn.Conv1d(d_model, 2 * d_model, kernel_size=1)
        modules = nn.ModuleDict({"ssm": ssm, "mix": mix}).to(device=device, dtype=dtype)

        def layer(u):  # (B, H, L), the S4D module of the minimal S4D
            y = nn.functional.gelu(modules["ssm"](u))
            return nn.functional.glu(modules["mix"](y), dim=1)

        return layer
    from sktdi.core import DiagonalSSM, SSMBlock, make_params

    ssm = DiagonalSSM.from_params(make_params("S4D-Lin", d_model, n_states, random_state=0))
    if part == "ssm":  # chunked convolution and D skip
        return ssm.to(device=device, dtype=dtype)
    block = SSMBlock(ssm, residual=True).to(device=device, dtype=dtype)

    def layer(u):  # the same layer: SSM, GELU, GLU channel mix; SSMBlock's residual and
        # LayerNorm are left out, as S4D's layer has neither
        return block.channel_mix(nn.functional.gelu(block.ssm(u)))

    return layer


def worker_layer(impl, L, dtype_name, device_name, d_model, steps, part="layer"):
    import torch

    torch.manual_seed(0)
    dtype, device = getattr(torch, dtype_name), torch.device(device_name)
    layer = build_layer(impl, dtype, device, d_model=d_model, n_states=N, part=part)
    u = torch.randn(B, d_model, L, dtype=dtype, device=device, requires_grad=True)

    def step():
        layer(u).sum().backward()
        if device.type == "cuda":
            torch.cuda.synchronize()

    rss_before = _rss_mib()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
        u.grad = None
    peak = (torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda"
            else _peak_mib() - rss_before)
    return {"seconds": min(times), "peak_mib": peak}


def worker_layer_pair(L, dtype_name, device_name, d_model, steps, part="layer"):
    """Both layers in one process, one step of each in turn after a warm-up round: the
    best time of each. Neighbouring steps see the same machine; the same layer timed in
    separate processes on a shared machine varied by up to 30%."""
    import torch

    torch.manual_seed(0)
    dtype, device = getattr(torch, dtype_name), torch.device(device_name)
    layers = {impl: build_layer(impl, dtype, device, d_model=d_model, n_states=N, part=part)
              for impl in ("naive", "sktdi")}
    u = torch.randn(B, d_model, L, dtype=dtype, device=device, requires_grad=True)
    times = {impl: [] for impl in layers}
    for round_ in range(steps + 1):
        for impl, layer in layers.items():
            start = time.perf_counter()
            layer(u).sum().backward()
            if device.type == "cuda":
                torch.cuda.synchronize()
            if round_:  # round 0 is the warm-up
                times[impl].append(time.perf_counter() - start)
            u.grad = None
    return {impl: min(values) for impl, values in times.items()}


def _random_data(n=512, L=1024):
    import numpy as np

    rng = np.random.RandomState(0)
    return rng.standard_normal((n, L)), rng.randint(0, 2, size=n)


def worker_fit(pairs, epochs):
    """``pairs`` alternating fits in one process: sktdi, then the minimal-S4D loop."""
    from _minimal_s4d import fit_baseline, fit_sktdi

    X, y = _random_data()
    runs = {"sktdi": [], "baseline": []}
    for fit in (fit_sktdi, fit_baseline):
        fit(X[:200], y[:200], 1)  # warm-up
    for _ in range(pairs):
        for name, fit in (("sktdi", fit_sktdi), ("baseline", fit_baseline)):
            start = time.perf_counter()
            fit(X, y, epochs)
            runs[name].append((time.perf_counter() - start) / epochs)
    return {"runs": runs, **{name: {"sec_per_epoch": min(times)}
                             for name, times in runs.items()}}


def worker_overhead(pairs, epochs):
    """``pairs`` alternating fits, in one process: the estimator, then the bare loop."""
    import warnings

    import torch
    from sklearn.exceptions import ConvergenceWarning

    from sktdi import SSMClassifier

    X, y = _random_data()
    # The network the bare loop can feed and train as the estimator does: one input view,
    # mean pooling, a random head (differences, the ridge probe and more poolings are work
    # of the model, not overhead of the estimator).
    params = {"n_states": N, "d_model": H, "max_iter": epochs, "tol": 0.0,
              "n_iter_no_change": 10**6, "random_state": 0, "device": "cpu",
              "pooling": "mean", "differences": False, "head_init": "random"}
    warnings.simplefilter("ignore", ConvergenceWarning)
    # warm-up, and a model whose network the bare loop trains by hand
    model = SSMClassifier(**{**params, "max_iter": 1}).fit(X[:200], y[:200]).model_

    def estimator():
        SSMClassifier(**params).fit(X, y)

    def bare():
        optimizer = torch.optim.AdamW(model.parameter_groups(3e-3, 1e-3, 1e-4))
        X_t = torch.as_tensor(X[:, None, :], dtype=torch.float32)
        y_t = torch.as_tensor(y, dtype=torch.long)
        generator = torch.Generator().manual_seed(0)
        for _ in range(epochs):
            order = torch.randperm(len(X_t), generator=generator)
            for begin in range(0, len(X_t), 200):
                index = order[begin:begin + 200]
                optimizer.zero_grad()
                loss = torch.nn.functional.cross_entropy(model(X_t[index]), y_t[index])
                loss.backward()
                optimizer.step()

    runs = {"sktdi": [], "bare": []}
    for _ in range(pairs):
        for name, run in (("sktdi", estimator), ("bare", bare)):
            start = time.perf_counter()
            run()
            runs[name].append((time.perf_counter() - start) / epochs)
    return {"runs": runs, **{name: {"sec_per_epoch": min(times)}
                             for name, times in runs.items()}}


def worker_initializer(impl, epochs):
    import warnings

    import numpy as np
    from sklearn.exceptions import ConvergenceWarning

    from sktdi import SpectralInitializer, SSMClassifier

    rng = np.random.RandomState(0)
    X, y = rng.standard_normal((1000, 1024)), rng.randint(0, 2, size=1000)
    if impl == "initializer":
        SpectralInitializer(n_states=N, d_model=H, random_state=0).fit(X[:50], y[:50])
        start = time.perf_counter()
        SpectralInitializer(n_states=N, d_model=H, random_state=0).fit(X, y)
        return {"seconds": time.perf_counter() - start}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        SSMClassifier(n_states=N, d_model=H, max_iter=1, random_state=0).fit(X[:50], y[:50])
        start = time.perf_counter()
        SSMClassifier(n_states=N, d_model=H, max_iter=epochs, tol=0.0, n_iter_no_change=10**6,
                      random_state=0).fit(X, y)
    return {"seconds": (time.perf_counter() - start) / epochs}


def worker_throughput(impl, L):
    import torch

    from sktdi.core import fft_conv

    torch.manual_seed(0)
    if impl == "matmul":
        a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
        a @ b
        start = time.perf_counter()
        for _ in range(5):
            a @ b
        seconds = (time.perf_counter() - start) / 5
        return {"gflops": 2 * 2048**3 / seconds / 1e9}
    if impl == "copy":
        a = torch.randn(64 * 2**20 // 4)  # 64 MiB
        b = torch.empty_like(a)
        b.copy_(a)
        start = time.perf_counter()
        for _ in range(10):
            b.copy_(a)
        seconds = (time.perf_counter() - start) / 10
        return {"gbytes_per_s": 2 * a.numel() * 4 / seconds / 1e9}
    u, K = torch.randn(B, H, L), torch.randn(H, L)
    with torch.no_grad():
        fft_conv(u, K)
        start = time.perf_counter()
        for _ in range(3):
            fft_conv(u, K)
        seconds = (time.perf_counter() - start) / 3
    n = 2 * L
    real_fft = 2.5 * n * math.log2(n)  # half of 5 n log2 n for a real FFT
    flops = (2 * B * H + H) * real_fft + 6 * B * H * (L + 1)
    moved = 4 * (B * H * L * 2 + H * L)  # read u and K, write y (float32)
    return {"seconds": seconds, "gflops": flops / seconds / 1e9,
            "gbytes_per_s": moved / seconds / 1e9}


def worker_long(impl, L):
    """One epoch of ``SSMClassifier`` on 32 sequences of length ``L`` in batches of 16."""
    import warnings

    import numpy as np
    from sklearn.exceptions import ConvergenceWarning

    from sktdi import SSMClassifier

    rng = np.random.RandomState(0)
    X, y = rng.standard_normal((32, L)).astype(np.float32), np.repeat([0, 1], 16)
    rss_before = _rss_mib()
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = SSMClassifier(n_states=N, d_model=H, batch_size=16, max_iter=1, dtype=impl,
                            random_state=0, device="cpu").fit(X, y)
    return {"seconds": time.perf_counter() - start, "peak_mib": _peak_mib() - rss_before,
            "loss": clf.loss_}


WORKERS = {"layer": worker_layer, "layer_pair": worker_layer_pair, "long": worker_long,
           "fit": worker_fit, "overhead": worker_overhead, "initializer": worker_initializer,
           "throughput": worker_throughput}


def run_in_subprocess(case, *args, timeout=1800, env=None):
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", case,
               *map(str, args)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              env=None if env is None else {**os.environ, **env})
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout}s"}
    if done.returncode != 0:
        reason = "killed (out of memory?)" if done.returncode < 0 else done.stderr[-300:]
        return {"error": reason}
    return json.loads(done.stdout.strip().splitlines()[-1])


# Environments of the layer workers. "memory": glibc's mmap threshold fixed at 64 KiB, so
# that every freed tensor gives its pages back at once and the peak RSS is the peak of the
# memory the layer holds. (With the default, dynamic threshold, freed blocks of up to
# 32 MiB stay in the heap and the high-water mark depends on fragmentation: 203-315 MiB
# against 116-121 MiB held, for the same sktdi step at L = 1,024.) "huge pages": PyTorch's
# THP_MEM_ALLOC_ENABLE, which backs large tensors with 2 MiB pages; by default every
# fresh tensor above 32 MiB is a new mmap whose 4 KiB pages each fault on first touch.
MEMORY_ENV = {"MALLOC_MMAP_THRESHOLD_": "65536"}
HUGE_PAGES_ENV = {"THP_MEM_ALLOC_ENABLE": "1"}


# ----------------------------------------------------------------------------- cases
def case_layer(args):
    rows = []
    d_model = 256 if args.device.startswith("cuda") else H
    for dtype in ("float32", "float64"):
        for L in [L for L in LENGTHS if L <= args.max_len]:
            row = {"dtype": dtype, "L": L, "naive": {}, "sktdi": {}}
            if L <= 16384:  # time: both layers in one process, a step of each in turn
                steps = 5 if L <= 4096 else 3
                _add_times(row, "seconds", run_in_subprocess(
                    "layer_pair", L, dtype, args.device, d_model, steps))
                _add_times(row, "seconds_ssm", run_in_subprocess(
                    "layer_pair", L, dtype, args.device, d_model, steps, "ssm"))
                if args.device == "cpu" and dtype == "float32":
                    _add_times(row, "seconds_huge_pages", run_in_subprocess(
                        "layer_pair", L, dtype, args.device, d_model, steps,
                        env=HUGE_PAGES_ENV))
            for impl in ("naive", "sktdi"):  # memory (and the longest times): one each
                if L > 16384:
                    for part, key in (("layer", "seconds"), ("ssm", "seconds_ssm")):
                        timed = run_in_subprocess("layer", impl, L, dtype, args.device,
                                                  d_model, 1, part)
                        _add_times(row, key, {impl: timed.get("seconds"), **timed}, [impl])
                held = run_in_subprocess("layer", impl, L, dtype, args.device, d_model, 1,
                                         env=MEMORY_ENV if args.device == "cpu" else None)
                if "peak_mib" in held:
                    row[impl]["peak_mib"] = held["peak_mib"]
                else:
                    row[impl].setdefault("error", held.get("error"))
            print(f"  layer {dtype} L={L}: {row}", flush=True)
            rows.append(row)
    return rows


def _add_times(row, key, result, impls=("naive", "sktdi")):
    for impl in impls:
        if result.get(impl) is not None:
            row[impl][key] = result[impl]
        elif "error" in result:
            row[impl].setdefault("error", result["error"])


def case_pairs(name, impls, epochs):
    """Two interleaved runs of each implementation: the best of each, and every run."""
    results, runs = {}, {impl: [] for impl in impls}
    for repeat in range(2):
        for impl in impls:
            result = run_in_subprocess(name, impl, epochs)
            print(f"  {name} {impl} (repeat {repeat}): {result}", flush=True)
            key = next(k for k in result if k != "error") if "error" not in result else None
            if key:
                runs[impl].append(result[key])
            if key and (impl not in results or result[key] < results[impl][key]):
                results[impl] = result
    return {**results, "runs": runs}


def case_curves(args):
    import tempfile

    with tempfile.TemporaryDirectory() as out:  # the timing is the result, not the files
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "sktdi", "curves", "--out", out,
                               "--quiet"], capture_output=True, text=True)
        seconds = time.perf_counter() - start
    if done.returncode != 0:
        return {"error": done.stderr[-300:]}
    return {"seconds": seconds, "device": args.device}


def case_long(args):
    return {dtype: run_in_subprocess("long", dtype, 65536) for dtype in ("float32", "float64")}


def case_throughput(args):
    machine = {"matmul": run_in_subprocess("throughput", "matmul", 0),
               "copy": run_in_subprocess("throughput", "copy", 0)}
    conv = {L: run_in_subprocess("throughput", "fftconv", L) for L in (1024, 16384)}
    return {"machine": machine, "fft_conv": conv}


# ----------------------------------------------------------------------------- report
def _ratio(a, b):
    return a / b if a and b else float("nan")


def scaling_exponent(rows, impl, dtype, L0=1024, L1=16384, key="seconds"):
    times = {r["L"]: r[impl].get(key) for r in rows if r["dtype"] == dtype}
    if not times.get(L0) or not times.get(L1):
        return None, None
    ratio = times[L1] / times[L0]
    return ratio, math.log(ratio) / math.log(L1 / L0)


def _cell(result, key, spec):
    return f"{result[key]:{spec}}" if key in result else result.get("error", "-")[:40]


def _layer_lines(rows):
    lines = ["## SSM layer, forward + backward (batch 64, d_model = n_states = 64)", "",
             "Time: best of 5 steps (3 at L = 16,384), the two layers in one process taking "
             "steps in turn; at L = 65,536 one step, each in its own process; default "
             "allocator. Memory: peak RSS growth with glibc's mmap threshold fixed at 64 KiB, "
             "so that it is the memory the step holds, not what the allocator keeps "
             "(`MEMORY_ENV` in `bench_perf.py`).", "",
             "### Whole layer, with channel mix: naive S4D + GELU + `Conv1d(H, 2H, 1)` + GLU; "
             "sktdi `DiagonalSSM` + GELU + `SSMBlock.channel_mix` (GLU)", "",
             "| dtype | L | naive (s) | sktdi (s) | speed-up | naive peak (MiB) | "
             "sktdi peak (MiB) | memory ratio |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        n, s = r["naive"], r["sktdi"]
        lines.append(
            f"| {r['dtype']} | {r['L']} | {_cell(n, 'seconds', '.3f')} | "
            f"{_cell(s, 'seconds', '.3f')} | {_ratio(n.get('seconds'), s.get('seconds')):.2f} | "
            f"{_cell(n, 'peak_mib', '.0f')} | {_cell(s, 'peak_mib', '.0f')} | "
            f"{_ratio(n.get('peak_mib'), s.get('peak_mib')):.2f} |")
    alone = [r for r in rows if "seconds_ssm" in r["naive"] or "seconds_ssm" in r["sktdi"]]
    if alone:
        lines += ["", "### SSM convolution alone: naive `S4D` module (kernel, FFT convolution, "
                  "`D` skip) vs sktdi `DiagonalSSM` (chunked convolution, `D` skip); timed as "
                  "above", "", "| dtype | L | naive (s) | sktdi (s) | speed-up |",
                  "|---|---|---|---|---|"]
        for r in alone:
            n, s = r["naive"], r["sktdi"]
            lines.append(f"| {r['dtype']} | {r['L']} | {_cell(n, 'seconds_ssm', '.3f')} | "
                         f"{_cell(s, 'seconds_ssm', '.3f')} | "
                         f"{_ratio(n.get('seconds_ssm'), s.get('seconds_ssm')):.2f} |")
    huge = [r for r in rows if "seconds_huge_pages" in r["sktdi"]]
    if huge:
        lines += ["", "Whole layer with PyTorch's huge-page allocation "
                  "(`THP_MEM_ALLOC_ENABLE=1`), float32:",
                  "", "| L | naive (s) | sktdi (s) | speed-up |", "|---|---|---|---|"]
        for r in huge:
            n, s = r["naive"].get("seconds_huge_pages"), r["sktdi"]["seconds_huge_pages"]
            lines.append(f"| {r['L']} | {n or float('nan'):.3f} | {s:.3f} | "
                         f"{_ratio(n, s):.2f} |")
    lines.append("")
    for key, label in (("seconds", "default allocator"),
                       ("seconds_huge_pages", "huge pages")):
        for dtype in ("float32", "float64"):
            for impl in ("sktdi", "naive"):
                ratio, exponent = scaling_exponent(rows, impl, dtype, key=key)
                if ratio:
                    lines.append(f"- {impl} {dtype}, {label}: time(L=16384) / time(L=1024) = "
                                 f"{ratio:.1f} (target <= 20), exponent {exponent:.2f}")
    # Above glibc's 32 MiB mmap threshold every large tensor is a fresh mapping at every
    # length, so the growth from L = 4,096 on is free of the allocator's step.
    for dtype in ("float32", "float64"):
        for impl in ("sktdi", "naive"):
            ratio, exponent = scaling_exponent(rows, impl, dtype, L0=4096, L1=65536)
            if ratio:
                lines.append(f"- {impl} {dtype}, default allocator: time(L=65536) / "
                             f"time(L=4096) = {ratio:.1f} for 16x the length, exponent "
                             f"{exponent:.2f}")
    return lines + [""]


def _paired_line(result, label, numerator, denominator, target, percent=False):
    """Median, range and best-against-best of the per-pair ratios of an alternating run."""
    if "error" in result:
        return f"{label}: {result['error']}\n"
    runs = result["runs"]
    ratios = sorted(a / b for a, b in zip(runs[numerator], runs[denominator], strict=True))
    best = min(runs[numerator]) / min(runs[denominator])
    fmt = (lambda r: f"{100 * (r - 1):.1f}%") if percent else (lambda r: f"{r:.2f}")
    return (f"{label}: median {fmt(statistics.median(ratios))} over {len(ratios)} "
            f"alternating pairs in one process (range {fmt(ratios[0])} to {fmt(ratios[-1])}; "
            f"best against best {fmt(best)}){target}\n")


def write_markdown(path, result):
    info = result["provenance"]
    lines = ["# Performance suite", "",
             f"Made by `{info['command']}` at commit `{info['commit']}`. Machine: "
             f"{info['machine']} ({info['cpu_model']}). Device: {result['device']}. "
             f"Wall time {result['wall_minutes']:.1f} min; 1-minute load average "
             f"{result['loadavg'][0]:.1f} at the start, {result['loadavg'][1]:.1f} at the end "
             f"({os.cpu_count()} CPUs). Ratios are naive / sktdi (above 1: sktdi is faster or "
             "smaller).", ""]
    if result.get("note"):
        lines += [result["note"], ""]
    if "layer" in result:
        lines += _layer_lines(result["layer"])
    for name, label, key in (("fit", "SSMClassifier.fit vs minimal-S4D loop", "sec_per_epoch"),
                             ("overhead", "SSMClassifier.fit vs a bare loop over the same "
                              "network", "sec_per_epoch"),
                             ("initializer", "SpectralInitializer.fit vs one epoch",
                              "seconds")):
        if name in result:
            res = result[name]
            lines += [f"## {label}", ""]
            for impl, value in res.items():
                if impl == "runs":
                    continue
                lines.append(f"- {impl}: {value.get(key, float('nan')):.3f} s"
                             if isinstance(value, dict) else f"- {impl}: {value}")
            lines.append("")
    if "fit" in result:
        lines.append(_paired_line(result["fit"], "fit speed-up (baseline / sktdi)", "baseline",
                                  "sktdi", " (target >= 2x)"))
    if "overhead" in result:
        lines.append(_paired_line(result["overhead"], "estimator overhead (of the bare loop)",
                                  "sktdi", "bare", " (target < 10%)", percent=True))
    if "initializer" in result:
        i = result["initializer"]
        lines.append(f"initializer / one epoch: "
                     f"{_ratio(i['initializer']['seconds'], i['epoch']['seconds']):.3f}\n")
    if "long" in result:
        lines += ["## L = 65,536: one training epoch, batch 16, d_model = n_states = 64", ""]
        for dtype, res in result["long"].items():
            lines.append(f"- {dtype}: " + (f"{res['seconds']:.1f} s, peak RSS growth "
                                           f"{res['peak_mib'] / 1024:.2f} GiB"
                                           if "seconds" in res else res["error"]))
        lines.append("")
    if "curves" in result:
        lines += ["## Default `sktdi curves`, end to end", "",
                  f"{result['curves'].get('seconds', float('nan')):.0f} s", ""]
    if "throughput" in result:
        t = result["throughput"]
        gemm = t["machine"]["matmul"].get("gflops", float("nan"))
        copy = t["machine"]["copy"].get("gbytes_per_s", float("nan"))
        lines += ["## Throughput of the FFT convolution (forward, float32, batch 64, H 64)", "",
                  f"Machine, same run: float32 matmul {gemm:.1f} GFLOP/s; copy {copy:.1f} GB/s.",
                  "", "| L | ms | GFLOP/s | of matmul | GB/s | of copy |",
                  "|---|---|---|---|---|---|"]
        for L, c in t["fft_conv"].items():
            lines.append(f"| {L} | {1e3 * c['seconds']:.1f} | {c['gflops']:.2f} | "
                         f"{c['gflops'] / gemm:.0%} | {c['gbytes_per_s']:.2f} | "
                         f"{c['gbytes_per_s'] / copy:.0%} |")
        lines.append("")
    lines += ["## Provenance", "", provenance_markdown(info), ""]
    Path(path).write_text("\n".join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--cases", nargs="+", default=["layer", "fit", "overhead", "initializer",
                                                        "throughput", "long", "curves"])
    parser.add_argument("--max-len", type=int, default=65536)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=str(HERE / "results"))
    parser.add_argument("--stem", help="result file stem (default perf, perf_quick)")
    parser.add_argument("--threads", type=int, help="torch threads (OMP_NUM_THREADS) of every "
                        "process; default torch's own (on a loaded machine, 2 threads on 2 "
                        "cores wait on each other at every parallel region)")
    parser.add_argument("--note", default="", help="a sentence for the top of the report")
    args = parser.parse_args(argv)
    if args.worker:
        case, *rest = args.worker
        typed = [int(x) if x.lstrip("-").isdigit() else x for x in rest]
        print(json.dumps(WORKERS[case](*typed)))
        return 0
    if args.quick:
        args.max_len, args.epochs = min(args.max_len, 1024), 1
        args.cases = [c for c in args.cases if c not in ("curves", "long")]
    if args.threads:  # the workers' torch reads it as it loads
        import torch

        os.environ["OMP_NUM_THREADS"] = str(args.threads)
        torch.set_num_threads(args.threads)
    start = time.perf_counter()
    result = {"provenance": {**provenance(), "cpu_model": _cpu_model()}, "device": args.device,
              "settings": vars(args), "note": args.note, "loadavg": [os.getloadavg()[0]]}
    for case in args.cases:
        print(f"case {case}", flush=True)
        if case == "layer":
            result["layer"] = case_layer(args)
        elif case == "fit":
            result["fit"] = run_in_subprocess("fit", 5, args.epochs)
        elif case == "overhead":
            result["overhead"] = run_in_subprocess("overhead", 7, args.epochs)
        elif case == "initializer":
            result["initializer"] = case_pairs("initializer", ("initializer", "epoch"), 1)
        elif case == "throughput":
            result["throughput"] = case_throughput(args)
        elif case == "long":
            result["long"] = case_long(args)
        elif case == "curves":
            result["curves"] = case_curves(args)
    result["wall_minutes"] = (time.perf_counter() - start) / 60
    result["loadavg"].append(os.getloadavg()[0])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = args.stem or ("perf_quick" if args.quick else "perf")
    (out / f"{stem}.json").write_text(json.dumps(result, indent=1, default=str))
    write_markdown(out / f"{stem}.md", result)
    print((out / f"{stem}.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
