// The Module API on a user-defined model: registration, traversal (names, order), modes, dtype
// conversion keeping handles valid, gradients, state dicts, printing, holders, and errors.

#include <sstream>

#include "bg/nn.h"
#include "module_repr.h"
#include "test_util.h"

using namespace bg;
using bg::test::check_close;
using bg::test::check_error;
using bg::test::repr;
using bg::test::values;

namespace {

// `depth` Sequentials, each the only child of the one above, around `innermost`.
nn::Sequential nested(int depth, nn::AnyModule innermost) {
  nn::Sequential inner{std::move(innermost)};
  for (int i = 1; i < depth; ++i) {
    nn::Sequential outer;
    outer->push_back(inner);
    inner = outer;
  }
  return inner;
}

// A user-defined layer: a parameter, a persistent and a non-persistent buffer, and a child.
struct BlockImpl : nn::Module {
  explicit BlockImpl(int64_t width) : Module("Block") {
    scale = register_parameter("scale", full({width}, 2.0));
    count = register_buffer("count", zeros({}, kInt64));
    cache = register_buffer("cache", zeros({width}), /*persistent=*/false);
    fc = register_module("fc", nn::Linear(width, width));
  }
  Tensor forward(const Tensor& x) { return fc(x) * scale; }
  Tensor scale, count, cache;
  nn::Linear fc = nullptr;
};
BG_MODULE(Block);

// A model made of user-defined and library modules, nested two levels deep.
struct NetImpl : nn::Module {
  NetImpl() : Module("Net") {
    shift = register_parameter("shift", zeros({3}));
    body = register_module("body", nn::Sequential(Block(3), nn::ReLU(), Block(3)));
    head = register_module("head", nn::Linear(3, 1));
  }
  Tensor forward(const Tensor& x) { return head(body(x + shift)); }
  Tensor shift;
  nn::Sequential body = nullptr;
  nn::Linear head = nullptr;
};
BG_MODULE(Net);

const std::vector<std::string> kParameterNames{"shift",          "body.0.scale", "body.0.fc.weight",
                                               "body.0.fc.bias", "body.2.scale", "body.2.fc.weight",
                                               "body.2.fc.bias", "head.weight",  "head.bias"};

}  // namespace

TEST_CASE("named_parameters lists dotted names in registration order, depth first") {
  Net net;
  CHECK(net->named_parameters().keys() == kParameterNames);
  CHECK(net->parameters().size() == kParameterNames.size());
  CHECK(net->named_parameters(false).keys() == std::vector<std::string>{"shift"});
  // The entries are the modules' own tensor objects.
  CHECK(net->named_parameters()["head.weight"].is_same(net->head->weight));
  for (const Tensor& p : net->parameters()) CHECK(p.requires_grad());
}

TEST_CASE("buffers: non-persistent ones are not saved; integer buffers need no grad") {
  Block block(2);
  CHECK(block->named_buffers().keys() == std::vector<std::string>{"count", "cache"});
  CHECK(block->state_dict().keys() ==
        std::vector<std::string>{"scale", "count", "fc.weight", "fc.bias"});
  CHECK_FALSE(block->count.requires_grad());
  Net net;
  CHECK(net->named_buffers().keys() ==
        std::vector<std::string>{"body.0.count", "body.0.cache", "body.2.count", "body.2.cache"});
}

TEST_CASE("children, modules, named_modules and apply walk the tree parents first") {
  Net net;
  CHECK(net->named_children().keys() == std::vector<std::string>{"body", "head"});
  CHECK(net->children().size() == 2);
  const std::vector<std::string> all{"",       "body",   "body.0",    "body.0.fc",
                                     "body.1", "body.2", "body.2.fc", "head"};
  CHECK(net->named_modules().keys() == all);
  CHECK(net->named_modules("net", false).keys() ==
        std::vector<std::string>{"net.body", "net.body.0", "net.body.0.fc", "net.body.1",
                                 "net.body.2", "net.body.2.fc", "net.head"});
  CHECK(net->modules().size() == all.size());
  CHECK(net->modules(false).front().get() == net->body.get());
  // The entry for the model itself owns it like the holder does.
  CHECK(net->modules().front() == net.ptr());

  std::vector<std::string> types;
  net->apply([&](nn::Module& m) { types.push_back(m.type_name()); });
  CHECK(types == std::vector<std::string>{"Net", "Sequential", "Block", "Linear", "ReLU", "Block",
                                          "Linear", "Linear"});
  std::vector<std::string> names;
  net->apply([&](const std::string& name, nn::Module& m) {
    if (m.as<nn::LinearImpl>() != nullptr) names.push_back(name);
  });
  CHECK(names == std::vector<std::string>{"body.0.fc", "body.2.fc", "head"});
  CHECK(net->as<NetImpl>() == net.get());
  CHECK(net->as<nn::LinearImpl>() == nullptr);
}

