"""The torch core: SSM parameters, named initializations, kernel generation, convolution,
the bank-and-pool model and the training-free feature map.

Modules: :mod:`~sktdi.core.params` (the NumPy parameters), :mod:`~sktdi.core.inits` (named
initializations), :mod:`~sktdi.core.kernel` (discretization, kernel and its spectrum),
:mod:`~sktdi.core.conv` (applying the kernel: FFT and chunked convolutions),
:mod:`~sktdi.core.network` (SSM layers and the trained network),
:mod:`~sktdi.core.pooling` (statistics over time and their smooth forms),
:mod:`~sktdi.core.bank` (filter with a bank of SSM channels, then pool: the one model of
both estimator families), :mod:`~sktdi.core.features` (the training-free feature map).
"""

from .bank import PooledStatistics, SSMBank, SSMFeatures
from .conv import chunked_ssm_conv, chunked_ssm_conv_encoded, fft_conv
from .features import (
    DIFFERENCE_WEIGHT,
    SSMFeatureMap,
    input_views,
    level_and_scale,
    view_standardization,
)
from .inits import ALIASING_OPTIONS, INIT_NAMES, hippo_legs_diagonal, make_params
from .kernel import (
    NYQUIST,
    closed_form_response,
    discrete_frequency,
    discretize,
    matching_loss,
    power_spectrum,
    vandermonde_kernel,
)
from .network import DiagonalSSM, SSMBlock, SSMNetwork
from .params import SSMParams, count_aliased_modes
from .pooling import DEFAULT_STATISTICS, STATISTICS, pooled_statistics

__all__ = [
    "ALIASING_OPTIONS", "DEFAULT_STATISTICS", "DIFFERENCE_WEIGHT", "INIT_NAMES", "NYQUIST",
    "STATISTICS",
    "DiagonalSSM", "PooledStatistics", "SSMBank", "SSMBlock", "SSMFeatureMap",
    "SSMFeatures", "SSMNetwork", "SSMParams", "chunked_ssm_conv", "chunked_ssm_conv_encoded",
    "closed_form_response", "count_aliased_modes", "discrete_frequency", "discretize",
    "fft_conv", "hippo_legs_diagonal", "input_views", "level_and_scale", "make_params",
    "matching_loss",
    "pooled_statistics", "power_spectrum", "vandermonde_kernel", "view_standardization",
]
