// Flags, progress line, JSON lines and tables for the apps (see cli.h).
#include "apps/common/cli.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "core/error.h"

namespace cfx::app {

// ---- flags -------------------------------------------------------------------------------------

namespace {

std::string format_double(double v) { return fmt::format("{:g}", v); }

// Levenshtein distance, to suggest the closest flag name.
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

Flags::Flags(std::string program, std::string description)
    : program_(std::move(program)), description_(std::move(description)) {}

void Flags::add_flag(const std::string& name, Kind kind, void* value, const std::string& help, std::string default_text) {
  CFX_CHECK(!name.empty() && name[0] != '-', "Flags: give flag names without dashes, got '", name, "'");
  CFX_CHECK(find(name) == nullptr, "Flags: flag --", name, " registered twice");
  flags_.push_back({name, kind, value, help, std::move(default_text), false});
}

void Flags::add(const std::string& name, int64_t* value, const std::string& help) {
  add_flag(name, Kind::Int, value, help, std::to_string(*value));
}
void Flags::add(const std::string& name, double* value, const std::string& help) {
  add_flag(name, Kind::Double, value, help, format_double(*value));
}
void Flags::add(const std::string& name, std::string* value, const std::string& help) {
  add_flag(name, Kind::String, value, help, value->empty() ? "\"\"" : *value);
}
void Flags::add(const std::string& name, bool* value, const std::string& help) {
  add_flag(name, Kind::Bool, value, help, *value ? "true" : "false");
}

Flags::Flag* Flags::find(const std::string& name) {
  for (Flag& f : flags_)
    if (f.name == name) return &f;
  return nullptr;
}

bool Flags::was_set(const std::string& name) const {
  for (const Flag& f : flags_)
    if (f.name == name) return f.set;
  return false;
}

void Flags::assign(Flag& flag, const std::string& text) {
  const char* b = text.data();
  const char* e = b + text.size();
  switch (flag.kind) {
    case Kind::Int: {
      int64_t v = 0;
      auto [p, ec] = std::from_chars(b, e, v);
      CFX_CHECK(ec == std::errc() && p == e && !text.empty(), program_, ": --", flag.name,
                " expects an integer, got '", text, "'");
      *static_cast<int64_t*>(flag.value) = v;
      break;
    }
    case Kind::Double: {
      char* end = nullptr;
      const double v = std::strtod(text.c_str(), &end);
      CFX_CHECK(!text.empty() && end == text.c_str() + text.size() && std::isfinite(v), program_, ": --", flag.name,
                " expects a number, got '", text, "'");
      *static_cast<double*>(flag.value) = v;
      break;
    }
    case Kind::String: *static_cast<std::string*>(flag.value) = text; break;
    case Kind::Bool: {
      const bool t = text == "true" || text == "1" || text == "yes" || text == "on";
      const bool f = text == "false" || text == "0" || text == "no" || text == "off";
      CFX_CHECK(t || f, program_, ": --", flag.name, " expects true or false, got '", text, "'");
      *static_cast<bool*>(flag.value) = t;
      break;
    }
  }
  flag.set = true;
}

std::vector<std::string> Flags::parse(const std::vector<std::string>& args) {
  std::vector<std::string> positional;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      positional.insert(positional.end(), args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
      break;
    }
    if (a == "-h" || a == "--help") {
      help_ = true;
      continue;
    }
    if (a.size() < 3 || a.compare(0, 2, "--") != 0) {
      CFX_CHECK(a.empty() || a[0] != '-', program_, ": flags start with two dashes, got '", a, "' (see --help)");
      positional.push_back(a);
      continue;
    }
    const size_t eq = a.find('=');
    std::string name = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    Flag* flag = find(name);
    bool negated = false;
    if (!flag && name.rfind("no-", 0) == 0) {
      flag = find(name.substr(3));
      negated = flag && flag->kind == Kind::Bool && eq == std::string::npos;
      if (!negated) flag = nullptr;
    }
    if (!flag) {
      std::string best;
      size_t best_d = 3;  // suggest only near misses
      for (const Flag& f : flags_)
        if (const size_t d = edit_distance(name, f.name); d < best_d) best_d = d, best = f.name;
      CFX_FAIL(program_, ": unknown flag --", name, best.empty() ? std::string() : " (did you mean --" + best + "?)",
               "; run with --help for the list");
    }
    if (negated) {
      assign(*flag, "false");
    } else if (eq != std::string::npos) {
      assign(*flag, a.substr(eq + 1));
    } else if (flag->kind == Kind::Bool) {
      assign(*flag, "true");
    } else {
      CFX_CHECK(i + 1 < args.size(), program_, ": --", name, " needs a value");
      assign(*flag, args[++i]);
    }
  }
  return positional;
}

bool Flags::set_default(const std::string& name, const std::string& text) {
  Flag* flag = find(name);
  if (!flag) return false;
  assign(*flag, text);
  flag->set = false;
  flag->default_text = text.empty() ? "\"\"" : text;
  return true;
}

JsonObject Flags::values() const {
  JsonObject out;
  for (const Flag& f : flags_) {
    switch (f.kind) {
      case Kind::Int: out.emplace_back(f.name, *static_cast<const int64_t*>(f.value)); break;
      case Kind::Double: out.emplace_back(f.name, *static_cast<const double*>(f.value)); break;
      case Kind::String: out.emplace_back(f.name, *static_cast<const std::string*>(f.value)); break;
      case Kind::Bool: out.emplace_back(f.name, *static_cast<const bool*>(f.value)); break;
    }
  }
  return out;
}

std::string Flags::help() const {
  std::string out = fmt::format("usage: {} [flags]\n{}\n\nflags:\n", program_, description_);
  size_t width = 0;
  auto left = [](const Flag& f) {
    const char* type = f.kind == Kind::Int ? " INT" : f.kind == Kind::Double ? " NUM" : f.kind == Kind::String ? " STR" : "";
    return fmt::format("--{}{}", f.name, type);
  };
  for (const Flag& f : flags_) width = std::max(width, left(f).size());
  for (const Flag& f : flags_)
    out += fmt::format("  {:<{}}  {} (default: {})\n", left(f), width, f.help, f.default_text);
  out += fmt::format("  {:<{}}  print this list\n", "-h, --help", width);
  return out + "Values: --name value or --name=value; switches: --name, --name=false, --no-name.\n";
}

std::string Flags::peek(const std::vector<std::string>& args, const std::string& name) {
  const std::string flag = "--" + name;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--") break;
    if (args[i] == flag && i + 1 < args.size()) return args[i + 1];
    if (args[i].rfind(flag + "=", 0) == 0) return args[i].substr(flag.size() + 1);
  }
  return "";
}

