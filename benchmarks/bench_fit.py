"""Training-speed benchmark: ``SSMClassifier.fit`` against a minimal-S4D training loop.

Run from the repository root (with the package installed)::

    python benchmarks/bench_fit.py            # full run, a few minutes on 2 CPU cores
    python benchmarks/bench_fit.py --quick    # smoke run: 1 epoch, 1 repeat, small data
    python benchmarks/bench_fit.py --out DIR  # write the results somewhere else
    python benchmarks/bench_fit.py --threads 1  # override torch's default thread count

What is measured
----------------
* **sktdi**: ``SSMClassifier(n_states=64, d_model=64, dtype="float32", device="cpu")``
  trained for a fixed number of epochs (``tol=0`` and a large ``n_iter_no_change``, so
  every epoch runs). The timed region is the whole ``fit`` call (input validation,
  initialization and training).
* **baseline**: the same network written the way the minimal public S4D
  (``state-spaces/s4``, ``models/s4/s4d.py``, ``S4DKernel``/``S4D``) writes it:
  parameters ``log_dt``, ``C`` as a real view, ``log_A_real``, ``A_imag``; the kernel
  ``2 * einsum('hn,hnl->hl', C * (exp(dtA) - 1) / A, exp(dtA[..., None] * arange(L))).real``
  over a full complex ``(H, N/2, L)`` tensor; FFT convolution with ``n = 2L``; ``D`` skip.
  Around it the same encoder, GELU, mean pooling and linear head, AdamW (lr 3e-3, and
  lr 1e-3 without weight decay on the SSM parameters, as S4D registers them), batches
  of 200, and a plain Python loop over shuffled mini-batches. The timed region is
  building the model plus the training loop.

Datasets: the bundled digits (1797 sequences of length 64, 10 classes) and random
Gaussian sequences of shape (512, 1024) with random binary labels.

Every (implementation, dataset, repeat) runs in a fresh subprocess (so that peak RSS,
``ru_maxrss``, is per measurement), after one untimed warm-up fit (1 epoch on the first
400 sequences) in the same process; repeats are interleaved across implementations so
slow drifts of the machine hit both. ``torch`` keeps its default number of threads.
Reported: median and best seconds per epoch, ``baseline / sktdi`` (above 1 means sktdi
is faster), and the 1-minute load average around each timed fit (on a shared machine,
other processes competing for the cores slow multithreaded torch a lot; trust "best").

Results go to ``<out>/fit_baseline.json`` and ``<out>/fit_baseline.md``
(``fit_baseline_threads<N>.*`` with ``--threads N``).
"""

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

SEED = 0
N_STATES = 64
D_MODEL = 64
LR = 3e-3
SSM_LR = 1e-3
WEIGHT_DECAY = 1e-4
BATCH_SIZE = 200
IMPLEMENTATIONS = ("sktdi", "baseline")


# --------------------------------------------------------------------------- data
def make_data(name, n_random, len_random):
    """``(X, y)`` as float64 ``(n, L)`` and int labels."""
    import numpy as np

    if name == "digits":
        from sktdi.datasets import load_digits_sequences

        return load_digits_sequences()
    rng = np.random.RandomState(SEED)
    X = rng.standard_normal((n_random, len_random))
    y = rng.randint(0, 2, size=n_random)
    return X, y


