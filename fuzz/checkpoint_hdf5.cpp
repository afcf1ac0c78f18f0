// nn::load_tensors (nn/checkpoint.cpp): every dataset of an HDF5 checkpoint, through libhdf5.
#include "nn/checkpoint.h"
#include "fuzz_input.h"
#include "hdf5_open_ids.h"

CFX_FUZZ_TARGET(data, size) {
  const cfx::fuzz::NoOpenHdf5Ids check;  // checked after the reader returns or throws
  const cfx::nn::StateDict tensors = cfx::nn::load_tensors(cfx::fuzz::as_named_file(data, size, "input.h5"));
  (void)tensors;
}
