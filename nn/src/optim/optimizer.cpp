#include "bg/nn/optim/optimizer.h"

#include <algorithm>
#include <limits>
#include <set>
#include <typeinfo>

#include "optim/internal.h"
#include "serialize/optimizer_state_text.h"

namespace bg::optim {

namespace {

// Converts the buffers of a parameter that moved to another dtype or device (Module::to).
void follow_parameter(const std::string& optimizer, size_t index, const Tensor& param,
                      ParamState& state) {
  for (auto& item : state.buffers) {
    Tensor& buffer = item.value();
    BG_CHECK(buffer.sizes() == param.sizes(), optimizer, "parameter ", index, " ", describe(param),
             " no longer has the shape of its state ", item.key(), " ", describe(buffer));
    if (buffer.dtype() != param.dtype() || buffer.device() != param.device()) {
      buffer = buffer.to(param.dtype()).to(param.device());
    }
  }
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ", ") + name;
  return out.empty() ? "none" : out;
}

}  // namespace

// ---- OptimizerParamGroup ------------------------------------------------------------------------

OptimizerParamGroup::OptimizerParamGroup(std::vector<Tensor> params) : params_(std::move(params)) {}

OptimizerParamGroup::OptimizerParamGroup(std::vector<Tensor> params,
                                         const OptimizerOptions& options)
    : params_(std::move(params)), options_(options.clone()) {}

OptimizerParamGroup::OptimizerParamGroup(std::vector<Tensor> params,
                                         std::unique_ptr<OptimizerOptions> options)
    : params_(std::move(params)), options_(std::move(options)) {}

OptimizerParamGroup::OptimizerParamGroup(const OptimizerParamGroup& other)
    : params_(other.params_), options_(other.options_ ? other.options_->clone() : nullptr) {}

OptimizerParamGroup& OptimizerParamGroup::operator=(const OptimizerParamGroup& other) {
  if (this != &other) {
    params_ = other.params_;
    options_ = other.options_ ? other.options_->clone() : nullptr;
  }
  return *this;
}

OptimizerOptions& OptimizerParamGroup::options() {
  BG_CHECK(options_ != nullptr, "OptimizerParamGroup",
           "this group has no options (an optimizer gives it its defaults when it adopts it)");
  return *options_;
}

const OptimizerOptions& OptimizerParamGroup::options() const {
  return const_cast<OptimizerParamGroup*>(this)->options();
}

// ---- Optimizer ----------------------------------------------------------------------------------

Optimizer::Optimizer(std::string name, std::vector<OptimizerParamGroup> param_groups,
                     std::unique_ptr<OptimizerOptions> defaults)
    : name_(std::move(name)), defaults_(std::move(defaults)) {
  defaults_->check(name_);
  for (const OptimizerParamGroup& group : param_groups) add_param_group(group);
  BG_CHECK(size() > 0, name_, "got an empty parameter list");
}

void Optimizer::add_param_group(const OptimizerParamGroup& group) {
  const size_t index = param_groups_.size();
  OptimizerParamGroup adopted(group.params());
  if (group.has_options()) {
    check_options_kind(group, index);
    group.options().check(name_);
    adopted.set_options(group.options().clone());
  } else {
    adopted.set_options(defaults_->clone());
  }
  std::set<const TensorImpl*> seen;
  for (const Tensor& param : parameters()) seen.insert(param.impl());
  for (size_t i = 0; i < adopted.params().size(); ++i) {
    const Tensor& param = adopted.params()[i];
    BG_CHECK(param.defined(), name_, "parameter ", i, " of group ", index, " is undefined");
    BG_CHECK(param.is_floating_point() && param.is_leaf(), name_, "parameter ", i, " of group ",
             index, " (", describe(param),
             ") cannot be optimized: expected a float32 or float64 leaf tensor");
    BG_CHECK(seen.insert(param.impl()).second, name_, "parameter ", i, " of group ", index, " (",
             describe(param), ") appears more than once in the parameter groups");
  }
  param_groups_.push_back(std::move(adopted));
}

void Optimizer::check_options_kind(const OptimizerParamGroup& group, size_t index) const {
  const OptimizerOptions* options = group.has_options() ? &group.options() : nullptr;
  const OptimizerOptions& defaults = *defaults_;
  BG_CHECK(options != nullptr && typeid(*options) == typeid(defaults), name_, "parameter group ",
           index, " has ", options != nullptr ? "the options of another optimizer" : "no options");
}

