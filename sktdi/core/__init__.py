"""The torch core: SSM parameters, named initializations, kernel numerics and modules."""

from .inits import ALIASING_OPTIONS, INIT_NAMES, hippo_legs_diagonal, make_params
from .kernel import (
    chunked_ssm_conv,
    chunked_ssm_conv_encoded,
    closed_form_response,
    discretize,
    fft_conv,
    vandermonde_kernel,
)
from .network import DiagonalSSM, SSMBlock, SSMNetwork
from .params import SSMParams, count_aliased_modes

__all__ = [
    "ALIASING_OPTIONS", "INIT_NAMES", "DiagonalSSM", "SSMBlock", "SSMNetwork", "SSMParams",
    "chunked_ssm_conv", "chunked_ssm_conv_encoded", "closed_form_response",
    "count_aliased_modes", "discretize", "fft_conv",
    "hippo_legs_diagonal", "make_params", "vandermonde_kernel",
]
