#include "bg/bayes/args.h"

#include <algorithm>
#include <sstream>

namespace bg::bayes {

namespace {
const char* kind(const ArgValue& v) {
  return v.is_number() ? "a number"
         : v.is_flag() ? "a flag"
         : v.is_text() ? "a string"
                       : "a tensor";
}
}  // namespace

Args& Args::set(const std::string& key, ArgValue value) {
  values_.insert_or_assign(key, std::move(value));
  return *this;
}

double Args::number(const std::string& owner, const std::string& key, double fallback) const {
  const auto it = values_.find(key);
  if (it == values_.end()) return fallback;
  BG_CHECK(it->second.is_number(), owner, "the argument '", key, "' must be a number, got ",
           kind(it->second));
  return it->second.number();
}

bool Args::flag(const std::string& owner, const std::string& key, bool fallback) const {
  const auto it = values_.find(key);
  if (it == values_.end()) return fallback;
  BG_CHECK(it->second.is_flag(), owner, "the argument '", key, "' must be true or false, got ",
           kind(it->second));
  return it->second.flag();
}

Tensor Args::tensor(const std::string& owner, const std::string& key, double fallback,
                    const Tensor& like) const {
  const auto it = values_.find(key);
  if (it == values_.end() || it->second.is_number()) {
    const double value = it == values_.end() ? fallback : it->second.number();
    return full({}, value, like.options());
  }
  BG_CHECK(it->second.is_tensor(), owner, "the argument '", key,
           "' must be a number or a tensor, got ", kind(it->second));
  const Tensor& t = it->second.tensor();
  bool fits = false;
  try {
    fits = broadcast_shapes(owner.c_str(), t.sizes(), like.sizes()) == like.sizes();
  } catch (const Error&) {
    // Incompatible shapes: reported below with the argument's name.
  }
  BG_CHECK(fits, owner, "the argument '", key, "' of shape ", shape_str(t.sizes()),
           " does not broadcast to the parameter's shape ", shape_str(like.sizes()));
  return t.detach().to(like.dtype()).to(like.device()).clone();
}

void Args::allow_only(const std::string& owner, const std::vector<std::string>& allowed) const {
  std::vector<std::string> unknown;
  for (const auto& [key, value] : values_) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) unknown.push_back(key);
  }
  if (unknown.empty()) return;
  std::ostringstream out;
  out << "unknown argument" << (unknown.size() > 1 ? "s" : "");
  for (size_t i = 0; i < unknown.size(); ++i) out << (i ? ", '" : " '") << unknown[i] << "'";
  out << "; it takes";
  if (allowed.empty()) out << " none";
  for (size_t i = 0; i < allowed.size(); ++i) out << (i ? ", '" : " '") << allowed[i] << "'";
  throw Error(owner + ": " + out.str());
}

std::string Args::str() const {
  std::ostringstream out;
  bool first = true;
  for (const auto& [key, value] : values_) {
    out << (first ? "" : ", ") << key << "=";
    first = false;
    if (value.is_number())
      out << value.number();
    else if (value.is_flag())
      out << (value.flag() ? "true" : "false");
    else if (value.is_text())
      out << value.text();
    else
      out << "tensor" << shape_str(value.tensor().sizes());
  }
  return out.str();
}

}  // namespace bg::bayes
