"""Torch modules: one diagonal SSM layer, a block around it, and the trained network.

Shapes follow the minimal S4D: activations are ``(B, H, L)`` (batch, channels, time). The
first layer of every model is the bank of :mod:`sktdi.core.bank`; :class:`SSMBlock` is a
deeper layer, and :class:`SSMNetwork` puts a standardized linear head on the bank's
pooled statistics.
"""

import numpy as np
import torch
from torch import nn

from .conv import chunked_ssm_conv
from .kernel import discretize, vandermonde_kernel
from .params import SSMParams

__all__ = ["DiagonalSSM", "SSMBlock", "SSMNetwork"]


class DiagonalSSM(nn.Module):
    """A diagonal complex SSM layer, stored in real-valued parameters.

    Storage (all real, so pickling, devices and ``torch.compile`` work): ``log_dt`` (H,),
    ``log_neg_A_re`` = ``log(-Re A)`` (H, N2), ``A_im`` (H, N2), ``B`` and ``C`` as real
    views (H, N2, 2), and ``D`` (H,). ``log(-Re A)`` and ``log dt`` keep ``Re A < 0`` and
    ``dt > 0`` through any gradient step.
    """

    # Parameters that place the modes in frequency: trained with their own learning rate
    # and no weight decay, as in the S4 code bases.
    SSM_PARAMETER_NAMES = ("log_dt", "log_neg_A_re", "A_im", "B")
    # Chunk length of the convolution: the Toeplitz products cost ~T per step, the states'
    # ~2 N (into and out of them), and the sequential scan over chunks runs L / T times.
    # For N = 64, batch 64, 64 channels, T = 64 and 128 were the fastest of 32, 48, 64,
    # 96, 128 at L = 4,096 (0.38 s forward + backward against 0.48-0.51 s); 64 keeps the
    # Toeplitz products smaller. For N = 16 (the banks' default: 256 channels, 2 views),
    # T = 32 filtered 13-23% faster than 64 at 150 to 1,460 steps without a gradient and
    # as fast or faster with one (1 thread). So T = 2 N within [32, 64].
    MIN_CHUNK, MAX_CHUNK = 32, 64

    def __init__(self, d_model, n_states, discretization="zoh"):
        super().__init__()
        n2 = n_states // 2
        self.discretization = discretization
        self.log_dt = nn.Parameter(torch.zeros(d_model))
        self.log_neg_A_re = nn.Parameter(torch.zeros(d_model, n2))
        self.A_im = nn.Parameter(torch.zeros(d_model, n2))
        self.B = nn.Parameter(torch.zeros(d_model, n2, 2))
        self.C = nn.Parameter(torch.zeros(d_model, n2, 2))
        self.D = nn.Parameter(torch.zeros(d_model))

    @classmethod
    def from_params(cls, params, dtype=torch.float32):
        """Build a layer holding ``params`` (an :class:`SSMParams`)."""
        layer = cls(params.n_channels, params.n_states, params.discretization).to(dtype)
        layer.set_params(params)
        return layer

    def set_params(self, params):
        """Copy an :class:`SSMParams` into the stored parameters (in place)."""
        if params.A.shape != self.A_im.shape:
            raise ValueError(
                f"SSMParams of shape {params.A.shape} do not fit a layer of shape "
                f"{tuple(self.A_im.shape)}."
            )
        values = {
            "log_dt": np.log(params.dt),
            "log_neg_A_re": np.log(-params.A.real),
            "A_im": params.A.imag,
            "B": np.stack([params.B.real, params.B.imag], axis=-1),
            "C": np.stack([params.C.real, params.C.imag], axis=-1),
            "D": params.D,
        }
        with torch.no_grad():
            for name, value in values.items():
                target = getattr(self, name)
                target.copy_(torch.as_tensor(value, dtype=target.dtype))
        self.discretization = params.discretization

    def to_params(self):
        """The current parameters as an :class:`SSMParams` (float64 NumPy arrays)."""
        A, B, C, dt = (t.detach().cpu().to(torch.complex128).numpy()
                       for t in self.continuous())
        return SSMParams(
            A=A, B=B, C=C, dt=dt.real, D=self.D.detach().cpu().double().numpy(),
            discretization=self.discretization,
        )

    def continuous(self):
        """The continuous parameters as differentiable tensors ``(A, B, C, dt)``: ``A``,
        ``B``, ``C`` complex (H, N2), ``dt`` real (H,)."""
        A = torch.complex(-torch.exp(self.log_neg_A_re), self.A_im)  # (H, N2)
        B = torch.view_as_complex(self.B)  # (H, N2)
        C = torch.view_as_complex(self.C)  # (H, N2)
        return A, B, C, torch.exp(self.log_dt)

    def discrete(self):
        """What the kernel and the convolutions take, as differentiable tensors:
        ``(c, log_a)`` = ``(C Bbar, log Abar)``, complex (H, N2)."""
        A, B, C, dt = self.continuous()
        log_Abar, Bbar = discretize(A, B, dt, self.discretization)
        return C * Bbar, log_Abar

    def kernel(self, L):
        """Convolution kernel ``K`` of length ``L``: (H, L)."""
        return vandermonde_kernel(*self.discrete(), L)

    @property
    def chunk(self):
        """Chunk length of the convolution: ``2 N`` within ``[MIN_CHUNK, MAX_CHUNK]``."""
        n_states = 2 * self.log_neg_A_re.shape[1]
        return min(self.MAX_CHUNK, max(self.MIN_CHUNK, 2 * n_states))

    def forward(self, u):
        """``u`` (B, H, L) -> ``y`` (B, H, L) = causal ``K * u`` + ``D u``.

        Computed by chunks in matrix products (:func:`~sktdi.core.conv.chunked_ssm_conv`)
        rather than by FFT convolution with the materialised kernel: the same result to
        rounding, and faster on CPUs, whose FFTs run far below their matrix product rate.
        """
        c, log_a = self.discrete()
        # D u rides along as the kernel's lag-0 term: no separate pass over (B, H, L)
        return chunked_ssm_conv(u, c, log_a, self.chunk, D=self.D)

    def is_valid(self):
        """Whether every parameter is finite and ``Re A < 0``, ``dt > 0`` hold in floating point.

        The log storage keeps the signs, but ``exp`` of a huge log over- or underflows.
        """
        A, _, _, dt = self.continuous()
        finite = all(bool(torch.isfinite(p).all()) for p in self.parameters())
        return (finite and bool(torch.isfinite(A).all()) and bool((A.real < 0).all())
                and bool(torch.isfinite(dt).all()) and bool((dt > 0).all()))

    def ssm_parameters(self):
        """Parameters that get the SSM learning rate and no weight decay."""
        return [getattr(self, name) for name in self.SSM_PARAMETER_NAMES]


