// Long Range Arena readers: each task's public release format -> a Dataset of token ids.
//
// Formats, tokenizers and lengths follow the official input pipelines (../shared/BENCHMARKS.md
// section 1.4). Every reader loads eagerly and checks everything it reads: a bad row, label,
// number, header, truncated record, corrupt PNG or missing file is a cfx::Error of the form
//   "<reader>: <path>:<line>: <what>"  or  "<reader>: <path>: record <k>: <what>".
// Not here: batching (data/dataloader.h), making synthetic data (data/lra/generate.h).
//
//   task        files                                             L (ids)     vocab classes
//   ListOps     <dir>/basic_{train,val,test}.tsv                  2000        17    10
//   Text        <aclImdb>/{train,test}/{pos,neg}/<id>_<r>.txt     1000        257   2
//   Retrieval   <dir>/new_aan_pairs.{train,eval,test}.tsv         2 x 4000    257   2
//   Image       <dir>/data_batch_{1..5}.bin, test_batch.bin       1024        256   10
//   Pathfinder  <root>/metadata/<k>.npy + <root>/imgs/<k>/*.png   1024        256   2
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "data/dataset.h"
#include "data/lra/tokenizer.h"

namespace cfx::data {

enum class Split { kTrain, kVal, kTest };
const char* split_name(Split split);

// Shape facts of one task, for sizing a model (pad_to = seq_len reproduces LRA's padding).
struct LraTaskInfo {
  const char* name;
  int64_t seq_len;      // per sequence
  int64_t vocab_size;
  int64_t num_classes;
  bool paired;          // two sequences per example (Retrieval)
};
inline constexpr LraTaskInfo kListOpsInfo{"listops", 2000, kListOpsVocabSize, 10, false};
inline constexpr LraTaskInfo kTextInfo{"text", 1000, kByteVocabSize, 2, false};
inline constexpr LraTaskInfo kRetrievalInfo{"retrieval", 4000, kByteVocabSize, 2, true};
inline constexpr LraTaskInfo kImageInfo{"image", 1024, 256, 10, false};
inline constexpr LraTaskInfo kPathfinderInfo{"pathfinder", 1024, 256, 2, false};

// ---- ListOps ---------------------------------------------------------------------------------------
// A TSV with a header naming `Source` and `Target` (either order; other columns ignored).
// Target: integer 0..9. Source -> listops_tokenize, cut to max_len ids.
std::shared_ptr<PackedDataset> load_listops_tsv(const std::filesystem::path& file, int64_t max_len = 2000);
// <dir>/basic_{train,val,test}.tsv (lra_release/listops-1000/).
std::shared_ptr<PackedDataset> lra_listops(const std::filesystem::path& dir, Split split, int64_t max_len = 2000);

// ---- Text (IMDB) ---------------------------------------------------------------------------------
// <aclImdb>/<train|test>/{neg,pos}/<id>_<rating>.txt; label neg 0, pos 1; text stripped of ASCII
// whitespace at both ends (as TFDS imdb_reviews does), ids = bytes + 1, cut to max_len.
// Order: neg then pos, each by numeric id. LRA evaluates on `test`, so kVal == kTest.
std::shared_ptr<PackedDataset> lra_text(const std::filesystem::path& aclimdb_dir, Split split,
                                        int64_t max_len = 1000);

// ---- Retrieval (AAN) -----------------------------------------------------------------------------
// No header; 5 tab-separated fields `label id1 id2 text1 text2`; label a number equal to 0 or
// 1 ("1" or "1.0"); texts -> bytes + 1, each cut to max_len. Paired dataset.
std::shared_ptr<PackedDataset> load_aan_tsv(const std::filesystem::path& file, int64_t max_len = 4000);
// <dir>/new_aan_pairs.{train,eval,test}.tsv (lra_release/tsv_data/); kVal reads `eval`.
std::shared_ptr<PackedDataset> lra_retrieval(const std::filesystem::path& dir, Split split,
                                             int64_t max_len = 4000);

// ---- Image (CIFAR-10) ------------------------------------------------------------------------------
// CIFAR-10 binary batches, records of 1 label byte + 1024 R + 1024 G + 1024 B (row-major 32x32),
// concatenated in the order given; pixels -> tf_rgb_to_gray, 1024 ids 0..255 (row-major).
std::shared_ptr<PackedDataset> load_cifar10_bin(const std::vector<std::filesystem::path>& files);
// <dir>/data_batch_{1..5}.bin: kTrain = first 90%, kVal = last 10%; kTest = <dir>/test_batch.bin.
// (TFDS's train[:90%] is over its own shuffled record order, so the 45k/5k membership differs.)
std::shared_ptr<PackedDataset> lra_image(const std::filesystem::path& dir, Split split);

// ---- Pathfinder ------------------------------------------------------------------------------------
// <root>/metadata/*.npy (text; read in numeric file order, lines in order), each line
// `imgs/<k> sample_<i>.png <x> <label> ...`; image <root>/<field0>/<field1>, an 8-bit gray PNG of
// image_size^2 pixels -> ids 0..255. Split of the ordered list: kTrain [0, 80%), kVal [80%, 90%),
// kTest [90%, 100%). Empty (0-byte) PNGs are skipped, as the official pipeline does.
std::shared_ptr<PackedDataset> lra_pathfinder(const std::filesystem::path& root, Split split,
                                              int64_t image_size = 32);

}  // namespace cfx::data
