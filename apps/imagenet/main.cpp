// conflux-imagenet: the ImageNet app (apps/imagenet/imagenet.h lists the commands). Errors are
// cfx::Error messages on stderr and exit status 1.
#include <iostream>
#include <string>
#include <vector>

#include "apps/imagenet/imagenet.h"

int main(int argc, char** argv) {
  try {
    return cfx::imagenet::run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