std::vector<Tensor> Optimizer::parameters() const {
  std::vector<Tensor> out;
  for (const OptimizerParamGroup& group : param_groups_) {
    out.insert(out.end(), group.params().begin(), group.params().end());
  }
  return out;
}

size_t Optimizer::size() const {
  size_t count = 0;
  for (const OptimizerParamGroup& group : param_groups_) count += group.params().size();
  return count;
}

const ParamState* Optimizer::state(const Tensor& param) const {
  const auto it = state_.find(param.impl());
  return it == state_.end() ? nullptr : &it->second.state;
}

Tensor Optimizer::step(const LossClosure& closure) {
  Tensor loss;
  if (closure) {
    AutoGradMode enable_grad(true);
    loss = closure();
  }
  NoGradGuard no_grad;
  // The options and the state of every parameter are checked (the state converted) before any
  // parameter is updated, so a step that fails changes nothing. set_grad and set_data keep a
  // gradient's shape, dtype and device equal to the parameter's.
  for (size_t g = 0; g < param_groups_.size(); ++g) check_options_kind(param_groups_[g], g);
  size_t index = 0;
  for (const Tensor& param : parameters()) {
    const auto state = state_.find(param.impl());
    if (param.grad().defined() && state != state_.end()) {
      follow_parameter(name_, index, param, state->second.state);
    }
    ++index;
  }
  for (const OptimizerParamGroup& group : param_groups_) {
    for (const Tensor& param : group.params()) {
      if (!param.grad().defined()) continue;
      ParamState& state =
          state_.try_emplace(param.impl(), StateEntry{param, {}}).first->second.state;
      ++state.step;
      update(param, state, group.options());
    }
  }
  return loss;
}

void Optimizer::zero_grad(bool set_to_none) {
  for (const Tensor& param : parameters()) {
    if (!param.grad().defined()) continue;
    if (set_to_none) {
      param.set_grad({});
    } else {
      NoGradGuard no_grad;
      Tensor grad = param.grad();
      grad.zero_();
    }
  }
}

OptimizerStateDict Optimizer::state_dict() const {
  NoGradGuard no_grad;
  OptimizerStateDict out;
  size_t index = 0;
  for (const OptimizerParamGroup& group : param_groups_) {
    std::string indices;
    for (const Tensor& param : group.params()) {
      if (!indices.empty()) indices += ',';
      indices += std::to_string(index);
      if (const ParamState* state = this->state(param)) {
        const std::string prefix = bg::detail::concat("state.", index, ".");
        out.state.insert(prefix + "step", scalar_tensor(state->step, kInt64));
        for (const auto& item : state->buffers) {
          out.state.insert(prefix + item.key(), item.value().clone());
        }
      }
      ++index;
    }
    std::map<std::string, std::string> hyperparameters = group.options().to_map();
    hyperparameters["params"] = indices;
    out.param_groups.push_back(std::move(hyperparameters));
  }
  return out;
}

