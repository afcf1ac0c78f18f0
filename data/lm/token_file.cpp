// Binarised token files (see token_file.h).
#include "data/lm/token_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "core/error.h"
#include "data/detail/io.h"  // defines: require_file, read_file

namespace cfx::data::lm {

namespace fs = std::filesystem;

namespace {

constexpr char kMagic[8] = {'C', 'F', 'X', 'T', 'O', 'K', 'E', 'N'};
constexpr size_t kHeaderBytes = 32;

template <class T>
void put(std::string& buf, T v) {  // little-endian (x86-64 and every target here)
  buf.append(reinterpret_cast<const char*>(&v), sizeof v);
}

template <class T>
T get(const unsigned char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace

BinarizeStats binarize(const fs::path& text_file, const Dictionary& dict, const fs::path& out, const Progress& progress) {
  detail::require_file("binarize", text_file);
  const std::string text = detail::read_file("binarize", text_file);
  CFX_CHECK(!text.empty(), "binarize: ", text_file.string(), " is empty");
  const int bytes_per_id = dict.size() <= 65536 ? 2 : 4;

  BinarizeStats stats;
  std::string ids;  // the encoded stream, bytes_per_id each
  ids.reserve(text.size() / 2);
  int64_t last_report = 0;
  for_each_line(text, [&](std::string_view line) {
    for (int32_t id : dict.encode_line(line, &stats.unknown)) {
      if (bytes_per_id == 2) put(ids, static_cast<uint16_t>(id));
      else put(ids, static_cast<uint32_t>(id));
      ++stats.tokens;
    }
    ++stats.lines;
    const int64_t at = line.data() - text.data();
    if (progress && at - last_report > (int64_t{1} << 22)) progress(at, static_cast<int64_t>(text.size())), last_report = at;
  });
  if (progress) progress(static_cast<int64_t>(text.size()), static_cast<int64_t>(text.size()));

  std::string header(kMagic, sizeof kMagic);
  put(header, uint32_t{1});
  put(header, static_cast<uint32_t>(bytes_per_id));
  put(header, static_cast<uint64_t>(stats.tokens));
  put(header, static_cast<uint64_t>(dict.size()));
  const fs::path tmp = out.string() + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary);
    CFX_CHECK(f.good(), "binarize: cannot write ", tmp.string());
    f.write(header.data(), static_cast<std::streamsize>(header.size()));
    f.write(ids.data(), static_cast<std::streamsize>(ids.size()));
    f.flush();
    CFX_CHECK(f.good(), "binarize: writing ", tmp.string(), " failed (disk full?)");
  }
  fs::rename(tmp, out);
  return stats;
}

TokenFile::TokenFile(const fs::path& file, int64_t dictionary_size) : path_(file) {
  detail::require_file("TokenFile", file, "make it with `conflux-lm prepare`");
  const int fd = ::open(file.c_str(), O_RDONLY);
  CFX_CHECK(fd >= 0, "TokenFile: cannot open ", file.string());
  map_bytes_ = static_cast<size_t>(fs::file_size(file));
  if (map_bytes_ >= kHeaderBytes) map_ = ::mmap(nullptr, map_bytes_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  CFX_CHECK(map_bytes_ >= kHeaderBytes, "TokenFile: ", file.string(), " has ", map_bytes_, " bytes, less than its ",
            kHeaderBytes, "-byte header");
  CFX_CHECK(map_ != MAP_FAILED, "TokenFile: cannot map ", file.string());
  try {
    read_header(dictionary_size);
  } catch (...) {
    ::munmap(map_, map_bytes_);  // the destructor does not run for a throwing constructor
    throw;
  }
}

void TokenFile::read_header(int64_t dictionary_size) {
  const auto* p = static_cast<const unsigned char*>(map_);
  CFX_CHECK(std::memcmp(p, kMagic, sizeof kMagic) == 0, "TokenFile: ", path_.string(),
            " is not a token file (no CFXTOKEN header)");
  const auto version = get<uint32_t>(p + 8), bytes = get<uint32_t>(p + 12);
  CFX_CHECK(version == 1, "TokenFile: ", path_.string(), ": version ", version, ", expected 1");
  CFX_CHECK(bytes == 2 || bytes == 4, "TokenFile: ", path_.string(), ": ", bytes, " bytes per id, expected 2 or 4");
  bytes_per_id_ = static_cast<int>(bytes);
  dictionary_size_ = static_cast<int64_t>(get<uint64_t>(p + 24));
  const auto declared = get<uint64_t>(p + 16);  // compared by division: a hostile count must not overflow
  CFX_CHECK(declared == (map_bytes_ - kHeaderBytes) / bytes && (map_bytes_ - kHeaderBytes) % bytes == 0, "TokenFile: ",
            path_.string(), " has ", map_bytes_ - kHeaderBytes, " bytes of ids; its header declares ", declared,
            " ids of ", bytes, " bytes: truncated or damaged");
  tokens_ = static_cast<int64_t>(declared);
  ids_ = p + kHeaderBytes;
  if (dictionary_size > 0) {
    CFX_CHECK(dictionary_size_ == dictionary_size, "TokenFile: ", path_.string(), " was written with a dictionary of ",
              dictionary_size_, " entries, the dictionary given has ", dictionary_size,
              "\nHINT: prepare the splits again with this dict.txt");
    for (int64_t i = 0; i < tokens_; ++i)
      CFX_CHECK((*this)[i] >= 0 && (*this)[i] < dictionary_size, "TokenFile: ", path_.string(), ": token ", i, " is id ",
                (*this)[i], ", beyond the dictionary of ", dictionary_size, " entries");
  }
}

TokenFile::~TokenFile() {
  if (map_ && map_ != MAP_FAILED) ::munmap(map_, map_bytes_);
}

int32_t TokenFile::operator[](int64_t i) const {
  const unsigned char* p = ids_ + static_cast<size_t>(i) * static_cast<size_t>(bytes_per_id_);
  return bytes_per_id_ == 2 ? static_cast<int32_t>(get<uint16_t>(p)) : static_cast<int32_t>(get<uint32_t>(p));
}

void TokenFile::copy(int64_t begin, int64_t n, int64_t* out) const {
  CFX_CHECK(begin >= 0 && n >= 0 && begin + n <= tokens_, "TokenFile: ids [", begin, ", ", begin + n, ") are outside ",
            path_.string(), " (", tokens_, " ids)");
  for (int64_t i = 0; i < n; ++i) out[i] = (*this)[begin + i];
}

std::vector<int32_t> TokenFile::slice(int64_t begin, int64_t end) const {
  CFX_CHECK(begin >= 0 && begin <= end && end <= tokens_, "TokenFile: ids [", begin, ", ", end, ") are outside ",
            path_.string(), " (", tokens_, " ids)");
  std::vector<int32_t> ids(static_cast<size_t>(end - begin));
  for (int64_t i = begin; i < end; ++i) ids[static_cast<size_t>(i - begin)] = (*this)[i];
  return ids;
}

}  // namespace cfx::data::lm
