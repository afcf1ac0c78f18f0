// Datasets and collate (see dataset.h).
#include "data/dataset.h"

#include <algorithm>

#include "ops/creation.h"  // defines: empty, zeros

namespace cfx::data {

// ---- InMemoryDataset -------------------------------------------------------------------------

InMemoryDataset::InMemoryDataset(std::vector<Example> examples, bool paired) : paired_(paired) {
  for (auto& e : examples) add(std::move(e));
}

void InMemoryDataset::add(Example e) {
  CFX_CHECK(paired_ || e.tokens2.empty(), "InMemoryDataset::add: example ", examples_.size(),
            " has a second sequence but the dataset is not paired");
  examples_.push_back(std::move(e));
}

Example InMemoryDataset::get(int64_t i) const {
  CFX_CHECK(i >= 0 && i < size(), "InMemoryDataset::get: index ", i, " out of range [0, ", size(), ")");
  return examples_[static_cast<size_t>(i)];
}

// ---- PackedDataset ---------------------------------------------------------------------------

void PackedDataset::reserve(int64_t examples, int64_t symbols) {
  labels_.reserve(static_cast<size_t>(examples));
  offsets_.reserve(static_cast<size_t>(examples * (paired_ ? 2 : 1) + 1));
  symbols_.reserve(static_cast<size_t>(symbols));
}

void PackedDataset::add(std::span<const uint8_t> s, int64_t label) {
  CFX_CHECK(!paired_, "PackedDataset::add: dataset is paired; use add_pair");
  symbols_.insert(symbols_.end(), s.begin(), s.end());
  offsets_.push_back(static_cast<int64_t>(symbols_.size()));
  labels_.push_back(label);
}

void PackedDataset::add_pair(std::span<const uint8_t> s, std::span<const uint8_t> s2, int64_t label) {
  CFX_CHECK(paired_, "PackedDataset::add_pair: dataset is not paired; use add");
  symbols_.insert(symbols_.end(), s.begin(), s.end());
  offsets_.push_back(static_cast<int64_t>(symbols_.size()));
  symbols_.insert(symbols_.end(), s2.begin(), s2.end());
  offsets_.push_back(static_cast<int64_t>(symbols_.size()));
  labels_.push_back(label);
}

std::span<const uint8_t> PackedDataset::seq(int64_t k) const {
  const auto b = static_cast<size_t>(offsets_[static_cast<size_t>(k)]);
  const auto e = static_cast<size_t>(offsets_[static_cast<size_t>(k) + 1]);
  return {symbols_.data() + b, e - b};
}

int64_t PackedDataset::label(int64_t i) const {
  CFX_CHECK(i >= 0 && i < size(), "PackedDataset::label: index ", i, " out of range [0, ", size(), ")");
  return labels_[static_cast<size_t>(i)];
}

Example PackedDataset::get(int64_t i) const {
  CFX_CHECK(i >= 0 && i < size(), "PackedDataset::get: index ", i, " out of range [0, ", size(), ")");
  auto widen = [&](std::span<const uint8_t> s) {
    std::vector<int32_t> ids(s.size());
    for (size_t t = 0; t < s.size(); ++t) ids[t] = static_cast<int32_t>(s[t]) + id_offset_;
    return ids;
  };
  Example e;
  if (paired_) {
    e.tokens = widen(seq(2 * i));
    e.tokens2 = widen(seq(2 * i + 1));
  } else {
    e.tokens = widen(seq(i));
  }
  e.label = labels_[static_cast<size_t>(i)];
  return e;
}

std::shared_ptr<PackedDataset> PackedDataset::slice(int64_t begin, int64_t end) const {
  CFX_CHECK(0 <= begin && begin <= end && end <= size(), "PackedDataset::slice: [", begin, ", ", end,
            ") is not inside [0, ", size(), ")");
  auto out = std::make_shared<PackedDataset>(id_offset_, paired_);
  const int64_t per = paired_ ? 2 : 1;
  out->reserve(end - begin, offsets_[static_cast<size_t>(end * per)] - offsets_[static_cast<size_t>(begin * per)]);
  for (int64_t i = begin; i < end; ++i) {
    if (paired_) out->add_pair(seq(2 * i), seq(2 * i + 1), labels_[static_cast<size_t>(i)]);
    else out->add(seq(i), labels_[static_cast<size_t>(i)]);
  }
  return out;
}

// ---- SubsetDataset ---------------------------------------------------------------------------

SubsetDataset::SubsetDataset(std::shared_ptr<const Dataset> base, std::vector<int64_t> indices)
    : base_(std::move(base)), indices_(std::move(indices)) {
  CFX_CHECK(base_, "SubsetDataset: base dataset is null");
  for (size_t k = 0; k < indices_.size(); ++k)
    CFX_CHECK(indices_[k] >= 0 && indices_[k] < base_->size(), "SubsetDataset: indices[", k, "] = ",
              indices_[k], " out of range [0, ", base_->size(), ")");
}

Example SubsetDataset::get(int64_t i) const {
  CFX_CHECK(i >= 0 && i < size(), "SubsetDataset::get: index ", i, " out of range [0, ", size(), ")");
  return base_->get(indices_[static_cast<size_t>(i)]);
}

// ---- collate ---------------------------------------------------------------------------------

namespace {

struct Padded {
  Tensor ids, lengths, mask;
};

// ids/mask: [B, L]; lengths: [B]. `pick` selects tokens or tokens2 of an example.
template <class Pick>
Padded pad_sequences(std::span<const Example> examples, const CollateOptions& opts, Pick pick,
                     const char* which) {
  const auto B = static_cast<int64_t>(examples.size());
  int64_t L = opts.pad_to;
  if (L == 0)
    for (const Example& e : examples) L = std::max<int64_t>(L, static_cast<int64_t>(pick(e).size()));
  Padded p;
  p.ids = full({B, L}, static_cast<double>(opts.pad_id), {kInt64});
  p.mask = zeros({B, L}, {kBool});
  p.lengths = empty({B}, {kInt64});
  int64_t* ids = p.ids.data_ptr<int64_t>();
  bool* mask = p.mask.data_ptr<bool>();
  int64_t* lengths = p.lengths.data_ptr<int64_t>();
  for (int64_t b = 0; b < B; ++b) {
    const std::vector<int32_t>& seq = pick(examples[static_cast<size_t>(b)]);
    const auto n = static_cast<int64_t>(seq.size());
    CFX_CHECK(n <= L, "collate: example ", b, " has ", which, " of length ", n, " > pad_to ", L,
              " (truncate when loading, or raise pad_to)");
    for (int64_t t = 0; t < n; ++t) {
      ids[b * L + t] = seq[static_cast<size_t>(t)];
      mask[b * L + t] = true;
    }
    lengths[b] = n;
  }
  return p;
}

}  // namespace

Batch Batch::to(Device device) const {
  Batch b = *this;
  for (Tensor* t : {&b.inputs, &b.targets, &b.lengths, &b.mask, &b.inputs2, &b.lengths2, &b.mask2})
    if (t->defined()) *t = t->to(device);
  return b;
}

Batch collate(std::span<const Example> examples, const CollateOptions& opts, std::span<const int64_t> indices) {
  CFX_CHECK(!examples.empty(), "collate: empty list of examples");
  CFX_CHECK(opts.pad_to >= 0, "collate: pad_to must be >= 0, got ", opts.pad_to);
  CFX_CHECK(indices.empty() || indices.size() == examples.size(), "collate: ", indices.size(),
            " indices for ", examples.size(), " examples");
  Batch batch;
  Padded first = pad_sequences(examples, opts, [](const Example& e) -> const auto& { return e.tokens; }, "tokens");
  batch.inputs = first.ids;
  batch.lengths = first.lengths;
  batch.mask = first.mask;
  if (opts.paired) {
    Padded second = pad_sequences(examples, opts, [](const Example& e) -> const auto& { return e.tokens2; }, "tokens2");
    batch.inputs2 = second.ids;
    batch.lengths2 = second.lengths;
    batch.mask2 = second.mask;
  }
  batch.targets = empty({static_cast<int64_t>(examples.size())}, {kInt64});
  int64_t* targets = batch.targets.data_ptr<int64_t>();
  for (size_t b = 0; b < examples.size(); ++b) targets[b] = examples[b].label;
  batch.indices.assign(indices.begin(), indices.end());
  return batch;
}

}  // namespace cfx::data
