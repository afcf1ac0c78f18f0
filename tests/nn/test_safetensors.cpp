// safetensors files (nn/safetensors.h): a model round trip, files built byte by byte from the
// spec, our bytes against the reference writer's own unit-test vectors (safetensors'
// Rust core, tensor.rs: test_serialization, test_serialization_forced_alignement, test_empty)
// since no Python safetensors is installed here, every damaged-file error, metadata, strict
// and non-strict loading, and random mutations that must load or throw cfx::Error.
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <random>

#include "testing.h"

// An independent JSON reader for checking the headers we write (header-only).
#include <nlohmann/json.hpp>

using namespace cfx;
using namespace cfx::nn;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path dir = fs::temp_directory_path() / ("conflux_test_safetensors_" + std::to_string(::getpid()));
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

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string u64_le(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(n >> (8 * i));
  return s;
}

template <class T>
std::string raw(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

// A file per the spec: u64 N, the JSON padded with spaces to 8 bytes, the data.
std::string spec_file(std::string header, const std::string& data) {
  header.append((8 - header.size() % 8) % 8, ' ');
  return u64_le(header.size()) + header + data;
}

// The two-tensor example: "weight" F32 [2, 2] then "bias" I64 [2].
const std::vector<float> kWeight = {1.5f, -2.25f, 3.0f, 1e-30f};
const std::vector<int64_t> kBias = {-7, int64_t(1) << 40};
const std::string kExampleHeader =
    R"({"weight":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},)"
    R"("bias":{"dtype":"I64","shape":[2],"data_offsets":[16,32]}})";
std::string example_data() { return raw(kWeight) + raw(kBias); }

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

// Parameters and buffers of every dtype Conflux has: keys "lin.weight", "lin.bias", "scale"
// (float64), "steps" (int64), "ids" (int32), "bytes" (uint8), "mask" (bool).
struct Mixed : Module {
  explicit Mixed(int64_t out = 3) : Module("Mixed") {
    lin = register_module("lin", std::make_shared<Linear>(2, out));
    scale = register_parameter("scale", tensor(std::vector<double>{0.1, 0.2}, {2}));
    steps = register_buffer("steps", tensor(std::vector<int64_t>{5}, {}));
    ids = register_buffer("ids", tensor(std::vector<int32_t>{1, -2, 3}, {3}));
    bytes = register_buffer("bytes", tensor(std::vector<uint8_t>{0, 255}, {2}));
    mask = register_buffer("mask", tensor(std::vector<uint8_t>{1, 0, 1}, {3}).to(kBool));
  }
  std::shared_ptr<Linear> lin;
  Tensor scale, steps, ids, bytes, mask;
};

std::string bytes_of(const Tensor& t) {
  const Tensor c = t.detach().cpu().contiguous();
  return std::string(static_cast<const char*>(c.raw_data()), c.numel() * itemsize(c.dtype()));
}

Tensor& entry(StateDict& state, const std::string& key) {
  const auto it = std::find_if(state.begin(), state.end(), [&](const auto& kv) { return kv.first == key; });
  REQUIRE_MESSAGE(it != state.end(), "no key ", key);
  return it->second;
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("safetensors: a model round trips bit-identical under PyTorch keys") {
  const fs::path path = temp_path("model.safetensors");
  auto a = tiny_classifier(1), b = tiny_classifier(2);
  a->eval(), b->eval();
  save_safetensors(*a, path);
  CHECK(!fs::exists(fs::path(path.string() + ".tmp")));
  const StateDict file = load_tensors_safetensors(path);
  const StateDict want = a->state_dict();
  REQUIRE(file.size() == want.size());
  bool has_query = false;
  for (const auto& [key, t] : file) has_query = has_query || key == "layers.0.attn.query_projection.weight";
  CHECK(has_query);

  load_safetensors(*b, path);
  const StateDict got = b->state_dict();
  for (size_t i = 0; i < want.size(); ++i) {
    CHECK(got[i].first == want[i].first);
    CHECK_MESSAGE(bytes_of(got[i].second) == bytes_of(want[i].second), want[i].first);
  }
  Tensor tokens = randint(0, 11, {3, 6});
  CHECK(bytes_of(a->forward(tokens)) == bytes_of(b->forward(tokens)));
  CHECK(load_safetensors_metadata(path) == SafetensorsMetadata{{"format", "pt"}});
}

TEST_CASE("safetensors: every Conflux dtype round trips, non-contiguous tensors are saved row-major") {
  const fs::path path = temp_path("mixed.safetensors");
  Mixed a, b;
  {
    NoGradGuard no_grad;
    a.lin->weight.copy_(tensor(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3}).t());  // a transposed view's values
    b.steps.fill_(0), b.ids.fill_(0), b.bytes.fill_(0), b.mask.fill_(0);
  }
  save_safetensors(a, path);
  load_safetensors(b, path);
  const StateDict want = a.state_dict(), got = b.state_dict();
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) CHECK_MESSAGE(bytes_of(got[i].second) == bytes_of(want[i].second), want[i].first);
  CHECK(b.steps.dtype() == kInt64);
  CHECK(b.mask.dtype() == kBool);

  // A non-contiguous view and a scalar and an empty tensor through the tensor-level API.
  Tensor m = tensor(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  save_tensors_safetensors({{"t", m.t()}, {"s", scalar_tensor(2.5)}, {"e", zeros({0, 4})}}, path);
  const StateDict back = load_tensors_safetensors(path);  // name order: e, s, t
  REQUIRE(back.size() == 3);
  CHECK(back[0].second.shape() == Shape{0, 4});
  CHECK(back[1].second.shape() == Shape{});
  CHECK(back[1].second.item<float>() == 2.5f);
  CHECK(back[2].second.shape() == Shape{3, 2});
  CHECK(to_vector<float>(back[2].second) == std::vector<float>{1, 4, 2, 5, 3, 6});
}

TEST_CASE("safetensors: a model on CUDA saves through the CPU and loads back onto CUDA") {
  if (!cuda::is_available()) {
    MESSAGE("SKIPPED: no CUDA device: ", cuda::unavailable_reason());
    return;
  }
  const fs::path path = temp_path("cuda.safetensors");
  auto a = tiny_classifier(1), b = tiny_classifier(2);
  a->to(Device::cuda()), b->to(Device::cuda());
  save_safetensors(*a, path);
  load_safetensors(*b, path);
  const StateDict want = a->state_dict(), got = b->state_dict();
  for (size_t i = 0; i < want.size(); ++i) {
    CHECK(got[i].second.device() == Device::cuda());
    CHECK_MESSAGE(bytes_of(got[i].second) == bytes_of(want[i].second), want[i].first);
  }
  Tensor m = randn({3, 4}).to(Device::cuda());
  save_tensors_safetensors({{"t", m.t()}}, path);  // non-contiguous, on the GPU
  CHECK(bytes_of(load_tensors_safetensors(path)[0].second) == bytes_of(m.t()));
}

TEST_CASE("safetensors: a file built byte by byte from the spec loads to the exact values") {
  const fs::path path = temp_path("spec.safetensors");
  write_bytes(path, spec_file(kExampleHeader, example_data()));
  const StateDict t = load_tensors_safetensors(path);  // name order
  REQUIRE(t.size() == 2);
  CHECK(t[0].first == "bias");
  CHECK(t[0].second.dtype() == kInt64);
  CHECK(t[0].second.shape() == Shape{2});
  CHECK(to_vector<int64_t>(t[0].second) == kBias);
  CHECK(t[1].first == "weight");
  CHECK(t[1].second.dtype() == kFloat32);
  CHECK(t[1].second.shape() == Shape{2, 2});
  CHECK(to_vector<float>(t[1].second) == kWeight);
  CHECK(load_safetensors_metadata(path).empty());

  // Unpadded headers and any order of entries are valid too.
  write_bytes(path, u64_le(kExampleHeader.size()) + kExampleHeader + example_data());
  CHECK(to_vector<float>(load_tensors_safetensors(path)[1].second) == kWeight);
}

TEST_CASE("safetensors: F16 and BF16 load as float32 exactly; other dtypes Conflux lacks are refused by name") {
  const fs::path path = temp_path("half.safetensors");
  // F16: 1, -2, 65504 (max), 2^-24 (smallest subnormal), 2^-14 (smallest normal), -0, +inf.
  const std::vector<uint16_t> f16 = {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x0400, 0x8000, 0x7C00};
  // BF16: 1, -3.5, 2^-133 (subnormal).
  const std::vector<uint16_t> bf16 = {0x3F80, 0xC060, 0x0001};
  write_bytes(path, spec_file(R"({"h":{"dtype":"F16","shape":[7],"data_offsets":[0,14]},)"
                              R"("b":{"dtype":"BF16","shape":[3],"data_offsets":[14,20]}})",
                              raw(f16) + raw(bf16)));
  const StateDict t = load_tensors_safetensors(path);
  REQUIRE(t.size() == 2);
  CHECK(t[0].second.dtype() == kFloat32);
  CHECK(to_vector<float>(t[0].second) == std::vector<float>{1.0f, -3.5f, std::ldexp(1.0f, -133)});
  const auto h = to_vector<float>(t[1].second);
  CHECK(h == std::vector<float>{1.0f, -2.0f, 65504.0f, std::ldexp(1.0f, -24), std::ldexp(1.0f, -14), -0.0f,
                                std::numeric_limits<float>::infinity()});
  CHECK(std::signbit(h[5]));

  write_bytes(path, spec_file(R"({"x":{"dtype":"I16","shape":[2],"data_offsets":[0,4]}})", std::string(4, '\0')));
  CHECK(load_safetensors_metadata(path).empty());  // the header itself is valid
  const std::string e = error_of([&] { load_tensors_safetensors(path); });
  CHECK(e.find("tensor 'x' has dtype I16, which Conflux has no type for") != std::string::npos);
  CHECK(e.find(path.string()) != std::string::npos);
}

TEST_CASE("safetensors: our bytes are the reference writer's (its unit-test vectors)") {
  const fs::path path = temp_path("ref.safetensors");
  const std::string data = raw(std::vector<float>{0, 1, 2, 3, 4, 5});
  Tensor v = tensor(std::vector<float>{0, 1, 2, 3, 4, 5}, {1, 2, 3});

  save_tensors_safetensors({{"attn.0", v}}, path);  // test_serialization: a 64-byte header, no padding
  CHECK(read_bytes(path) == u64_le(64) + R"({"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}})" + data);

  save_tensors_safetensors({{"attn0", v.reshape({1, 1, 2, 3})}}, path);  // test_serialization_forced_alignement
  CHECK(read_bytes(path) ==
        u64_le(72) + R"({"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}})" + std::string(7, ' ') + data);

  save_tensors_safetensors({}, path);  // test_empty
  CHECK(read_bytes(path) == u64_le(8) + "{}" + std::string(6, ' '));
  save_tensors_safetensors({}, path, {{"framework", "pt"}});
  CHECK(read_bytes(path) == u64_le(40) + R"({"__metadata__":{"framework":"pt"}})" + std::string(5, ' '));
}

