// ImageFolder as torchvision's (class and file order, extensions, empty classes), a fixed class
// list from a synsets file, the broken-file policies, the synset readers; and the Imagenette
// sample of ../shared/data (10 classes, 50 train / 100 val files) with its 1000-class indices.
#include <set>

#include "data/image/decode.h"
#include "data/image/image_folder.h"
#include "image_helpers.h"

using namespace cfx;
using namespace cfx::data;
using cfx::testing::check_error;
using cfx::testing::image_reference_dir;
using cfx::testing::TempDir;
using cfx::testing::write_file;

namespace {

std::string jpeg_bytes() { return testing::read_bytes(image_reference_dir() / "color_420.jpg"); }

std::vector<std::string> relative_paths(const ImageFolder& f) {
  std::vector<std::string> out;
  for (const ImageSample& s : f.samples()) out.push_back(std::filesystem::relative(s.path, f.root()).string());
  return out;
}

}  // namespace

TEST_CASE("ImageFolder: torchvision's class order, file order and extensions") {
  TempDir dir;
  const std::string jpg = jpeg_bytes();
  // Python's sorted() is byte order: "B" < "a" < "a b" < "a_c" < "b".
  for (const char* rel : {"b/2.jpg", "b/10.JPG", "a/x.jpeg", "a/sub/y.png", "a/sub2/z.Jpg", "a/readme.txt",
                          "a/noext", "B/q.webp", "a b/w.ppm", "a_c/v.TIFF"})
    write_file(dir / rel, jpg);
  write_file(dir / "top.jpg", jpg);  // files in the root belong to no class
  const ImageFolder f(dir.path());
  CHECK(f.classes() == std::vector<std::string>{"B", "a", "a b", "a_c", "b"});
  CHECK(f.num_classes() == 5);
  // Within a class: os.walk's folders sorted by path, names sorted in each.
  CHECK(relative_paths(f) == std::vector<std::string>{"B/q.webp", "a/x.jpeg", "a/sub/y.png", "a/sub2/z.Jpg",
                                                       "a b/w.ppm", "a_c/v.TIFF", "b/10.JPG", "b/2.jpg"});
  CHECK(f.label(0) == 0);
  CHECK(f.label(1) == 1);
  CHECK(f.label(7) == 4);
  CHECK(f.class_index("a b") == 2);
  CHECK(f.class_index("zebra") == -1);
  CHECK(f.class_counts() == std::vector<int64_t>{1, 3, 1, 1, 2});
  CHECK(has_image_extension("x.JPEG"));
  CHECK(has_image_extension("x.tif"));
  CHECK(!has_image_extension("x.gif"));
  CHECK(!has_image_extension("jpg"));

  // A class folder without an image is torchvision's error; so is a root without folders.
  TempDir empty;
  write_file(empty / "n1/a.jpg", jpg);
  write_file(empty / "n2/notes.txt", "x");
  check_error([&] { ImageFolder{empty.path()}; }, {"ImageFolder", "found no valid file for the classes n2", ".webp"});
  TempDir flat;
  write_file(flat / "a.jpg", jpg);
  check_error([&] { ImageFolder{flat.path()}; }, {"ImageFolder", "no class folder"});
  check_error([] { ImageFolder{"/nonexistent/imagenet/train"}; }, {"ImageFolder", "missing directory", "HINT"});
  check_error([&] { f.sample(8); }, {"sample 8 out of range"});
}

TEST_CASE("ImageFolder: a fixed class list keeps its indices, allows missing classes, refuses strangers") {
  TempDir dir;
  const std::string jpg = jpeg_bytes();
  write_file(dir / "n03/a.jpg", jpg);
  write_file(dir / "n01/b.jpg", jpg);
  write_file(dir / "n01/c.jpg", jpg);
  const ImageFolder f(dir.path(), {.classes = {"n00", "n03", "n02", "n01"}});
  CHECK(f.num_classes() == 4);
  CHECK(f.class_counts() == std::vector<int64_t>{0, 1, 0, 2});
  // Samples in class-index order: n03 (index 1) first.
  CHECK(relative_paths(f) == std::vector<std::string>{"n03/a.jpg", "n01/b.jpg", "n01/c.jpg"});
  CHECK(f.label(0) == 1);
  CHECK(f.label(2) == 3);
  check_error([&] { ImageFolder(dir.path(), {.classes = {"n01", "n02"}}); },
              {"ImageFolder", "folder 'n03' is not one of the 2 given classes"});
  check_error([&] { ImageFolder(dir.path(), {.classes = {"n01", "n03", "n01"}}); }, {"'n01' is listed twice"});
}

TEST_CASE("ImageFolder: broken image files under the Stop and Skip policies") {
  TempDir dir;
  const std::string jpg = jpeg_bytes();
  write_file(dir / "c/0_good.jpg", jpg);
  write_file(dir / "c/1_truncated.jpg", jpg.substr(0, jpg.size() / 2));
  write_file(dir / "c/2_random.JPEG", std::string("\x13\x37 this is not an image at all", 30));
  write_file(dir / "c/3_empty.jpg", "");
  write_file(dir / "c/4_good.png", testing::read_bytes(image_reference_dir() / "png_rgb8.png"));

  const ImageFolder stop(dir.path());
  REQUIRE(stop.size() == 5);
  CHECK(stop.load(0)->width == 48);
  CHECK(stop.load(4)->width == 13);
  check_error([&] { stop.load(1); }, {"ImageFolder: sample 1", "1_truncated.jpg", "truncated JPEG", "HINT"});
  check_error([&] { stop.load(2); }, {"2_random.JPEG", "not an image"});
  check_error([&] { stop.load(3); }, {"3_empty.jpg", "empty file"});
  CHECK(stop.skipped() == 0);

  const ImageFolder skip(dir.path(), {.on_broken = BrokenImagePolicy::kSkip});
  CHECK(skip.policy() == BrokenImagePolicy::kSkip);
  int64_t good = 0;
  for (int64_t i = 0; i < skip.size(); ++i) good += skip.load(i).has_value();  // each broken one: a line on stderr
  CHECK(good == 2);
  CHECK(skip.skipped() == 3);
  CHECK(!skip.load(1).has_value());
  CHECK(skip.skipped() == 4);
}

