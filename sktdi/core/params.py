"""`SSMParams`: the NumPy description of one diagonal SSM layer.

The model class is described in docs/theory.rst, 'The model class'.

Shapes: ``A``, ``B``, ``C`` are complex ``(H, N2)`` (one member of each conjugate pair of
modes, the S4D convention), ``dt`` and ``D`` are real ``(H,)``.
"""

from dataclasses import dataclass, field

import numpy as np
import torch

from .kernel import discretize, is_aliased

__all__ = ["SSMParams", "concatenate_channels", "count_aliased_modes"]


@dataclass
class SSMParams:
    """Continuous-time parameters of a diagonal, complex, LTI SSM layer.

    The layer has ``H`` channels and ``N = 2 * N2`` states per channel, stored as ``N2``
    conjugate pairs: outputs take ``2 Re(...)`` over the kept member of each pair.

    Parameters
    ----------
    A : ndarray of complex, shape (H, N2)
        State matrix diagonal, ``Re A < 0``.
    B : ndarray of complex, shape (H, N2)
        Input vector.
    C : ndarray of complex, shape (H, N2)
        Output vector.
    dt : ndarray of float, shape (H,)
        Positive step size per channel.
    D : ndarray of float, shape (H,)
        Skip connection per channel.
    discretization : {"zoh", "bilinear"}, default="zoh"
        How ``(A, B, dt)`` become the discrete ``(Abar, Bbar)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sktdi import SSMParams
    >>> p = SSMParams(A=np.full((2, 3), -0.5 + 1j), B=np.ones((2, 3)), C=np.ones((2, 3)),
    ...               dt=np.full(2, 0.1), D=np.zeros(2))
    >>> p.n_channels, p.n_states
    (2, 6)
    """

    A: np.ndarray
    B: np.ndarray
    C: np.ndarray
    dt: np.ndarray
    D: np.ndarray
    discretization: str = field(default="zoh")

    def __post_init__(self):
        self.A = np.asarray(self.A, dtype=np.complex128)
        self.B = np.asarray(self.B, dtype=np.complex128)
        self.C = np.asarray(self.C, dtype=np.complex128)
        self.dt = np.asarray(self.dt, dtype=np.float64)
        self.D = np.asarray(self.D, dtype=np.float64)
        self.validate()

    def validate(self):
        """Raise ``ValueError`` when shapes or the stability conventions do not hold."""
        if self.A.ndim != 2:
            raise ValueError(f"SSMParams.A must be 2-D (H, N2), got shape {self.A.shape}.")
        for name in ("B", "C"):
            shape = getattr(self, name).shape
            if shape != self.A.shape:
                raise ValueError(
                    f"SSMParams.{name} must have the shape of A {self.A.shape}, got {shape}."
                )
        for name in ("dt", "D"):
            shape = getattr(self, name).shape
            if shape != (self.A.shape[0],):
                raise ValueError(
                    f"SSMParams.{name} must have shape ({self.A.shape[0]},), got {shape}."
                )
        for name in ("A", "B", "C", "dt", "D"):
            if not np.all(np.isfinite(getattr(self, name))):
                raise ValueError(f"SSMParams.{name} contains NaN or infinity.")
        if np.any(self.A.real >= 0):
            raise ValueError("SSMParams.A must have Re A < 0 (a stable SSM).")
        if np.any(self.dt <= 0):
            raise ValueError("SSMParams.dt must be positive.")
        if self.discretization not in ("zoh", "bilinear"):
            raise ValueError(
                "SSMParams.discretization must be 'zoh' or 'bilinear', "
                f"got {self.discretization!r}."
            )

    @property
    def n_channels(self):
        """Number of channels ``H``."""
        return self.A.shape[0]

    @property
    def n_states(self):
        """Number of states per channel ``N = 2 * N2``."""
        return 2 * self.A.shape[1]

    def discretize(self):
        """Discrete-time parameters for the chosen discretization.

        :func:`sktdi.core.kernel.discretize` on float64 tensors.

        Returns
        -------
        Abar, Bbar : ndarray of complex, shape (H, N2)
        """
        A, B, dt = (torch.from_numpy(x) for x in (self.A, self.B, self.dt))
        log_Abar, Bbar = discretize(A, B, dt, self.discretization)
        return torch.exp(log_Abar).numpy(), Bbar.numpy()

    def copy(self):
        """A deep copy.

        Returns
        -------
        params : SSMParams
        """
        return SSMParams(
            self.A.copy(), self.B.copy(), self.C.copy(), self.dt.copy(), self.D.copy(),
            self.discretization,
        )

    def __eq__(self, other):
        if not isinstance(other, SSMParams):
            return NotImplemented
        return self.discretization == other.discretization and all(
            np.array_equal(getattr(self, k), getattr(other, k)) for k in "A B C dt D".split()
        )


def concatenate_channels(layers):
    """One layer with the channels of every layer of ``layers`` in turn (the same states
    per channel and the same discretization).

    Examples
    --------
    >>> from sktdi.core import make_params
    >>> from sktdi.core.params import concatenate_channels
    >>> layer = concatenate_channels([make_params("S4D-Lin", 3, 4), make_params("S4D-Inv", 2, 4)])
    >>> layer.n_channels, layer.n_states
    (5, 4)
    """
    layers = list(layers)
    if len({layer.discretization for layer in layers}) != 1:
        raise ValueError("layers of different discretizations cannot be concatenated.")
    return SSMParams(*(np.concatenate([getattr(layer, name) for layer in layers])
                       for name in ("A", "B", "C", "dt", "D")), layers[0].discretization)


def count_aliased_modes(params):
    """Number of modes whose discrete frequency ``dt * |Im A|`` exceeds ``pi``.

    Such modes alias: on the sample grid they show up at ``2 pi - dt |Im A|`` (folded).
    The bound is :data:`sktdi.core.kernel.NYQUIST`.
    """
    return int(np.sum(is_aliased(params.A.imag, params.dt)))