void Optimizer::load_state_dict(const OptimizerStateDict& state_dict) {
  const std::string op = name_ + ".load_state_dict";
  BG_CHECK(state_dict.param_groups.size() == param_groups_.size(), op, "the state has ",
           state_dict.param_groups.size(), " parameter groups, the optimizer has ",
           param_groups_.size());
  // Saved indices pair with the parameters position by position through the groups, as in
  // PyTorch; the hyperparameters are read into copies of the groups' options.
  const std::vector<Tensor> params = parameters();
  std::map<int64_t, size_t> position_of;  // saved index -> position in params
  std::vector<size_t> group_of;           // position -> group
  std::vector<std::unique_ptr<OptimizerOptions>> options;
  for (size_t g = 0; g < param_groups_.size(); ++g) {
    std::map<std::string, std::string> saved = state_dict.param_groups[g];
    const auto found = saved.find("params");
    BG_CHECK(found != saved.end(), op, "group ", g, " has no 'params' entry");
    const std::vector<int64_t> indices = detail::parse_indices(found->second, op, g);
    BG_CHECK(indices.size() == param_groups_[g].params().size(), op, "group ", g, " has ",
             indices.size(), " parameters in the state and ", param_groups_[g].params().size(),
             " in the optimizer");
    for (int64_t index : indices) {
      BG_CHECK(position_of.emplace(index, group_of.size()).second, op, "parameter index ", index,
               " appears twice in the groups of the state");
      group_of.push_back(g);
    }
    saved.erase(found);
    options.push_back(param_groups_[g].options().clone());
    options.back()->from_map(saved, op);
    options.back()->check(op);
  }

  struct Loaded {
    ParamState state;
    std::string prefix;  // "state.<saved index>."
    bool has_step = false;
  };
  std::map<size_t, Loaded> loaded;  // by position
  for (const auto& item : state_dict.state) {
    const std::string& key = item.key();
    const Tensor& value = item.value();
    int64_t index = 0;
    std::string name;
    BG_CHECK(detail::parse_state_key(key, index, name), op, "unexpected key '", key,
             "' (expected state.<parameter index>.<name>)");
    const auto position = position_of.find(index);
    BG_CHECK(position != position_of.end(), op, "the key '", key, "' is for parameter ", index,
             ", which no group of the state lists");
    const Tensor& param = params[position->second];
    Loaded& entry = loaded[position->second];
    entry.prefix = bg::detail::concat("state.", index, ".");
    BG_CHECK(value.defined(), op, key, " is an undefined tensor");
    if (name == "step") {
      BG_CHECK(value.dtype() == kInt64 && value.numel() == 1, op, key,
               " should hold one int64 step count, got ", describe(value));
      // A state exists after a first step; the next step must still count without overflow.
      const int64_t step = value.item<int64_t>();
      BG_CHECK(step >= 1 && step < std::numeric_limits<int64_t>::max(), op, key, " is ", step,
               ": a step count is between 1 and 2^63 - 2");
      entry.state.step = step;
      entry.has_step = true;
      continue;
    }
    BG_CHECK(value.is_floating_point() && value.sizes() == param.sizes(), op, key, " (",
             describe(value), ") does not fit parameter ", position->second, " (", describe(param),
             ")");
    NoGradGuard no_grad;
    entry.state.buffers.insert(name, value.detach().to(param.dtype()).to(param.device()).clone());
  }
  for (const auto& [position, entry] : loaded) {
    BG_CHECK(entry.has_step, op, entry.prefix, "step is missing (parameter ", position,
             " has other state)");
    const std::vector<std::string> expected = buffer_names(*options[group_of[position]]);
    for (const std::string& name : expected) {
      BG_CHECK(entry.state.buffers.contains(name), op, entry.prefix, name,
               " is missing (for parameter ", position, ", ", name_,
               " with its group's options keeps ", join(expected), ")");
    }
    for (const std::string& name : entry.state.buffers.keys()) {
      BG_CHECK(std::find(expected.begin(), expected.end(), name) != expected.end(), op,
               entry.prefix, name, " is unexpected (for parameter ", position, ", ", name_,
               " with its group's options keeps ", join(expected), ")");
    }
  }

  for (size_t g = 0; g < param_groups_.size(); ++g)
    param_groups_[g].set_options(std::move(options[g]));
  for (const Tensor& param : params) state_.erase(param.impl());
  for (auto& [position, entry] : loaded) {
    const Tensor& param = params[position];
    state_.insert_or_assign(param.impl(), StateEntry{param, std::move(entry.state)});
  }
}

// ---- Helpers shared by the optimizers -----------------------------------------------------------

namespace detail {

void check_non_negative(const std::string& optimizer, const char* name, double value) {
  BG_CHECK(value >= 0.0, optimizer, "invalid ", name, " ", value, " (expected ", name, " >= 0)");
}

void check_betas(const std::string& optimizer, const std::tuple<double, double>& betas) {
  const auto [beta1, beta2] = betas;
  BG_CHECK(beta1 >= 0.0 && beta1 < 1.0 && beta2 >= 0.0 && beta2 < 1.0, optimizer, "invalid betas (",
           beta1, ", ", beta2, ") (expected 0 <= beta < 1 for both)");
}

Tensor buffer(ParamState& state, const std::string& name, const Tensor& param, double value) {
  if (const Tensor* found = state.buffers.find(name)) return *found;
  return state.buffers.insert(name, full_like(param, value));
}

}  // namespace detail

}  // namespace bg::optim
