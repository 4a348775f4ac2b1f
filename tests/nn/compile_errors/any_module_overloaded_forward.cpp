// Must not compile: AnyModule reads the forward's signature from &Module::forward, which an
// overloaded forward does not have; the static_assert says what to do instead.
#include <bg/nn.h>

struct TwoForwardsImpl : bg::nn::Module {
  bg::Tensor forward(const bg::Tensor& x) { return x; }
  bg::Tensor forward(const bg::Tensor& x, const bg::Tensor& y) { return x + y; }
};

int main() { bg::nn::AnyModule any(std::make_shared<TwoForwardsImpl>()); }
