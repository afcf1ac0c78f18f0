// Synthetic LRA data, written in the release formats so the readers in data/lra/lra.h load it:
// ListOps (basic_{train,val,test}.tsv) and Pathfinder (metadata/<k>.npy + imgs/<k>/sample_<i>.png).
// Lets a user train and test the LRA pipeline with no download. Seeded: the same seed and
// options give the same files (ListOps on any machine; Pathfinder draws geometry in double
// precision, so only within one build and CPU).
//
// Not here: Text, Retrieval and Image have no generator (they are real corpora).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/generator.h"

namespace cfx::data {

// ---- ListOps ---------------------------------------------------------------------------------------
// The grammar of lra_benchmarks/data/listops.py: a node is a digit 0..9 with probability 0.75
// (always at max_depth), else an operator [MIN, [MAX, [MED (integer median, floor of the mean of
// the middle two) or [SM (sum mod 10) over 2..max_args nodes. Length = operators + digits + ']'s
// (parentheses not counted); LRA keeps trees with min_length < length < max_length.
// Text form is LRA's binarised bracket form, e.g. "( ( ( [MAX 2 ) 9 ) ] )" (= 9).
struct ListOpsOptions {
  int64_t max_depth = 10;
  int64_t max_args = 10;
  int64_t min_length = 500;    // exclusive
  int64_t max_length = 2000;   // exclusive
  bool unique = true;          // no repeated expression across the generated set (LRA uses a set)
  int64_t max_draws = 10'000'000;  // give up (cfx::Error) after this many rejected trees
};

struct ListOpsExample {
  std::string source;
  int target = 0;
};

std::vector<ListOpsExample> generate_listops_examples(int64_t n, const ListOpsOptions& opts, Generator& gen);
// Value of an expression in LRA's bracket form (also accepts 'X' for ']'); cfx::Error when malformed.
int listops_evaluate(std::string_view source);
// Writes `Source<TAB>Target` rows under that header.
void write_listops_tsv(const std::filesystem::path& file, const std::vector<ListOpsExample>& examples);
// Writes <dir>/basic_{train,val,test}.tsv (creates dir), like LRA's generator.
void generate_listops(const std::filesystem::path& dir, int64_t num_train, int64_t num_val, int64_t num_test,
                      const ListOpsOptions& opts = {}, uint64_t seed = 0);

// ---- Pathfinder ------------------------------------------------------------------------------------
// A gray image with two long paths and some short distractor paths, each a chain of short dashes
// turning by at most max_turn_deg per dash; two marker discs sit at path ends. Positive (1): both
// markers are the two ends of one path; negative (0): one marker at an end of each long path.
// Paths are drawn at 2x and box-filtered down; different paths keep >= 2 output pixels apart, and
// every image is checked (8-connected flood fill of pixels > 0) to connect its markers iff positive.
// Defaults follow LRA's Pathfinder-32 "hard" settings (contour 14, distractors 14/3 long, 20/4 of them).
struct PathfinderOptions {
  int64_t image_size = 32;
  int64_t contour_length = 14;     // dashes per long path
  int64_t distractor_length = 4;   // dashes per distractor path
  int64_t num_distractors = 5;
  double dash_length = 2.0;        // output pixels
  double dash_gap = 0.5;           // between consecutive dashes, output pixels
  double thickness = 1.0;          // output pixels
  double marker_radius = 1.5;      // output pixels
  double max_turn_deg = 45.0;      // max direction change per dash
  int64_t images_per_dir = 1000;   // images per imgs/<k> directory and metadata/<k>.npy file
  int64_t max_attempts = 1000;     // per image, before cfx::Error
};

struct PathfinderImage {
  std::vector<uint8_t> pixels;  // [image_size, image_size] row-major
  int label = 0;
  int64_t marker_x[2] = {0, 0}, marker_y[2] = {0, 0};  // output pixel of each marker centre
};

PathfinderImage generate_pathfinder_image(int label, const PathfinderOptions& opts, Generator& gen);
// Writes <root>/imgs/<k>/sample_<j>.png and <root>/metadata/<k>.npy (text lines
// `imgs/<k> sample_<j>.png <j> <label> <max_turn_deg> <contour_length> <distractor_length>
// <dash_length> <thickness> <dash_gap> 1`, the release's field order); labels are 50/50 at random.
void generate_pathfinder(const std::filesystem::path& root, int64_t num_images, const PathfinderOptions& opts = {},
                         uint64_t seed = 0);

}  // namespace cfx::data
