// HDF5 checkpoints: round trip, on-disk layout (float32, PyTorch shapes, dotted root keys),
// optimiser state, atomic writes, the missing/unexpected/wrong-shape errors, and loading an
// official-style FlowAttention state dict written with the plain HDF5 C API, the way
// h5py writes `f[k] = v.float().numpy()` (no Python needed at test time).
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "flow_reference.h"
#include "testing.h"

// The HDF5 C API writes and inspects files independently of Conflux's checkpoint code.
#include <hdf5.h>

using namespace cfx;
using namespace cfx::nn;
namespace fs = std::filesystem;

namespace {

// A directory of this process (tests of several users may run at once), removed at exit.
struct TempDir {
  fs::path dir = fs::temp_directory_path() / ("conflux_test_nn_" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(dir); }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

fs::path temp_path(const std::string& name) {
  static TempDir tmp;
  return tmp.dir / name;
}

std::shared_ptr<FlowformerClassifier> tiny_classifier(uint64_t seed) {
  FlowformerClassifierConfig c;
  c.vocab_size = 11;
  c.max_len = 6;
  c.num_classes = 3;
  c.n_layers = 2;
  c.layer.d_model = 8;
  c.layer.n_heads = 2;
  c.layer.d_ff = 16;
  Generator gen(seed);
  return std::make_shared<FlowformerClassifier>(c, &gen);
}

// A module with one Linear: keys "lin.weight" [out, in], "lin.bias" [out] (+ "extra" optionally).
struct One : Module {
  One(int64_t in, int64_t out, bool extra = false) : Module("One") {
    lin = register_module("lin", std::make_shared<Linear>(in, out));
    if (extra) e = register_parameter("extra", zeros({2}));
  }
  std::shared_ptr<Linear> lin;
  Tensor e;
};

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("checkpoint: round trip restores every tensor and the outputs") {
  const fs::path path = temp_path("roundtrip.h5");
  auto a = tiny_classifier(1), b = tiny_classifier(2);
  a->eval(), b->eval();
  Tensor tokens = randint(0, 11, {3, 6});
  CHECK(testing::max_abs_diff(a->forward(tokens), b->forward(tokens)) > 1e-3);
  save(*a, path);
  CHECK(fs::exists(path));
  CHECK(!fs::exists(fs::path(path.string() + ".tmp")));
  load(*b, path);
  const StateDict sa = a->state_dict(), sb = b->state_dict();
  REQUIRE(sa.size() == sb.size());
  for (size_t i = 0; i < sa.size(); ++i) CHECK(testing::max_abs_diff(sa[i].second, sb[i].second) == 0.0);
  CHECK(testing::max_abs_diff(a->forward(tokens), b->forward(tokens)) == 0.0);
}

TEST_CASE("checkpoint: one float32 dataset per key with the PyTorch shape") {
  const fs::path path = temp_path("layout.h5");
  auto m = tiny_classifier(3);
  m->to(kFloat64);  // saved as float32 regardless
  save(*m, path);
  const StateDict on_disk = load_tensors(path);
  const StateDict sd = m->state_dict();
  REQUIRE(on_disk.size() == sd.size());
  std::map<std::string, Tensor> by_key(on_disk.begin(), on_disk.end());
  for (const auto& [k, t] : sd) {
    INFO("key ", k);
    REQUIRE(by_key.count(k));
    CHECK(by_key[k].dtype() == kFloat32);
    CHECK(by_key[k].shape() == t.shape());
  }
  CHECK(by_key["layers.0.attn.query_projection.weight"].shape() == Shape{8, 8});
  CHECK(by_key["head_fc2.weight"].shape() == Shape{3, 16});
  // A float64 module loads the float32 file (converted on read).
  auto m2 = tiny_classifier(4);
  m2->to(kFloat64);
  load(*m2, path);
  CHECK(testing::max_abs_diff(m2->head_fc2->weight, m->head_fc2->weight) < 1e-6);
}

TEST_CASE("checkpoint: missing, unexpected and wrong-shape keys fail clearly and change nothing") {
  const fs::path path = temp_path("errors.h5");
  One small(3, 2);
  save(small, path);

  One with_extra(3, 2, /*extra=*/true);
  std::string msg = error_of([&] { load(with_extra, path); });
  CHECK(msg.find("missing key 'extra' (module shape [2])") != std::string::npos);
  CHECK(msg.find(path.string()) != std::string::npos);
  CHECK(msg.find("HINT") != std::string::npos);

  One bigger(3, 2, true);
  save(bigger, path);
  msg = error_of([&] { load(small, path); });
  CHECK(msg.find("unexpected key 'extra' (checkpoint shape [2])") != std::string::npos);

  One transposed(2, 3);
  save(transposed, path);
  const auto before = to_vector<float>(small.lin->weight);
  msg = error_of([&] { load(small, path); });
  CHECK(msg.find("shape mismatch for 'lin.weight': checkpoint [3, 2] vs module [2, 3]") != std::string::npos);
  CHECK(msg.find("shape mismatch for 'lin.bias': checkpoint [3] vs module [2]") != std::string::npos);
  CHECK(to_vector<float>(small.lin->weight) == before);

  msg = error_of([&] { load(small, temp_path("does_not_exist.h5")); });
  CHECK(msg.find("no file at") != std::string::npos);
  const fs::path junk = temp_path("junk.h5");
  std::ofstream(junk) << "not hdf5";
  msg = error_of([&] { load(small, junk); });
  CHECK(msg.find("is not an HDF5 file") != std::string::npos);
}

TEST_CASE("checkpoint: a failed save leaves the previous checkpoint intact and no temp file") {
  const fs::path path = temp_path("atomic.h5");
  One m(3, 2);
  save(m, path);
  const auto good = to_vector<float>(m.lin->weight);
  // "w" as a dataset and "w/x" needing "w" as a group: the write fails half-way through.
  const StateDict clash = {{"w", ones({2})}, {"w/x", ones({2})}};
  CHECK_THROWS_AS(save_tensors(clash, path), Error);
  CHECK(!fs::exists(fs::path(path.string() + ".tmp")));
  One fresh(3, 2);
  load(fresh, path);
  CHECK(to_vector<float>(fresh.lin->weight) == good);
}

TEST_CASE("checkpoint: optimiser state under /optimizer resumes training exactly") {
  const fs::path path = temp_path("with_optimizer.h5");
  auto train_steps = [](FlowformerClassifier& m, Optimizer& opt, int n, uint64_t seed) {
    Generator gen(seed);
    for (int s = 0; s < n; ++s) {
      Tensor x = randint(0, 11, {4, 6}, {kInt64}, &gen);
      Tensor y = randint(0, 3, {4}, {kInt64}, &gen);
      opt.zero_grad();
      cross_entropy(m.forward(x), y).backward();
      opt.step();
    }
  };
  auto a = tiny_classifier(5);
  a->eval();  // no dropout, so both runs see the same function
  AdamW opt_a(param_groups_no_decay(*a, 0.01), AdamOptions{1e-2});
  train_steps(*a, opt_a, 3, 10);
  save(*a, opt_a, path);
  train_steps(*a, opt_a, 2, 11);

  auto b = tiny_classifier(6);
  b->eval();
  AdamW opt_b(param_groups_no_decay(*b, 0.01), AdamOptions{1e-2});
  load(*b, opt_b, path);
  train_steps(*b, opt_b, 2, 11);
  const StateDict sa = a->state_dict(), sb = b->state_dict();
  for (size_t i = 0; i < sa.size(); ++i) CHECK(testing::max_abs_diff(sa[i].second, sb[i].second) < 1e-6);

  // The optimiser group is ignored by a module-only load, and required by a module+optimiser load.
  auto c = tiny_classifier(7);
  load(*c, path);
  save(*c, path);
  AdamW opt_c(c->parameters(), AdamOptions{});
  CHECK(error_of([&] { load(*c, opt_c, path); }).find("has no optimizer state") != std::string::npos);
  const StateDict raw = load_tensors(temp_path("with_optimizer.h5"));
  CHECK(raw.size() == c->state_dict().size());
}

namespace {

// h5py's `f[key] = array.astype('<f4')`: a contiguous float32 LE dataset at the root.
void write_like_h5py(hid_t file, const std::string& key, const std::vector<double>& data,
                     const std::vector<hsize_t>& dims) {
  const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  const hid_t dset = H5Dcreate2(file, key.c_str(), H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(dset >= 0);
  REQUIRE(H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()) >= 0);
  H5Dclose(dset);
  H5Sclose(space);
}

}  // namespace

TEST_CASE("checkpoint: official-style FlowAttention weights written with the HDF5 C API load and compute") {
  // The official Flow_Attention(d_input=6, d_model=8, d_output=6, n_heads=2) state dict.
  testing::OfficialFlowWeights w;
  w.d_input = 6, w.d_model = 8, w.d_output = 6, w.n_heads = 2;
  Generator gen(42);
  auto draw = [&](int64_t n, double scale) { return to_vector<double>(randn({n}, {kFloat64}, &gen) * scale); };
  w.wq = draw(8 * 6, 0.4), w.bq = draw(8, 0.1), w.wk = draw(8 * 6, 0.4), w.bk = draw(8, 0.1);
  w.wv = draw(8 * 6, 0.4), w.bv = draw(8, 0.1), w.wo = draw(6 * 8, 0.4), w.bo = draw(6, 0.1);
  // Round to float32 first: the file holds float32, so the reference must use the same values.
  for (auto* v : {&w.wq, &w.bq, &w.wk, &w.bk, &w.wv, &w.bv, &w.wo, &w.bo})
    for (double& x : *v) x = static_cast<double>(static_cast<float>(x));

  const fs::path path = temp_path("official_flow_attention.h5");
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(file >= 0);
  write_like_h5py(file, "query_projection.weight", w.wq, {8, 6});
  write_like_h5py(file, "query_projection.bias", w.bq, {8});
  write_like_h5py(file, "key_projection.weight", w.wk, {8, 6});
  write_like_h5py(file, "key_projection.bias", w.bk, {8});
  write_like_h5py(file, "value_projection.weight", w.wv, {8, 6});
  write_like_h5py(file, "value_projection.bias", w.bv, {8});
  write_like_h5py(file, "out_projection.weight", w.wo, {6, 8});
  write_like_h5py(file, "out_projection.bias", w.bo, {6});
  H5Fclose(file);

  FlowAttentionConfig cfg;
  cfg.d_input = 6, cfg.d_model = 8, cfg.d_output = 6, cfg.n_heads = 2;
  FlowAttention attn(cfg);
  load(attn, path);
  attn.eval();
  CHECK(to_vector<double>(attn.key_projection->weight) == w.wk);
  CHECK(to_vector<double>(attn.out_projection->bias) == w.bo);

  Tensor x = randn({2, 5, 6}, {}, &gen);
  const auto ref = testing::official_flow_attention(w, to_vector<double>(x), 2, 5);
  testing::check_values(attn.forward(x), ref, 2e-5);  // float32 module vs float64 reference
}

TEST_CASE("checkpoint: files written by save() are what h5py expects (root datasets, '<f4', PyTorch shapes)") {
  FlowAttentionConfig cfg;
  cfg.d_input = 6, cfg.d_model = 8, cfg.d_output = 5, cfg.n_heads = 2;
  FlowAttention attn(cfg);
  const fs::path path = temp_path("for_h5py.h5");
  save(attn, path);
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(file >= 0);
  for (const auto& [key, t] : attn.state_dict()) {
    INFO("key ", key);
    const hid_t dset = H5Dopen2(file, ("/" + key).c_str(), H5P_DEFAULT);  // a root dataset with the dotted name
    REQUIRE(dset >= 0);
    const hid_t type = H5Dget_type(dset);
    CHECK(H5Tequal(type, H5T_IEEE_F32LE) > 0);
    const hid_t space = H5Dget_space(dset);
    std::vector<hsize_t> dims(static_cast<size_t>(t.dim()));
    CHECK(H5Sget_simple_extent_dims(space, dims.data(), nullptr) == t.dim());
    CHECK(Shape(dims.begin(), dims.end()) == t.shape());
    H5Sclose(space);
    H5Tclose(type);
    H5Dclose(dset);
  }
  H5Fclose(file);
}

TEST_CASE("checkpoint: a hard-link cycle and a dataset never written (found by fuzz/checkpoint_hdf5)") {
  const fs::path path = temp_path("cycle.h5");
  hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(file >= 0);
  write_like_h5py(file, "w", {1.0, 2.0}, {2});
  const hid_t group = H5Gcreate2(file, "g", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(H5Lcreate_hard(file, "/", group, "loop", H5P_DEFAULT, H5P_DEFAULT) >= 0);  // g/loop -> /
  H5Gclose(group);
  H5Fclose(file);
  const StateDict tensors = load_tensors(path);  // was a stack overflow: g/loop/g/loop/...
  REQUIRE(tensors.size() == 1);
  CHECK(tensors[0].first == "w");

  // A dataset declaring 2^30 x 1024 floats that the file does not store: an error naming it,
  // before any allocation (was a 4 TB allocation).
  file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const std::vector<hsize_t> dims = {hsize_t{1} << 30, 1024};
  const hid_t space = H5Screate_simple(2, dims.data(), nullptr);
  const hid_t dset = H5Dcreate2(file, "huge", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(dset >= 0);
  H5Dclose(dset);
  H5Sclose(space);
  H5Fclose(file);
  const std::string error = error_of([&] { load_tensors(path); });
  CHECK(error.find("'huge' declares shape [1073741824, 1024]") != std::string::npos);
  CHECK(error.find("stores 0 bytes") != std::string::npos);
}
