#pragma once
// bg::Error: the one exception type bayesgrad throws for every misuse a user can make.
//
// Messages start with the name of the operation, then say what was wrong with which operands:
//   "add: shapes [2, 3] and [4] cannot be broadcast together"
// BG_CHECK builds such messages from any streamable pieces, only when the check fails.

#include <sstream>
#include <stdexcept>
#include <string>

#include "bg/core/api.h"

BG_API_BEGIN

namespace bg {

/// The exception thrown for every user error (shape, dtype, device, index, autograd misuse).
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
template <typename... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}
}  // namespace detail

}  // namespace bg

BG_API_END

/// Throws bg::Error("<op>: <message pieces...>") when `cond` is false.
#define BG_CHECK(cond, op, ...)                                                  \
  do {                                                                           \
    if (!(cond)) throw ::bg::Error(::bg::detail::concat(op, ": ", __VA_ARGS__)); \
  } while (0)
