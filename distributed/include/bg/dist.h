#pragma once
// bg::dist: data-parallel training across processes on MPI. Optional: built when CMake finds MPI
// (BG_DIST=AUTO); programs link bg::dist and run under mpirun.

#include "bg/dist/checkpoint.h"
#include "bg/dist/collectives.h"
#include "bg/dist/data_parallel.h"
#include "bg/dist/process.h"
#include "bg/dist/sampler.h"
