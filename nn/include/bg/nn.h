#pragma once
// bayesgrad nn: modules, parametrizations, layers, losses, initialization, optimizers, data.

#include "bg/core.h"
#include "bg/nn/functional.h"
#include "bg/nn/holder.h"
#include "bg/nn/init.h"
#include "bg/nn/module.h"
#include "bg/nn/modules/linear.h"
#include "bg/nn/options.h"
#include "bg/nn/ordered_dict.h"
#include "bg/nn/parametrize.h"
