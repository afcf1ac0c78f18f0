// safetensors files (nn/safetensors.h). The header is parsed with nlohmann-json and checked
// rule by rule as the reference reader (safetensors' Rust core, SafeTensors::read_metadata
// and Metadata::validate) checks it, plus duplicate keys, which its JSON map would
// silently collapse. Data is read straight from the file into each tensor's storage.
#include "nn/safetensors.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "autograd/grad_mode.h"
#include "core/detail/atomic_file.h"
#include "ops/creation.h"

namespace cfx::nn {

namespace fs = std::filesystem;
using json = nlohmann::json;

// The format is little-endian; so are the CPUs Conflux builds for (x86-64), which lets the
// tensors' bytes go to and from the file unchanged.
static_assert(std::endian::native == std::endian::little, "safetensors: big-endian hosts are not supported");

namespace {

constexpr const char* kMetadataKey = "__metadata__";
// The reference reader's limit (MAX_HEADER_SIZE): a larger N means a damaged or foreign file.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

// ---- dtypes --------------------------------------------------------------------------------

// Every dtype of the spec, in the reference's enum order: its writer orders tensors by
// descending position here, then by name (which aligns each tensor to its element size).
struct DtypeInfo {
  const char* name;
  int bits;                    // per element; F4 and F6 are packed below a byte
  std::optional<DType> cfx;    // what it loads as; nullopt: Conflux has no such type
};
constexpr DtypeInfo kDtypes[] = {
    {"BOOL", 8, kBool},      {"F4", 4, {}},          {"F6_E2M3", 6, {}},   {"F6_E3M2", 6, {}},
    {"U8", 8, kUInt8},       {"I8", 8, {}},          {"F8_E5M2", 8, {}},   {"F8_E4M3", 8, {}},
    {"F8_E8M0", 8, {}},      {"I16", 16, {}},        {"U16", 16, {}},      {"F16", 16, kFloat32},
    {"BF16", 16, kFloat32},  {"I32", 32, kInt32},    {"U32", 32, {}},      {"F32", 32, kFloat32},
    {"C64", 64, {}},         {"F64", 64, kFloat64},  {"I64", 64, kInt64},  {"U64", 64, {}},
};

const DtypeInfo* find_dtype(const std::string& name) {
  for (const auto& d : kDtypes)
    if (name == d.name) return &d;
  return nullptr;
}

std::string readable_dtypes() {
  std::string s;
  for (const auto& d : kDtypes) s += std::string(s.empty() ? "" : " ") + d.name;
  return s;
}

const char* safetensors_name(DType t) {
  switch (t) {
    case DType::Float32: return "F32";
    case DType::Float64: return "F64";
    case DType::Int32: return "I32";
    case DType::Int64: return "I64";
    case DType::UInt8: return "U8";
    case DType::Bool: return "BOOL";
  }
  CFX_FAIL("safetensors: unsupported dtype ", t);
}

int dtype_rank(const char* name) {
  for (int i = 0; i < static_cast<int>(std::size(kDtypes)); ++i)
    if (std::strcmp(kDtypes[i].name, name) == 0) return i;
  return -1;
}

// IEEE half -> float, exact (every half is a float), subnormals included.
float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu, bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);  // inf / NaN (payload kept)
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);  // rebias 15 -> 127
  } else if (mantissa == 0) {
    bits = sign;  // ±0
  } else {        // subnormal m·2^-24: shift the leading 1 up to the implicit bit
    exponent = 113;
    while (!(mantissa & 0x400u)) mantissa <<= 1, --exponent;
    bits = sign | (exponent << 23) | ((mantissa & 0x3ffu) << 13);
  }
  return std::bit_cast<float>(bits);
}

float bfloat16_to_float(uint16_t b) { return std::bit_cast<float>(static_cast<uint32_t>(b) << 16); }

// ---- the header -----------------------------------------------------------------------------

struct Entry {
  std::string name;
  const DtypeInfo* dtype = nullptr;
  Shape shape;
  uint64_t begin = 0, end = 0;  // in the data region
};