# --------------------------------------------------------------------------- sktdi
def fit_sktdi(X, y, epochs):
    """Fit ``SSMClassifier`` for exactly ``epochs`` epochs; return the last epoch loss."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from sktdi import SSMClassifier

    clf = SSMClassifier(
        init="S4D-Lin", n_states=N_STATES, d_model=D_MODEL, n_layers=1, dtype="float32",
        device="cpu", random_state=SEED, max_iter=epochs, tol=0.0,
        n_iter_no_change=10**6, learning_rate_init=LR, ssm_learning_rate=SSM_LR,
        alpha=WEIGHT_DECAY, batch_size="auto",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    if clf.n_iter_ != epochs:
        raise RuntimeError(f"sktdi ran {clf.n_iter_} epochs instead of {epochs}")
    return float(clf.loss_)


# --------------------------------------------------------------------------- baseline
def build_baseline(n_inputs, n_classes, d_model=D_MODEL, n_states=N_STATES,
                   dt_min=1e-3, dt_max=1e-1):
    """The minimal-S4D network (``S4DKernel`` + ``S4D`` of state-spaces/s4) in float32."""
    import torch
    from torch import nn

    class S4DKernel(nn.Module):
        def __init__(self, H, N):
            super().__init__()
            log_dt = torch.rand(H) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)
            C = torch.randn(H, N // 2, dtype=torch.cfloat)
            self.C = nn.Parameter(torch.view_as_real(C))
            self.log_dt = nn.Parameter(log_dt)
            self.log_A_real = nn.Parameter(torch.log(0.5 * torch.ones(H, N // 2)))
            self.A_imag = nn.Parameter(math.pi * torch.arange(N // 2).float().repeat(H, 1))

        def forward(self, L):
            dt = torch.exp(self.log_dt)  # (H)
            C = torch.view_as_complex(self.C)  # (H, N/2)
            A = -torch.exp(self.log_A_real) + 1j * self.A_imag  # (H, N/2)
            dtA = A * dt.unsqueeze(-1)  # (H, N/2)
            K = dtA.unsqueeze(-1) * torch.arange(L, device=A.device)  # (H, N/2, L)
            C = C * (torch.exp(dtA) - 1.0) / A
            return 2 * torch.einsum("hn,hnl->hl", C, torch.exp(K)).real  # (H, L)

    class S4D(nn.Module):
        def __init__(self, H, N):
            super().__init__()
            self.D = nn.Parameter(torch.randn(H))
            self.kernel = S4DKernel(H, N)

        def forward(self, u):  # (B, H, L)
            L = u.size(-1)
            k = self.kernel(L=L)
            k_f = torch.fft.rfft(k, n=2 * L)
            u_f = torch.fft.rfft(u, n=2 * L)
            y = torch.fft.irfft(u_f * k_f, n=2 * L)[..., :L]
            return y + u * self.D.unsqueeze(-1)

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Linear(n_inputs, d_model)
            self.s4d = S4D(d_model, n_states)
            self.head = nn.Linear(d_model, n_classes)

        def forward(self, x):  # (B, L, C)
            z = self.encoder(x).transpose(-1, -2)  # (B, H, L)
            z = nn.functional.gelu(self.s4d(z))
            return self.head(z.mean(dim=-1))

        def optimizer(self):
            kernel = self.s4d.kernel
            ssm = [kernel.log_dt, kernel.log_A_real, kernel.A_imag]
            ssm_ids = {id(p) for p in ssm}
            rest = [p for p in self.parameters() if id(p) not in ssm_ids]
            return torch.optim.AdamW([
                {"params": ssm, "lr": SSM_LR, "weight_decay": 0.0},
                {"params": rest, "lr": LR, "weight_decay": WEIGHT_DECAY},
            ])

    return Model()


def fit_baseline(X, y, epochs):
    """Plain training loop over shuffled mini-batches; return the last epoch loss."""
    import numpy as np
    import torch

    torch.manual_seed(SEED)
    x_t = torch.as_tensor(np.asarray(X, dtype=np.float32)).unsqueeze(-1)  # (n, L, 1)
    classes, y_enc = np.unique(y, return_inverse=True)
    y_t = torch.as_tensor(y_enc, dtype=torch.long)
    model = build_baseline(n_inputs=1, n_classes=len(classes))
    optimizer = model.optimizer()
    generator = torch.Generator().manual_seed(SEED)
    n = x_t.shape[0]
    batch = min(BATCH_SIZE, n)
    epoch_loss = float("nan")
    for _ in range(epochs):
        model.train()
        order = torch.randperm(n, generator=generator)
        total = 0.0
        for begin in range(0, n, batch):
            index = order[begin:begin + batch]
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x_t[index]), y_t[index])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(index)
        epoch_loss = total / n
    return epoch_loss


FITTERS = {"sktdi": fit_sktdi, "baseline": fit_baseline}


# --------------------------------------------------------------------------- worker
def run_worker(args):
    """One measurement in this process: warm-up fit, then one timed fit; print JSON."""
    import torch

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    X, y = make_data(args.dataset, args.n_random, args.len_random)
    fit = FITTERS[args.impl]
    fit(X[:400], y[:400], 1)  # warm-up (2 batches): imports, thread pools, FFT plans
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    loss = fit(X, y, args.epochs)
    seconds = time.perf_counter() - start
    load_after = os.getloadavg()[0]
    maxrss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({
        "impl": args.impl, "dataset": args.dataset, "epochs": args.epochs,
        "seconds": seconds, "sec_per_epoch": seconds / args.epochs,
        "final_loss": loss, "maxrss_mib": maxrss_kib / 1024.0,
        "torch_threads": torch.get_num_threads(),
        "loadavg_1min_before": load_before, "loadavg_1min_after": load_after,
    }))


def measure(impl, dataset, args):
    command = [
        sys.executable, str(Path(__file__).resolve()), "--worker", impl,
        "--dataset", dataset, "--epochs", str(args.epochs),
        "--n-random", str(args.n_random), "--len-random", str(args.len_random),
    ]
    if args.threads is not None:
        command += ["--threads", str(args.threads)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"worker {impl}/{dataset} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- report
def machine_info():
    import numpy as np
    import sklearn
    import torch

    cpu_model = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu_model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = None
    return {
        "cpu_model": cpu_model, "os_cpu_count": os.cpu_count(), "cpu_affinity": affinity,
        "torch_version": torch.__version__, "torch_num_threads": torch.get_num_threads(),
        "torch_num_interop_threads": torch.get_num_interop_threads(),
        "numpy_version": np.__version__, "sklearn_version": sklearn.__version__,
        "python_version": platform.python_version(), "platform": platform.platform(),
    }


def summarize(runs):
    per_epoch = [r["sec_per_epoch"] for r in runs]
    return {
        "sec_per_epoch_median": statistics.median(per_epoch),
        "sec_per_epoch_best": min(per_epoch),
        "sec_per_epoch_all": per_epoch,
        "final_loss": runs[-1]["final_loss"],
        "maxrss_mib": max(r["maxrss_mib"] for r in runs),
        "loadavg_1min": [[r["loadavg_1min_before"], r["loadavg_1min_after"]] for r in runs],
    }


def write_markdown(path, result):
    config = result["config"]
    machine = result["machine"]
    lines = [
        "# `SSMClassifier.fit` vs. a minimal-S4D training loop (CPU, float32)",
        "",
        f"n_states={N_STATES}, d_model={D_MODEL}, batch {BATCH_SIZE}, "
        f"{config['epochs']} epochs per fit, {config['repeats']} repeat(s) "
        f"(median / best). Mode: {config['mode']}.",
        f"Machine: {machine['cpu_model']}, {machine['os_cpu_count']} CPUs, "
        f"torch {machine['torch_version']} with "
        f"{config['threads_override'] or machine['torch_num_threads']} threads.",
        "",
        "| dataset | shape | sktdi s/epoch | baseline s/epoch | baseline / sktdi "
        "| sktdi peak RSS (MiB) | baseline peak RSS (MiB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, entry in result["datasets"].items():
        s, b = entry["sktdi"], entry["baseline"]
        lines.append(
            f"| {name} | {entry['shape'][0]} x {entry['shape'][1]} "
            f"| {s['sec_per_epoch_median']:.4f} / {s['sec_per_epoch_best']:.4f} "
            f"| {b['sec_per_epoch_median']:.4f} / {b['sec_per_epoch_best']:.4f} "
            f"| {entry['ratio_median']:.2f} / {entry['ratio_best']:.2f} "
            f"| {s['maxrss_mib']:.0f} | {b['maxrss_mib']:.0f} |"
        )
    loads = [x for e in result["datasets"].values() for i in IMPLEMENTATIONS
             for pair in e[i]["loadavg_1min"] for x in pair]
    lo, hi = min(loads), max(loads)
    lines += [
        "",
        "Ratio above 1: sktdi is faster. Peak RSS is `ru_maxrss` of the measuring "
        "subprocess (Python, torch and the data included). The 1-minute load average "
        f"of the machine ranged {lo:.1f}-{hi:.1f} during the timed fits (with "
        f"{machine['os_cpu_count']} CPUs, a load above that means other processes "
        "competed for the cores).",
        "",
    ]
    path.write_text("\n".join(lines))


def run_benchmark(args):
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    datasets = ("digits", "random")
    runs = {(d, i): [] for d in datasets for i in IMPLEMENTATIONS}
    shapes = {}
    started = time.perf_counter()
    for repeat in range(args.repeats):
        for dataset in datasets:
            for impl in IMPLEMENTATIONS:
                record = measure(impl, dataset, args)
                runs[dataset, impl].append(record)
                print(f"repeat {repeat + 1}/{args.repeats} {dataset:>7} {impl:>8}: "
                      f"{record['sec_per_epoch']:.4f} s/epoch, "
                      f"loss {record['final_loss']:.4f}, "
                      f"peak RSS {record['maxrss_mib']:.0f} MiB, load "
                      f"{record['loadavg_1min_before']:.1f}->{record['loadavg_1min_after']:.1f}",
                      flush=True)
    for dataset in datasets:
        X, _ = make_data(dataset, args.n_random, args.len_random)
        shapes[dataset] = list(X.shape)
    result = {
        "benchmark": "bench_fit",
        "config": {
            "mode": "quick" if args.quick else "full", "epochs": args.epochs,
            "repeats": args.repeats, "n_states": N_STATES, "d_model": D_MODEL,
            "batch_size": BATCH_SIZE, "lr": LR, "ssm_lr": SSM_LR,
            "weight_decay": WEIGHT_DECAY, "dtype": "float32", "device": "cpu",
            "seed": SEED, "threads_override": args.threads,
        },
        "machine": machine_info(),
        "total_wall_seconds": time.perf_counter() - started,
        "datasets": {},
    }
    for dataset in datasets:
        s = summarize(runs[dataset, "sktdi"])
        b = summarize(runs[dataset, "baseline"])
        result["datasets"][dataset] = {
            "shape": shapes[dataset], "sktdi": s, "baseline": b,
            "ratio_median": b["sec_per_epoch_median"] / s["sec_per_epoch_median"],
            "ratio_best": b["sec_per_epoch_best"] / s["sec_per_epoch_best"],
        }
    stem = "fit_baseline" if args.threads is None else f"fit_baseline_threads{args.threads}"
    (out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    write_markdown(out / f"{stem}.md", result)
    print((out / f"{stem}.md").read_text())
    return result


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="1 epoch, 1 repeat, random data of shape (128, 256)")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"),
                        help="output folder (default: benchmarks/results)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs per fit (default 5)")
    parser.add_argument("--repeats", type=int, default=None, help="repeats (default 3)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads in the workers (default: torch's own)")
    parser.add_argument("--n-random", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--len-random", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--worker", choices=IMPLEMENTATIONS, default=None,
                        help=argparse.SUPPRESS)
    parser.add_argument("--dataset", choices=("digits", "random"), default=None,
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    defaults = ((1, 1, 128, 256) if args.quick else (5, 3, 512, 1024))
    for name, value in zip(("epochs", "repeats", "n_random", "len_random"), defaults,
                           strict=True):
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.worker is not None:
        args.impl = args.worker
        run_worker(args)
    else:
        run_benchmark(args)


if __name__ == "__main__":
    main()
