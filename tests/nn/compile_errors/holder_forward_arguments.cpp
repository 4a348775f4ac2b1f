// Must not compile: Linear's forward takes one tensor, not two. ModuleHolder::operator() turns
// this into one static_assert naming the module and the arguments (tests/nn/CMakeLists.txt checks
// the compiler's message).
#include <bg/nn.h>

int main() {
  bg::nn::Linear linear(3, 4);
  bg::Tensor x = bg::zeros({2, 3});
  linear(x, x);
}
