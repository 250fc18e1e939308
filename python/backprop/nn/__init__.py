"""Neural-network building blocks, as in torch.nn."""

from . import functional, init, utils  # noqa: F401
from .activation import (
    CELU, ELU, GELU, GLU, SELU, Hardsigmoid, Hardswish, Hardtanh, LeakyReLU, LogSigmoid, LogSoftmax, Mish, PReLU,
    ReLU, ReLU6, Sigmoid, SiLU, Softmax, Softplus, Softsign, Tanh, Tanhshrink,
)
from .container import ModuleList, Sequential
from .dropout import Dropout
from .linear import Flatten, Identity, Linear
from .loss import (
    BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, GaussianNLLLoss, HuberLoss, KLDivLoss, L1Loss, MSELoss, NLLLoss,
    SmoothL1Loss,
)
from .module import Module, Parameter
from . import parallel  # noqa: F401  (DistributedDataParallel; MPI is imported on first use)
from .normalization import BatchNorm1d, LayerNorm
from .sparse import Embedding

__all__ = [
    "Module", "Parameter", "Linear", "Identity", "Flatten", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "GELU",
    "Softplus", "Softmax", "LogSoftmax", "Sequential", "ModuleList", "Dropout", "LayerNorm", "BatchNorm1d",
    "Embedding", "MSELoss", "CrossEntropyLoss", "NLLLoss", "BCEWithLogitsLoss",
    "ReLU6", "Hardtanh", "ELU", "SELU", "CELU", "SiLU", "Mish", "Hardswish", "Hardsigmoid", "Softsign",
    "Tanhshrink", "PReLU", "GLU", "LogSigmoid",
    "BCELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "KLDivLoss", "GaussianNLLLoss",
]
