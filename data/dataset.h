// Datasets of token sequences and the collate step that turns examples into a Batch.
//
// Dimension letters: B = batch size, L = padded sequence length.
//
// An Example is one or two sequences of integer ids plus an integer label (two sequences
// for LRA Retrieval, which compares two documents). A Dataset is random access
// (size(), get(i)); get() must be safe to call from several threads at once, because the
// DataLoader's prefetch workers do. Not here: file formats (data/lra/lra.h), batching order
// and threads (data/dataloader.h).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/tensor.h"

namespace cfx::data {

struct Example {
  std::vector<int32_t> tokens;   // ids; 0 is reserved for padding by convention
  std::vector<int32_t> tokens2;  // second sequence (paired datasets only), else empty
  int64_t label = 0;
};

struct Batch {
  Tensor inputs;   // [B, L] int64, right-padded with pad_id (0)
  Tensor targets;  // [B] int64
  Tensor lengths;  // [B] int64: real (unpadded) tokens per row
  Tensor mask;     // [B, L] bool: true on real tokens, false on padding
  // Paired datasets only (undefined otherwise): the second sequence, same layout.
  Tensor inputs2, lengths2, mask2;
  std::vector<int64_t> indices;  // dataset index of each row
  int64_t size() const { return inputs.defined() ? inputs.size(0) : 0; }
  // Every tensor on `device` (the loader collates on the CPU; the model may live elsewhere).
  Batch to(Device device) const;
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  // Example i, 0 <= i < size(). Thread-safe (const, no shared mutable state).
  virtual Example get(int64_t i) const = 0;
  // True when every example has two sequences (tokens and tokens2).
  virtual bool paired() const { return false; }
};

// Examples held as given (any int32 ids).
class InMemoryDataset : public Dataset {
 public:
  explicit InMemoryDataset(bool paired = false) : paired_(paired) {}
  explicit InMemoryDataset(std::vector<Example> examples, bool paired = false);
  void add(Example e);
  int64_t size() const override { return static_cast<int64_t>(examples_.size()); }
  Example get(int64_t i) const override;
  bool paired() const override { return paired_; }

 private:
  std::vector<Example> examples_;
  bool paired_;
};

// Compact storage for byte-sized symbols (what every LRA task needs): one flat uint8 buffer,
// id = symbol + id_offset (1 for byte-level text, 0 for pixels and ListOps ids). 1 byte per
// token instead of 4, so a full Retrieval train split (147k pairs x 2 x 4000) fits in ~1.2 GB.
class PackedDataset : public Dataset {
 public:
  explicit PackedDataset(int32_t id_offset = 0, bool paired = false)
      : id_offset_(id_offset), paired_(paired) {}
  void reserve(int64_t examples, int64_t symbols);
  void add(std::span<const uint8_t> seq, int64_t label);
  void add_pair(std::span<const uint8_t> seq, std::span<const uint8_t> seq2, int64_t label);
  int64_t size() const override { return static_cast<int64_t>(labels_.size()); }
  Example get(int64_t i) const override;
  bool paired() const override { return paired_; }
  int64_t label(int64_t i) const;
  int32_t id_offset() const { return id_offset_; }
  // A new dataset holding examples [begin, end) (copies; used for train/val splits).
  std::shared_ptr<PackedDataset> slice(int64_t begin, int64_t end) const;

 private:
  std::span<const uint8_t> seq(int64_t k) const;  // k-th stored sequence
  int32_t id_offset_;
  bool paired_;
  std::vector<uint8_t> symbols_;
  std::vector<int64_t> offsets_{0};  // sequence k = symbols_[offsets_[k], offsets_[k+1])
  std::vector<int64_t> labels_;
};

// A view of `base` through a list of indices (no copy of the examples).
class SubsetDataset : public Dataset {
 public:
  SubsetDataset(std::shared_ptr<const Dataset> base, std::vector<int64_t> indices);
  int64_t size() const override { return static_cast<int64_t>(indices_.size()); }
  Example get(int64_t i) const override;
  bool paired() const override { return base_->paired(); }

 private:
  std::shared_ptr<const Dataset> base_;
  std::vector<int64_t> indices_;
};

struct CollateOptions {
  int64_t pad_to = 0;   // L; 0 = the longest sequence in the batch. Longer examples are an error.
  int32_t pad_id = 0;
  bool paired = false;  // build inputs2/lengths2/mask2 from Example::tokens2
};

// Stacks examples into a Batch (inputs/mask [B, L], targets/lengths [B]). `indices` (same
// length as examples, or empty) is copied into Batch::indices.
Batch collate(std::span<const Example> examples, const CollateOptions& opts = {},
              std::span<const int64_t> indices = {});

}  // namespace cfx::data
