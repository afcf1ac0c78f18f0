// conflux-lra: the Long Range Arena app (apps/lra/lra.h lists the commands). Errors are
// cfx::Error messages on stderr and exit status 1.
#include <iostream>
#include <string>
#include <vector>

#include "apps/lra/lra.h"
#include "core/error.h"

int main(int argc, char** argv) {
  try {
    return cfx::lra::run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
