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

// prefix.path[0].path[1]...: a dotted name built by appending (an O(length) string, however deep).
std::string dotted(const std::string& prefix, const std::vector<const std::string*>& path) {
  std::string out = prefix;
  for (const std::string* part : path) {
    if (!out.empty()) out += '.';
    out += *part;
  }
  return out;
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

// Children this module alone owns are released one at a time by the outermost destructor running
// on the thread, which nested destructors hand their own children to, so the stack depth stays
// constant however deep the tree (Note [Deep module trees]; the same as Note [Graph teardown]).
Module::~Module() {
  thread_local std::vector<std::shared_ptr<Module>>* pending = nullptr;
  std::vector<std::shared_ptr<Module>> releasing;
  std::vector<std::shared_ptr<Module>>& to_release = pending != nullptr ? *pending : releasing;
  for (auto& child : children_) {
    if (child.value().use_count() == 1) to_release.push_back(std::move(child.value()));
  }
  if (pending != nullptr || releasing.empty()) return;
  pending = &releasing;
  while (!releasing.empty()) {
    std::shared_ptr<Module> child = std::move(releasing.back());
    releasing.pop_back();
    child.reset();  // its destructor appends the children it owned alone
  }
  pending = nullptr;
}

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

// Note [Deep module trees]
// A model may nest modules as deep as its author likes (100,000 Sequentials inside each other), so
// nothing that walks the tree recurses: walks keep an explicit stack, train() hands the children
// of a nested call to the loop of the outermost one, and the destructor releases descendants one
// at a time. Dotted names are built only for what is returned, so a walk costs time in proportion
// to the modules and the names returned, not to depth times modules.
void Module::walk(const std::function<void(Module&, const std::vector<const std::string*>&)>& visit,
                  bool recurse) const {
  struct Pending {
    Module* module;
    size_t depth;            // of the module below this one
    const std::string* key;  // its name in its parent; null for this module
  };
  std::vector<Pending> stack{{const_cast<Module*>(this), 0, nullptr}};
  std::vector<const std::string*> path;  // the keys from this module down to the visited one
  while (!stack.empty()) {
    const Pending next = stack.back();
    stack.pop_back();
    path.resize(next.depth);
    if (next.key != nullptr) path.push_back(next.key);
    visit(*next.module, path);
    if (!recurse) return;
    const auto& kids = next.module->children_.items();
    for (auto it = kids.rbegin(); it != kids.rend(); ++it) {
      stack.push_back({it->value().get(), path.size(), &it->key()});
    }
  }
}

void Module::visit_tensors(const std::string& prefix, bool recurse, bool want_parameters,
                           bool want_buffers, bool persistent_only,
                           const std::function<void(const std::string&, Tensor&)>& fn) const {
  walk(
      [&](Module& module, const std::vector<const std::string*>& path) {
        auto name = [&](const std::string& key) { return join(dotted(prefix, path), key); };
        if (want_parameters) {
          for (auto& item : module.parameters_) fn(name(item.key()), item.value());
        }
        if (want_buffers) {
          for (auto& item : module.buffers_) {
            if (item.value().tensor.defined() && (item.value().persistent || !persistent_only)) {
              fn(name(item.key()), item.value().tensor);
            }
          }
        }
      },
      recurse);
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
  std::vector<std::shared_ptr<Module>> out;
  apply([&](Module& module) {
    if (&module != this || include_self) out.push_back(pointer_to(module));
  });
  return out;
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
  walk([&](Module& module, const std::vector<const std::string*>&) { fn(module); }, true);
}

void Module::apply(const std::function<void(const std::string&, Module&)>& fn) {
  walk([&](Module& module,
           const std::vector<const std::string*>& path) { fn(dotted("", path), module); },
       true);
}

void Module::train(bool on) {
  training_ = on;
  // Each descendant's own (virtual) train() is called, from the loop of the outermost call rather
  // than recursively (Note [Deep module trees]): a nested call hands its children to that loop.
  thread_local std::vector<Module*>* pending = nullptr;
  std::vector<Module*> stack;
  std::vector<Module*>& to_train = pending != nullptr ? *pending : stack;
  const auto& kids = children_.items();
  for (auto it = kids.rbegin(); it != kids.rend(); ++it) to_train.push_back(it->value().get());
  if (pending != nullptr) return;
  pending = &stack;
  struct Done {
    ~Done() { pending = nullptr; }
  } done;
  while (!stack.empty()) {
    Module* next = stack.back();
    stack.pop_back();
    next->train(on);
  }
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

std::ostream& operator<<(std::ostream& out, const Module& module) {
  // A module with children prints "Name(", its own options (what pretty_print writes between the
  // parentheses) on a line of their own, its children one per line, then ")", as PyTorch does.
  // An explicit stack of the modules whose children are being printed, so that any depth fits
  // (Note [Deep module trees] in this file).
  struct Open {
    OrderedDict<std::shared_ptr<Module>> children;
    size_t next = 0;
  };
  std::vector<Open> open;
  auto indent = [&](size_t depth) { out << std::string(2 * depth, ' '); };
  // Prints the head of `m`, whose children (if any) are printed next.
  auto begin = [&](const Module& m) {
    std::ostringstream line;
    m.pretty_print(line);
    const std::string head = line.str();
    OrderedDict<std::shared_ptr<Module>> children = m.named_children();
    if (children.empty()) {
      out << head;
      return;
    }
    const size_t paren = head.find('(');
    out << (paren == std::string::npos ? head : head.substr(0, paren)) << "(\n";
    if (paren != std::string::npos && head.size() > paren + 2 && head.back() == ')') {
      indent(open.size() + 1);
      out << head.substr(paren + 1, head.size() - paren - 2) << "\n";
    }
    open.push_back({std::move(children), 0});
  };
  begin(module);
  while (!open.empty()) {
    Open& top = open.back();
    if (top.next == top.children.size()) {
      open.pop_back();
      indent(open.size());
      out << ")";
      if (!open.empty()) out << "\n";
      continue;
    }
    const auto& child = top.children.items()[top.next++];
    indent(open.size());
    out << "(" << child.key() << "): ";
    const size_t depth = open.size();
    begin(*child.value());  // may grow `open`: `top` is not used after this
    if (open.size() == depth) out << "\n";
  }
  return out;
}

}  // namespace bg::nn
