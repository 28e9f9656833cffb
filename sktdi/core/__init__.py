"""The torch core: SSM parameters, named initializations, kernel generation, convolution,
modules and the training-free feature map.

Modules: :mod:`~sktdi.core.params` (the NumPy parameters), :mod:`~sktdi.core.inits` (named
initializations), :mod:`~sktdi.core.kernel` (discretization, kernel and its spectrum),
:mod:`~sktdi.core.conv` (applying the kernel: FFT and chunked convolutions),
:mod:`~sktdi.core.network` (torch modules), :mod:`~sktdi.core.features` (the feature map).
"""

from .conv import chunked_ssm_conv, chunked_ssm_conv_encoded, fft_conv
from .features import (
    DEFAULT_STATISTICS,
    STATISTICS,
    SSMFeatureMap,
    input_views,
    pooled_statistics,
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
from .network import POOLINGS, DiagonalSSM, SSMBlock, SSMNetwork, parse_pooling
from .params import SSMParams, count_aliased_modes

__all__ = [
    "ALIASING_OPTIONS", "DEFAULT_STATISTICS", "INIT_NAMES", "NYQUIST", "POOLINGS",
    "STATISTICS", "DiagonalSSM", "SSMBlock", "SSMFeatureMap", "SSMNetwork", "SSMParams",
    "chunked_ssm_conv", "chunked_ssm_conv_encoded", "closed_form_response",
    "count_aliased_modes", "discrete_frequency", "discretize", "fft_conv",
    "hippo_legs_diagonal", "input_views", "make_params", "matching_loss", "parse_pooling",
    "pooled_statistics", "power_spectrum", "vandermonde_kernel", "view_standardization",
]