class SSMBlock(nn.Module):
    """A deeper layer: SSM -> GELU -> dropout -> GLU channel mix -> residual -> LayerNorm.

    The S4 block, on the ``H`` channels that the bank (the first layer) outputs.
    """

    def __init__(self, ssm, dropout=0.0):
        super().__init__()
        self.ssm = ssm
        self.dropout = nn.Dropout(dropout)
        d_model = ssm.D.shape[0]
        self.mix = nn.Linear(d_model, 2 * d_model)
        self.norm = nn.LayerNorm(d_model)

    def channel_mix(self, y):  # (B, H, L) -> (B, H, L)
        """GLU of the linear map ``mix`` over channels, at every step.

        The S4 code's ``Conv1d(kernel_size=1)``, as one batched matrix product in the
        ``(B, H, L)`` layout: oneDNN's 1x1 convolution is several times slower on a CPU,
        and ``Linear`` on ``(B, L, H)`` pays for two transposed copies (about 35% slower
        forward + backward at ``L = 1,024``).
        """
        weight = self.mix.weight.expand(y.shape[0], -1, -1)  # (B, 2H, H), a view
        return nn.functional.glu(torch.baddbmm(self.mix.bias[:, None], weight, y), dim=1)

    def forward(self, x):  # (B, H, L) -> (B, H, L)
        y = self.dropout(nn.functional.gelu(self.ssm(x)))
        # LayerNorm normalizes the last dimension: channels, in the (B, L, H) view
        return self.norm((x + self.channel_mix(y)).transpose(1, 2)).transpose(1, 2)


