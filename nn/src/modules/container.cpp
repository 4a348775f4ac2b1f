#include "bg/nn/modules/container.h"

#include <string>
#include <typeinfo>
#include <vector>

#include "bg/nn/modules/activation.h"
#include "bg/nn/modules/linear.h"

namespace bg::nn {

namespace {

void check_index(const char* container, size_t index, size_t size) {
  BG_CHECK(index < size, container, "index ", index, " is out of range for a ", container, " of ",
           size, " modules");
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

}  // namespace

void SequentialImpl::push_back(AnyModule module) {
  push_back(std::to_string(modules_.size()), std::move(module));
}

void SequentialImpl::push_back(std::string name, AnyModule module) {
  register_module(std::move(name), module.ptr());
  modules_.push_back(std::move(module));
  update_fast_paths();
}

Tensor SequentialImpl::forward_tensors(const Tensor& input) {
  Tensor x = input;
  for (size_t i = 0; i < modules_.size(); ++i) {
    if (fuses_relu_[i]) {
      // The Linear's forward and the ReLU's in one op, which no caller can tell apart (modules
      // have no forward hooks) except by its speed.
      x = static_cast<LinearImpl&>(*modules_[i].ptr()).forward_relu(x);
      ++i;
      continue;
    }
    x = modules_[i].forward(x);
  }
  return x;
}

AnyValue SequentialImpl::any_forward(std::vector<AnyValue> inputs) {
  if (modules_.empty()) {
    BG_CHECK(inputs.size() == 1, "Sequential",
             "an empty Sequential returns its input, so it takes one, not ", inputs.size());
    return std::move(inputs.front());
  }
  AnyValue x = modules_.front().any_forward(std::move(inputs));
  for (size_t i = 1; i < modules_.size(); ++i) {
    std::vector<AnyValue> arguments;
    arguments.push_back(std::move(x));
    x = modules_[i].any_forward(std::move(arguments));
  }
  return x;
}

void SequentialImpl::update_fast_paths() {
  all_tensor_to_tensor_ = true;
  for (const AnyModule& module : modules_) {
    all_tensor_to_tensor_ = all_tensor_to_tensor_ && module.is_tensor_to_tensor();
  }
  const auto is = [](const AnyModule& module, const std::type_info& type) {
    const Module* held = module.ptr().get();  // typeid(*call()) evaluates the call: clang warns
    return held != nullptr && typeid(*held) == type;
  };
  fuses_relu_.assign(modules_.size(), false);
  for (size_t i = 0; i + 1 < modules_.size(); ++i) {
    fuses_relu_[i] = is(modules_[i], typeid(LinearImpl)) && is(modules_[i + 1], typeid(ReLUImpl));
  }
}

std::shared_ptr<Module> SequentialImpl::ptr(size_t index) const {
  check_index("Sequential", index, modules_.size());
  return modules_[index].ptr();
}

void SequentialImpl::replace(size_t index, AnyModule module) {
  check_index("Sequential", index, modules_.size());
  BG_CHECK(module.ptr() != nullptr, "Sequential", "the module replacing entry ", index, " is null");
  // The child's name is the one it was registered under (its index, or push_back's name).
  const std::string name = children_.items()[index].key();
  Module::replace_module(name, module.ptr());
  modules_[index] = std::move(module);
  update_fast_paths();
}

void SequentialImpl::replace_module(const std::string& name, std::shared_ptr<Module>) {
  throw Error(bg::detail::concat("Sequential: replace_module('", name,
                                 "') cannot give the chain the new module's forward; use "
                                 "replace(index, module) instead"));
}

void ModuleListImpl::append(std::shared_ptr<Module> module) {
  register_module(std::to_string(modules_.size()), module);
  modules_.push_back(std::move(module));
}

std::shared_ptr<Module> ModuleListImpl::ptr(size_t index) const {
  check_index("ModuleList", index, modules_.size());
  return modules_[index];
}

std::shared_ptr<Module> ModuleDictImpl::operator[](const std::string& key) const {
  const std::shared_ptr<Module>* module = children_.find(key);
  BG_CHECK(module != nullptr, "ModuleDict", "no module under the key '", key,
           "' (keys: ", join(children_.keys()), ")");
  return *module;
}

std::shared_ptr<Module> ModuleDictImpl::pop(const std::string& key) {
  std::shared_ptr<Module> module = (*this)[key];
  children_.erase(key);
  return module;
}

}  // namespace bg::nn