TEST_CASE("safetensors: a saved model file follows the spec, checked with an independent JSON reader") {
  const fs::path path = temp_path("layout.safetensors");
  Mixed m;
  save_safetensors(m, path, {{"note", "hello, wörld"}});
  const std::string file = read_bytes(path);
  REQUIRE(file.size() >= 8);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(file[i]);
  CHECK(n % 8 == 0);
  REQUIRE(8 + n <= file.size());
  const std::string text = file.substr(8, n);
  CHECK(text.front() == '{');
  CHECK(text.find_last_not_of(' ') == text.rfind('}'));  // only spaces after the JSON
  const auto header = nlohmann::json::parse(text);
  CHECK(header["__metadata__"] == nlohmann::json({{"format", "pt"}, {"note", "hello, wörld"}}));
  const std::map<std::string, std::string> dtypes = {{"lin.weight", "F32"}, {"lin.bias", "F32"}, {"scale", "F64"},
                                                     {"steps", "I64"},      {"ids", "I32"},      {"bytes", "U8"},
                                                     {"mask", "BOOL"}};
  CHECK(header.size() == dtypes.size() + 1);
  std::vector<std::pair<uint64_t, uint64_t>> spans;
  for (const auto& [key, t] : m.state_dict()) {
    INFO(key);
    REQUIRE(header.contains(key));
    const auto& e = header[key];
    CHECK(e["dtype"] == dtypes.at(key));
    CHECK(e["shape"].get<std::vector<int64_t>>() == t.shape());
    const uint64_t begin = e["data_offsets"][0], end = e["data_offsets"][1];
    CHECK(begin % itemsize(t.dtype()) == 0);  // aligned to its element size
    CHECK(file.substr(8 + n + begin, end - begin) == bytes_of(t));
    spans.emplace_back(begin, end);
  }
  std::sort(spans.begin(), spans.end());
  uint64_t at = 0;
  for (const auto& [b, e] : spans) {
    CHECK(b == at);
    at = e;
  }
  CHECK(8 + n + at == file.size());
}

