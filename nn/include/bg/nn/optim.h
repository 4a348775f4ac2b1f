#pragma once
// bayesgrad optimizers and learning-rate schedulers (namespace bg::optim).

#include "bg/nn/optim/adagrad.h"
#include "bg/nn/optim/adam.h"
#include "bg/nn/optim/adamw.h"
#include "bg/nn/optim/lr_scheduler.h"
#include "bg/nn/optim/optimizer.h"
#include "bg/nn/optim/rmsprop.h"
#include "bg/nn/optim/sgd.h"
