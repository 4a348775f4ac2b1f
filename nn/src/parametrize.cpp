#include "bg/nn/parametrize.h"

#include <map>
#include <sstream>

#include "bg/core/tensor_impl.h"

namespace bg::nn {

// Module's own dictionaries, for the functions below that rearrange them.
struct ModuleAccess {
  static OrderedDict<Tensor>& parameters(Module& m) { return m.parameters_; }
  using Buffer = Module::Buffer;
  static OrderedDict<Buffer>& buffers(Module& m) { return m.buffers_; }
  static OrderedDict<std::shared_ptr<Module>>& children(Module& m) { return m.children_; }
  static const OrderedDict<std::shared_ptr<Module>>& children(const Module& m) {
    return m.children_;
  }
  static void add_child(Module& m, std::string name, std::shared_ptr<Module> child) {
    m.add_child(std::move(name), std::move(child));
  }
};

void SamplingScope::set_samples(int64_t samples) {
  BG_CHECK(samples >= 0, "SamplingScope", "the number of samples must be non-negative, got ",
           samples);
  samples_ = samples;
}

Parametrization::Parametrization(std::string type_name)
    : Module(std::move(type_name)), scope_(std::make_shared<SamplingScope>()) {}

void Parametrization::set_sampling_scope(std::shared_ptr<SamplingScope> scope) {
  BG_CHECK(scope != nullptr, "set_sampling_scope", "the scope of ", type_name(), " is null");
  scope_ = std::move(scope);
}

namespace utils {
namespace {

constexpr const char* kDictName = "parametrizations";

// The child "parametrizations" of a parametrized module: the parametrization of each tensor, and
// the tensor object it keeps up to date (the handle layer code reads).
class ParametrizationDict final : public Module {
 public:
  ParametrizationDict() : Module("ParametrizationDict") {}
  std::map<std::string, Tensor> targets;
  std::map<std::string, Tensor> originals;  // values before parametrization
};

// Keeps a parametrized tensor's value up to date (Note [Parametrized tensors]).
class ParametrizedValue final : public ValueSource {
 public:
  ParametrizedValue(std::shared_ptr<Parametrization> parametrization, Shape sizes)
      : parametrization_(std::move(parametrization)), sizes_(std::move(sizes)) {
    for (const Tensor& t : parametrization_->parameters()) inputs_.push_back({t, nullptr, 0});
    for (const Tensor& t : parametrization_->buffers()) inputs_.push_back({t, nullptr, 0});
  }

  const std::shared_ptr<Parametrization>& parametrization() const { return parametrization_; }

  void update(TensorImpl& target) override {
    parametrization_->check_direct_read();
    const bool grad_mode = GradMode::is_enabled();
    const uint64_t step = parametrization_->sampling_scope()->step();
    const bool stale = !computed_ || (grad_mode && !with_grad_) || inputs_changed() ||
                       revision_ != parametrization_->revision() ||
                       (parametrization_->is_stochastic() && step_ != step);
    if (!stale) return;
    const Tensor value = parametrization_->compute();
    BG_CHECK(value.defined() && value.sizes() == sizes_, "parametrization",
             parametrization_->type_name(), " computed ", describe(value),
             " for a tensor of shape ", shape_str(sizes_));
    target.assign(value);
    computed_ = true;
    with_grad_ = grad_mode;
    revision_ = parametrization_->revision();
    step_ = step;
    for (Input& input : inputs_) {
      input.storage = input.tensor.impl()->storage().get();
      input.version = input.tensor.version();
    }
  }

 private:
  struct Input {
    Tensor tensor;
    const Storage* storage;  // a move to another device or dtype swaps the storage
    uint32_t version;        // an in-place update (an optimizer step) bumps the version
  };
  bool inputs_changed() const {
    for (const Input& input : inputs_) {
      if (input.tensor.version() != input.version ||
          input.tensor.impl()->storage().get() != input.storage) {
        return true;
      }
    }
    return false;
  }

