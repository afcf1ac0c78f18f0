// load_aan_tsv (data/lra/text.cpp): the LRA Retrieval TSV, `label id1 id2 text1 text2` rows.
#include "data/lra/lra.h"
#include "fuzz_input.h"

CFX_FUZZ_TARGET(data, size) {
  const auto ds = cfx::data::load_aan_tsv(cfx::fuzz::as_file(data, size), /*max_len=*/64);
  for (int64_t i = 0; i < ds->size(); ++i) ds->get(i);
}
