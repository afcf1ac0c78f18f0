// The ARFF readers (data/uea/arff.h): univariate and relational files by hand, bad input,
// and the real per-dimension SelfRegulationSCP1 files joined into 6 channels.
#include <cmath>

#include "data/uea/arff.h"
#include "data_helpers.h"

using namespace cfx;
using namespace cfx::data;
using cfx::testing::check_error;
using cfx::testing::have_shared_data;
using cfx::testing::shared_data_dir;
using cfx::testing::TempDir;
using cfx::testing::write_file;

TEST_CASE("read_arff: a univariate file and a relational multivariate file") {
  TempDir dir;
  write_file(dir / "uni.arff",
             "% comment\n@RELATION toy_channel_0\n\n@attribute s0 numeric\n@attribute s1 NUMERIC\n@attribute s2 real\n"
             "@attribute cls {Neg,pos}\n@data\n1,2,3,Neg\n4,?,6.5,pos\n");
  const TimeSeriesSet u = read_arff(dir / "uni.arff");
  CHECK(u.problem_name == "toy_channel_0");
  CHECK(u.channels == 1);
  CHECK(u.class_names == std::vector<std::string>{"neg", "pos"});  // lower-cased, as the .ts reader
  CHECK(u.labels == std::vector<std::string>{"neg", "pos"});
  CHECK(u.lengths == std::vector<int64_t>{3, 3});
  CHECK(u.series[0] == std::vector<float>{1, 2, 3});
  CHECK(std::isnan(u.series[1][1]));
  CHECK(u.series[1][2] == 6.5f);

  write_file(dir / "rel.arff",
             "@relation Toy\n@attribute input relational\n  @attribute t0 numeric\n  @attribute t1 numeric\n"
             "@end input\n@attribute classAttribute {'a','b'}\n@data\n'1,2\\n3,4\\n5,6',b\n\"7,8,9\\n1,2,3\\n4,5,6\",'a'\n");
  const TimeSeriesSet r = read_arff(dir / "rel.arff");
  CHECK(r.channels == 3);
  CHECK(r.lengths == std::vector<int64_t>{2, 3});
  CHECK(r.series[0] == std::vector<float>{1, 3, 5, 2, 4, 6});  // [t, c]
  CHECK(r.series[1] == std::vector<float>{7, 1, 4, 8, 2, 5, 9, 3, 6});
  CHECK(r.labels == std::vector<std::string>{"b", "a"});
}

TEST_CASE("read_arff: bad input is a cfx::Error naming the file, line and problem") {
  TempDir dir;
  const std::string h = "@relation x\n@attribute s0 numeric\n@attribute s1 numeric\n@attribute c {a,b}\n@data\n";
  auto bad = [&](const std::string& text, std::initializer_list<std::string> pieces) {
    write_file(dir / "x.arff", text);
    check_error([&] { read_arff(dir / "x.arff"); }, pieces);
  };
  bad(h + "1,2,a\n1,x,b\n", {"x.arff:7", "channel 0 step 1", "not a number"});
  bad(h + "1,2,3,a\n", {"expected 2 values and a label, got 4 fields"});
  bad(h + "1,2,z\n", {"label \"z\" is not one of the class values"});
  bad(h, {"@data has no cases"});
  bad("@relation x\n@attribute s0 numeric\n@data\n1\n", {"@data before the class attribute"});
  bad("@relation x\n@attribute s0 string\n", {"unsupported attribute type \"string\""});
  bad("@relation x\n@attribute c {a}\n@attribute s0 numeric\n", {"after the class attribute"});
  bad("@relation x\n@attribute r relational\n@attribute t numeric\n@attribute c {a}\n@data\n", {"nominal attribute inside"});
  bad("@relation x\n@attribute r relational\n@attribute t numeric\n@end r\n@attribute c {a}\n@data\n'1,2\\n3',a\n",
      {"channel 1 has 1 values, channel 0 has 2"});
  bad("hello\n", {"x.arff:1", "expected @relation"});
  check_error([&] { read_arff(dir / "missing.arff"); }, {"missing file", "missing.arff"});
  write_file(dir / "a.arff", h + "1,2,a\n1,2,b\n");
  write_file(dir / "b.arff", h + "1,2,a\n1,2,a\n");
  check_error([&] { read_arff_dimensions({dir / "a.arff", dir / "b.arff"}); }, {"case 1 differs", "label b vs a"});
  write_file(dir / "c.arff", h + "1,2,a\n");
  check_error([&] { read_arff_dimensions({dir / "a.arff", dir / "c.arff"}); }, {"has 1 cases", "has 2"});
}

TEST_CASE("read_arff_dimensions on the real SelfRegulationSCP1: 6 channels x 896 steps, 2 classes") {
  if (!have_shared_data("uea")) return;
  const auto dir = shared_data_dir() / "uea" / "SelfRegulationSCP1";
  for (const auto& [split, cases] : {std::pair<std::string, int64_t>{"TRAIN", 268}, {"TEST", 293}}) {
    INFO(split);
    std::vector<std::filesystem::path> files;
    for (int k = 1; k <= 6; ++k) files.push_back(dir / ("SelfRegulationSCP1Dimension" + std::to_string(k) + "_" + split + ".arff"));
    const TimeSeriesSet s = read_arff_dimensions(files);
    CHECK(s.size() == cases);
    CHECK(s.channels == 6);
    CHECK(s.max_length() == 896);
    CHECK(s.class_names == std::vector<std::string>{"negativity", "positivity"});
    // channel k of case 0 is the first row of file k
    const TimeSeriesSet first = read_arff(files[2]);
    CHECK(s.series[0][5 * 6 + 2] == first.series[0][5]);
    if (split == "TRAIN") CHECK(s.series[0][0] == 23.0f);  // the first value of Dimension1_TRAIN
  }
}
