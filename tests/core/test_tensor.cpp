// Tensor core: factories, views (shared storage, strides, offsets), contiguous(), printing.
#include "testing.h"

using namespace cfx;
using cfx::testing::check_values;

TEST_CASE("factories produce the requested shape, dtype and values") {
  Tensor z = zeros({2, 3});
  CHECK(z.shape() == Shape{2, 3});
  CHECK(z.dtype() == kFloat32);
  CHECK(z.device() == Device::cpu());
  CHECK(z.numel() == 6);
  check_values(z, {0, 0, 0, 0, 0, 0});
  check_values(ones({2}, {kFloat64}), {1, 1});
  check_values(full({3}, 2.5), {2.5, 2.5, 2.5});
  Tensor a = arange(5);
  CHECK(a.dtype() == kInt64);
  check_values(a, {0, 1, 2, 3, 4});
  check_values(arange(1.0, 2.0, 0.25, {kFloat64}), {1.0, 1.25, 1.5, 1.75});
  Tensor t = tensor(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(t.dtype() == kFloat64);
  CHECK(to_vector<double>(t) == std::vector<double>{1, 2, 3, 4, 5, 6});
  CHECK(scalar_tensor(4.0).item<float>() == 4.0f);
  CHECK(scalar_tensor(4.0).dim() == 0);
  CHECK(zeros({0, 3}).numel() == 0);
  for (DType dt : {kFloat32, kFloat64, kInt32, kInt64, kUInt8, kBool}) {
    Tensor o = ones({2}, {dt});
    CHECK(o.dtype() == dt);
    CHECK(o.storage()->bytes() == 2 * itemsize(dt));
  }
}

TEST_CASE("views share storage and never copy") {
  Tensor x = arange(0.0, 24.0, 1.0, {kFloat32}).view({2, 3, 4});
  CHECK(x.strides() == Shape{12, 4, 1});
  CHECK(x.is_contiguous());

  Tensor tr = x.transpose(0, 2);
  CHECK(tr.shape() == Shape{4, 3, 2});
  CHECK(tr.strides() == Shape{1, 4, 12});
  CHECK(tr.storage() == x.storage());
  CHECK_FALSE(tr.is_contiguous());

  Tensor p = x.permute({1, 2, 0});
  CHECK(p.shape() == Shape{3, 4, 2});
  CHECK(p.strides() == Shape{4, 1, 12});

  Tensor n = x.narrow(2, 1, 2);
  CHECK(n.shape() == Shape{2, 3, 2});
  CHECK(n.offset() == 1);
  check_values(n.select(0, 1).select(0, 2), {21, 22});

  Tensor s = x.slice(1, 0, 3, 2);  // rows 0 and 2
  CHECK(s.shape() == Shape{2, 2, 4});
  CHECK(s.strides() == Shape{12, 8, 1});
  check_values(s.select(0, 0).select(0, 1), {8, 9, 10, 11});
  CHECK(x.slice(1, -2, 100).shape() == Shape{2, 2, 4});  // clipped like Python slicing

  Tensor e = tensor(std::vector<float>{1, 2, 3}, {3, 1}).expand({3, 4});
  CHECK(e.strides() == Shape{1, 0});
  check_values(e.contiguous(), {1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3});
  CHECK(tensor(std::vector<float>{7}, {1}).expand({2, 3}).shape() == Shape{2, 3});

  Tensor u = x.unsqueeze(1);
  CHECK(u.shape() == Shape{2, 1, 3, 4});
  CHECK(u.squeeze(1).shape() == x.shape());
  CHECK(x.unsqueeze(-1).shape() == Shape{2, 3, 4, 1});
  CHECK(ones({1, 3, 1}).squeeze().shape() == Shape{3});

  // Writing through a view is visible in the base.
  x.select(0, 0).select(0, 0).fill_(-1);
  check_values(x.narrow(2, 0, 1).select(0, 0).reshape({3}), {-1, 4, 8});
}

TEST_CASE("view needs compatible strides; reshape copies only when it must") {
  Tensor x = arange(0.0, 6.0, 1.0, {kFloat32}).view({2, 3});
  CHECK(x.view({3, 2}).storage() == x.storage());
  CHECK(x.view({-1}).shape() == Shape{6});
  CHECK(x.view({1, -1, 1}).shape() == Shape{1, 6, 1});
  Tensor t = x.t();
  CHECK_THROWS_AS(t.view({6}), cfx::Error);
  Tensor r = t.reshape({6});
  CHECK(r.storage() != x.storage());
  check_values(r, {0, 3, 1, 4, 2, 5});
  // Splitting a dim of a transposed tensor is still a view.
  CHECK(t.reshape({3, 2, 1}).storage() == x.storage());
  CHECK(x.flatten().shape() == Shape{6});
  CHECK(ones({2, 3, 4}).flatten(1).shape() == Shape{2, 12});
}

TEST_CASE("contiguous() copies only non-contiguous tensors") {
  Tensor x = ones({3, 4});
  CHECK(x.contiguous().storage() == x.storage());
  Tensor c = x.t().contiguous();
  CHECK(c.is_contiguous());
  CHECK(c.storage() != x.storage());
  // Size-1 dims do not break contiguity whatever their stride.
  CHECK(x.unsqueeze(0).is_contiguous());
}

TEST_CASE("dtype conversion and clone") {
  Tensor x = tensor(std::vector<float>{1.5f, -2.25f}, {2});
  Tensor d = x.to(kFloat64);
  CHECK(d.dtype() == kFloat64);
  check_values(d, {1.5, -2.25});
  check_values(x.to(kInt64), {1, -2});
  Tensor c = x.clone();
  c.fill_(0);
  check_values(x, {1.5, -2.25});
}

TEST_CASE("broadcast_shapes follows NumPy rules") {
  CHECK(broadcast_shapes({3, 1}, {4}, "t") == Shape{3, 4});
  CHECK(broadcast_shapes({}, {2, 2}, "t") == Shape{2, 2});
  CHECK(broadcast_shapes({5, 1, 3}, {4, 1}, "t") == Shape{5, 4, 3});
  CHECK_THROWS_WITH_AS(broadcast_shapes({3}, {4}, "add"), doctest::Contains("add: shapes [3] and [4] cannot be broadcast"),
                       cfx::Error);
}

TEST_CASE("errors name the op, what was expected and what was got") {
  Tensor x = ones({2, 3});
  CHECK_THROWS_WITH_AS(x.narrow(1, 2, 5), doctest::Contains("narrow: [2, 7) is out of range for dim 1 of size 3"),
                       cfx::Error);
  CHECK_THROWS_WITH_AS(x.view({4}), doctest::Contains("view: shape [4] is invalid for input of size 6"), cfx::Error);
  CHECK_THROWS_WITH_AS(x.permute({0, 0}), doctest::Contains("permute: dim 0 repeats"), cfx::Error);
  CHECK_THROWS_WITH_AS(x.size(2), doctest::Contains("dim 2 out of range"), cfx::Error);
  CHECK_THROWS_WITH_AS(x.expand({4, 3}), doctest::Contains("expand: the input's size 2 at dim 0"), cfx::Error);
  CHECK_THROWS_WITH_AS(x.item<float>(), doctest::Contains("item: expected a tensor with one element, got shape [2, 3]"),
                       cfx::Error);
  CHECK_THROWS_WITH_AS(x.data_ptr<double>(), doctest::Contains("tensor has dtype float32, requested float64"),
                       cfx::Error);
  CHECK_THROWS_WITH_AS(tensor(std::vector<float>{1, 2}, {3}), doctest::Contains("got 2 values for shape [3]"),
                       cfx::Error);
  // The file:line of the check is part of the message.
  CHECK_THROWS_WITH_AS(x.view({4}), doctest::Contains("ops/view_ops.cpp:"), cfx::Error);
  Tensor undefined;
  CHECK_THROWS_AS(undefined.shape(), cfx::Error);
  CHECK_THROWS_WITH_AS(ones({2}) + ones({2}, {kFloat64}),
                       doctest::Contains("add: expected both tensors to have the same dtype, got float32 and float64"),
                       cfx::Error);
}

TEST_CASE("printing looks like PyTorch") {
  CHECK(tensor(std::vector<float>{1, -2.5f, 3}, {3}).str() == "tensor([ 1.0000, -2.5000,  3.0000])");
  CHECK(tensor(std::vector<double>{1, 2, 3, 4}, {2, 2}).str() ==
        "tensor([[1.0000, 2.0000],\n        [3.0000, 4.0000]], dtype=float64)");
  CHECK(arange(3).str() == "tensor([0, 1, 2])");
  Tensor big = zeros({2000});
  CHECK(big.str().find("...") != std::string::npos);
  CHECK(big.str().find("size=[2000]") != std::string::npos);
  Tensor w = ones({1}).requires_grad_();
  CHECK(w.str() == "tensor([1.0000], requires_grad=True)");
  CHECK((w * 2.0).str().find("grad_fn=<mul>") != std::string::npos);
}

TEST_CASE("Device::parse takes torch.device's spellings and names a bad one") {
  CHECK(Device::parse("cpu") == Device::cpu());
  CHECK(Device::parse("cuda") == Device::cuda(0));
  CHECK(Device::parse("cuda:3") == Device::cuda(3));
  CHECK(Device::parse("cuda:3").str() == "cuda:3");
  for (const char* bad : {"", "gpu", "cuda:", "cuda:-1", "cuda:1x", "CPU"}) {
    CAPTURE(bad);
    CHECK_THROWS_WITH_AS(Device::parse(bad), doctest::Contains("expected 'cpu', 'cuda' or 'cuda:N'"), Error);
  }
}
