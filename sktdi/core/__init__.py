"""The torch core: SSM parameters, named initializations, kernel numerics, modules and the
training-free feature map."""

from .features import (
    DEFAULT_STATISTICS,
    STATISTICS,
    SSMFeatureMap,
    input_views,
    pooled_statistics,
)
from .inits import ALIASING_OPTIONS, INIT_NAMES, hippo_legs_diagonal, make_params
from .kernel import (
    chunked_ssm_conv,
    chunked_ssm_conv_encoded,
    closed_form_response,
    discretize,
    fft_conv,
    vandermonde_kernel,
)
from .network import POOLINGS, DiagonalSSM, SSMBlock, SSMNetwork, parse_pooling
from .params import SSMParams, count_aliased_modes

__all__ = [
    "ALIASING_OPTIONS", "DEFAULT_STATISTICS", "INIT_NAMES", "POOLINGS", "STATISTICS",
    "DiagonalSSM", "SSMBlock", "SSMFeatureMap", "SSMNetwork", "SSMParams",
    "chunked_ssm_conv", "chunked_ssm_conv_encoded", "closed_form_response",
    "count_aliased_modes", "discretize", "fft_conv", "hippo_legs_diagonal", "input_views",
    "make_params", "parse_pooling", "pooled_statistics", "vandermonde_kernel",
]
