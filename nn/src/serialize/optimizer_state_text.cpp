// The text an OptimizerStateDict holds (PyTorch's state_dict layout): each parameter group's
// hyperparameters as name -> text (OptimizerOptions::to_map and from_map), its parameters as the
// indices "0,1,2", and the state under the keys "state.<index>.<name>". Optimizer checkpoints
// (optimizer_checkpoint.cpp) store these strings as they are.

#include "serialize/optimizer_state_text.h"

#include <algorithm>
#include <charconv>
#include <set>
#include <system_error>

#include "bg/nn/optim/optimizer.h"

namespace bg::optim {

namespace {

// Shortest text that reads back as the same double ("0.001", "1e-08", "inf").
std::string format_double(double value) {
  char text[64];
  const auto result = std::to_chars(text, text + sizeof(text), value);
  return std::string(text, result.ptr);
}

// Parses all of `text` as a double.
bool parse_double(const std::string& text, double& value) {
  const char* end = text.data() + text.size();
  const auto result = std::from_chars(text.data(), end, value);
  return result.ec == std::errc() && result.ptr == end;
}

class HyperparameterWriter final : public HyperparameterVisitor {
 public:
  explicit HyperparameterWriter(std::map<std::string, std::string>& out) : out_(out) {}
  void visit(const char* name, double& value) override { out_[name] = format_double(value); }
  void visit(const char* name, bool& value) override { out_[name] = value ? "true" : "false"; }
  void visit(const char* name, std::tuple<double, double>& value) override {
    out_[name] = format_double(std::get<0>(value)) + "," + format_double(std::get<1>(value));
  }

 private:
  std::map<std::string, std::string>& out_;
};

// Reads every hyperparameter from text. With `assign` false it only checks that the text is
// there and well formed, so that a failed read can leave the options unchanged.
class HyperparameterReader final : public HyperparameterVisitor {
 public:
  HyperparameterReader(const std::map<std::string, std::string>& values,
                       const std::string& optimizer, bool assign)
      : values_(values), optimizer_(optimizer), assign_(assign) {}

  void visit(const char* name, double& value) override {
    double parsed;
    BG_CHECK(parse_double(text(name), parsed), optimizer_, "the hyperparameter ", name, " = '",
             text(name), "' is not a number");
    if (assign_) value = parsed;
  }
  void visit(const char* name, bool& value) override {
    const std::string& t = text(name);
    BG_CHECK(t == "true" || t == "false", optimizer_, "the hyperparameter ", name, " = '", t,
             "' is not true or false");
    if (assign_) value = t == "true";
  }
  void visit(const char* name, std::tuple<double, double>& value) override {
    const std::string& t = text(name);
    const size_t comma = t.find(',');
    double first, second;
    BG_CHECK(comma != std::string::npos && parse_double(t.substr(0, comma), first) &&
                 parse_double(t.substr(comma + 1), second),
             optimizer_, "the hyperparameter ", name, " = '", t, "' is not a pair 'a,b'");
    if (assign_) value = {first, second};
  }

  // Throws for a key no hyperparameter was read from.
  void check_all_used() const {
    for (const auto& [key, value] : values_) {
      BG_CHECK(used_.count(key) == 1, optimizer_, "unknown hyperparameter ", key, " = '", value,
               "'");
    }
  }

 private:
  const std::string& text(const char* name) {
    const auto it = values_.find(name);
    BG_CHECK(it != values_.end(), optimizer_, "the hyperparameter ", name, " is missing");
    used_.insert(name);
    return it->second;
  }

  const std::map<std::string, std::string>& values_;
  const std::string& optimizer_;
  bool assign_;
  std::set<std::string> used_;
};

}  // namespace

// ---- OptimizerOptions ---------------------------------------------------------------------------

std::map<std::string, std::string> OptimizerOptions::to_map() const {
  std::map<std::string, std::string> out;
  HyperparameterWriter writer(out);
  // The writer only reads the values it is shown.
  const_cast<OptimizerOptions*>(this)->visit(writer);
  return out;
}

void OptimizerOptions::from_map(const std::map<std::string, std::string>& values,
                                const std::string& optimizer) {
  HyperparameterReader check(values, optimizer, false);
  visit(check);
  check.check_all_used();
  HyperparameterReader assign(values, optimizer, true);
  visit(assign);
}

// ---- Parameter indices and state keys ----------------------------------------------------------

namespace detail {

std::vector<int64_t> parse_indices(const std::string& text, const std::string& op, size_t group) {
  std::vector<int64_t> out;
  if (text.empty()) return out;
  size_t begin = 0;
  while (true) {
    const size_t end = std::min(text.find(',', begin), text.size());
    int64_t index = 0;
    const auto result = std::from_chars(text.data() + begin, text.data() + end, index);
    BG_CHECK(result.ec == std::errc() && result.ptr == text.data() + end && index >= 0, op,
             "the params of group ", group, " ('", text, "') are not comma-separated indices");
    out.push_back(index);
    if (end == text.size()) return out;
    begin = end + 1;
  }
}

bool parse_state_key(const std::string& key, int64_t& index, std::string& name) {
  const std::string prefix = "state.";
  if (key.compare(0, prefix.size(), prefix) != 0) return false;
  const size_t dot = key.find('.', prefix.size());
  if (dot == std::string::npos || dot + 1 == key.size()) return false;
  const auto result = std::from_chars(key.data() + prefix.size(), key.data() + dot, index);
  if (result.ec != std::errc() || result.ptr != key.data() + dot || index < 0) return false;
  name = key.substr(dot + 1);
  return true;
}

}  // namespace detail

}  // namespace bg::optim
