// Preset -> config.json -> flags (apps/common/run_config.h).
#include "apps/common/run_config.h"

#include <fmt/format.h>

#include <iostream>

#include "apps/common/run_state.h"
#include "core/error.h"

namespace cfx::app {

bool per_invocation_flag(const std::string& key) {
  return key == "out" || key == "resume" || key == "log" || key == "checkpoint";
}

bool resume_requested(const std::vector<std::string>& args) {
  bool resume = false;
  for (const std::string& a : args)
    if (a == "--resume" || a == "--resume=true" || a == "--resume=1" || a == "--resume=yes" || a == "--resume=on") resume = true;
    else if (a == "--no-resume" || a.rfind("--resume=", 0) == 0) resume = false;
  return resume;
}

std::string json_text(const JsonValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (const auto* n = std::get_if<int64_t>(&v)) return std::to_string(*n);
  if (const auto* d = std::get_if<double>(&v)) return fmt::format("{:.17g}", *d);
  return "";
}

std::map<std::string, JsonValue> saved_config(const std::filesystem::path& out) {
  const auto file = out / "config.json";
  if (!std::filesystem::exists(file)) return {};
  return parse_json_object(read_file(file));
}

void apply_saved(Flags& flags, const std::map<std::string, JsonValue>& saved,
                 const std::function<bool(const std::string&)>& per_invocation) {
  for (const auto& [key, value] : saved)
    if (!per_invocation(key)) flags.set_default(key, json_text(value));
}

bool parse_run_flags(Flags& flags, const std::vector<std::string>& args, const std::map<std::string, JsonValue>& saved,
                     const std::function<bool(const std::string&)>& per_invocation,
                     std::vector<std::string>* positional) {
  apply_saved(flags, saved, per_invocation);
  std::vector<std::string> rest = flags.parse(args);
  if (flags.help_requested()) {
    std::cout << flags.help();
    return false;
  }
  if (positional) *positional = std::move(rest);
  else CFX_CHECK(rest.empty(), flags.program(), ": unexpected argument '", rest.empty() ? "" : rest[0],
                 "' (flags are --name value)");
  return true;
}

std::string config_json(const Flags& flags) { return to_json(flags.values()) + "\n"; }

}  // namespace cfx::app