struct Header {
  std::vector<Entry> entries;   // in name order
  SafetensorsMetadata metadata;
  uint64_t data_start = 0;      // 8 + N
};

std::string where(const fs::path& path) { return "safetensors: '" + path.string() + "': "; }

std::string shape_of(const json& shape) { return shape.dump(); }

// A non-negative JSON integer (nlohmann parses those as unsigned), else an error naming `what`.
uint64_t unsigned_field(const json& v, const std::string& what, const fs::path& path) {
  CFX_CHECK(!v.is_number_integer() || v.is_number_unsigned(), where(path), what, " is negative: ", v.dump());
  CFX_CHECK(v.is_number_unsigned(), where(path), what, " must be a non-negative integer, got ", v.dump());
  return v.get<uint64_t>();
}

Entry parse_entry(const std::string& name, const json& info, const fs::path& path) {
  const std::string t = "tensor '" + name + "'";
  CFX_CHECK(info.is_object(), where(path), t, ": expected an object {\"dtype\", \"shape\", \"data_offsets\"}, got ",
            info.type_name());
  for (const char* field : {"dtype", "shape", "data_offsets"})
    CFX_CHECK(info.contains(field), where(path), t, " has no \"", field, "\"");
  Entry e;
  e.name = name;
  const json& dtype = info["dtype"];
  CFX_CHECK(dtype.is_string(), where(path), t, ": \"dtype\" must be a string, got ", dtype.dump());
  e.dtype = find_dtype(dtype.get<std::string>());
  CFX_CHECK(e.dtype, where(path), t, " has the unknown dtype ", dtype.dump(), " (the spec's dtypes: ", readable_dtypes(), ")");

  const json& shape = info["shape"];
  CFX_CHECK(shape.is_array(), where(path), t, ": \"shape\" must be an array, got ", shape.dump());
  uint64_t numel = 1;
  bool overflow = false;
  for (size_t d = 0; d < shape.size(); ++d) {
    const uint64_t size = unsigned_field(shape[d], t + ": dimension " + std::to_string(d) + " of shape " + shape_of(shape), path);
    overflow = overflow || size > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
               __builtin_mul_overflow(numel, size, &numel);
    e.shape.push_back(static_cast<int64_t>(size));
  }
  uint64_t bits = 0;
  overflow = overflow || numel > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
             __builtin_mul_overflow(numel, static_cast<uint64_t>(e.dtype->bits), &bits);
  CFX_CHECK(!overflow, where(path), t, ": shape ", shape_of(shape), " of ", e.dtype->name, " overflows 64 bits");
  CFX_CHECK(bits % 8 == 0, where(path), t, ": ", numel, " elements of ", e.dtype->name, " do not fill whole bytes");

  const json& offsets = info["data_offsets"];
  CFX_CHECK(offsets.is_array() && offsets.size() == 2, where(path), t,
            ": \"data_offsets\" must be [begin, end], got ", offsets.dump());
  e.begin = unsigned_field(offsets[0], t + ": data_offsets begin", path);
  e.end = unsigned_field(offsets[1], t + ": data_offsets end", path);
  CFX_CHECK(e.end >= e.begin, where(path), t, ": data_offsets ", offsets.dump(), " end before they begin");
  CFX_CHECK(e.end - e.begin == bits / 8, where(path), t, ": dtype ", e.dtype->name, " and shape ", shape_of(shape),
            " need ", bits / 8, " bytes, but data_offsets ", offsets.dump(), " span ", e.end - e.begin);
  return e;
}

