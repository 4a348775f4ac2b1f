#pragma once
// Everything bayesgrad offers.

#include "bg/bayes.h"
#include "bg/core.h"
#include "bg/nn.h"
