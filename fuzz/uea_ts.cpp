// read_ts (data/uea/ts.cpp): the sktime/UEA .ts format, then the UEA app's pipeline on it
// (NaN interpolation, standardisation: data/uea/time_series.cpp).
#include "data/uea/time_series.h"
#include "data/uea/ts.h"
#include "fuzz_input.h"

CFX_FUZZ_TARGET(data, size) {
  cfx::data::TimeSeriesSet set = cfx::data::read_ts(cfx::fuzz::as_file(data, size));
  cfx::data::category_codes(set.labels);
  cfx::data::interpolate_missing(set);
  cfx::data::standardize(set, cfx::data::fit_standardization(set));
}