// The tensors must tile the data region exactly: sorted by offset, each begins where the
// previous one ended and the last ends at the end of the file (the reference's rule).
void check_tiling(std::vector<Entry> entries, uint64_t data_bytes, const fs::path& path) {
  for (const Entry& e : entries)
    CFX_CHECK(e.end <= data_bytes, where(path), "tensor '", e.name, "': data_offsets [", e.begin, ", ", e.end,
              "] run past the data region, which is ", data_bytes, " bytes (truncated file?)");
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return std::pair(a.begin, a.end) < std::pair(b.begin, b.end); });
  uint64_t at = 0;
  const Entry* previous = nullptr;
  for (const Entry& e : entries) {
    CFX_CHECK(e.begin >= at, where(path), "tensors '", previous ? previous->name : "", "' [", previous ? previous->begin : 0,
              ", ", at, ") and '", e.name, "' [", e.begin, ", ", e.end, ") overlap");
    CFX_CHECK(e.begin == at, where(path), "bytes [", at, ", ", e.begin, ") of the data region belong to no tensor (a hole ",
              previous ? "after '" + previous->name + "'" : std::string("at the start"), ", before '", e.name, "')");
    at = e.end;
    previous = &e;
  }
  CFX_CHECK(at == data_bytes, where(path), "the data region is ", data_bytes, " bytes but the tensors cover ", at,
            " (bytes [", at, ", ", data_bytes, ") belong to no tensor)");
}

// Parses the JSON, recording the first key repeated within one object (nlohmann, like most
// JSON readers, would keep the last silently).
json parse_json(const std::string& text, const fs::path& path) {
  std::vector<std::set<std::string>> open_objects;
  std::optional<std::string> duplicate;
  json::parser_callback_t track = [&](int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) open_objects.emplace_back();
    else if (event == json::parse_event_t::object_end && !open_objects.empty()) open_objects.pop_back();
    else if (event == json::parse_event_t::key && !open_objects.empty() && !duplicate &&
             !open_objects.back().insert(parsed.get<std::string>()).second)
      duplicate = parsed.get<std::string>();
    return true;
  };
  json root;
  try {
    root = json::parse(text, track);
  } catch (const json::exception& e) {
    CFX_FAIL(where(path), "the header is not valid JSON: ", e.what());
  }
  CFX_CHECK(!duplicate, where(path), "the header has the key '", *duplicate, "' twice");
  return root;
}

Header read_header(std::ifstream& in, const fs::path& path) {
  std::error_code ec;
  CFX_CHECK(fs::is_regular_file(path, ec), "safetensors: no file at '", path.string(), "'",
            "\nHINT: check the path; a save that crashed leaves at most '", path.string(), ".tmp'");
  const uint64_t file_bytes = fs::file_size(path, ec);
  CFX_CHECK(!ec, where(path), "cannot read the file size: ", ec.message());
  in.open(path, std::ios::binary);
  CFX_CHECK(in, where(path), "cannot open the file");
  CFX_CHECK(file_bytes >= 8, where(path), "the file is ", file_bytes,
            " bytes, too short for the 8-byte header length (truncated, or not a safetensors file?)");
  unsigned char n_bytes[8];
  in.read(reinterpret_cast<char*>(n_bytes), 8);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | n_bytes[i];
  CFX_CHECK(n > 0, where(path), "the header length is 0; expected at least 2 (\"{}\")");
  CFX_CHECK(n <= kMaxHeaderBytes, where(path), "the header length ", n, " is over the limit of ", kMaxHeaderBytes,
            " bytes (not a safetensors file?)");
  CFX_CHECK(8 + n <= file_bytes, where(path), "the header length ", n, " runs past the end of the file (", file_bytes,
            " bytes; truncated?)");
  std::string text(n, '\0');
  in.read(text.data(), static_cast<std::streamsize>(n));
  CFX_CHECK(in, where(path), "could not read the ", n, "-byte header");
  const auto first = static_cast<unsigned char>(text[0]);
  CFX_CHECK(first == '{', where(path), "the header must start with '{', got ",
            std::isprint(first) ? "'" + std::string(1, text[0]) + "'" : "byte " + std::to_string(first));
  // nlohmann stops at a NUL as if the input ended there, so "{}\0junk" would pass; JSON
  // text has no raw NUL anywhere (serde_json, the reference's parser, refuses it).
  const auto nul = text.find('\0');
  CFX_CHECK(nul == std::string::npos, where(path), "the header has a NUL byte at offset ", nul,
            " (JSON allows none; pad with spaces)");
  const json root = parse_json(text, path);
  CFX_CHECK(root.is_object(), where(path), "the header must be a JSON object, got ", root.type_name());

  Header h;
  h.data_start = 8 + n;
  for (const auto& [key, value] : root.items()) {  // nlohmann's objects iterate in key order
    if (key == kMetadataKey) {
      CFX_CHECK(value.is_object(), where(path), "\"", kMetadataKey, "\" must be an object of strings, got ", value.type_name());
      for (const auto& [k, v] : value.items()) {
        CFX_CHECK(v.is_string(), where(path), "\"", kMetadataKey, "\" must map strings to strings; '", k, "' is ", v.dump());
        h.metadata.emplace(k, v.get<std::string>());
      }
    } else {
      h.entries.push_back(parse_entry(key, value, path));
    }
  }
  check_tiling(h.entries, file_bytes - h.data_start, path);
  return h;
}