class SSMNetwork(nn.Module):
    """Features of the bank (:class:`~sktdi.core.bank.SSMFeatures`) -> standardization ->
    linear head: the whole model of the trained estimators.

    The standardization is fixed (``feature_mean``, ``feature_scale``: buffers), and the
    head reads standardized features, as the ridge readout does; :meth:`set_readout` copies
    a fitted :class:`~sktdi.readout.RidgeReadout` in, so that the network starts as the
    training-free estimator (same bank, same statistics, the readout as its head).

    Parameters
    ----------
    features : sktdi.core.bank.SSMFeatures
    n_outputs : int
        Outputs of the head (targets, or +-1 codes of the classes: one for two classes).
    n_levels : int, default=0
        Fixed features given with the sequences and read after the pooled ones: the level
        and scale features of ``normalize="keep-level"``
        (:func:`sktdi.core.level_and_scale`).
    """

    def __init__(self, features, n_outputs, n_levels=0):
        super().__init__()
        self.features = features
        n_features = features.pooling.n_features + n_levels
        dtype = features.pooling.biases.dtype
        self.register_buffer("feature_mean", torch.zeros(n_features, dtype=dtype))
        self.register_buffer("feature_scale", torch.ones(n_features, dtype=dtype))
        # set_readout gives the head its values: no random draw (nor a global one)
        self.head = nn.utils.skip_init(nn.Linear, n_features, n_outputs, dtype=dtype)

    def set_readout(self, readout):
        """Take the standardization and coefficients of a fitted ridge readout."""
        with torch.no_grad():
            for target, value in ((self.feature_mean, readout.mean_),
                                  (self.feature_scale, readout.scale_),
                                  (self.head.weight, readout.coef_),
                                  (self.head.bias, readout.intercept_)):
                target.copy_(torch.as_tensor(value, dtype=target.dtype))

    def standardized(self, views, lengths=None, levels=None):
        """(B, V, L), (B,), (B, n_levels) -> (B, n_features): the standardized pooled
        statistics of the sequences, and their level features."""
        features = self.features(views, lengths)
        if levels is not None:
            features = torch.cat([features, levels], dim=1)
        return (features - self.feature_mean) / self.feature_scale

    def forward(self, views, lengths=None, levels=None):  # -> (B, n_outputs)
        return self.head(self.standardized(views, lengths, levels))

    def ssm_layers(self):
        return [self.features.bank.ssm] + [block.ssm for block in self.features.blocks]

    def is_valid(self):
        """Every parameter finite and every SSM layer stable (see ``DiagonalSSM.is_valid``)."""
        return (all(bool(torch.isfinite(p).all()) for p in self.parameters())
                and all(layer.is_valid() for layer in self.ssm_layers()))

    def parameter_groups(self, lr, ssm_lr):
        """Optimizer groups: the frequency-placing SSM parameters with ``ssm_lr``, the rest
        (``C``, ``D``, the bank's input weights and biases, the pooling's biases, deeper
        blocks, the head) with ``lr``; no weight decay (the head's penalty and the pull
        towards the start are terms of the loss)."""
        ssm_ids = {id(p) for layer in self.ssm_layers() for p in layer.ssm_parameters()}
        ssm = [p for p in self.parameters() if id(p) in ssm_ids]
        rest = [p for p in self.parameters() if id(p) not in ssm_ids]
        return [{"params": ssm, "lr": ssm_lr, "weight_decay": 0.0},
                {"params": rest, "lr": lr, "weight_decay": 0.0}]
