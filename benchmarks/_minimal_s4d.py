"""The reference implementation that the performance suite (``bench_perf.py``) compares
sktdi against: a minimal S4D network after ``state-spaces/s4`` ``models/s4/s4d.py``
(``S4DKernel`` + ``S4D``, written independently), its training loop (``fit_baseline``), and
``SSMClassifier`` set up as the same network (``fit_sktdi``). Not part of the package."""

import math

SEED = 0
N_STATES = 64
D_MODEL = 64
LR = 3e-3
SSM_LR = 1e-3
WEIGHT_DECAY = 1e-4
BATCH_SIZE = 200


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
        # the baseline's network: one input channel, mean pooling, a randomly initialized head
        pooling="mean", differences=False, head_init="random",
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
