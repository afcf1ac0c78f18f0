// A run's settings in three layers, the same for every app: the preset (the values the flags
// are bound to), then the run's saved <out>/config.json (for eval and --resume), then the
// command line.
//
//   MyConfig cfg = preset(name);
//   app::Flags flags(...);  add_flags(flags, cfg);
//   app::apply_saved(flags, app::saved_config(out), per_invocation);   // config.json as defaults
//   flags.parse(args);                                                  // the command line wins
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "apps/common/cli.h"

namespace cfx::app {

// Whether the arguments ask for --resume (any spelling; the last one wins), before parsing.
bool resume_requested(const std::vector<std::string>& args);
// A JSON value as a flag would spell it (doubles round-trip).
std::string json_text(const JsonValue& value);
// The saved flags of a run (<out>/config.json), or nothing when the file does not exist.
std::map<std::string, JsonValue> saved_config(const std::filesystem::path& out);
// The flags every app has that describe one invocation rather than the run (--out, --resume,
// --log, --checkpoint): never taken from a saved config.json. Apps add their own to it.
bool per_invocation_flag(const std::string& key);
// Every saved key, except those `per_invocation` names, becomes its flag's default.
void apply_saved(Flags& flags, const std::map<std::string, JsonValue>& saved,
                 const std::function<bool(const std::string&)>& per_invocation);
// The rest of every app's parse_config: `saved` as defaults (apply_saved), then the command
// line; prints the help when asked. Returns false when --help was given (nothing to run).
// Positional arguments go to *positional when given (a command taking files), else they are
// an error (cfx::Error).
bool parse_run_flags(Flags& flags, const std::vector<std::string>& args, const std::map<std::string, JsonValue>& saved,
                     const std::function<bool(const std::string&)>& per_invocation,
                     std::vector<std::string>* positional = nullptr);
// Every flag's value as one JSON line (what <out>/config.json holds).
std::string config_json(const Flags& flags);
// The same for an app's settings struct: its add_flags(Flags&, Config&) (found in the app's
// namespace) binds the flags to a copy, whose values are then written.
template <class Config>
std::string config_json_of(Config cfg) {
  Flags flags("config", "");
  add_flags(flags, cfg);
  return config_json(flags);
}

}  // namespace cfx::app