  std::shared_ptr<Parametrization> parametrization_;
  Shape sizes_;
  std::vector<Input> inputs_;
  bool computed_ = false;
  bool with_grad_ = false;
  uint64_t revision_ = 0;
  uint64_t step_ = 0;
};

ParametrizationDict* dict_of(const Module& module) {
  const std::shared_ptr<Module>* child = ModuleAccess::children(module).find(kDictName);
  return child ? dynamic_cast<ParametrizationDict*>(child->get()) : nullptr;
}

std::string names_of(const Module& module) {
  std::ostringstream out;
  bool first = true;
  for (const auto& item : module.named_parameters(false)) {
    out << (first ? "" : ", ") << item.key();
    first = false;
  }
  for (const auto& item : module.named_buffers(false)) {
    out << (first ? "" : ", ") << item.key();
    first = false;
  }
  return first ? std::string("none") : out.str();
}

}  // namespace

void register_parametrization(Module& module, const std::string& name,
                              std::shared_ptr<Parametrization> parametrization) {
  BG_CHECK(parametrization != nullptr, "register_parametrization", "the parametrization is null");
  BG_CHECK(!is_parametrized(module, name), "register_parametrization", "'", name, "' of ",
           module.type_name(), " is already parametrized");
  Tensor target;
  if (Tensor* parameter = ModuleAccess::parameters(module).find(name)) {
    target = *parameter;
  } else if (ModuleAccess::Buffer* buffer = ModuleAccess::buffers(module).find(name)) {
    target = buffer->tensor;
  }
  BG_CHECK(target.defined(), "register_parametrization", module.type_name(),
           " has no parameter or buffer '", name, "' (it has: ", names_of(module), ")");
  {
    NoGradGuard no_grad;
    const Tensor value = parametrization->compute();
    BG_CHECK(value.defined() && value.sizes() == target.sizes() && value.dtype() == target.dtype(),
             "register_parametrization", parametrization->type_name(), " computes ",
             describe(value), " but '", name, "' of ", module.type_name(), " is ",
             describe(target));
  }
  if (dict_of(module) == nullptr) {
    ModuleAccess::add_child(module, kDictName, std::make_shared<ParametrizationDict>());
  }
  ParametrizationDict& dict = *dict_of(module);
  dict.originals[name] = target.detach().clone();
  dict.targets[name] = target;
  ModuleAccess::add_child(dict, name, parametrization);
  ModuleAccess::parameters(module).erase(name);
  ModuleAccess::buffers(module).erase(name);
  parametrization->train(module.is_training());
  // The tensor stops being a leaf of its own: its value and gradient come from the parametrization.
  target.set_grad({});
  target.impl()->set_source(std::make_shared<ParametrizedValue>(parametrization, target.sizes()));
}

void remove_parametrization(Module& module, const std::string& name, bool keep_value) {
  BG_CHECK(is_parametrized(module, name), "remove_parametrization", "'", name, "' of ",
           module.type_name(), " is not parametrized");
  ParametrizationDict& dict = *dict_of(module);
  Tensor target = dict.targets.at(name);
  Tensor value;
  {
    NoGradGuard no_grad;
    value = keep_value ? target.detach().clone() : dict.originals.at(name);
  }
  target.impl()->set_source(nullptr);
  target.impl()->assign(value);
  module.register_parameter(name, target);
  ModuleAccess::children(dict).erase(name);
  dict.targets.erase(name);
  dict.originals.erase(name);
  if (dict.targets.empty()) ModuleAccess::children(module).erase(kDictName);
}

bool is_parametrized(const Module& module, const std::string& name) {
  const ParametrizationDict* dict = dict_of(module);
  if (dict == nullptr) return false;
  return name.empty() ? !dict->targets.empty() : dict->targets.count(name) > 0;
}

std::shared_ptr<Parametrization> parametrization_of(const Module& module, const std::string& name) {
  BG_CHECK(is_parametrized(module, name), "parametrization_of", "'", name, "' of ",
           module.type_name(), " is not parametrized");
  return std::dynamic_pointer_cast<Parametrization>(ModuleAccess::children(*dict_of(module))[name]);
}

std::shared_ptr<Parametrization> parametrization_of(const Tensor& tensor) {
  if (!tensor.defined()) return nullptr;
  const auto* value = dynamic_cast<const ParametrizedValue*>(tensor.impl()->source().get());
  return value ? value->parametrization() : nullptr;
}

// ---- Weight normalization -----------------------------------------------------------------------

namespace {
// The 2-norm of v over every dim but `dim`, kept as size-1 dims so it broadcasts against v.
Tensor norm_except(const Tensor& v, int64_t dim) {
  std::vector<int64_t> others;
  for (int64_t d = 0; d < v.dim(); ++d) {
    if (d != dim) others.push_back(d);
  }
  return others.empty() ? v.abs() : v.norm(2.0, others, true);
}
}  // namespace

WeightNorm::WeightNorm(const Tensor& weight, int64_t dim)
    : Parametrization("WeightNorm"), dim_(normalize_dim("weight_norm", dim, weight.dim())) {
  BG_CHECK(weight.is_floating_point(), "weight_norm", "expected a floating-point weight, got ",
           describe(weight));
  NoGradGuard no_grad;
  g = register_parameter("g", norm_except(weight, dim_).clone());
  v = register_parameter("v", weight.detach().clone());
}

Tensor WeightNorm::compute() { return v * (g / norm_except(v, dim_)); }

void WeightNorm::pretty_print(std::ostream& out) const { out << "WeightNorm(dim=" << dim_ << ")"; }

Module& weight_norm(Module& module, const std::string& name, int64_t dim) {
  // Checked first: a parametrized tensor is no longer among the parameters, and "no parameter"
  // would mislead.
  BG_CHECK(!is_parametrized(module, name), "weight_norm", "'", name, "' of ", module.type_name(),
           " is already parametrized");
  const OrderedDict<Tensor> own = module.named_parameters(false);
  const Tensor* parameter = own.find(name);
  BG_CHECK(parameter != nullptr, "weight_norm", module.type_name(), " has no parameter '", name,
           "' (it has: ", names_of(module), ")");
  register_parametrization(module, name, std::make_shared<WeightNorm>(*parameter, dim));
  return module;
}

}  // namespace utils
}  // namespace bg::nn
