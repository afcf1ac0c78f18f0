// TensorDict: named tensors of any dtype and shape, in insertion order. One sample of a data
// set ({"x": [L, C] float32, "target": [] int64}) or a batch of them ({"x": [B, L, C], ...}),
// what PyTorch code passes around as a dict of tensors. Tokens, float series, images,
// trajectories, targets and masks are all fields; the data room knows none of them by name.
//
//   TensorDict s{{"x", series}, {"target", scalar_tensor(3, kInt64)}};
//   TensorDict batch = stack_samples(samples, {.pad = {"x"}});  // x [B, L, C], x_padding [B, L]
//   model.forward(batch.at("x"), batch.at("x_padding"));
//
// Not here: where samples come from (a reader or a generator) and in which order they are
// batched (data/sampler.h, data/loader.h).
#pragma once

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/device.h"
#include "core/tensor.h"

namespace cfx::data {

class TensorDict {
 public:
  using Item = std::pair<std::string, Tensor>;

  TensorDict() = default;
  TensorDict(std::initializer_list<Item> items);

  // Adds a field, or replaces the tensor of an existing one (keeping its position).
  void set(std::string name, Tensor tensor);
  // The field's tensor; throws naming the missing field and the fields there are.
  const Tensor& at(std::string_view name) const;
  bool contains(std::string_view name) const;
  std::vector<std::string> keys() const;

  size_t size() const { return items_.size(); }  // number of fields
  bool empty() const { return items_.empty(); }
  std::vector<Item>::const_iterator begin() const { return items_.begin(); }
  std::vector<Item>::const_iterator end() const { return items_.end(); }

  // Rows of a batch: size(0) of every field, which must agree (throws naming the field that
  // does not). 0 for an empty dict.
  int64_t batch_size() const;
  // Every field on `device` (samples are built on the CPU; the model may live elsewhere).
  TensorDict to(Device device) const;

 private:
  std::vector<Item> items_;
};

struct StackOptions {
  // Fields whose first dimension varies from sample to sample (sequences): padded after the
  // end with pad_value to the longest in the batch (or to pad_to), and a "<name>_padding"
  // field [B, L] bool added, true at padded steps (the key_padding_mask convention).
  std::vector<std::string> pad;
  double pad_value = 0.0;
  int64_t pad_to = 0;  // L of the padded fields; 0 = the longest; a longer sequence is an error
};

// One batch from samples with the same fields: every field stacked along a new first
// dimension (torch's default_collate on dicts of tensors), the `pad` fields padded first.
// Fields, dtypes and shapes must match across samples; an error names the field, the sample
// and both shapes.
TensorDict stack_samples(std::span<const TensorDict> samples, const StackOptions& options = {});

// Sequences [len_i, ...] (same trailing shape and dtype) -> values [B, L, ...] padded with
// `value` after each end, and padding [B, L] bool (true = padded). L = pad_to, or the
// longest sequence when pad_to is 0.
struct Padded {
  Tensor values;
  Tensor padding;
};
Padded pad_sequences(std::span<const Tensor> sequences, double value = 0.0, int64_t pad_to = 0);

}  // namespace cfx::data
