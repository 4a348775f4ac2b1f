#pragma once
// bg::data: datasets, the DataLoader, and readers for IDX (MNIST), CSV and the MNIST datasets.

#include "bg/nn/data/csv.h"
#include "bg/nn/data/dataloader.h"
#include "bg/nn/data/dataset.h"
#include "bg/nn/data/idx.h"
#include "bg/nn/data/mnist.h"
#include "bg/nn/data/sampler.h"
