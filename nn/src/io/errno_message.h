#pragma once
// The text of an errno value, for the messages of the file readers and writers (private to nn).

#include <string>
#include <system_error>

namespace bg::detail {

/// "No such file or directory" for ENOENT.
inline std::string errno_message(int error) { return std::generic_category().message(error); }

}  // namespace bg::detail
