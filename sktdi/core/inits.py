"""Named base initializations of the diagonal SSM.

Formulas follow the public S4/S4D, LRU and frequency-bias-tuning code bases; they are
tabulated in docs/theory.rst, 'The model class'. Every function
returns an :class:`~sktdi.core.params.SSMParams` in float64/complex128.
"""

import warnings

import numpy as np
from sklearn.utils import check_random_state

from .kernel import discrete_frequency, is_aliased
from .params import SSMParams

__all__ = ["INIT_NAMES", "ALIASING_OPTIONS", "make_params", "hippo_legs_diagonal"]

INIT_NAMES = ("S4D-Lin", "S4D-Inv", "S4D-LegS", "S4D-Real", "LRU", "scaled")
ALIASING_OPTIONS = ("keep", "mask", "fold")


def hippo_legs_diagonal(n_states):
    """Eigen-decomposition of the normal part of HiPPO-LegS (the S4D-LegS initialization).

    Returns ``(A, B)``, complex ``(n_states // 2,)``: one eigenvalue of each conjugate pair
    (``Re A = -0.5``, ``Im A > 0``) and the LegS input vector projected on the eigenvectors,
    each eigenvector's phase chosen so that its projection is real and non-negative.

    An eigenvector is defined up to a phase, and LAPACK returns whichever phase its kernels
    produce: the sign of a projection changed between machines whose BLAS kernels differ.
    Rotating every eigenvector onto a non-negative projection fixes it; the model is the
    same (the phase moves into ``C``, whose draw is circularly symmetric).
    """
    q = np.arange(n_states, dtype=np.float64)
    col, row = np.meshgrid(q, q)
    r = 2 * q + 1
    M = -(np.where(row >= col, r, 0) - np.diag(q))
    T = np.sqrt(np.diag(2 * q + 1))
    A = T @ M @ np.linalg.inv(T)
    B = np.diag(T).copy()
    P = np.sqrt(0.5 + q)
    # A + P P^T is -1/2 I plus a skew-symmetric matrix: diagonalise the skew part with eigh.
    AP = A + np.outer(P, P)
    re = np.mean(np.diagonal(AP))
    im, V = np.linalg.eigh(AP * -1j)
    order = np.argsort(im)[::-1]  # keep the member of each pair with positive imaginary part
    im, V = im[order][: n_states // 2], V[:, order][:, : n_states // 2]
    return re + 1j * im, np.abs(V.conj().T @ B).astype(np.complex128)


def _imag_parts(name, n2, n_states, frequency_scale):
    n = np.arange(n2, dtype=np.float64)
    if name in ("S4D-Lin", "scaled"):
        imag = np.pi * n
        return imag * frequency_scale if name == "scaled" else imag
    if name == "S4D-Inv":
        return (n_states / np.pi) * (n_states / (2 * n + 1) - 1)
    raise ValueError(name)


def _base_A_B(name, n2, n_states, d_model, frequency_scale):
    if name in ("S4D-Lin", "S4D-Inv", "scaled"):
        A = -0.5 + 1j * _imag_parts(name, n2, n_states, frequency_scale)
        B = np.ones(n2, dtype=np.complex128)
    elif name == "S4D-LegS":
        A, B = hippo_legs_diagonal(n_states)
    elif name == "S4D-Real":
        A = -(np.arange(n2, dtype=np.float64) + 1) + 0j
        B = np.ones(n2, dtype=np.complex128)
    else:  # pragma: no cover - guarded by make_params
        raise ValueError(name)
    return np.tile(A, (d_model, 1)), np.tile(B, (d_model, 1))


def _lru_A_B(rng, d_model, n2, r_min, r_max, max_phase, discretization):
    """The LRU's discrete ``Abar`` and normalized ``Bbar = sqrt(1 - |Abar|^2)``, written
    back as the continuous ``(A, B)`` whose discretization with a unit step gives them."""
    # Uniform on the ring r_min <= |Abar| <= r_max (uniform in area), phase in [0, max_phase].
    u1, u2 = rng.uniform(size=(2, d_model, n2))
    radius = np.sqrt(u1 * (r_max**2 - r_min**2) + r_min**2)
    Abar = radius * np.exp(1j * max_phase * u2)
    Bbar = np.sqrt(1.0 - radius**2)  # the LRU's input normalization acts on Bbar
    if discretization == "zoh":  # Abar = exp(A), Bbar = (Abar - 1) / A * B
        A = np.log(Abar)
        return A, Bbar * A / (Abar - 1.0)
    A = 2.0 * (Abar - 1.0) / (Abar + 1.0)  # bilinear: Abar = (1 + A/2) / (1 - A/2)
    return A, Bbar * (1.0 - A / 2.0)  # Bbar = B / (1 - A/2) for a unit step


def _apply_aliasing(A, C, dt, aliasing):
    freq = discrete_frequency(A.imag, dt)  # (H, N2)
    aliased = is_aliased(A.imag, dt)
    if aliasing == "mask":
        C = np.where(aliased, 0.0, C)
    elif aliasing == "fold":
        folded = np.mod(freq, 2 * np.pi)
        folded = np.where(folded > np.pi, 2 * np.pi - folded, folded)
        A = np.where(aliased, A.real + 1j * np.sign(A.imag) * folded / dt[:, None], A)
    return A, C


def make_params(
    name="S4D-Lin",
    d_model=64,
    n_states=64,
    *,
    random_state=None,
    dt_min=1e-3,
    dt_max=1e-1,
    frequency_scale=2.0,
    r_min=0.9,
    r_max=0.999,
    max_phase=np.pi,
    aliasing="keep",
    discretization="zoh",
    alpha=None,
):
    """Build the parameters of a named base initialization.

    Parameters
    ----------
    name : {"S4D-Lin", "S4D-Inv", "S4D-LegS", "S4D-Real", "LRU", "scaled"}
        Which initialization (formulas in :ref:`theory-model`).
    d_model : int
        Number of channels ``H``.
    n_states : int
        States per channel ``N`` (even; ``N // 2`` conjugate pairs are stored).
    random_state : int, RandomState instance or None
        Seeds ``C``, ``D``, ``dt`` and the LRU ring.
    dt_min, dt_max : float
        Range of the log-uniform step size (all but ``LRU``, whose step is 1).
    frequency_scale : float
        Factor on the imaginary parts for ``"scaled"`` (frequency-bias tuning).
    r_min, r_max, max_phase : float
        Ring radius range and phase range of ``"LRU"``.
    aliasing : {"keep", "mask", "fold"}
        What to do with modes whose ``dt |Im A|`` exceeds ``pi``: keep them (the public
        formulas), zero their ``C`` (mask), or fold their frequency back into ``[0, pi]``.
    discretization : {"zoh", "bilinear"}
        Stored on the returned parameters.
    alpha : float, default=None
        Deprecated name of ``frequency_scale`` (``alpha`` is the weight decay of the
        estimators); it will be removed in sktdi 0.3.

    Returns
    -------
    params : SSMParams

    Examples
    --------
    >>> from sktdi.core import make_params
    >>> p = make_params("S4D-Lin", d_model=2, n_states=8, random_state=0)
    >>> p.A[0]
    array([-0.5+0.j        , -0.5+3.14159265j, -0.5+6.28318531j, -0.5+9.42477796j])
    """
    if alpha is not None:
        if frequency_scale != 2.0:
            raise ValueError("Pass frequency_scale only; alpha is its deprecated name.")
        warnings.warn("make_params(alpha=...) is deprecated and will be removed in sktdi 0.3; "
                      "use frequency_scale (in init_options too).", FutureWarning, stacklevel=2)
        frequency_scale = alpha
    if name not in INIT_NAMES:
        raise ValueError(f"Unknown initialization {name!r}; expected one of {INIT_NAMES}.")
    if aliasing not in ALIASING_OPTIONS:
        raise ValueError(f"Unknown aliasing {aliasing!r}; expected one of {ALIASING_OPTIONS}.")
    if int(d_model) < 1 or int(n_states) < 2 or int(n_states) % 2:
        raise ValueError(
            f"d_model must be >= 1 and n_states an even number >= 2; got d_model={d_model}, "
            f"n_states={n_states}."
        )
    if not 0 < dt_min <= dt_max:
        raise ValueError(f"Need 0 < dt_min <= dt_max, got {dt_min}, {dt_max}.")
    if name == "LRU" and not 0 <= r_min < r_max < 1:
        raise ValueError(f"LRU needs 0 <= r_min < r_max < 1, got {r_min}, {r_max}.")
    rng = check_random_state(random_state)
    d_model, n_states = int(d_model), int(n_states)
    n2 = n_states // 2

    if name == "LRU":
        A, B = _lru_A_B(rng, d_model, n2, r_min, r_max, max_phase, discretization)
        dt = np.ones(d_model)
    else:
        A, B = _base_A_B(name, n2, n_states, d_model, frequency_scale)
        dt = np.exp(rng.uniform(np.log(dt_min), np.log(dt_max), size=d_model))
        if dt_min == dt_max:  # a pinned step is the user's value, not exp(log(value))
            dt = np.full(d_model, float(dt_min))
    C = (rng.standard_normal((d_model, n2)) + 1j * rng.standard_normal((d_model, n2)))
    C *= np.sqrt(0.5)
    D = rng.standard_normal(d_model)
    A, C = _apply_aliasing(A, C, dt, aliasing)
    return SSMParams(A=A, B=B, C=C, dt=dt, D=D, discretization=discretization)
