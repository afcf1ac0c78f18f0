#include "core/error.h"

#include <cstring>

namespace cfx::detail {

void throw_error(const char* file, int line, const std::string& message) {
  // Keep only the path below the source root so messages read "ops/linalg.cpp:42".
  const char* shown = file;
  for (const char* room : {"/core/", "/autograd/", "/ops/", "/cuda/", "/nn/", "/data/", "/apps/", "/tests/"}) {
    if (const char* p = std::strstr(file, room)) { shown = p + 1; break; }
  }
  throw Error(message + " (" + shown + ":" + std::to_string(line) + ")");
}

}  // namespace cfx::detail
