// nn::load_tensors_safetensors and load_safetensors_metadata (nn/safetensors.cpp): the 8-byte
// header length, the JSON header (offsets, dtypes, shapes, duplicate keys, metadata) and the
// data region. A file that loads must also survive the round trip: written back with
// save_tensors_safetensors and read again, it gives the same names, dtypes, shapes and bytes
// (F16/BF16 come back as the float32 they widened to).
#include <cstdlib>
#include <cstring>

#include "core/tensor.h"
#include "fuzz_input.h"
#include "nn/safetensors.h"

namespace {

bool same_bytes(const cfx::Tensor& a, const cfx::Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  const cfx::Tensor ca = a.contiguous(), cb = b.contiguous();
  const size_t bytes = static_cast<size_t>(ca.numel()) * cfx::itemsize(ca.dtype());
  return bytes == 0 || std::memcmp(ca.raw_data(), cb.raw_data(), bytes) == 0;
}

}  // namespace

CFX_FUZZ_TARGET(data, size) {
  const std::filesystem::path& input = cfx::fuzz::as_file(data, size);
  const cfx::nn::SafetensorsMetadata metadata = cfx::nn::load_safetensors_metadata(input);
  const cfx::nn::StateDict tensors = cfx::nn::load_tensors_safetensors(input);

  const std::filesystem::path again = cfx::fuzz::temp_dir() / "again.safetensors";
  cfx::nn::save_tensors_safetensors(tensors, again, metadata);
  const cfx::nn::StateDict reread = cfx::nn::load_tensors_safetensors(again);
  if (reread.size() != tensors.size() || cfx::nn::load_safetensors_metadata(again) != metadata) std::abort();
  for (size_t i = 0; i < tensors.size(); ++i)  // both in name order
    if (reread[i].first != tensors[i].first || !same_bytes(tensors[i].second, reread[i].second)) std::abort();
}
