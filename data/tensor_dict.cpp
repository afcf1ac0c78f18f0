// TensorDict and the stacking collate (see tensor_dict.h).
#include "data/tensor_dict.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "ops/creation.h"  // defines: empty, full, zeros

namespace cfx::data {

TensorDict::TensorDict(std::initializer_list<Item> items) {
  for (const Item& item : items) set(item.first, item.second);
}

void TensorDict::set(std::string name, Tensor tensor) {
  CFX_CHECK(tensor.defined(), "TensorDict::set: the tensor of field '", name, "' is undefined");
  for (Item& item : items_)
    if (item.first == name) {
      item.second = std::move(tensor);
      return;
    }
  items_.emplace_back(std::move(name), std::move(tensor));
}

const Tensor& TensorDict::at(std::string_view name) const {
  for (const Item& item : items_)
    if (item.first == name) return item.second;
  std::string have;
  for (const Item& item : items_) have += (have.empty() ? "" : ", ") + item.first;
  CFX_FAIL("TensorDict: no field '", name, "'; the fields are: ", have.empty() ? "(none)" : have);
}

bool TensorDict::contains(std::string_view name) const {
  return std::any_of(items_.begin(), items_.end(), [&](const Item& item) { return item.first == name; });
}

std::vector<std::string> TensorDict::keys() const {
  std::vector<std::string> names;
  for (const Item& item : items_) names.push_back(item.first);
  return names;
}

int64_t TensorDict::batch_size() const {
  if (items_.empty()) return 0;
  const Item& first = items_.front();
  CFX_CHECK(first.second.dim() >= 1, "TensorDict::batch_size: field '", first.first, "' is a scalar");
  for (const Item& item : items_)
    CFX_CHECK(item.second.dim() >= 1 && item.second.size(0) == first.second.size(0), "TensorDict::batch_size: field '",
              item.first, "' has shape ", item.second.shape(), ", field '", first.first, "' has ",
              first.second.size(0), " rows");
  return first.second.size(0);
}

TensorDict TensorDict::to(Device device) const {
  TensorDict moved;
  for (const Item& item : items_) moved.set(item.first, item.second.to(device));
  return moved;
}

namespace {

// Copies the contiguous bytes of `src` (a CPU tensor) to `dst`.
void copy_bytes(const Tensor& src, void* dst) {
  const Tensor c = src.contiguous();
  std::memcpy(dst, c.raw_data(), static_cast<size_t>(c.numel()) * itemsize(c.dtype()));
}

}  // namespace

Padded pad_sequences(std::span<const Tensor> sequences, double value, int64_t pad_to) {
  CFX_CHECK(!sequences.empty(), "pad_sequences: no sequences");
  CFX_CHECK(pad_to >= 0, "pad_sequences: pad_to must be >= 0, got ", pad_to);
  const Tensor& first = sequences.front();
  CFX_CHECK(first.dim() >= 1, "pad_sequences: sequence 0 is a scalar; expected [length, ...]");
  const Shape trailing(first.shape().begin() + 1, first.shape().end());
  int64_t L = pad_to;
  for (size_t b = 0; b < sequences.size(); ++b) {
    const Tensor& s = sequences[b];
    CFX_CHECK(s.device().is_cpu(), "pad_sequences: sequence ", b, " is on ", s.device(), "; samples are built on the CPU");
    CFX_CHECK(s.dtype() == first.dtype(), "pad_sequences: sequence ", b, " has dtype ", s.dtype(), ", sequence 0 has ",
              first.dtype());
    CFX_CHECK(s.dim() == first.dim() && Shape(s.shape().begin() + 1, s.shape().end()) == trailing, "pad_sequences: sequence ",
              b, " has shape ", s.shape(), "; sequences may differ in their first size only, sequence 0 has ",
              first.shape());
    if (pad_to == 0) L = std::max(L, s.size(0));
    CFX_CHECK(s.size(0) <= L, "pad_sequences: sequence ", b, " has length ", s.size(0), " > pad_to ", L,
              " (cut it when loading, or raise pad_to)");
  }
  const auto B = static_cast<int64_t>(sequences.size());
  Shape shape{B, L};
  shape.insert(shape.end(), trailing.begin(), trailing.end());
  Padded p{full(shape, value, {first.dtype()}), zeros({B, L}, {kBool})};
  const size_t row_bytes = static_cast<size_t>(numel(trailing)) * itemsize(first.dtype());
  auto* values = static_cast<char*>(p.values.raw_data());
  bool* padding = p.padding.data_ptr<bool>();
  for (int64_t b = 0; b < B; ++b) {
    const Tensor& s = sequences[static_cast<size_t>(b)];
    copy_bytes(s, values + static_cast<size_t>(b * L) * row_bytes);
    std::fill(padding + b * L + s.size(0), padding + (b + 1) * L, true);
  }
  return p;
}

TensorDict stack_samples(std::span<const TensorDict> samples, const StackOptions& options) {
  CFX_CHECK(!samples.empty(), "stack_samples: no samples");
  const TensorDict& first = samples.front();
  for (const std::string& name : options.pad)
    CFX_CHECK(first.contains(name), "stack_samples: StackOptions::pad names '", name, "', which sample 0 lacks");
  for (size_t i = 1; i < samples.size(); ++i)
    CFX_CHECK(samples[i].keys() == first.keys(), "stack_samples: sample ", i, " has other fields than sample 0");

  TensorDict batch;
  const auto B = static_cast<int64_t>(samples.size());
  for (const auto& [name, tensor0] : first) {
    std::vector<Tensor> column;
    column.reserve(samples.size());
    for (const TensorDict& s : samples) column.push_back(s.at(name));
    if (std::find(options.pad.begin(), options.pad.end(), name) != options.pad.end()) {
      Padded p = pad_sequences(column, options.pad_value, options.pad_to);
      batch.set(name, std::move(p.values));
      batch.set(name + "_padding", std::move(p.padding));
      continue;
    }
    Shape shape{B};
    shape.insert(shape.end(), tensor0.shape().begin(), tensor0.shape().end());
    Tensor stacked = empty(shape, {tensor0.dtype()});
    const size_t bytes = static_cast<size_t>(tensor0.numel()) * itemsize(tensor0.dtype());
    for (int64_t b = 0; b < B; ++b) {
      const Tensor& t = column[static_cast<size_t>(b)];
      CFX_CHECK(t.device().is_cpu(), "stack_samples: field '", name, "' of sample ", b, " is on ", t.device(),
                "; samples are built on the CPU");
      CFX_CHECK(t.dtype() == tensor0.dtype() && t.shape() == tensor0.shape(), "stack_samples: field '", name,
                "' of sample ", b, " is ", t.dtype(), " ", t.shape(), ", sample 0's is ", tensor0.dtype(), " ",
                tensor0.shape(), options.pad.empty() ? " (variable lengths: list the field in StackOptions::pad)" : "");
      copy_bytes(t, static_cast<char*>(stacked.raw_data()) + static_cast<size_t>(b) * bytes);
    }
    batch.set(name, std::move(stacked));
  }
  return batch;
}

}  // namespace cfx::data
