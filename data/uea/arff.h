// UEA time series in ARFF, the other format of the UEA archive (some sets are staged only
// as ARFF, e.g. SelfRegulationSCP1 in ../shared/data), into the same TimeSeriesSet as the
// `.ts` reader (data/uea/ts.h), so the same pipeline (data/uea/time_series.h) follows.
//
//   univariate, one file per channel (the per-dimension release: <Name>Dimension<k>_<SPLIT>.arff)
//     @relation SelfRegulationSCP1_channel_0
//     @attribute channel_0_0 numeric            one numeric attribute per time step
//     ...
//     @attribute cortical {negativity,positivity}   the class: a nominal attribute, last
//     @data
//     23,21.66,...,22.62,21.5,negativity
//
//   multivariate, relational (<Name>_<SPLIT>.arff)
//     @attribute <name> relational
//       @attribute t0 numeric ...               one attribute per time step
//     @end <name>
//     @attribute classAttribute {a,b}
//     @data
//     '1,2,3\n4,5,6',a                          channels separated by the two characters \n
//
// `?` is a missing value (NaN); `%` starts a comment line; keywords are case-insensitive;
// labels are lower-cased as the `.ts` reader does, so both formats give the same class codes.
// Errors: cfx::Error "read_arff: <path>:<line>: <what>".
#pragma once

#include <filesystem>
#include <vector>

#include "data/uea/ts.h"

namespace cfx::data {

TimeSeriesSet read_arff(const std::filesystem::path& file);

// The per-dimension files of one split, channel k from files[k], joined case by case into
// one multivariate set; every file must have the same cases (count, labels, lengths).
TimeSeriesSet read_arff_dimensions(const std::vector<std::filesystem::path>& files);

}  // namespace cfx::data