TEST_CASE("ImageFolder helpers: read_synsets and read_synset_names") {
  TempDir dir;
  write_file(dir / "s.txt", "n02\r\nn01\n\nn03 \n");
  CHECK(read_synsets(dir / "s.txt") == std::vector<std::string>{"n02", "n01", "n03"});
  write_file(dir / "dup.txt", "n02\nn01\nn02\n");
  check_error([&] { read_synsets(dir / "dup.txt"); }, {"read_synsets", "dup.txt:3", "'n02' repeats line 1"});
  write_file(dir / "names.txt", "n01 tench, Tinca tinca\nn02 goldfish\n");
  check_error([&] { read_synsets(dir / "names.txt"); }, {"names.txt:1", "one class name"});
  const auto names = read_synset_names(dir / "names.txt");
  REQUIRE(names.size() == 2);
  CHECK(names[0].wnid == "n01");
  CHECK(names[0].names == "tench, Tinca tinca");
  const auto& [wnid, name] = names[1];
  CHECK(wnid == "n02");
  CHECK(name == "goldfish");
  check_error([&] { read_synset_names(dir / "missing.txt"); }, {"read_synset_names", "missing file"});

  if (!testing::have_shared_data("imagenet/synsets.txt")) return;
  const auto wnids = read_synsets(testing::shared_data_dir() / "imagenet/synsets.txt");
  const auto mapping = read_synset_names(testing::shared_data_dir() / "imagenet/LOC_synset_mapping.txt");
  REQUIRE(wnids.size() == 1000);
  REQUIRE(mapping.size() == 1000);
  CHECK(std::is_sorted(wnids.begin(), wnids.end()));  // the class index is the sorted wnid order
  for (size_t k = 0; k < 1000; ++k) CHECK(mapping[k].wnid == wnids[k]);
  CHECK(mapping[0].names == "tench, Tinca tinca");
}

TEST_CASE("ImageFolder on the Imagenette sample: 10 classes, 1000-class indices with synsets, all decode") {
  if (!testing::have_shared_data("imagenet/imagenette2-160-subset")) return;
  const auto root = testing::shared_data_dir() / "imagenet/imagenette2-160-subset";
  const std::vector<std::string> ten{"n01440764", "n02102040", "n02979186", "n03000684", "n03028079",
                                     "n03394916", "n03417042", "n03425413", "n03445777", "n03888257"};
  const ImageFolder train(root / "train"), val(root / "val");
  CHECK(train.classes() == ten);
  CHECK(val.classes() == ten);
  CHECK(train.size() == 50);
  CHECK(val.size() == 100);
  CHECK(train.class_counts() == std::vector<int64_t>(10, 5));
  CHECK(val.class_counts() == std::vector<int64_t>(10, 10));
  CHECK(train.label(0) == 0);
  CHECK(train.label(49) == 9);
  // val's sorted names put ILSVRC2012_val_* before n*_* in each class.
  CHECK(val.sample(0).path.filename().string().rfind("ILSVRC2012_val_", 0) == 0);

  const auto synsets = read_synsets(testing::shared_data_dir() / "imagenet/synsets.txt");
  const ImageFolder val1k(root / "val", {.classes = synsets});
  CHECK(val1k.num_classes() == 1000);
  CHECK(val1k.size() == 100);
  std::set<int64_t> labels;
  for (int64_t i = 0; i < val1k.size(); ++i) {
    const int64_t l = val1k.label(i);
    labels.insert(l);
    CHECK(synsets[static_cast<size_t>(l)] == val1k.sample(i).path.parent_path().filename().string());
    CHECK(val1k.sample(i).path == val.sample(i).path);  // same order: the classes sort alike
  }
  CHECK(labels == std::set<int64_t>{0, 217, 482, 491, 497, 566, 569, 571, 574, 701});  // Imagenette's
  // ILSVRC2012_val_00009111.JPEG is n01440764 in the official val labels (SOURCES.md).
  CHECK(val1k.sample(0).path.filename() == "ILSVRC2012_val_00009111.JPEG");
  CHECK(val1k.label(0) == 0);
  CHECK(val1k.class_index("n01440764") == 0);

  int64_t decoded = 0;
  for (const ImageFolder* f : {&train, &val}) {
    for (int64_t i = 0; i < f->size(); ++i) {
      const std::optional<Image> img = f->load(i);
      REQUIRE(img.has_value());
      CHECK(img->channels == 3);
      CHECK(img->height == 224);  // the staged files are 224 x 224 (not "shorter side 160")
      CHECK(img->width == 224);
      ++decoded;
    }
  }
  CHECK(decoded == 150);
}
