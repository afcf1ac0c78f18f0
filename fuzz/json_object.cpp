// parse_json_object (apps/common/cli.cpp): the flat JSON objects of config.json, state.json and
// metrics.jsonl; a parsed object must print (to_json) and parse back to the same keys.
#include "apps/common/cli.h"
#include "fuzz_input.h"

CFX_FUZZ_TARGET(data, size) {
  const auto object = cfx::app::parse_json_object(cfx::fuzz::as_chars(data, size));
  cfx::app::JsonObject flat(object.begin(), object.end());
  const auto again = cfx::app::parse_json_object(cfx::app::to_json(flat));
  if (again.size() != object.size()) std::abort();
}