TEST_CASE("train and eval reach every descendant") {
  Net net;
  CHECK(net->is_training());
  net->eval();
  for (const auto& m : net->modules()) CHECK_FALSE(m->is_training());
  net->body->train();
  CHECK_FALSE(net->is_training());
  CHECK(net->body->at<BlockImpl>(0).fc->is_training());
  net->train();
  for (const auto& m : net->modules()) CHECK(m->is_training());
}

TEST_CASE("a module tree 100,000 levels deep is walked, printed and destroyed without recursion") {
  constexpr int kDepth = 100'000;
  {
    nn::Sequential deep = nested(kDepth, nn::Linear(2, 1));
    CHECK(deep->parameters().size() == 2);
    const auto named = deep->named_parameters();
    REQUIRE(named.size() == 2);
    // "0.0.....0.weight": one "0." per Sequential.
    CHECK(named.keys()[0].size() == 2 * kDepth + std::string("weight").size());
    CHECK(deep->state_dict().size() == 2);
    CHECK(deep->buffers().empty());
    CHECK(deep->modules().size() == kDepth + 1);
    int64_t visited = 0;
    deep->apply([&](nn::Module&) { ++visited; });
    CHECK(visited == kDepth + 1);
    deep->eval();
    CHECK_FALSE(deep->modules().back()->is_training());
    deep->to(kFloat64);
    deep->zero_grad();
  }  // destroyed here, level by level
  // The printed text grows with the square of the depth (each line is indented by it).
  const std::string text = repr(*nested(3'000, nn::ReLU()));
  CHECK(text.find(std::string(2 * 2'999, ' ') + "(0): ReLU()\n") != std::string::npos);
  CHECK(text.substr(text.size() - 5) == "  )\n)");
}

TEST_CASE("to(kFloat64) converts in place: handles taken before see the new parameters") {
  Net net;
  // What an optimizer would keep: the parameter handles, and a gradient.
  const std::vector<Tensor> handles = net->parameters();
  net->forward(ones({2, 3})).sum().backward();
  const std::vector<double> before = values(net->head->weight);
  net->to(kFloat64);
  for (size_t i = 0; i < handles.size(); ++i) {
    CHECK(handles[i].dtype() == kFloat64);
    CHECK(handles[i].is_same(net->parameters()[i]));
    CHECK(handles[i].requires_grad());
    CHECK(handles[i].grad().dtype() == kFloat64);
  }
  check_close(net->head->weight, before, 0.0);
  CHECK(net->body->at<BlockImpl>(0).count.dtype() == kInt64);  // integers stay
  CHECK(net->body->at<BlockImpl>(0).cache.dtype() == kFloat64);
  // An optimizer-style update through an old handle changes what forward computes.
  const Tensor x = ones({1, 3}, kFloat64);
  const double y = net->forward(x).item<double>();
  {
    NoGradGuard no_grad;
    Tensor bias = handles.back();  // head.bias
    bias.add_(1.0);
  }
  CHECK(net->forward(x).item<double>() == doctest::Approx(y + 1.0).epsilon(1e-12));
}

TEST_CASE("zero_grad resets gradients to undefined or to zeros") {
  Net net;
  net->forward(ones({2, 3})).sum().backward();
  CHECK(net->head->weight.grad().defined());
  net->zero_grad(false);
  for (const Tensor& p : net->parameters()) {
    REQUIRE(p.grad().defined());
    check_close(p.grad(), std::vector<double>(static_cast<size_t>(p.numel()), 0.0), 0.0);
  }
  net->zero_grad();
  for (const Tensor& p : net->parameters()) CHECK_FALSE(p.grad().defined());
}

TEST_CASE("state_dict and load_state_dict round-trip values, converting dtypes") {
  manual_seed(1);
  Net source;
  source->to(kFloat64);
  manual_seed(2);
  Net target;
  const auto state = source->state_dict();
  CHECK(state.keys() == std::vector<std::string>{"shift", "body.0.scale", "body.0.count",
                                                 "body.0.fc.weight", "body.0.fc.bias",
                                                 "body.2.scale", "body.2.count", "body.2.fc.weight",
                                                 "body.2.fc.bias", "head.weight", "head.bias"});
  const nn::LoadResult result = target->load_state_dict(state);
  CHECK(result.missing_keys.empty());
  CHECK(result.unexpected_keys.empty());
  CHECK(result.mismatched_keys.empty());
  CHECK(target->head->weight.dtype() == kFloat32);  // the target keeps its dtype
  const Tensor x = randn({4, 3});
  CHECK(allclose(target(x).to(kFloat64), source(x.to(kFloat64)), 1e-5));
}

TEST_CASE("load_state_dict strict: lists missing, unexpected and mis-shaped keys; loads nothing") {
  Net net;
  auto state = net->state_dict();
  nn::OrderedDict<Tensor> bad;
  for (const auto& item : state) {
    if (item.key() == "head.bias") continue;
    bad.insert(item.key(), item.key() == "head.weight" ? zeros({2, 3}) : zeros_like(item.value()));
  }
  bad.insert("extra", zeros({1}));
  const std::vector<double> scale_before = values(net->body->at<BlockImpl>(0).scale);
  check_error(
      {"load_state_dict", "Net", "missing keys [head.bias]", "unexpected keys [extra]",
       "mismatched shapes [head.weight (expected [1, 3], got [2, 3])]", "nothing was loaded"},
      [&] { net->load_state_dict(bad); });
  check_close(net->body->at<BlockImpl>(0).scale, scale_before, 0.0);

  // Non-strict: the usable keys are loaded, the rest reported.
  const nn::LoadResult result = net->load_state_dict(bad, false);
  CHECK(result.missing_keys == std::vector<std::string>{"head.bias"});
  CHECK(result.unexpected_keys == std::vector<std::string>{"extra"});
  CHECK(result.mismatched_keys.size() == 1);
  check_close(net->body->at<BlockImpl>(0).scale, {0, 0, 0}, 0.0);
}

TEST_CASE("a module tree prints like PyTorch's repr") {
  Net net;
  CHECK(repr(*net) ==
        "Net(\n"
        "  (body): Sequential(\n"
        "    (0): Block(\n"
        "      (fc): Linear(in_features=3, out_features=3, bias=true)\n"
        "    )\n"
        "    (1): ReLU()\n"
        "    (2): Block(\n"
        "      (fc): Linear(in_features=3, out_features=3, bias=true)\n"
        "    )\n"
        "  )\n"
        "  (head): Linear(in_features=3, out_features=1, bias=true)\n"
        ")");
  std::ostringstream via_holder;
  via_holder << net;
  CHECK(via_holder.str() == repr(*net));
}

TEST_CASE("register_* reject empty, dotted and duplicate names") {
  nn::Module m("M");
  m.register_parameter("w", zeros({1}));
  check_error({"register_parameter", "invalid name ''"},
              [&] { m.register_parameter("", zeros({1})); });
  check_error({"register_buffer", "invalid name 'a.b'"},
              [&] { m.register_buffer("a.b", zeros({1})); });
  check_error({"register_module", "invalid name 'x.y'"},
              [&] { m.register_module("x.y", nn::ReLU()); });
  check_error({"'w'", "already"}, [&] { m.register_parameter("w", zeros({1})); });
  check_error({"register_buffer", "'w'", "already the name of a parameter"},
              [&] { m.register_buffer("w", zeros({1})); });
  check_error({"register_module", "'w'", "already the name of a parameter or buffer"},
              [&] { m.register_module("w", nn::ReLU()); });
  check_error({"register_parameter", "'p'", "undefined"}, [&] { m.register_parameter("p", {}); });
  check_error({"replace_module", "M has no child 'fc'"},
              [&] { m.replace_module("fc", std::make_shared<nn::ReLUImpl>()); });
}

TEST_CASE("replace_module swaps a child") {
  Net net;
  net->replace_module("head", std::make_shared<nn::LinearImpl>(3, 2));
  CHECK(net->named_parameters().contains("head.weight"));
  CHECK(net->named_children()["head"]->as<nn::LinearImpl>()->options.out_features() == 2);
}

TEST_CASE("an empty holder says so when used") {
  nn::Linear empty = nullptr;
  CHECK(empty.is_empty());
  CHECK_FALSE(empty);
  check_error({"ModuleHolder", "empty"}, [&] { empty(zeros({1, 1})); });
  check_error({"ModuleHolder", "empty"}, [&] { (void)empty->weight; });
}

TEST_CASE("a user-defined module works through its holder and as a plain object") {
  BlockImpl plain(2);
  const Tensor x = ones({1, 2});
  const Tensor y = plain.forward(x);
  CHECK(allclose(y, (x.matmul(plain.fc->weight.t()) + plain.fc->bias) * 2.0));
  CHECK(plain.named_parameters().keys() ==
        std::vector<std::string>{"scale", "fc.weight", "fc.bias"});
  // modules() of a plain object works, without owning it.
  CHECK(plain.modules().front().get() == &plain);
  Block held(2);
  CHECK(held(x).sizes() == Shape{1, 2});
  // A holder wraps an existing module, sharing it.
  auto shared = std::make_shared<BlockImpl>(2);
  Block wrapped(shared);
  CHECK(wrapped.get() == shared.get());
}

TEST_CASE("Sequential of user-defined modules chains them and collects their parameters") {
  nn::Sequential seq(Block(2), nn::Tanh(), Block(2));
  CHECK(seq->named_parameters().keys() == std::vector<std::string>{"0.scale", "0.fc.weight",
                                                                   "0.fc.bias", "2.scale",
                                                                   "2.fc.weight", "2.fc.bias"});
  const Tensor x = randn({3, 2});
  test::check_equal(seq(x), seq->at<BlockImpl>(2).forward(seq->at<BlockImpl>(0).forward(x).tanh()));
  CHECK(seq->at<BlockImpl>(0).count.dtype() == kInt64);
}
