// TensorDict and stack_samples: fields by name, stacking any dtype, padded sequence fields
// with their masks (values and masks checked by hand), and every error naming what is wrong.
#include "data/tensor_dict.h"

#include "data_helpers.h"
#include "ops/creation.h"

using namespace cfx;
using namespace cfx::data;
using cfx::testing::check_error;

TEST_CASE("TensorDict: fields in insertion order, set replaces in place, at() names what is missing") {
  TensorDict d{{"x", zeros({2, 3})}, {"target", tensor(std::vector<int64_t>{4, 5}, {2})}};
  CHECK(d.keys() == std::vector<std::string>{"x", "target"});
  CHECK(d.size() == 2);
  CHECK(d.batch_size() == 2);
  d.set("x", ones({2, 4}));
  CHECK(d.keys() == std::vector<std::string>{"x", "target"});
  CHECK(d.at("x").shape() == Shape{2, 4});
  CHECK(d.contains("target"));
  CHECK_FALSE(d.contains("mask"));
  check_error([&] { d.at("mask"); }, {"no field 'mask'", "x, target"});
  d.set("odd", zeros({3}));
  check_error([&] { d.batch_size(); }, {"field 'odd'", "[3]", "2 rows"});
  check_error([&] { d.set("none", Tensor()); }, {"'none'", "undefined"});
  CHECK(TensorDict().batch_size() == 0);
  const TensorDict moved = d.to(Device::cpu());
  CHECK(moved.keys() == d.keys());
}

TEST_CASE("stack_samples stacks every dtype along a new first dimension") {
  std::vector<TensorDict> samples;
  for (int64_t i = 0; i < 3; ++i)
    samples.push_back({{"image", tensor(std::vector<uint8_t>{uint8_t(i), uint8_t(10 + i)}, {2})},
                       {"x", tensor(std::vector<double>{0.5 * double(i), -1.0, 2.0}, {3, 1})},
                       {"target", tensor(std::vector<int64_t>{100 + i}, {})}});
  const TensorDict b = stack_samples(samples);
  CHECK(b.keys() == std::vector<std::string>{"image", "x", "target"});
  CHECK(b.at("image").dtype() == kUInt8);
  CHECK(b.at("image").shape() == Shape{3, 2});
  CHECK(to_vector<int64_t>(b.at("image").to(kInt64)) == std::vector<int64_t>{0, 10, 1, 11, 2, 12});
  CHECK(b.at("x").dtype() == kFloat64);
  CHECK(b.at("x").shape() == Shape{3, 3, 1});
  CHECK(to_vector<double>(b.at("x")) == std::vector<double>{0, -1, 2, 0.5, -1, 2, 1, -1, 2});
  CHECK(to_vector<int64_t>(b.at("target")) == std::vector<int64_t>{100, 101, 102});
  CHECK(b.batch_size() == 3);
}

TEST_CASE("stack_samples pads sequence fields to the longest (or pad_to) and adds <name>_padding") {
  // Two float series [T, 2] of lengths 3 and 1, a token field of lengths 1 and 2.
  std::vector<TensorDict> samples = {
      {{"x", tensor(std::vector<float>{1, 2, 3, 4, 5, 6}, {3, 2})}, {"tok", tensor(std::vector<int32_t>{7}, {1})}},
      {{"x", tensor(std::vector<float>{9, 8}, {1, 2})}, {"tok", tensor(std::vector<int32_t>{5, 6}, {2})}}};
  const TensorDict b = stack_samples(samples, {.pad = {"x", "tok"}, .pad_value = -1});
  CHECK(b.keys() == std::vector<std::string>{"x", "x_padding", "tok", "tok_padding"});
  CHECK(b.at("x").shape() == Shape{2, 3, 2});
  CHECK(to_vector<float>(b.at("x")) == std::vector<float>{1, 2, 3, 4, 5, 6, 9, 8, -1, -1, -1, -1});
  CHECK(to_vector<int64_t>(b.at("x_padding").to(kInt64)) == std::vector<int64_t>{0, 0, 0, 0, 1, 1});
  CHECK(b.at("tok").dtype() == kInt32);
  CHECK(to_vector<int32_t>(b.at("tok")) == std::vector<int32_t>{7, -1, 5, 6});
  CHECK(to_vector<int64_t>(b.at("tok_padding").to(kInt64)) == std::vector<int64_t>{0, 1, 0, 0});

  const TensorDict fixed = stack_samples(samples, {.pad = {"x", "tok"}, .pad_to = 4});
  CHECK(fixed.at("x").shape() == Shape{2, 4, 2});
  CHECK(to_vector<int64_t>(fixed.at("x_padding").to(kInt64)) == std::vector<int64_t>{0, 0, 0, 1, 0, 1, 1, 1});
  check_error([&] { stack_samples(samples, {.pad = {"x", "tok"}, .pad_to = 2}); },
              {"pad_sequences", "sequence 0", "length 3", "pad_to 2"});
}

TEST_CASE("stack_samples and pad_sequences: every mismatch is an error naming field, sample and shapes") {
  const TensorDict a{{"x", zeros({2, 3})}, {"y", zeros({1})}};
  const TensorDict longer{{"x", zeros({4, 3})}, {"y", zeros({1})}};
  const TensorDict other_dtype{{"x", zeros({2, 3}, {kFloat64})}, {"y", zeros({1})}};
  const TensorDict other_fields{{"x", zeros({2, 3})}};
  check_error([&] { stack_samples(std::vector<TensorDict>{a, longer}); },
              {"field 'x'", "sample 1", "[4, 3]", "[2, 3]", "StackOptions::pad"});
  check_error([&] { stack_samples(std::vector<TensorDict>{a, other_dtype}); }, {"field 'x'", "sample 1", "float64"});
  check_error([&] { stack_samples(std::vector<TensorDict>{a, other_fields}); }, {"sample 1", "other fields"});
  check_error([&] { stack_samples(std::vector<TensorDict>{a}, {.pad = {"z"}}); }, {"'z'", "sample 0 lacks"});
  check_error([&] { stack_samples(std::vector<TensorDict>{}); }, {"no samples"});
  check_error([&] { pad_sequences(std::vector<Tensor>{zeros({2, 3}), zeros({2, 4})}); },
              {"sequence 1", "[2, 4]", "first size only", "[2, 3]"});
  check_error([&] { pad_sequences(std::vector<Tensor>{zeros({2}), zeros({2}, {kInt64})}); },
              {"sequence 1", "int64", "float32"});
  check_error([&] { pad_sequences(std::vector<Tensor>{scalar_tensor(1.0)}); }, {"scalar"});
}