TEST_CASE("safetensors: metadata round trips") {
  const fs::path path = temp_path("meta.safetensors");
  const SafetensorsMetadata meta = {{"format", "np"}, {"epoch", "12"}, {"", "empty key"}, {"quote\"s", "line\nbreak"}};
  save_safetensors(Mixed(), path, meta);
  CHECK(load_safetensors_metadata(path) == meta);  // the caller's "format" is kept
  save_tensors_safetensors({{"x", zeros({2})}}, path);
  CHECK(load_safetensors_metadata(path).empty());
}

TEST_CASE("safetensors: strict and non-strict loading name every bad key and change nothing on error") {
  const fs::path path = temp_path("strict.safetensors");
  Mixed src;
  save_safetensors(src, path);
  Mixed wider(4);  // lin.weight [4, 2] and lin.bias [4] vs the file's [3, 2] and [3]
  const std::string before = bytes_of(wider.scale);
  std::string e = error_of([&] { load_safetensors(wider, path); });
  CHECK(e.find(path.string()) != std::string::npos);
  CHECK(e.find("shape mismatch for 'lin.weight': file [3, 2] vs module [4, 2]") != std::string::npos);
  CHECK(e.find("shape mismatch for 'lin.bias'") != std::string::npos);
  CHECK(bytes_of(wider.scale) == before);
  CHECK(!error_of([&] { load_safetensors(wider, path, false); }).empty());  // shapes are checked either way

  // A file with one key missing and one unexpected.
  StateDict tensors = src.state_dict();
  std::erase_if(tensors, [](const auto& kv) { return kv.first == "scale"; });
  tensors.emplace_back("extra.weight", ones({2}));
  save_tensors_safetensors(tensors, path);
  Mixed dst;
  e = error_of([&] { load_safetensors(dst, path); });
  CHECK(e.find("missing key 'scale' (module shape [2])") != std::string::npos);
  CHECK(e.find("unexpected key 'extra.weight' (file shape [2])") != std::string::npos);
  CHECK(e.find("2 problem(s)") != std::string::npos);
  load_safetensors(dst, path, false);  // takes what matches, leaves "scale" as it was
  CHECK(bytes_of(dst.lin->weight) == bytes_of(src.lin->weight));

  // dtypes: floats convert among themselves, other dtypes must match.
  tensors = src.state_dict();
  entry(tensors, "scale") = src.scale.to(kFloat32);            // F32 into a float64 parameter: converted
  entry(tensors, "steps") = tensor(std::vector<double>{5}, {});  // F64 into the int64 buffer: refused
  save_tensors_safetensors(tensors, path);
  e = error_of([&] { load_safetensors(dst, path); });
  CHECK(e.find("dtype mismatch for 'steps': file F64 vs module int64") != std::string::npos);
  CHECK(e.find("'scale'") == std::string::npos);
  entry(tensors, "steps") = src.steps;
  save_tensors_safetensors(tensors, path);
  load_safetensors(dst, path);
  CHECK(dst.scale.dtype() == kFloat64);
}

