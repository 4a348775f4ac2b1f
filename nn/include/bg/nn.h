#pragma once
// bayesgrad nn: modules, parametrizations, layers, losses, initialization, optimizers, data.

#include "bg/core.h"
#include "bg/nn/holder.h"
#include "bg/nn/module.h"
#include "bg/nn/options.h"
#include "bg/nn/ordered_dict.h"
#include "bg/nn/parametrize.h"