// ---- progress ----------------------------------------------------------------------------------

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const int64_t t = static_cast<int64_t>(std::llround(s));
  if (t < 60) return fmt::format("{}s", t);
  if (t < 3600) return fmt::format("{}m{:02}s", t / 60, t % 60);
  return fmt::format("{}h{:02}m", t / 3600, (t % 3600) / 60);
}

ProgressBar::ProgressBar(int64_t total, int64_t start, int64_t plain_every, std::FILE* out)
    : total_(total), start_(start), plain_every_(std::max<int64_t>(1, plain_every)), out_(out),
      tty_(::isatty(::fileno(out)) != 0), t0_(std::chrono::steady_clock::now()), last_draw_() {}

double ProgressBar::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
}

std::string ProgressBar::render(int64_t step, const ProgressStats& s) const {
  const double el = elapsed_s();
  const double done = static_cast<double>(step - start_);
  const double eta = done > 0 ? el / done * static_cast<double>(total_ - step) : NAN;
  const double frac = total_ > 0 ? static_cast<double>(step) / static_cast<double>(total_) : 1.0;
  const int width = 20, filled = static_cast<int>(frac * width);
  const std::string loss = s.show_loss ? fmt::format(" loss {:.4f}", s.loss) : "";
  const std::string acc = s.show_acc ? fmt::format(" acc {:5.1f}%", 100.0 * s.acc) : "";
  return fmt::format("[{}{}] {}/{}{}{} {:.0f} {}/s {} elapsed, ETA {}",
                     std::string(static_cast<size_t>(filled), '#'), std::string(static_cast<size_t>(width - filled), '.'),
                     step, total_, loss, acc, s.examples_per_s, s.unit, format_duration(el), format_duration(eta));
}

void ProgressBar::update(int64_t step, const ProgressStats& stats) {
  const auto now = std::chrono::steady_clock::now();
  if (tty_) {
    if (step < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_line_ = render(step, stats);
    std::fprintf(out_, "\r%s\033[K", last_line_.c_str());
  } else {
    if (step % plain_every_ != 0 && step != total_) return;
    std::fprintf(out_, "%s\n", render(step, stats).c_str());
  }
  last_draw_ = now;
  std::fflush(out_);
}

void ProgressBar::message(const std::string& line) {
  if (tty_) std::fprintf(out_, "\r\033[K%s\n%s", line.c_str(), last_line_.c_str());
  else std::fprintf(out_, "%s\n", line.c_str());
  std::fflush(out_);
}

void ProgressBar::finish() {
  if (tty_ && !last_line_.empty()) std::fprintf(out_, "\n");
  last_line_.clear();
  std::fflush(out_);
}

// ---- JSON lines --------------------------------------------------------------------------------

namespace {

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\u{:04x}", static_cast<int>(c));
        else out += c;
    }
  }
  out += '"';
}

}  // namespace

