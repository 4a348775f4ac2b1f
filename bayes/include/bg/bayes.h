#pragma once
// bayesgrad bayes: any module -> Bayesian neural network.

#include "bg/bayes/args.h"
#include "bg/bayes/bayesian_module.h"
#include "bg/bayes/checkpoint.h"
#include "bg/bayes/dropout.h"
#include "bg/bayes/elbo.h"
#include "bg/bayes/kl.h"
#include "bg/bayes/likelihood.h"
#include "bg/bayes/metrics.h"
#include "bg/bayes/posterior.h"
#include "bg/bayes/predict.h"
#include "bg/bayes/prior.h"
#include "bg/bayes/registry.h"
#include "bg/bayes/torchbayesian.h"
#include "bg/nn.h"
