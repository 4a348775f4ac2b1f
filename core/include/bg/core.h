#pragma once
// bayesgrad core: tensors, ops, autograd, random numbers, threads.

#include "bg/core/autograd/autograd.h"
#include "bg/core/backend.h"
#include "bg/core/conv.h"
#include "bg/core/device.h"
#include "bg/core/dtype.h"
#include "bg/core/error.h"
#include "bg/core/factory.h"
#include "bg/core/fused.h"
#include "bg/core/grad_mode.h"
#include "bg/core/ops.h"
#include "bg/core/random.h"
#include "bg/core/scalar.h"
#include "bg/core/shape.h"
#include "bg/core/tensor.h"
#include "bg/core/tensor_options.h"
#include "bg/core/threading.h"