TEST_CASE("safetensors: a failed save leaves the previous file intact and no temporary") {
  const fs::path path = temp_path("atomic.safetensors");
  save_tensors_safetensors({{"x", ones({2})}}, path);
  const std::string before = read_bytes(path);
  CHECK(error_of([&] { save_tensors_safetensors({{"x", ones({2})}, {"x", zeros({2})}}, path); }).find("'x' appears twice") !=
        std::string::npos);
  CHECK(error_of([&] { save_tensors_safetensors({{"__metadata__", ones({2})}}, path); }).find("may not be named") !=
        std::string::npos);
  CHECK(error_of([&] { save_tensors_safetensors({{"bad\xff", ones({2})}}, path); }).find("not valid UTF-8") !=
        std::string::npos);
  CHECK(read_bytes(path) == before);
  CHECK(!fs::exists(fs::path(path.string() + ".tmp")));
}

TEST_CASE("safetensors: damaged files each fail with an error naming the file and the problem") {
  const fs::path path = temp_path("bad.safetensors");
  const std::string data = example_data();
  auto error_for = [&](const std::string& bytes) {
    write_bytes(path, bytes);
    return error_of([&] { load_tensors_safetensors(path); });
  };
  auto header = [&](const std::string& json, const std::string& d) { return error_for(spec_file(json, d)); };
  const std::string w = R"("weight":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]})";
  struct Case {
    const char* what;
    std::string error;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {"truncated to 5 bytes", error_for(std::string("\x10\0\0\0\0", 5)), "5 bytes, too short for the 8-byte header length"},
      {"truncated in the data", error_for(spec_file(kExampleHeader, data).substr(0, spec_file(kExampleHeader, data).size() - 12)), "run past the data region"},
      {"N larger than the file", error_for(u64_le(1000) + "{}"), "the header length 1000 runs past the end of the file (10 bytes"},
      {"N = 0", error_for(u64_le(0) + "{}"), "the header length is 0"},
      {"N over the limit", error_for(u64_le(uint64_t(1) << 62) + "{}"), "is over the limit of 100000000 bytes"},
      {"not JSON", header("{weight: 1}", ""), "the header is not valid JSON"},
      {"NUL padding", error_for(u64_le(8) + std::string("{}\0\0\0\0\0\0", 8)), "the header has a NUL byte at offset 2"},
      {"not an object", header(R"(["weight"])", ""), "the header must start with '{', got '['"},
      {"entry not an object", header(R"({"weight":[1]})", ""), "tensor 'weight': expected an object"},
      {"no dtype", header(R"({"weight":{"shape":[2],"data_offsets":[0,8]}})", data), "tensor 'weight' has no \"dtype\""},
      {"unknown dtype", header(R"({"weight":{"dtype":"F17","shape":[4],"data_offsets":[0,16]}})", raw(kWeight)),
       "tensor 'weight' has the unknown dtype \"F17\""},
      {"negative dim", header(R"({"weight":{"dtype":"F32","shape":[-2,-2],"data_offsets":[0,16]}})", raw(kWeight)),
       "tensor 'weight': dimension 0 of shape [-2,-2] is negative: -2"},
      {"fractional dim", header(R"({"weight":{"dtype":"F32","shape":[2.0,2],"data_offsets":[0,16]}})", raw(kWeight)),
       "must be a non-negative integer, got 2.0"},
      {"shape overflow", header(R"({"weight":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,16]}})", raw(kWeight)),
       "shape [4294967296,4294967296,16] of F32 overflows 64 bits"},
      {"wrong byte count", header(R"({"weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,16]}})", raw(kWeight)),
       "tensor 'weight': dtype F32 and shape [2,3] need 24 bytes, but data_offsets [0,16] span 16"},
      {"offsets not a pair", header(R"({"weight":{"dtype":"F32","shape":[4],"data_offsets":[0,8,16]}})", raw(kWeight)),
       "\"data_offsets\" must be [begin, end], got [0,8,16]"},
      {"end before begin", header(R"({"weight":{"dtype":"F32","shape":[0],"data_offsets":[16,0]}})", raw(kWeight)),
       "data_offsets [16,0] end before they begin"},
      {"offsets out of range", header("{" + w + R"(,"bias":{"dtype":"I64","shape":[2],"data_offsets":[24,40]}})", data),
       "tensor 'bias': data_offsets [24, 40] run past the data region, which is 32 bytes"},
      {"overlap", header("{" + w + R"(,"bias":{"dtype":"I64","shape":[2],"data_offsets":[8,24]}})", data.substr(0, 24)),
       "tensors 'weight' [0, 16) and 'bias' [8, 24) overlap"},
      {"hole", header("{" + w + R"(,"bias":{"dtype":"I64","shape":[1],"data_offsets":[24,32]}})", data),
       "bytes [16, 24) of the data region belong to no tensor (a hole after 'weight', before 'bias')"},
      {"hole at the start", header(R"({"bias":{"dtype":"I64","shape":[1],"data_offsets":[8,16]}})", raw(kBias)),
       "bytes [0, 8) of the data region belong to no tensor (a hole at the start"},
      {"trailing bytes", header("{" + w + "}", data), "the data region is 32 bytes but the tensors cover 16"},
      {"duplicate key", header("{" + w + "," + w + "}", raw(kWeight)), "the header has the key 'weight' twice"},
      {"duplicate field", header(R"({"weight":{"dtype":"F32","dtype":"F32","shape":[4],"data_offsets":[0,16]}})", raw(kWeight)),
       "the header has the key 'dtype' twice"},
      {"metadata not strings", header(R"({"__metadata__":{"epoch":3}})", ""), "must map strings to strings; 'epoch' is 3"},
  };
  for (const Case& c : cases) {
    INFO(c.what, ": ", c.error);
    CHECK(c.error.find(c.expected) != std::string::npos);
    CHECK(c.error.find(path.string()) != std::string::npos);
  }
  CHECK(error_of([&] { load_tensors_safetensors(temp_path("absent.safetensors")); }).find("no file at") != std::string::npos);
}

