// load_cifar10_bin (data/lra/image.cpp): CIFAR-10 binary records for LRA Image.
#include "data/lra/lra.h"
#include "fuzz_input.h"

CFX_FUZZ_TARGET(data, size) {
  const auto ds = cfx::data::load_cifar10_bin({cfx::fuzz::as_file(data, size)});
  for (int64_t i = 0; i < ds->size(); ++i) ds->get(i);
}
