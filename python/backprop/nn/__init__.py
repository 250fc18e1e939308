"""Neural-network building blocks, as in torch.nn."""

from . import functional, init, utils  # noqa: F401
from .activation import GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Softplus, Tanh
from .container import ModuleList, Sequential
from .dropout import Dropout
from .linear import Flatten, Identity, Linear
from .loss import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss
from .module import Module, Parameter
from . import parallel  # noqa: F401  (DistributedDataParallel; MPI is imported on first use)
from .normalization import BatchNorm1d, LayerNorm
from .sparse import Embedding

__all__ = [
    "Module", "Parameter", "Linear", "Identity", "Flatten", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "GELU",
    "Softplus", "Softmax", "LogSoftmax", "Sequential", "ModuleList", "Dropout", "LayerNorm", "BatchNorm1d",
    "Embedding", "MSELoss", "CrossEntropyLoss", "NLLLoss", "BCEWithLogitsLoss",
]