TEST_CASE("safetensors: 2000 random mutations of a valid file each load or throw cfx::Error") {
  const fs::path path = temp_path("fuzz.safetensors");
  save_tensors_safetensors({{"a", tensor(std::vector<float>{1, 2, 3, 4}, {2, 2})},
                            {"b", tensor(std::vector<int64_t>{5, 6}, {2})},
                            {"c", tensor(std::vector<uint8_t>{1, 0, 1}, {3}).to(kBool)}},
                           path, {{"k", "v"}});
  const std::string valid = read_bytes(path);
  const uint64_t n = static_cast<unsigned char>(valid[0]);  // the header is under 256 bytes
  std::mt19937_64 rng(17);
  auto below = [&](uint64_t k) { return std::uniform_int_distribution<uint64_t>(0, k - 1)(rng); };
  const std::string json_chars = "0123456789-+.,:[]{}\" eE\\tfnu";
  int loaded = 0, refused = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string m = valid;
    const int kind = static_cast<int>(below(5));
    for (int k = 0, edits = 1 + static_cast<int>(below(3)); k < edits; ++k) {
      if (m.empty()) break;
      if (kind == 0) m[below(m.size())] = static_cast<char>(below(256));                       // any byte
      else if (kind == 1) m[below(m.size())] ^= static_cast<char>(1 << below(8));              // one bit
      else if (kind == 2) m[8 + below(std::min<uint64_t>(n, m.size() - 8))] = json_chars[below(json_chars.size())];  // JSON
      else if (kind == 3) m.resize(below(m.size()));                                           // truncate
      else m.insert(below(m.size()), 1, json_chars[below(json_chars.size())]);                 // insert
    }
    write_bytes(path, m);
    try {
      const StateDict t = load_tensors_safetensors(path);
      for (const auto& [key, v] : t) (void)bytes_of(v);
      load_safetensors_metadata(path);
      ++loaded;
    } catch (const Error&) {
      ++refused;
    }  // anything else escapes and fails the test
  }
  MESSAGE("mutations: ", loaded, " loaded, ", refused, " refused with cfx::Error");
  CHECK(loaded + refused == 2000);
  CHECK(refused > 1000);
}
