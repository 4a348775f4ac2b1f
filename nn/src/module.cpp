#include "bg/nn/module.h"

#include <sstream>

namespace bg::nn {

namespace {

void check_name(const char* op, const std::string& name) {
  BG_CHECK(!name.empty() && name.find('.') == std::string::npos, op, "invalid name '", name,
           "': names must be non-empty and contain no '.' (dots join the names of nested modules)");
}

std::string join(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

std::string list(const std::vector<std::string>& names) {
  std::ostringstream out;
  for (size_t i = 0; i < names.size(); ++i) out << (i ? ", " : "") << names[i];
  return out.str();
}

// A pointer to `module` that owns it when someone's shared_ptr does, and merely points otherwise.
std::shared_ptr<Module> pointer_to(Module& module) {
  std::shared_ptr<Module> owned = module.weak_from_this().lock();
  return owned ? owned : std::shared_ptr<Module>(std::shared_ptr<Module>(), &module);
}

}  // namespace

Module::Module(std::string type_name) : type_name_(std::move(type_name)) {}

Tensor& Module::register_parameter(std::string name, Tensor tensor, bool requires_grad) {
  check_name("register_parameter", name);
  BG_CHECK(tensor.defined(), "register_parameter", "the parameter '", name, "' is undefined");
  BG_CHECK(!buffers_.contains(name) && !children_.contains(name), "register_parameter", "'", name,
           "' is already the name of a buffer or child module of ", type_name_);
  if (tensor.is_floating_point() && tensor.is_leaf()) tensor.requires_grad_(requires_grad);
  return parameters_.insert(std::move(name), std::move(tensor));
}

Tensor& Module::register_buffer(std::string name, Tensor tensor, bool persistent) {
  check_name("register_buffer", name);
  BG_CHECK(!parameters_.contains(name) && !children_.contains(name), "register_buffer", "'", name,
           "' is already the name of a parameter or child module of ", type_name_);
  return buffers_.insert(std::move(name), Buffer{std::move(tensor), persistent}).tensor;
}

void Module::add_child(std::string name, std::shared_ptr<Module> module) {
  check_name("register_module", name);
  BG_CHECK(module != nullptr, "register_module", "the module '", name, "' is null");
  BG_CHECK(!parameters_.contains(name) && !buffers_.contains(name), "register_module", "'", name,
           "' is already the name of a parameter or buffer of ", type_name_);
  children_.insert(std::move(name), std::move(module));
}

void Module::replace_module(const std::string& name, std::shared_ptr<Module> module) {
  BG_CHECK(children_.contains(name), "replace_module", type_name_, " has no child '", name,
           "' (children: ", list(children_.keys()), ")");
  BG_CHECK(module != nullptr, "replace_module", "the module replacing '", name, "' is null");
  children_[name] = std::move(module);
}

void Module::visit_tensors(const std::string& prefix, bool recurse, bool want_parameters,
                           bool want_buffers, bool persistent_only,
                           const std::function<void(const std::string&, Tensor&)>& fn) const {
  auto& self = const_cast<Module&>(*this);
  if (want_parameters) {
    for (auto& item : self.parameters_) fn(join(prefix, item.key()), item.value());
  }
  if (want_buffers) {
    for (auto& item : self.buffers_) {
      if (item.value().tensor.defined() && (item.value().persistent || !persistent_only)) {
        fn(join(prefix, item.key()), item.value().tensor);
      }
    }
  }
  if (!recurse) return;
  for (const auto& child : children_) {
    child.value()->visit_tensors(join(prefix, child.key()), true, want_parameters, want_buffers,
                                 persistent_only, fn);
  }
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  return named_parameters(recurse).values();
}

OrderedDict<Tensor> Module::named_parameters(bool recurse) const {
  OrderedDict<Tensor> out;
  visit_tensors("", recurse, true, false, false,
                [&](const std::string& name, Tensor& t) { out.insert(name, t); });
  return out;
}

std::vector<Tensor> Module::buffers(bool recurse) const { return named_buffers(recurse).values(); }

OrderedDict<Tensor> Module::named_buffers(bool recurse) const {
  OrderedDict<Tensor> out;
  visit_tensors("", recurse, false, true, false,
                [&](const std::string& name, Tensor& t) { out.insert(name, t); });
  return out;
}

std::vector<std::shared_ptr<Module>> Module::children() const { return children_.values(); }

OrderedDict<std::shared_ptr<Module>> Module::named_children() const { return children_; }

std::vector<std::shared_ptr<Module>> Module::modules(bool include_self) {
  return named_modules("", include_self).values();
}

OrderedDict<std::shared_ptr<Module>> Module::named_modules(const std::string& prefix,
                                                           bool include_self) {
  OrderedDict<std::shared_ptr<Module>> out;
  apply([&](const std::string& name, Module& module) {
    if (&module != this || include_self) out.insert(join(prefix, name), pointer_to(module));
  });
  return out;
}

void Module::apply(const std::function<void(Module&)>& fn) {
  apply([&](const std::string&, Module& module) { fn(module); });
}

void Module::apply(const std::function<void(const std::string&, Module&)>& fn) {
  // Depth first with an explicit stack, parents before children, children in order.
  std::vector<std::pair<std::string, Module*>> stack{{"", this}};
  while (!stack.empty()) {
    auto [name, module] = stack.back();
    stack.pop_back();
    fn(name, *module);
    const auto& kids = module->children_.items();
    for (auto it = kids.rbegin(); it != kids.rend(); ++it) {
      stack.emplace_back(join(name, it->key()), it->value().get());
    }
  }
}

void Module::train(bool on) {
  training_ = on;
  for (const auto& child : children_) child.value()->train(on);
}

void Module::to(Device device) {
  NoGradGuard no_grad;
  visit_tensors("", true, true, true, false,
                [&](const std::string&, Tensor& t) { t.set_data(t.to(device)); });
}

void Module::to(Dtype dtype) {
  NoGradGuard no_grad;
  visit_tensors("", true, true, true, false, [&](const std::string&, Tensor& t) {
    if (t.is_floating_point()) t.set_data(t.to(dtype));
  });
}

void Module::zero_grad(bool set_to_none) {
  for (Tensor& p : parameters()) {
    if (!p.grad().defined()) continue;
    if (set_to_none) {
      p.set_grad({});
    } else {
      NoGradGuard no_grad;
      Tensor g = p.grad();
      g.zero_();
    }
  }
}

OrderedDict<Tensor> Module::state_dict() const {
  OrderedDict<Tensor> out;
  visit_tensors("", true, true, true, true,
                [&](const std::string& name, Tensor& t) { out.insert(name, t); });
  return out;
}

LoadResult Module::load_state_dict(const OrderedDict<Tensor>& state, bool strict) {
  LoadResult result;
  std::vector<std::pair<Tensor, Tensor>> assignments;  // (target, source)
  const OrderedDict<Tensor> own = state_dict();
  for (const auto& item : own) {
    const Tensor* source = state.find(item.key());
    if (source == nullptr) {
      result.missing_keys.push_back(item.key());
    } else if (source->sizes() != item.value().sizes()) {
      result.mismatched_keys.push_back(item.key() + " (expected " +
                                       shape_str(item.value().sizes()) + ", got " +
                                       shape_str(source->sizes()) + ")");
    } else {
      assignments.emplace_back(item.value(), *source);
    }
  }
  for (const auto& item : state) {
    if (!own.contains(item.key())) result.unexpected_keys.push_back(item.key());
  }
  const bool clean = result.missing_keys.empty() && result.unexpected_keys.empty() &&
                     result.mismatched_keys.empty();
  BG_CHECK(!strict || clean, "load_state_dict", "the state does not match ", type_name_,
           ": missing keys [", list(result.missing_keys), "], unexpected keys [",
           list(result.unexpected_keys), "], mismatched shapes [", list(result.mismatched_keys),
           "]; nothing was loaded");
  NoGradGuard no_grad;
  for (auto& [target, source] : assignments) target.copy_(source);
  return result;
}

void Module::pretty_print(std::ostream& out) const { out << type_name_ << "()"; }

namespace {
void print_tree(std::ostream& out, const Module& module, const std::string& indent) {
  std::ostringstream line;
  module.pretty_print(line);
  std::string head = line.str();
  const auto children = module.named_children();
  if (children.empty()) {
    out << head;
    return;
  }
  // A module with children prints "Name(", its own options (what pretty_print writes between the
  // parentheses) on a line of their own, its children one per line, then ")", as PyTorch does.
  const size_t paren = head.find('(');
  out << (paren == std::string::npos ? head : head.substr(0, paren)) << "(\n";
  if (paren != std::string::npos && head.size() > paren + 2 && head.back() == ')') {
    out << indent << "  " << head.substr(paren + 1, head.size() - paren - 2) << "\n";
  }
  for (const auto& child : children) {
    out << indent << "  (" << child.key() << "): ";
    print_tree(out, *child.value(), indent + "  ");
    out << "\n";
  }
  out << indent << ")";
}
}  // namespace

std::ostream& operator<<(std::ostream& out, const Module& module) {
  print_tree(out, module, "");
  return out;
}

}  // namespace bg::nn