std::string to_json(const JsonObject& object) {
  std::string out = "{";
  for (size_t i = 0; i < object.size(); ++i) {
    if (i) out += ", ";
    append_json_string(out, object[i].first);
    out += ": ";
    const JsonValue& v = object[i].second;
    if (std::holds_alternative<std::nullptr_t>(v)) out += "null";
    else if (const bool* b = std::get_if<bool>(&v)) out += *b ? "true" : "false";
    else if (const int64_t* n = std::get_if<int64_t>(&v)) out += std::to_string(*n);
    // the shortest text that reads back as the same double (a resumed run compares logged values)
    else if (const double* d = std::get_if<double>(&v)) out += std::isfinite(*d) ? fmt::format("{}", *d) : "null";
    else append_json_string(out, std::get<std::string>(v));
  }
  return out + "}";
}

std::map<std::string, JsonValue> parse_json_object(std::string_view text) {
  size_t i = 0;
  auto fail = [&](const char* what) -> void {
    CFX_FAIL("parse_json_object: ", what, " at offset ", i, " in '", std::string(text.substr(0, 200)), "'");
  };
  auto ws = [&] { while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i; };
  auto expect = [&](char c) { ws(); if (i >= text.size() || text[i] != c) fail("unexpected character"); ++i; };
  auto string = [&] {
    expect('"');
    std::string s;
    while (i < text.size() && text[i] != '"') {
      char c = text[i++];
      if (c == '\\') {
        if (i >= text.size()) fail("unterminated escape");
        const char e = text[i++];
        if (e == 'n') c = '\n'; else if (e == 't') c = '\t'; else if (e == 'r') c = '\r';
        else if (e == 'u') {
          if (i + 4 > text.size()) fail("short \\u escape");
          c = static_cast<char>(std::strtol(std::string(text.substr(i, 4)).c_str(), nullptr, 16));
          i += 4;
        } else c = e;
      }
      s += c;
    }
    if (i >= text.size()) fail("unterminated string");
    ++i;
    return s;
  };
  std::map<std::string, JsonValue> out;
  expect('{');
  ws();
  if (i < text.size() && text[i] == '}') return ++i, out;
  while (true) {
    std::string key = string();
    expect(':');
    ws();
    if (i >= text.size()) fail("missing value");
    if (text[i] == '"') {
      out[key] = string();
    } else if (text.compare(i, 4, "true") == 0) {
      out[key] = true, i += 4;
    } else if (text.compare(i, 5, "false") == 0) {
      out[key] = false, i += 5;
    } else if (text.compare(i, 4, "null") == 0) {
      out[key] = nullptr, i += 4;
    } else {
      const size_t b = i;
      while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || std::strchr("+-.eE", text[i]))) ++i;
      const std::string num(text.substr(b, i - b));
      if (num.empty()) fail("bad value");
      char* end = nullptr;
      if (num.find_first_of(".eE") == std::string::npos) out[key] = static_cast<int64_t>(std::strtoll(num.c_str(), &end, 10));
      else out[key] = std::strtod(num.c_str(), &end);
      if (end != num.c_str() + num.size()) fail("bad number");
    }
    ws();
    if (i < text.size() && text[i] == ',') { ++i; continue; }
    expect('}');
    break;
  }
  ws();
  if (i != text.size()) fail("trailing characters");
  return out;
}

double json_number(const JsonValue& v) {
  if (const int64_t* n = std::get_if<int64_t>(&v)) return static_cast<double>(*n);
  if (const double* d = std::get_if<double>(&v)) return *d;
  CFX_FAIL("json_number: the value is not a number");
}

MetricsLog::MetricsLog(const std::string& path, bool append)
    : out_(path, append ? std::ios::app : std::ios::trunc), path_(path) {
  CFX_CHECK(out_.is_open(), "MetricsLog: cannot open '", path, "' for writing");
}

void MetricsLog::write(const JsonObject& object) {
  if (!out_.is_open()) return;
  out_ << to_json(object) << '\n';
  out_.flush();
  CFX_CHECK(out_.good(), "MetricsLog: write error on '", path_, "'");
}

// ---- table -------------------------------------------------------------------------------------

void Table::add_row(std::vector<std::string> cells) {
  CFX_CHECK(cells.size() == headers_.size(), "Table: row has ", cells.size(), " cells, expected ", headers_.size());
  rows_.push_back(std::move(cells));
}

std::string Table::str() const {
  std::vector<size_t> w(headers_.size());
  for (size_t c = 0; c < headers_.size(); ++c) {
    w[c] = headers_[c].size();
    for (const auto& r : rows_) w[c] = std::max(w[c], r[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (size_t c = 0; c < cells.size(); ++c)
      s += c == 0 ? fmt::format("{:<{}}", cells[c], w[c]) : fmt::format("  {:>{}}", cells[c], w[c]);
    return s + "\n";
  };
  size_t total = 0;
  for (size_t c = 0; c < w.size(); ++c) total += w[c] + (c ? 2 : 0);
  std::string out = line(headers_) + std::string(total, '-') + "\n";
  for (const auto& r : rows_) out += line(r);
  return out;
}

}  // namespace cfx::app
