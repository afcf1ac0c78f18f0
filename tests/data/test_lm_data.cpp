// Language-model data: fairseq's dictionary rules (counts, order, padding, dict.txt both
// ways, Unicode whitespace, universal newlines), binarised token files (ids, header checks,
// damaged files, ids beyond the dictionary), on hand-made files and on the WikiText sample.
#include <cstring>
#include <fstream>

#include "data/detail/io.h"
#include "data/lm/dictionary.h"
#include "data/lm/token_file.h"
#include "data_helpers.h"

using namespace cfx;
using namespace cfx::data::lm;
using cfx::testing::check_error;
using cfx::testing::TempDir;

namespace {

void write(const std::filesystem::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary);
  f << text;
}

// Lines "b a", "", " c a b", " a<TAB>d<NBSP>e<CR><LF>", "Z <unk> \u00e9", "b" (no newline at the end).
const std::string kText = "b a\n\n c a b\n a\td\xc2\xa0" "e\r\nZ <unk> \xc3\xa9\nb";

}  // namespace

TEST_CASE("split_words and for_each_line follow Python's \\s+ and universal newlines") {
  CHECK(split_words("  a\tb\xc2\xa0" "c\xe3\x80\x80" "d\xe2\x80\x89" "e\x1f" "f  ") ==
        std::vector<std::string_view>{"a", "b", "c", "d", "e", "f"});
  CHECK(split_words("\xc3\xa9t\xc3\xa9") == std::vector<std::string_view>{"\xc3\xa9t\xc3\xa9"});  // é is a letter
  CHECK(split_words("").empty());
  std::vector<std::string> lines;
  for_each_line("a\r\nb\rc\n\nd", [&](std::string_view l) { lines.emplace_back(l); });
  CHECK(lines == std::vector<std::string>{"a", "b", "c", "", "d"});
  lines.clear();
  for_each_line("a\n", [&](std::string_view l) { lines.emplace_back(l); });
  CHECK(lines == std::vector<std::string>{"a"});
}

TEST_CASE("build_dictionary: specials first, words by count then code point, </s> per line, padded to 8") {
  TempDir dir;
  write(dir / "train.txt", kText);
  const Dictionary d = build_dictionary({dir / "train.txt"});
  // Counts: a 3, b 3, c 1, d 1, e 1, Z 1, é 1; 6 lines; one literal <unk>.
  const std::vector<std::string> words = {"<s>", "<pad>", "</s>", "<unk>", "a", "b", "Z", "c", "d", "e", "\xc3\xa9"};
  REQUIRE(d.size() == 16);  // 11 entries padded to a multiple of 8
  for (size_t i = 0; i < words.size(); ++i) CHECK(d.word(static_cast<int32_t>(i)) == words[i]);
  for (int i = 0; i < 5; ++i) CHECK(d.word(11 + i) == "madeupword000" + std::to_string(i));
  CHECK(d.count(Dictionary::kEos) == 7);  // 1 + 6 lines
  CHECK(d.count(Dictionary::kUnk) == 2);  // 1 + the literal <unk>
  CHECK(d.count(Dictionary::kBos) == 1);
  CHECK(d.count(4) == 3);
  CHECK(d.count(13) == 0);
  CHECK(d.index("c") == 7);
  CHECK(d.index("never") == Dictionary::kUnk);
  int64_t unknown = 0;
  CHECK(d.encode_line(" c a never <unk>", &unknown) == std::vector<int32_t>{7, 4, 3, 3, 2});
  CHECK(unknown == 1);  // the literal <unk> is a known symbol
  CHECK(d.encode_line("") == std::vector<int32_t>{2});
  CHECK(d.decode(std::vector<int32_t>{5, 4, 2, 1, 7}) == "b a\nc");
  check_error([&] { d.word(16); }, {"id 16", "16 entries"});

  Dictionary small;  // finalize's threshold and nwords
  for (const char* w : {"x", "y", "y", "z", "z", "z"}) small.add(w);
  Dictionary by_threshold = small;
  by_threshold.finalize(2, -1, 1);
  CHECK(by_threshold.size() == 6);
  CHECK(by_threshold.word(4) == "z");
  CHECK(by_threshold.word(5) == "y");
  small.finalize(-1, 5, 1);
  CHECK(small.size() == 5);
  CHECK(small.word(4) == "z");
}

TEST_CASE("dict.txt: written as fairseq writes it, read back to the same dictionary; bad files name file:line") {
  TempDir dir;
  write(dir / "train.txt", kText);
  const Dictionary d = build_dictionary({dir / "train.txt"});
  d.save(dir / "dict.txt");
  const std::string saved = cfx::data::detail::read_file("test", dir / "dict.txt");
  CHECK(saved.rfind("a 3\nb 3\nZ 1\nc 1\nd 1\ne 1\n\xc3\xa9 1\nmadeupword0000 0\n", 0) == 0);
  const Dictionary back = Dictionary::load(dir / "dict.txt");
  REQUIRE(back.size() == d.size());
  for (int32_t i = Dictionary::kSpecials; i < d.size(); ++i) {
    CHECK(back.word(i) == d.word(i));
    CHECK(back.count(i) == d.count(i));
  }
  write(dir / "no_count.txt", "a 3\nlonely\n");
  check_error([&] { Dictionary::load(dir / "no_count.txt"); }, {"no_count.txt:2", "<word> <count>", "lonely"});
  write(dir / "bad_count.txt", "a 3\nb x1\n");
  check_error([&] { Dictionary::load(dir / "bad_count.txt"); }, {"bad_count.txt:2", "x1", "not an integer"});
  write(dir / "dup.txt", "a 3\nb 2\na 1\n");
  check_error([&] { Dictionary::load(dir / "dup.txt"); }, {"dup.txt:3", "duplicate word", "overwrite"});
  write(dir / "overwrite.txt", "a 3\nb 2\na 7 #fairseq:overwrite\n");
  const Dictionary over = Dictionary::load(dir / "overwrite.txt");
  CHECK(over.size() == 6);
  CHECK(over.count(over.index("a")) == 7);
  check_error([&] { Dictionary::load(dir / "missing.txt"); }, {"missing.txt"});
  check_error([&] { build_dictionary({dir / "missing.txt"}); }, {"missing.txt"});
  write(dir / "empty.txt", "");
  check_error([&] { build_dictionary({dir / "empty.txt"}); }, {"empty.txt", "empty"});
}

