#pragma once
// The text forms of an OptimizerStateDict that are not hyperparameters (those are
// OptimizerOptions::to_map and from_map, defined beside these in optimizer_state_text.cpp).

#include <cstdint>
#include <string>
#include <vector>

namespace bg::optim::detail {

/// The parameter indices of group `group` from their text: "0,1,2" -> {0, 1, 2}, "" -> {}; throws
/// naming `op` for anything else.
std::vector<int64_t> parse_indices(const std::string& text, const std::string& op, size_t group);

/// Splits the state key "state.<index>.<name>" into its index and name; false for any other key.
bool parse_state_key(const std::string& key, int64_t& index, std::string& name);

}  // namespace bg::optim::detail