// One tensor of a validated header, as a new CPU tensor.
Tensor read_entry(std::ifstream& in, const Header& h, const Entry& e, const fs::path& path) {
  CFX_CHECK(e.dtype->cfx, where(path), "tensor '", e.name, "' has dtype ", e.dtype->name,
            ", which Conflux has no type for (it reads F32 F64 I64 I32 U8 BOOL, and F16 BF16 as float32)");
  Tensor t = empty(e.shape, {*e.dtype->cfx});
  const uint64_t bytes = e.end - e.begin;
  if (bytes == 0) return t;
  const bool widen = e.dtype->bits == 16;  // F16 / BF16 -> float32
  std::vector<uint16_t> halves(widen ? bytes / 2 : 0);
  char* dst = widen ? reinterpret_cast<char*>(halves.data()) : static_cast<char*>(t.raw_data());
  in.seekg(static_cast<std::streamoff>(h.data_start + e.begin));
  in.read(dst, static_cast<std::streamsize>(bytes));
  CFX_CHECK(in && static_cast<uint64_t>(in.gcount()) == bytes, where(path), "could not read the ", bytes,
            " bytes of tensor '", e.name, "' (did the file change while being read?)");
  if (widen) {
    float* out = t.data_ptr<float>();
    const bool bf16 = std::strcmp(e.dtype->name, "BF16") == 0;
    for (size_t i = 0; i < halves.size(); ++i) out[i] = bf16 ? bfloat16_to_float(halves[i]) : half_to_float(halves[i]);
  } else if (t.dtype() == kBool) {
    uint8_t* b = static_cast<uint8_t*>(t.raw_data());  // any non-zero byte is true, stored as 1
    for (uint64_t i = 0; i < bytes; ++i) b[i] = b[i] != 0;
  }
  return t;
}

// ---- writing ----------------------------------------------------------------------------

