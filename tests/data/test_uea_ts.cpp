// The `.ts` reader (data/uea/ts.h): a hand-written file (values, missing values, labels,
// category codes), every kind of bad input, and the real UEA samples in ../shared/data.
#include <cmath>

#include "data/uea/ts.h"
#include "data_helpers.h"

using namespace cfx;
using namespace cfx::data;
using cfx::testing::check_error;
using cfx::testing::have_shared_data;
using cfx::testing::shared_data_dir;
using cfx::testing::TempDir;
using cfx::testing::write_file;

namespace {

const char* kHeader =
    "# a comment\n"
    "@problemName Toy\n"
    "@timeStamps false\n"
    "@missing true\n"
    "@univariate false\n"
    "@dimensions 2\n"
    "@equalLength false\n"
    "@classLabel true b a C10\n"
    "@data\n";

TimeSeriesSet read_text(const TempDir& dir, const std::string& text) {
  write_file(dir / "x.ts", text);
  return read_ts(dir / "x.ts");
}

}  // namespace

TEST_CASE("read_ts: values time-major, missing values, variable lengths, labels and category codes") {
  TempDir dir;
  const TimeSeriesSet s = read_text(dir, std::string(kHeader) +
                                             "1,2,3:4,5,6:b\n"
                                             "\n"
                                             "0.5,?:-1e-3,7:C10\r\n"
                                             "9:8:a\n");
  CHECK(s.problem_name == "Toy");
  CHECK(s.channels == 2);
  CHECK(s.class_names == std::vector<std::string>{"b", "a", "c10"});  // lower-cased, as sktime
  REQUIRE(s.size() == 3);
  CHECK(s.lengths == std::vector<int64_t>{3, 2, 1});
  CHECK(s.max_length() == 3);
  CHECK(s.series[0] == std::vector<float>{1, 4, 2, 5, 3, 6});  // [t, c]
  CHECK(s.series[1][0] == 0.5f);
  CHECK(s.series[1][1] == -1e-3f);
  CHECK(std::isnan(s.series[1][2]));  // "?"
  CHECK(s.series[1][3] == 7.0f);
  CHECK(s.labels == std::vector<std::string>{"b", "c10", "a"});
  std::vector<std::string> classes;
  CHECK(category_codes(s.labels, &classes) == std::vector<int64_t>{1, 2, 0});  // sorted as strings
  CHECK(classes == std::vector<std::string>{"a", "b", "c10"});
  CHECK(category_codes({"10", "9", "1"}) == std::vector<int64_t>{1, 2, 0});  // strings, not numbers
}

TEST_CASE("read_ts: bad input is a cfx::Error naming the file, line and problem") {
  TempDir dir;
  const std::string h(kHeader);
  auto bad = [&](const std::string& text, std::initializer_list<std::string> pieces) {
    check_error([&] { read_text(dir, text); }, pieces);
  };
  bad(h + "1,2:3,4:b\n1,x:3,4:a\n", {"x.ts:11", "channel 0 step 1", "not a number"});
  bad(h + "1,2:3,4:5,6:b\n", {"x.ts:10", "expected 2 channels (@dimensions), got 3"});
  bad(h + "1,2:3:b\n", {"channel 1 has 1 values, channel 0 has 2"});
  bad(h + "1,2:3,4:z\n", {"label \"z\" is not one of the @classLabel classes"});
  bad(h, {"@data has no cases"});
  bad("@problemName x\n@classLabel true a\n", {"no @data section"});
  bad("@problemName x\n@data\n1:a\n", {"@data before \"@classLabel true"});
  bad("@timeStamps true\n", {"x.ts:1", "@timeStamps true is not supported"});
  bad("@dimensions two\n", {"@dimensions expects a positive integer"});
  bad("@classLabel maybe\n", {"expects true or false"});
  bad("@targetLabel true\n", {"regression"});
  bad("@colour blue\n", {"unknown directive @colour"});
  bad("1,2:a\n", {"expected a @directive before @data"});
  bad("@equalLength true\n@seriesLength 3\n@classLabel true a\n@data\n1,2:a\n", {"expected 3 values per channel"});
  check_error([&] { read_ts(dir / "missing.ts"); }, {"missing file", "missing.ts"});
}

TEST_CASE("read_ts on the real UEA files: shapes and classes of the public archive") {
  if (!have_shared_data("uea")) return;
  struct Expect {
    const char* name;
    int64_t train, test, channels, min_len, max_len_train, max_len_test, classes;
  };
  for (const Expect& e : {Expect{"JapaneseVowels", 270, 370, 12, 7, 26, 29, 9},  // the archive's "up to 29" is the test file's
                          Expect{"Handwriting", 150, 850, 3, 152, 152, 152, 26},
                          Expect{"BasicMotions", 40, 40, 6, 100, 100, 100, 4}}) {
    INFO(e.name);
    const auto dir = shared_data_dir() / "uea" / e.name;
    const TimeSeriesSet train = read_ts(dir / (std::string(e.name) + "_TRAIN.ts"));
    const TimeSeriesSet test = read_ts(dir / (std::string(e.name) + "_TEST.ts"));
    CHECK(train.size() == e.train);
    CHECK(test.size() == e.test);
    CHECK(train.channels == e.channels);
    CHECK(test.channels == e.channels);
    CHECK(*std::min_element(train.lengths.begin(), train.lengths.end()) >= e.min_len);
    CHECK(train.max_length() == e.max_len_train);
    CHECK(test.max_length() == e.max_len_test);
    std::vector<std::string> classes;
    category_codes(train.labels, &classes);
    CHECK(static_cast<int64_t>(classes.size()) == e.classes);
    for (const auto& s : train.series)
      for (float v : s) REQUIRE(std::isfinite(v));  // these three have no missing values
  }
}
