// Small utilities shared by the command-line apps: flags, a progress line, a JSONL metrics log,
// a fixed-width table. No dependencies beyond the standard library and fmt.
//
//   Flags flags("conflux-lra train", "train a model");
//   flags.add("steps", &cfg.steps, "optimizer updates");      // default = the variable's value now
//   flags.add("resume", &cfg.resume, "continue from the last checkpoint");   // bool: --resume, --no-resume
//   flags.parse(args);                     // --name value | --name=value; unknown flag -> cfx::Error
//   if (flags.help_requested()) { std::cout << flags.help(); return 0; }
//
//   ProgressBar bar(total_steps, start_step);   // one line on stderr, redrawn with '\r' on a TTY;
//   bar.update(step, {.loss = l, .acc = a, .examples_per_s = r});   // a plain line every N steps otherwise
//   MetricsLog log("run/metrics.jsonl");        // one JSON object per line, flushed
//   log.write({{"step", step}, {"loss", l}, {"split", "train"}});
//
// Not here: anything about models or data (each app's own files).
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace cfx::app {

// A flat JSON value and object (all the apps write): keys in insertion order.
using JsonValue = std::variant<std::nullptr_t, bool, int64_t, double, std::string>;
using JsonObject = std::vector<std::pair<std::string, JsonValue>>;

// ---- flags -------------------------------------------------------------------------------------
class Flags {
 public:
  Flags(std::string program, std::string description);
  // Registers --name bound to *value; the value it holds now is the default shown by help().
  void add(const std::string& name, int64_t* value, const std::string& help);
  void add(const std::string& name, double* value, const std::string& help);
  void add(const std::string& name, std::string* value, const std::string& help);
  void add(const std::string& name, bool* value, const std::string& help);  // --name, --name=false, --no-name

  // Parses the arguments (without the program and subcommand) and returns the positional ones.
  // "--" ends flag parsing. -h/--help sets help_requested() and skips nothing else.
  // Throws cfx::Error for an unknown flag (with the closest known one), a missing or bad value.
  std::vector<std::string> parse(const std::vector<std::string>& args);
  bool help_requested() const { return help_; }
  bool was_set(const std::string& name) const;  // given on the command line
  const std::string& program() const { return program_; }
  // Sets --name as if it were the default (e.g. from a saved config); false if no such flag.
  bool set_default(const std::string& name, const std::string& text);
  std::string help() const;                     // usage + every flag with its default

  // Every flag's current value, in registration order (a run's config.json).
  JsonObject values() const;

  // The value of --name in args (either spelling) without parsing the rest; "" if absent.
  static std::string peek(const std::vector<std::string>& args, const std::string& name);

 private:
  enum class Kind { Int, Double, String, Bool };
  struct Flag {
    std::string name;
    Kind kind;
    void* value;
    std::string help;
    std::string default_text;
    bool set = false;
  };
  Flag* find(const std::string& name);
  void assign(Flag& flag, const std::string& text);
  void add_flag(const std::string& name, Kind kind, void* value, const std::string& help, std::string default_text);

  std::string program_, description_;
  std::vector<Flag> flags_;
  bool help_ = false;
};

// ---- progress ----------------------------------------------------------------------------------
struct ProgressStats {
  double loss = 0.0;
  double acc = 0.0;             // fraction in [0, 1]
  double examples_per_s = 0.0;
  bool show_acc = true;         // false: the line has no accuracy (a language model's loss is the metric)
  bool show_loss = true;        // false: no loss either (a pass over files)
  const char* unit = "ex";      // what examples_per_s counts ("tok" for a language model)
};

class ProgressBar {
 public:
  // Steps run from `start` to `total`. On a TTY the line is redrawn (at most ~10 times a second);
  // otherwise a plain line is printed every `plain_every` steps and at the last step.
  ProgressBar(int64_t total, int64_t start = 0, int64_t plain_every = 50, std::FILE* out = stderr);
  void update(int64_t step, const ProgressStats& stats);
  void message(const std::string& line);  // prints a line above the bar (the bar is redrawn after)
  void finish();                          // ends the bar's line
  double elapsed_s() const;

 private:
  std::string render(int64_t step, const ProgressStats& stats) const;
  int64_t total_, start_, plain_every_;
  std::FILE* out_;
  bool tty_;
  std::chrono::steady_clock::time_point t0_, last_draw_;
  std::string last_line_;
};

std::string format_duration(double seconds);  // "42s", "3m05s", "1h02m"

// ---- JSON lines --------------------------------------------------------------------------------
std::string to_json(const JsonObject& object);  // one line, no trailing newline; NaN/inf -> null
// Parses one flat JSON object (values: string, number, true/false/null); throws cfx::Error.
// Integers without '.'/exponent become int64, other numbers double.
std::map<std::string, JsonValue> parse_json_object(std::string_view text);
double json_number(const JsonValue& v);  // int64 or double -> double; throws otherwise

class MetricsLog {
 public:
  MetricsLog() = default;  // disabled: write() does nothing
  // append = false truncates the file.
  explicit MetricsLog(const std::string& path, bool append = false);
  void write(const JsonObject& object);  // one line, flushed
  bool enabled() const { return out_.is_open(); }

 private:
  std::ofstream out_;
  std::string path_;
};

// ---- table -------------------------------------------------------------------------------------
// Fixed-width columns sized to the widest cell; the first column left-aligned, the rest right.
class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void add_row(std::vector<std::string> cells);
  std::string str() const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace cfx::app
