// The hooks distributed training builds on: post-accumulate-grad hooks on leaves, and callbacks
// queued to run when a backward pass ends.

#include <bg/core/autograd/autograd.h>

#include <string>
#include <vector>

#include "test_util.h"

using namespace bg;
using namespace bg::test;

TEST_CASE("a post-accumulate-grad hook sees .grad after the pass's gradient was added") {
  Tensor x = tensor({1.0, 2.0}).requires_grad_();
  std::vector<std::vector<double>> seen;
  autograd::register_post_accumulate_grad_hook(x, [&](const Tensor& leaf) {
    CHECK(leaf.impl() == x.impl());
    seen.push_back(values(leaf.grad()));
  });
  // x is used twice: the hook runs once per pass, with the summed gradient.
  ((x * 3.0).sum() + (x * x).sum()).backward();
  ((x * 3.0).sum()).backward();  // accumulates onto the first pass's gradient
  REQUIRE(seen.size() == 2);
  CHECK(seen[0] == std::vector<double>{5.0, 7.0});
  CHECK(seen[1] == std::vector<double>{8.0, 10.0});
}

TEST_CASE("autograd::grad runs no post-accumulate-grad hook, as it does not touch .grad") {
  Tensor x = tensor({1.0}).requires_grad_();
  int calls = 0;
  autograd::register_post_accumulate_grad_hook(x, [&](const Tensor&) { ++calls; });
  autograd::grad({(x * 2.0).sum()}, {x});
  CHECK(calls == 0);
}

TEST_CASE("post-accumulate-grad hooks need a leaf that requires grad") {
  Tensor plain = tensor({1.0});
  CHECK_THROWS_WITH_AS(autograd::register_post_accumulate_grad_hook(plain, [](const Tensor&) {}),
                       doctest::Contains("needs a leaf tensor that requires grad"), Error);
  Tensor x = tensor({1.0}).requires_grad_();
  CHECK_THROWS_WITH_AS(autograd::register_post_accumulate_grad_hook(x * 2.0, [](const Tensor&) {}),
                       doctest::Contains("computed by another op"), Error);
}

TEST_CASE("queued callbacks run after the last node, in order, before backward returns") {
  Tensor a = tensor({1.0}).requires_grad_();
  Tensor b = tensor({2.0}).requires_grad_();
  std::vector<std::string> events;
  for (Tensor* t : {&a, &b}) {
    const std::string name = t == &a ? "a" : "b";
    autograd::register_post_accumulate_grad_hook(*t, [&events, name](const Tensor&) {
      events.push_back(name);
      if (events.size() == 1) {
        autograd::queue_callback([&events] {
          events.push_back("end");
          // A callback may queue another: it runs in the same pass.
          autograd::queue_callback([&events] { events.push_back("end2"); });
        });
      }
    });
  }
  (a * b).sum().backward();
  REQUIRE(events.size() == 4);
  CHECK(events[2] == "end");
  CHECK(events[3] == "end2");
  // The next pass starts with no callbacks left over.
  events.clear();
  (a * 2.0).sum().backward();
  CHECK(events == std::vector<std::string>{"a", "end", "end2"});
}

TEST_CASE("queue_callback outside a backward pass throws") {
  CHECK_THROWS_WITH_AS(autograd::queue_callback([] {}),
                       doctest::Contains("no backward pass is running"), Error);
}

TEST_CASE("a backward pass inside a hook keeps its own callbacks") {
  Tensor x = tensor({1.0}).requires_grad_();
  Tensor y = tensor({1.0}).requires_grad_();
  std::vector<std::string> events;
  autograd::register_post_accumulate_grad_hook(
      y, [&](const Tensor&) { autograd::queue_callback([&] { events.push_back("inner"); }); });
  autograd::register_post_accumulate_grad_hook(x, [&](const Tensor&) {
    autograd::queue_callback([&] { events.push_back("outer"); });
    AutoGradMode record(true);   // backward runs hooks with grad mode off
    (y * 2.0).sum().backward();  // its own pass, over another graph
    events.push_back("after inner backward");
  });
  (x * 2.0).sum().backward();
  CHECK(events == std::vector<std::string>{"inner", "after inner backward", "outer"});
}
