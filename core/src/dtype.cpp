#include "bg/core/dtype.h"

#include "bg/core/device.h"
#include "bg/core/scalar.h"

namespace bg {

const char* dtype_name(Dtype dtype) {
  switch (dtype) {
    case Dtype::Bool:
      return "bool";
    case Dtype::Int64:
      return "int64";
    case Dtype::Float32:
      return "float32";
    case Dtype::Float64:
      return "float64";
  }
  return "unknown";
}

std::ostream& operator<<(std::ostream& out, Dtype dtype) { return out << dtype_name(dtype); }

std::string Device::str() const {
  return is_cpu() ? std::string("cpu") : "cuda:" + std::to_string(index);
}

std::ostream& operator<<(std::ostream& out, const Device& device) { return out << device.str(); }

std::ostream& operator<<(std::ostream& out, const Scalar& s) {
  switch (s.kind()) {
    case Dtype::Bool:
      return out << (s.to<bool>() ? "true" : "false");
    case Dtype::Int64:
      return out << s.to<int64_t>();
    default:
      return out << s.to<double>();
  }
}

}  // namespace bg
