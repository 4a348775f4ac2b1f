#include "autograd/anomaly.h"

#include <cxxabi.h>
#include <execinfo.h>

#include <cstdlib>
#include <sstream>

#include "bg/core/autograd/anomaly.h"
#include "bg/core/ops.h"

namespace bg::autograd {

namespace {
thread_local bool anomaly_mode_enabled = false;
}  // namespace

bool AnomalyMode::is_enabled() { return anomaly_mode_enabled; }
void AnomalyMode::set_enabled(bool enabled) { anomaly_mode_enabled = enabled; }

namespace anomaly {

namespace {

// "binary(_ZN2bg3mulE...+0x1f) [0x55d0]" with the function name demangled, when it has one (a
// program linked with -rdynamic names its own functions too; otherwise addr2line finds them from
// the offset).
std::string readable_frame(const char* symbol) {
  std::string frame = symbol;
  const size_t open = frame.find('('), plus = frame.find('+', open);
  if (open == std::string::npos || plus == std::string::npos || plus == open + 1) return frame;
  const std::string mangled = frame.substr(open + 1, plus - open - 1);
  int status = 0;
  char* demangled = abi::__cxa_demangle(mangled.c_str(), nullptr, nullptr, &status);
  if (status == 0 && demangled != nullptr) frame.replace(open + 1, mangled.size(), demangled);
  std::free(demangled);
  return frame;
}

// The call stack of the caller's caller, one frame per line.
std::string call_stack() {
  constexpr int kMaxFrames = 48;
  void* frames[kMaxFrames];
  const int count = ::backtrace(frames, kMaxFrames);
  char** symbols = ::backtrace_symbols(frames, count);
  if (symbols == nullptr) return "  (no call stack: out of memory)\n";
  std::ostringstream out;
  for (int i = 2; i < count; ++i)
    out << "  #" << i - 2 << " " << readable_frame(symbols[i]) << "\n";
  std::free(symbols);
  return out.str();
}

}  // namespace

std::string describe_creation(std::span<const Tensor> inputs, const Tensor& out) {
  std::ostringstream text;
  text << "the node was created by the forward op that computed " << describe(out) << " from ";
  for (size_t i = 0; i < inputs.size(); ++i) {
    text << (i == 0                   ? ""
             : i + 1 == inputs.size() ? " and "
                                      : ", ")
         << (inputs[i].defined() ? describe(inputs[i]) : std::string("an undefined tensor"));
  }
  text << ", called from:\n" << call_stack();
  return text.str();
}

void check_gradients(const Node& node, const Grads& grads) {
  NoGradGuard no_grad;  // the check is no part of a graph, even with create_graph
  for (size_t i = 0; i < grads.size(); ++i) {
    const Tensor& g = grads[i];
    if (!g.defined() || !g.is_floating_point() || g.numel() == 0) continue;
    // g - g is NaN exactly where g is NaN or infinite.
    if (isnan(g - g).sum().item<int64_t>() == 0) continue;
    const std::string* creation = node.creation();
    throw Error(bg::detail::concat(
        "backward: ", node.name(),
        " returned a gradient with NaN or infinite values for its input ", i, " (", describe(g),
        "); ",
        creation != nullptr ? *creation
                            : std::string("the node was created before anomaly detection was on "
                                          "(turn it on before the forward pass to see where)")));
  }
}

}  // namespace anomaly

}  // namespace bg::autograd
