// conflux_fuzz_seeds OUT: writes valid inputs for every fuzz target into OUT/<target>/, each made
// by the library's own writers (so a seed is exactly what Conflux or its generators produce)
// or spelled out here for the text formats. fuzz/make_corpus.sh runs it at fuzz time; nothing
// it writes is committed.
#include <spng.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "apps/common/cli.h"
#include "core/generator.h"
#include "data/d4rl/d4rl_file.h"
#include "data/detail/png.h"
#include "data/image/encode.h"
#include "data/lm/dictionary.h"
#include "data/lm/token_file.h"
#include "data/lra/generate.h"
#include "nn/checkpoint.h"
#include "nn/safetensors.h"
#include "ops/creation.h"

namespace fs = std::filesystem;
using namespace cfx;

namespace {

fs::path out_root;

fs::path seed(const std::string& target, const std::string& name) {
  fs::create_directories(out_root / target);
  return out_root / target / name;
}

void write(const std::string& target, const std::string& name, std::string_view bytes) {
  std::ofstream out(seed(target, name), std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

uint32_t next(uint64_t& state) {  // a small LCG: seeds need variety, not quality
  state = state * 6364136223846793005ull + 1442695040888963407ull;
  return static_cast<uint32_t>(state >> 33);
}

// A PNG of any IHDR through libspng (the library's own writer does 8-bit gray only).
std::string encode_png(uint32_t w, uint32_t h, uint8_t color_type, uint8_t bit_depth, const std::vector<uint8_t>& raw,
                       const std::vector<spng_plte_entry>& palette = {}) {
  spng_ctx* ctx = spng_ctx_new(SPNG_CTX_ENCODER);
  spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1);
  spng_ihdr ihdr{};
  ihdr.width = w, ihdr.height = h, ihdr.bit_depth = bit_depth, ihdr.color_type = color_type;
  spng_set_ihdr(ctx, &ihdr);
  if (!palette.empty()) {
    spng_plte plte{};
    plte.n_entries = static_cast<uint32_t>(palette.size());
    for (size_t i = 0; i < palette.size(); ++i) plte.entries[i] = palette[i];
    spng_set_plte(ctx, &plte);
  }
  int err = spng_encode_image(ctx, raw.data(), raw.size(), SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE);
  size_t len = 0;
  void* png = err ? nullptr : spng_get_png_buffer(ctx, &len, &err);
  spng_ctx_free(ctx);
  if (!png) {
    std::cerr << "conflux_fuzz_seeds: PNG encoding failed: " << spng_strerror(err) << "\n";
    std::exit(1);
  }
  std::string bytes(static_cast<const char*>(png), len);
  std::free(png);
  return bytes;
}

void lra() {
  Generator gen(1);
  data::ListOpsOptions opts;
  opts.max_depth = 3, opts.max_args = 4, opts.min_length = 5, opts.max_length = 60;
  data::write_listops_tsv(seed("lra_listops_tsv", "generated.tsv"), data::generate_listops_examples(6, opts, gen));
  write("lra_listops_tsv", "columns.tsv", "id\tTarget\tSource\n7\t3\t( [MAX 1 3 ( [MIN 4 5 ] ) ] )\n\n8\t9\t[SM 9 ]\r\n");

  write("lra_aan_tsv", "pairs.tsv",
        "1\tpaper1\tpaper2\tWe study flows.\tConservation of flow.\n"
        "0.0\ta\tb\t\t\xe2\x80\x94 bytes \xff\n\n1.0\tx\ty\tshort\tlonger text here\r\n");

  std::string cifar;
  uint64_t state = 3;
  for (int r = 0; r < 2; ++r) {
    cifar.push_back(static_cast<char>(r == 0 ? 3 : 9));
    for (int i = 0; i < 3 * 1024; ++i) cifar.push_back(static_cast<char>(next(state) & 0xff));
  }
  write("lra_cifar_bin", "two_records.bin", cifar);

  // Pathfinder: a generated image as the PNG seed, and the tree reader's metadata lines.
  data::PathfinderOptions popts;
  const data::PathfinderImage image = data::generate_pathfinder_image(1, popts, gen);
  data::detail::write_gray_png(seed("gray_png", "pathfinder.png"), image.pixels.data(), 32, 32);
  const std::string png = read(seed("gray_png", "pathfinder.png"));
  write("lra_pathfinder", "default_image.txt", "imgs/0 sample_0.png 0 1\nimgs/0 sample_0.png 1 0 extra fields\n");
  write("lra_pathfinder", "with_image.bin", "imgs/0 sample_0.png 0 1\n" + std::string(1, '\0') + png);
  write("lra_pathfinder", "empty_image.bin", std::string("imgs/0 sample_0.png 0 0\n\0", 25));
}

void uea() {
  write("uea_ts", "multivariate.ts",
        "# a comment\n@problemName Fuzz\n@timeStamps false\n@missing true\n@univariate false\n@dimensions 2\n"
        "@equalLength true\n@seriesLength 4\n@classLabel true Walking Running\n@data\n"
        "1.5,2,?,4:0.1,0.2,0.3,NaN:walking\n-1e3,2.5e-1,3,4:5,6,7,8:Running\n");
  write("uea_ts", "unequal.ts",
        "@problemName U\n@timeStamps false\n@univariate true\n@equalLength false\n@classLabel true 1 2 3\n@data\n"
        "1,2,3:1\n4,5:2\n?,?,?,?,7:3\n");
  write("uea_arff", "univariate.arff",
        "% per-dimension file\n@relation Fuzz_channel_0\n@attribute t0 numeric\n@attribute t1 real\n"
        "@attribute t2 INTEGER\n@attribute cortical {negativity,'positivity'}\n@data\n1,2,3,negativity\n"
        "?,5.5,-6,positivity\n");
  write("uea_arff", "relational.arff",
        "@RELATION Fuzz\n@ATTRIBUTE series relational\n  @attribute t0 numeric\n  @attribute t1 numeric\n"
        "@end series\n@attribute classAttribute {a,b}\n@DATA\n'1,2\\n3,4',a\n\"5,?\\n7,8\",b\n");
}

void lm(const fs::path& wikitext) {
  const fs::path text = seed("lm_tokens", "text.tmp");
  {
    std::ofstream out(text, std::ios::binary);
    if (!wikitext.empty()) {
      std::ifstream in(wikitext, std::ios::binary);
      std::string line;
      for (int i = 0; i < 40 && std::getline(in, line); ++i) out << line << '\n';
    } else {
      out << " = Flowformer = \n\n The flow is conserved , and the flow is <unk> .\n\xc2\xa0 spaces\xe3\x80\x80here\r\n";
    }
  }
  const data::lm::Dictionary dict = data::lm::build_dictionary({text});
  dict.save(seed("lm_dict", "dict.txt"));
  write("lm_dict", "overwrite.txt", "the 10\nflow 3 #fairseq:overwrite\nthe 12 #fairseq:overwrite\n<unk> 1 #fairseq:overwrite\n");
  data::lm::binarize(text, dict, seed("lm_tokens", "tokens.bin"));
  data::lm::Dictionary big;  // > 65536 entries: 4 bytes per id
  for (int i = 0; i < 65540; ++i) big.add("w" + std::to_string(i));
  data::lm::binarize(text, big, seed("lm_tokens", "tokens32.bin"));
  fs::remove(text);
}

void hdf5() {
  data::d4rl::D4rlDataset d;
  const int64_t n = 6;
  d.obs_dim = 3, d.act_dim = 2, d.nq = 2, d.nv = 1;
  for (int64_t i = 0; i < n * 3; ++i) d.observations.push_back(0.5f * static_cast<float>(i));
  for (int64_t i = 0; i < n * 2; ++i) d.actions.push_back(-0.25f * static_cast<float>(i));
  for (int64_t i = 0; i < n; ++i) d.rewards.push_back(1.0f);
  d.terminals = {0, 0, 1, 0, 0, 0};
  d.timeouts = {0, 0, 0, 0, 0, 1};
  data::d4rl::write_d4rl(d, seed("d4rl_hdf5", "minimal.hdf5"));
  d.next_observations = d.observations;
  d.qpos.assign(static_cast<size_t>(n * d.nq), 0.125);
  d.qvel.assign(static_cast<size_t>(n * d.nv), -2.0);
  data::d4rl::write_d4rl(d, seed("d4rl_hdf5", "full.hdf5"));

  nn::save_tensors({{"encoder.weight", arange(0.0, 6.0).reshape({2, 3})},
                    {"encoder.bias", tensor(std::vector<double>{1.5, -2.5}, {2})},
                    {"optimizer/state.0.step", tensor(std::vector<int64_t>{7}, {1})},
                    {"optimizer/param_groups.0.lr", scalar_tensor(1e-3, {kFloat64})},
                    {"ids", tensor(std::vector<int32_t>{1, 2, 3}, {3})},
                    {"empty", zeros({0, 4})}},
                   seed("checkpoint_hdf5", "tensors.h5"));
}

void images() {
  data::Image rgb(6, 5, 3);
  uint64_t state = 11;
  for (uint8_t& p : rgb.pixels) p = static_cast<uint8_t>(next(state));
  write("image_decode", "rgb.jpg", data::encode_jpeg(rgb, 90));
  write("image_decode", "rgb_q20.jpg", data::encode_jpeg(rgb, 20));
  std::vector<uint8_t> raw(5 * 6 * 3);
  for (uint8_t& p : raw) p = static_cast<uint8_t>(next(state));
  write("image_decode", "rgb8.png", encode_png(5, 6, SPNG_COLOR_TYPE_TRUECOLOR, 8, raw));
  std::vector<uint8_t> gray16(4 * 3 * 2);
  for (uint8_t& p : gray16) p = static_cast<uint8_t>(next(state));
  write("image_decode", "gray16.png", encode_png(4, 3, SPNG_COLOR_TYPE_GRAYSCALE, 16, gray16));
  std::vector<uint8_t> rgba16(3 * 3 * 8);
  for (uint8_t& p : rgba16) p = static_cast<uint8_t>(next(state));
  write("image_decode", "rgba16.png", encode_png(3, 3, SPNG_COLOR_TYPE_TRUECOLOR_ALPHA, 16, rgba16));
  write("image_decode", "palette2.png",
        encode_png(4, 4, SPNG_COLOR_TYPE_INDEXED, 2, {0x1b, 0x1b, 0xe4, 0x40},
                   {{255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255}, {9, 9, 9, 255}}));
  write("image_decode", "gray1.png", encode_png(9, 2, SPNG_COLOR_TYPE_GRAYSCALE, 1, {0xa5, 0x80, 0x5a, 0x00}));
}

void safetensors() {
  nn::save_tensors_safetensors({{"encoder.weight", arange(0.0, 6.0).reshape({2, 3}).to(kFloat32)},
                                {"encoder.bias", tensor(std::vector<double>{1.5, -2.5}, {2})},
                                {"step", tensor(std::vector<int64_t>{7}, {1})},
                                {"ids", tensor(std::vector<int32_t>{1, 2, 3}, {3})},
                                {"empty", zeros({0, 4})},
                                {"scalar", scalar_tensor(0.5, {kFloat32})}},
                               seed("safetensors", "mixed.safetensors"), {{"format", "pt"}});
  // F16 and BF16 (the library reads them, never writes them), spelled out as the spec says:
  // 1.0 and -2.0 in each, little-endian, after a header padded with spaces to 8 bytes.
  std::string header = R"({"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},)"
                       R"("b":{"dtype":"BF16","shape":[2],"data_offsets":[4,8]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  bytes += header;
  bytes += std::string("\x00\x3c\x00\xc0", 4);  // F16 1.0, -2.0
  bytes += std::string("\x80\x3f\x00\xc0", 4);  // BF16 1.0, -2.0
  write("safetensors", "half.safetensors", bytes);
}

void json() {
  write("json_object", "config.json",
        app::to_json({{"lr", 1e-3}, {"steps", int64_t{2000}}, {"resume", true}, {"data", std::string("../d\"a\\t\n")},
                      {"seed", nullptr}, {"loss", -1.5e-300}}));
  write("json_object", "state.json", "{ \"step\": 12, \"epoch\": 0, \"best\": 0.5, \"path\": \"run/\\u0041\\u00e9\" }\n");
  write("json_object", "empty.json", "{}");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4) {
    std::cerr << "usage: conflux_fuzz_seeds OUT [--wikitext FILE]\n";
    return 2;
  }
  out_root = argv[1];
  const fs::path wikitext = argc == 4 && std::string(argv[2]) == "--wikitext" ? fs::path(argv[3]) : fs::path();
  try {
    lra();
    uea();
    lm(wikitext);
    hdf5();
    images();
    safetensors();
    json();
  } catch (const Error& e) {
    std::cerr << "conflux_fuzz_seeds: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
