#pragma once
// Where a tensor's memory lives. The device is a per-tensor runtime property, never a build switch.

#include <cstdint>
#include <ostream>
#include <string>

#include "bg/core/api.h"

BG_API_BEGIN

namespace bg {

enum class DeviceType : uint8_t { CPU, CUDA };
/// How many device types the backend table has slots for.
inline constexpr int kNumDeviceTypes = 2;

/// A device type and its index ("cpu", "cuda:0").
struct Device {
  DeviceType type = DeviceType::CPU;
  int16_t index = 0;

  constexpr Device() = default;
  constexpr Device(DeviceType type, int16_t index = 0) : type(type), index(index) {}  // NOLINT

  static constexpr Device cpu() { return Device(DeviceType::CPU); }
  static constexpr Device cuda(int16_t index = 0) { return Device(DeviceType::CUDA, index); }

  constexpr bool is_cpu() const { return type == DeviceType::CPU; }
  constexpr bool is_cuda() const { return type == DeviceType::CUDA; }
  constexpr bool operator==(const Device&) const = default;

  /// "cpu" or "cuda:<index>".
  std::string str() const;
};

inline constexpr DeviceType kCPU = DeviceType::CPU;
inline constexpr DeviceType kCUDA = DeviceType::CUDA;

std::ostream& operator<<(std::ostream& out, const Device& device);

}  // namespace bg

BG_API_END
