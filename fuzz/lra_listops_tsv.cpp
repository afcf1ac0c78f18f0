// load_listops_tsv (data/lra/listops.cpp): the LRA ListOps TSV, header + Source/Target rows.
#include "data/lra/lra.h"
#include "fuzz_input.h"

CFX_FUZZ_TARGET(data, size) {
  const auto ds = cfx::data::load_listops_tsv(cfx::fuzz::as_file(data, size), /*max_len=*/64);
  for (int64_t i = 0; i < ds->size(); ++i) ds->get(i);
}
