#pragma once
/// \file backprop.hpp
/// Everything: tensors, ops, autograd, layers, optimizers and serialization.
#include "backprop/autograd.hpp"
#include "backprop/errors.hpp"
#include "backprop/indexing.hpp"
#include "backprop/ops.hpp"
#include "backprop/tensor.hpp"
#include "backprop/nn.hpp"
#include "backprop/optim.hpp"
#include "backprop/serialize.hpp"
#include "backprop/cpu.hpp"
