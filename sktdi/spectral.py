"""Spectral mathematics of diagonal SSMs (SPEC sections 1 to 4).

Everything here is NumPy in float64 on the real-FFT grid ``w_j = 2 pi j / L``,
``j = 0..L//2`` (radians per sample), unless a function says otherwise.
"""

import numpy as np
import torch

from .core import SSMParams, discretize, vandermonde_kernel

__all__ = [
    "frequency_grid",
    "frequency_response",
    "model_power_spectrum",
    "ssm_kernel",
]

# Elements of one (H, N2, chunk) block in the closed-form frequency response.
_CHUNK_ELEMENTS = 2**22


def _check_params(params):
    if not isinstance(params, SSMParams):
        raise TypeError(f"Expected an SSMParams, got {type(params).__name__}.")
    params.validate()


def _check_length(L):
    if isinstance(L, bool) or not isinstance(L, (int, np.integer)) or L < 1:
        raise ValueError(f"The sequence length L must be a positive integer, got {L!r}.")
    return int(L)


def frequency_grid(L):
    """Real-FFT frequencies ``w_j = 2 pi j / L`` for ``j = 0..L//2`` (radians per sample)."""
    return 2 * np.pi * np.arange(_check_length(L) // 2 + 1) / L


def ssm_kernel(params, L):
    """Convolution kernel ``K[h, l] = 2 Re sum_n C Bbar Abar**l`` of length ``L``.

    Parameters
    ----------
    params : SSMParams
    L : int

    Returns
    -------
    K : ndarray of shape (H, L), float64

    Examples
    --------
    >>> from sktdi.core import make_params
    >>> from sktdi.spectral import ssm_kernel
    >>> ssm_kernel(make_params("S4D-Lin", d_model=3, n_states=8, random_state=0), 16).shape
    (3, 16)
    """
    _check_params(params)
    L = _check_length(L)
    A, B, C = (torch.from_numpy(x) for x in (params.A, params.B, params.C))
    log_Abar, Bbar = discretize(A, B, torch.from_numpy(params.dt), params.discretization)
    return vandermonde_kernel(C * Bbar, log_Abar, L).numpy()


def frequency_response(params, L):
    """Closed-form DFT of the length-``L`` kernel, without building the kernel.

    ``H[h, j] = sum_n c (1 - a**L) / (1 - a e^{-i w_j}) + (conjugate pair)``, with
    ``c = C Bbar`` and ``a = Abar``; equals ``numpy.fft.rfft(ssm_kernel(params, L))``.
    Costs ``O(H N L)`` and is computed in frequency chunks of bounded memory.

    Returns
    -------
    H : ndarray of shape (H, L // 2 + 1), complex128

    Examples
    --------
    >>> import numpy as np
    >>> from sktdi.core import make_params
    >>> from sktdi.spectral import frequency_response, ssm_kernel
    >>> p = make_params("S4D-Inv", d_model=2, n_states=8, random_state=0)
    >>> np.allclose(frequency_response(p, 64), np.fft.rfft(ssm_kernel(p, 64)))
    True
    """
    _check_params(params)
    L = _check_length(L)
    Abar, Bbar = params.discretize()
    c, a = params.C * Bbar, Abar  # (H, N2)
    a_L = a**L
    w = frequency_grid(L)
    H_out = np.empty((params.n_channels, w.size), dtype=np.complex128)
    chunk = max(1, _CHUNK_ELEMENTS // max(1, c.size))
    for start in range(0, w.size, chunk):
        z = np.exp(-1j * w[start:start + chunk])  # (F,)
        pair = (c * (1 - a_L))[..., None] / (1 - a[..., None] * z)
        conj = (np.conj(c) * (1 - np.conj(a_L)))[..., None] / (1 - np.conj(a)[..., None] * z)
        H_out[:, start:start + chunk] = (pair + conj).sum(axis=1)
    return H_out


def model_power_spectrum(params, L, per_channel=False):
    """Model power spectrum ``S_model[j] = sum_h |H[h, j]|**2``.

    Parameters
    ----------
    params : SSMParams
    L : int
    per_channel : bool, default=False
        Return ``|H[h, j]|**2`` of shape ``(H, L // 2 + 1)`` instead of the sum.

    Returns
    -------
    S : ndarray of shape (L // 2 + 1,) or (H, L // 2 + 1)
    """
    power = np.abs(frequency_response(params, L)) ** 2
    return power if per_channel else power.sum(axis=0)