void write_file(const StateDict& tensors, const SafetensorsMetadata& metadata, const fs::path& path) {
  struct Item {
    std::string name;
    Tensor data;  // CPU, contiguous
    const char* dtype;
  };
  std::vector<Item> items;
  std::set<std::string> seen;
  for (const auto& [key, t] : tensors) {
    CFX_CHECK(key != kMetadataKey, "save_safetensors: a tensor may not be named '", kMetadataKey, "'");
    CFX_CHECK(seen.insert(key).second, "save_safetensors: the key '", key, "' appears twice");
    CFX_CHECK(t.defined(), "save_safetensors: the tensor for key '", key, "' is undefined");
    Tensor c = t.detach().cpu().contiguous();
    items.push_back({key, c, safetensors_name(c.dtype())});
  }
  // The reference writer's order: descending dtype, then name.
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    const int ra = dtype_rank(a.dtype), rb = dtype_rank(b.dtype);
    return ra != rb ? ra > rb : a.name < b.name;
  });

  nlohmann::ordered_json header = nlohmann::ordered_json::object();  // insertion order, as the reference writes
  if (!metadata.empty()) header[kMetadataKey] = metadata;
  uint64_t offset = 0;
  for (const Item& it : items) {
    const uint64_t bytes = static_cast<uint64_t>(it.data.numel()) * itemsize(it.data.dtype());
    header[it.name] = {{"dtype", it.dtype}, {"shape", it.data.shape()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::ordered_json::exception& e) {
    CFX_FAIL("save_safetensors: cannot write '", path.string(), "': a key or metadata string is not valid UTF-8 (", e.what(), ")");
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  CFX_CHECK(text.size() <= kMaxHeaderBytes, "save_safetensors: the header of '", path.string(), "' would be ", text.size(),
            " bytes, over the format's limit of ", kMaxHeaderBytes);

  cfx::detail::write_through_temporary(path, [&](const fs::path& tmp) {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    CFX_CHECK(out, "save_safetensors: cannot create '", tmp.string(), "'");
    unsigned char n_bytes[8];
    for (int i = 0; i < 8; ++i) n_bytes[i] = static_cast<unsigned char>(static_cast<uint64_t>(text.size()) >> (8 * i));
    out.write(reinterpret_cast<const char*>(n_bytes), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const Item& it : items) {
      const auto bytes = static_cast<std::streamsize>(it.data.numel() * static_cast<int64_t>(itemsize(it.data.dtype())));
      if (bytes > 0) out.write(static_cast<const char*>(it.data.raw_data()), bytes);
    }
    out.close();
    CFX_CHECK(!out.fail(), "save_safetensors: writing '", tmp.string(), "' failed (disk full?)");
  });
}

}  // namespace

void save_tensors_safetensors(const StateDict& tensors, const fs::path& path, const SafetensorsMetadata& metadata) {
  write_file(tensors, metadata, path);
}

StateDict load_tensors_safetensors(const fs::path& path) {
  std::ifstream in;
  const Header h = read_header(in, path);
  StateDict out;
  for (const Entry& e : h.entries) out.emplace_back(e.name, read_entry(in, h, e, path));
  return out;
}

SafetensorsMetadata load_safetensors_metadata(const fs::path& path) {
  std::ifstream in;
  return read_header(in, path).metadata;
}

void save_safetensors(const Module& module, const fs::path& path, const SafetensorsMetadata& metadata) {
  SafetensorsMetadata m = metadata;
  m.emplace("format", "pt");  // keeps the caller's "format" if given
  write_file(module.state_dict(), m, path);
}

void load_safetensors(Module& module, const fs::path& path, bool strict) {
  std::ifstream in;
  const Header h = read_header(in, path);
  std::map<std::string, const Entry*> in_file;
  for (const Entry& e : h.entries) in_file.emplace(e.name, &e);

  // Checked from the header alone, so nothing is read or changed on error.
  std::ostringstream problems;
  int n = 0;
  std::set<std::string> expected;
  for (const auto& [key, t] : module.state_dict()) {
    expected.insert(key);
    const auto it = in_file.find(key);
    if (it == in_file.end()) {
      if (strict) problems << "\n  missing key '" << key << "' (module shape " << shape_str(t.shape()) << ")", ++n;
      continue;
    }
    const Entry& e = *it->second;
    if (e.shape != t.shape()) {
      problems << "\n  shape mismatch for '" << key << "': file " << shape_str(e.shape) << " vs module "
               << shape_str(t.shape()), ++n;
    } else if (e.dtype->cfx && !(is_floating(*e.dtype->cfx) && is_floating(t.dtype())) && *e.dtype->cfx != t.dtype()) {
      problems << "\n  dtype mismatch for '" << key << "': file " << e.dtype->name << " vs module " << t.dtype(), ++n;
    } else if (!e.dtype->cfx) {
      problems << "\n  '" << key << "' has dtype " << e.dtype->name << ", which Conflux cannot read", ++n;
    }
  }
  if (strict)
    for (const Entry& e : h.entries)
      if (!expected.count(e.name))
        problems << "\n  unexpected key '" << e.name << "' (file shape " << shape_str(e.shape) << ")", ++n;
  CFX_CHECK(n == 0, "load_safetensors: '", path.string(), "' does not match ", module.type_name(), " (", n,
            " problem(s)):", problems.str(),
            "\nHINT: keys are PyTorch state-dict names (module.state_dict()); strict=false skips missing and unexpected keys");

  StateDict values;
  for (const Entry& e : h.entries)
    if (expected.count(e.name)) values.emplace_back(e.name, read_entry(in, h, e, path));
  module.load_state_dict(values, strict);
}

}  // namespace cfx::nn
