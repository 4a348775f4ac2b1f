#pragma once
// The command line of the examples: options bound to variables, --help, and usage errors.
//
//   int64_t epochs = 10;
//   examples::Cli cli("bnn_fashion_mnist", "A Bayesian MLP next to its deterministic twin.");
//   cli.option("--epochs", "N", "passes over the training set", epochs, 1);  // at least 1
//   cli.parse(argc, argv);
//
// --help prints the usage, with each option's default, and exits 0. An unknown flag, a missing
// value, or a value that is not a number of the option's kind (or is below its minimum) prints
// what is wrong and exits 2, the exit status of a usage error. parse() also makes stdout line
// buffered, so that the examples' output arrives line by line through a pipe or into a log.
//
// A small helper of our own rather than a library such as CLI11: the examples need flags with one
// value each, and the project depends on nothing it does not have to (CONTRIBUTING.md).

#include <bg/core.h>

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

#include "device.h"

namespace examples {

class Cli {
 public:
  /// `program` names the example in messages; `about` is what --help says it does.
  Cli(std::string program, std::string about)
      : program_(std::move(program)), about_(std::move(about)) {}

  /// An option with a value stored into `target` (a whole number, a floating-point number, a
  /// string or a bg::Device), whose current value is the default. Numbers must be at least
  /// `minimum`.
  template <typename T>
  void option(std::string name, std::string value_name, std::string help, T& target,
              T minimum = std::numeric_limits<T>::lowest()) {
    std::ostringstream default_text;
    default_text << target;
    options_.push_back({std::move(name), std::move(value_name), std::move(help), default_text.str(),
                        [&target, minimum](const std::string& text) {
                          return parse_value(text, target, minimum);
                        }});
  }

  /// An option whose value must be one of `choices`.
  void choice(std::string name, std::vector<std::string> choices, std::string help,
              std::string& target) {
    std::string names;
    for (const std::string& c : choices) names += (names.empty() ? "" : "|") + c;
    options_.push_back({std::move(name), names, std::move(help), target,
                        [&target, choices, names](const std::string& text) -> std::string {
                          for (const std::string& c : choices) {
                            if (text == c) {
                              target = text;
                              return "";
                            }
                          }
                          return "expects one of " + names;
                        }});
  }

  /// A flag without a value: `target` becomes true when it is given.
  void flag(std::string name, std::string help, bool& target) {
    options_.push_back({std::move(name), "", std::move(help), "", [&target](const std::string&) {
                          target = true;
                          return std::string();
                        }});
  }

  /// Reads the command line into the bound variables; exits on --help and on usage errors.
  void parse(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      if (arg == "--help" || arg == "-h") {
        std::printf("%s", usage().c_str());
        std::exit(0);
      }
      const Option* option = find(arg);
      if (option == nullptr) fail("unknown flag '" + arg + "'");
      std::string value;
      if (!option->value_name.empty()) {
        if (i + 1 >= argc) fail(arg + " needs a value (" + option->value_name + ")");
        value = argv[++i];
      }
      const std::string error = option->set(value);
      if (!error.empty()) fail(arg + " " + error + ", got '" + value + "'");
    }
  }

 private:
  struct Option {
    std::string name, value_name, help, default_text;
    std::function<std::string(const std::string&)> set;  // returns what is wrong, or ""
  };

  // Parses `text` into `target`; returns what is wrong with it, or "".
  template <typename T>
  static std::string parse_value(const std::string& text, T& target, T minimum) {
    if constexpr (std::is_same_v<T, std::string>) {
      target = text;
      return "";
    } else if constexpr (std::is_same_v<T, bg::Device>) {
      try {
        target = parse_device(text);
        return "";
      } catch (const bg::Error&) {
        return "expects cpu, cuda or cuda:N";
      }
    } else {
      static_assert(std::is_arithmetic_v<T>, "options hold numbers, strings or devices");
      std::ostringstream expected;
      expected << "expects " << (std::is_integral_v<T> ? "a whole number" : "a number");
      if (minimum > std::numeric_limits<T>::lowest()) expected << " >= " << minimum;
      T value{};
      const char* end = text.data() + text.size();
      const auto [stop, error] = std::from_chars(text.data(), end, value);
      if (text.empty() || error != std::errc() || stop != end || value < minimum) {
        return expected.str();
      }
      target = value;
      return "";
    }
  }

  const Option* find(const std::string& name) const {
    for (const Option& option : options_) {
      if (option.name == name) return &option;
    }
    return nullptr;
  }

  [[noreturn]] void fail(const std::string& message) const {
    std::fprintf(stderr, "%s: %s\n(%s --help lists the options)\n", program_.c_str(),
                 message.c_str(), program_.c_str());
    std::exit(2);
  }

  std::string usage() const {
    std::string text = "usage: " + program_ + (options_.empty() ? "" : " [options]") + "\n\n" +
                       about_ + "\n\noptions:\n";
    for (const Option& o : options_) {
      const std::string left = o.name + (o.value_name.empty() ? "" : " " + o.value_name);
      text += "  " + left + std::string(left.size() < 22 ? 22 - left.size() : 1, ' ') + o.help;
      if (!o.default_text.empty()) text += " (default: " + o.default_text + ")";
      text += "\n";
    }
    return text + "  --help                this text\n";
  }

  std::string program_, about_;
  std::vector<Option> options_;
};

}  // namespace examples