TEST_CASE("binarize and TokenFile: the id stream, header checks, damaged files, ids beyond the dictionary") {
  TempDir dir;
  write(dir / "train.txt", kText);
  write(dir / "valid.txt", "a q b\n\n");
  const Dictionary d = build_dictionary({dir / "train.txt"});
  const BinarizeStats s = binarize(dir / "valid.txt", d, dir / "valid.tok");
  CHECK(s.lines == 2);
  CHECK(s.tokens == 5);
  CHECK(s.unknown == 1);
  {
    const TokenFile t(dir / "valid.tok", d.size());
    CHECK(t.size() == 5);
    CHECK(t.dictionary_size() == 16);
    CHECK(t.slice(0, 5) == std::vector<int32_t>{4, 3, 5, 2, 2});
    std::vector<int64_t> out(2);
    t.copy(1, 2, out.data());
    CHECK(out == std::vector<int64_t>{3, 5});
    check_error([&] { t.copy(4, 2, out.data()); }, {"[4, 6)", "5 ids"});
  }
  check_error([&] { TokenFile(dir / "valid.tok", 24); }, {"valid.tok", "16 entries", "24"});

  const std::string bytes = cfx::data::detail::read_file("test", dir / "valid.tok");
  write(dir / "cut.tok", bytes.substr(0, bytes.size() - 1));
  check_error([&] { TokenFile(dir / "cut.tok"); }, {"cut.tok", "truncated or damaged"});
  write(dir / "tiny.tok", bytes.substr(0, 10));
  check_error([&] { TokenFile(dir / "tiny.tok"); }, {"tiny.tok", "10 bytes", "header"});
  write(dir / "text.tok", std::string(40, 'x'));
  check_error([&] { TokenFile(dir / "text.tok"); }, {"text.tok", "not a token file"});
  std::string huge = bytes;  // a declared count whose byte size would overflow 64 bits
  const uint64_t declared = (uint64_t{1} << 63) + 2;
  std::memcpy(huge.data() + 16, &declared, 8);
  write(dir / "huge.tok", huge);
  check_error([&] { TokenFile(dir / "huge.tok"); }, {"huge.tok", "truncated or damaged"});
  std::string beyond = bytes;  // the third id (b = 5) becomes 40, outside the 16 entries
  const uint16_t forty = 40;
  std::memcpy(beyond.data() + 32 + 2 * 2, &forty, 2);
  write(dir / "beyond.tok", beyond);
  check_error([&] { TokenFile(dir / "beyond.tok", 16); }, {"beyond.tok", "token 2", "id 40", "16 entries"});
  write(dir / "empty.txt", "");
  check_error([&] { binarize(dir / "empty.txt", d, dir / "e.tok"); }, {"empty.txt", "empty"});
  check_error([&] { binarize(dir / "none.txt", d, dir / "e.tok"); }, {"none.txt"});
}

TEST_CASE("WikiText-2 sample: the dictionary and ids agree with Python's fairseq rules on the same file") {
  if (!cfx::testing::have_shared_data("wikitext/valid.txt")) {
    MESSAGE("SKIPPED: ../shared/data/wikitext/valid.txt is absent (it ships with CI, not with a clone)");
    return;
  }
  const auto valid = cfx::testing::shared_data_dir() / "wikitext/valid.txt";
  const Dictionary d = build_dictionary({valid});
  // Figures from fairseq's rules run in Python (re.sub(r"\s+") / split, Counter.most_common)
  // on the same file: 13,775 words, 13,784 entries after padding.
  CHECK(d.size() == 13784);
  CHECK(d.word(4) == "the");
  CHECK(d.count(4) == 12639);
  CHECK(d.word(5) == ",");
  CHECK(d.count(5) == 10079);
  CHECK(d.word(6) == ".");
  CHECK(d.word(13778) == "\xe2\x99\xaf");  // '♯', the last word of count 1 in code-point order
  CHECK(d.word(13779) == "madeupword0000");
  CHECK(d.count(Dictionary::kEos) == 3761);
  CHECK(d.count(Dictionary::kUnk) == 11719);
  TempDir dir;
  const BinarizeStats s = binarize(valid, d, dir / "valid.tok");
  CHECK(s.lines == 3760);
  CHECK(s.tokens == 217646);
  CHECK(s.unknown == 0);
  const TokenFile t(dir / "valid.tok", d.size());
  CHECK(t.size() == 217646);
  CHECK(t[0] == Dictionary::kEos);  // the file starts with a blank line
  CHECK(d.word(t[1]) == "=");
}
