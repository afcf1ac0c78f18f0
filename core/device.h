// Where a tensor's memory lives. CPU always; CUDA when built with the CUDA backend.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

namespace cfx {

enum class DeviceType : uint8_t { CPU = 0, CUDA = 1 };
inline constexpr int kNumDeviceTypes = 2;

struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;

  static constexpr Device cpu() { return {DeviceType::CPU, 0}; }
  static constexpr Device cuda(int i = 0) { return {DeviceType::CUDA, i}; }
  // "cpu", "cuda" (= cuda:0) or "cuda:N", as torch.device takes them; a cfx::Error otherwise.
  static Device parse(const std::string& text);
  bool is_cpu() const { return type == DeviceType::CPU; }
  bool is_cuda() const { return type == DeviceType::CUDA; }
  bool operator==(const Device&) const = default;
  std::string str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }
};

inline std::ostream& operator<<(std::ostream& os, Device d) { return os << d.str(); }

}  // namespace cfx
