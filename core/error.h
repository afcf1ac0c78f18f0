// cfx::Error and the CFX_CHECK macro: the one way Conflux reports a user mistake.
//
// A failed check throws (never aborts) with the op name, what was expected, what was
// got, and the file:line of the check, e.g.
//   matmul: expected a.shape[-1] == b.shape[-2], got [4, 6] and [5, 6] (ops/linalg.cpp:42)
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace cfx {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {

template <class... Args>
std::string str_cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

[[noreturn]] void throw_error(const char* file, int line, const std::string& message);

}  // namespace detail
}  // namespace cfx

// CFX_CHECK(cond, "op: expected ", a, ", got ", b): throws cfx::Error when cond is false.
// Arguments are streamed with operator<<, so shapes, dtypes and devices print directly.
#define CFX_CHECK(cond, ...)                                                        \
  do {                                                                              \
    if (!(cond)) [[unlikely]]                                                       \
      ::cfx::detail::throw_error(__FILE__, __LINE__, ::cfx::detail::str_cat(__VA_ARGS__)); \
  } while (0)

#define CFX_FAIL(...) ::cfx::detail::throw_error(__FILE__, __LINE__, ::cfx::detail::str_cat(__VA_ARGS__))
