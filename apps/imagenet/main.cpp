// conflux-imagenet: the ImageNet app (apps/imagenet/imagenet.h lists the commands). Errors are
// cfx::Error messages on stderr and exit status 1.
#include <malloc.h>

#include <iostream>
#include <string>
#include <vector>

#include "apps/imagenet/imagenet.h"

int main(int argc, char** argv) {
  // Every image of the pipeline is a fresh buffer of 0.1-1 MB. glibc serves those by mmap and
  // returns them on free, so each one page-faults in again: 40-60% of the input pipeline's time
  // (conflux-bench-image-pipeline). Keeping freed blocks in the heap, as PIL's block arena
  // does, removes that.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  try {
    return cfx::imagenet::run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
