#pragma once
// Everything bayesgrad offers.

#include "bg/core.h"
#include "bg/nn.h"
#include "bg/bayes.h"
