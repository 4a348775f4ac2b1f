#pragma once
// Args: keyword arguments for posteriors and priors chosen by name, as in torchbayesian's
// factories: `{"gaussian", {{"mu", 0.0}, {"sigma", 0.1}}}`.

#include <initializer_list>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "bg/core.h"
#include "bg/core/api.h"

BG_API_BEGIN

namespace bg::bayes {

/// One argument: a number, a flag, a string or a tensor.
class ArgValue {
 public:
  ArgValue(double v) : value_(v) {}                        // NOLINT: `{"sigma", 0.1}` reads well
  ArgValue(int v) : value_(static_cast<double>(v)) {}      // NOLINT
  ArgValue(int64_t v) : value_(static_cast<double>(v)) {}  // NOLINT
  ArgValue(bool v) : value_(v) {}                          // NOLINT
  ArgValue(const char* v) : value_(std::string(v)) {}      // NOLINT
  ArgValue(std::string v) : value_(std::move(v)) {}        // NOLINT
  ArgValue(Tensor v) : value_(std::move(v)) {}             // NOLINT

  bool is_number() const { return std::holds_alternative<double>(value_); }
  bool is_flag() const { return std::holds_alternative<bool>(value_); }
  bool is_text() const { return std::holds_alternative<std::string>(value_); }
  bool is_tensor() const { return std::holds_alternative<Tensor>(value_); }
  double number() const { return std::get<double>(value_); }
  bool flag() const { return std::get<bool>(value_); }
  const std::string& text() const { return std::get<std::string>(value_); }
  const Tensor& tensor() const { return std::get<Tensor>(value_); }

 private:
  std::variant<double, bool, std::string, Tensor> value_;
};

/// Keyword arguments by name. Getters check the kind of each value and name the owner in errors.
class Args {
 public:
  Args() = default;
  Args(std::initializer_list<std::pair<const std::string, ArgValue>> values) : values_(values) {}

  bool contains(const std::string& key) const { return values_.count(key) > 0; }
  const std::map<std::string, ArgValue>& values() const { return values_; }
  /// Adds or replaces one argument.
  Args& set(const std::string& key, ArgValue value);

  /// The number under `key`, or `fallback`; `owner` names the posterior or prior in errors.
  double number(const std::string& owner, const std::string& key, double fallback) const;
  bool flag(const std::string& owner, const std::string& key, bool fallback) const;
  /// The value under `key` as a tensor of `like`'s dtype and device (a number becomes a 0-d
  /// tensor), or `fallback` as one.
  Tensor tensor(const std::string& owner, const std::string& key, double fallback,
                const Tensor& like) const;
  /// Throws unless every key is one of `allowed`, listing the unknown ones and the allowed ones.
  void allow_only(const std::string& owner, const std::vector<std::string>& allowed) const;
  /// "mu=0, sigma=0.1" (tensors show their shape).
  std::string str() const;

 private:
  std::map<std::string, ArgValue> values_;
};

}  // namespace bg::bayes

BG_API_END
