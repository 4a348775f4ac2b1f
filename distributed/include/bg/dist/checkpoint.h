#pragma once
// Checkpoints of a distributed job: every rank holds the same parameters, so one rank writes.
//
//   dist::on_rank0([&] { bg::save(*model->module(), "model.safetensors"); });
//   dist::on_rank0([&] { bayes::save(bnn, "bnn.safetensors"); });

#include <functional>

#include "bg/core/api.h"

BG_API_BEGIN

namespace bg::dist {

/// Runs `write` on rank 0 only and returns on every rank once it has finished, so that the file
/// is complete when any rank goes on (to read it, or to exit). When `write` throws on rank 0, every
/// rank throws a bg::Error with its message, rather than the other ranks waiting for rank 0.
void on_rank0(const std::function<void()>& write);

}  // namespace bg::dist

BG_API_END
