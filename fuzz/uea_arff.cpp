// read_arff (data/uea/arff.cpp): UEA time series in ARFF (per-dimension and relational), then
// the UEA app's pipeline on it (data/uea/time_series.cpp).
#include "data/uea/arff.h"
#include "data/uea/time_series.h"
#include "fuzz_input.h"

CFX_FUZZ_TARGET(data, size) {
  cfx::data::TimeSeriesSet set = cfx::data::read_arff(cfx::fuzz::as_file(data, size));
  cfx::data::category_codes(set.labels);
  cfx::data::interpolate_missing(set);
  cfx::data::standardize(set, cfx::data::fit_standardization(set));
}
