// What every benchmark program prints about the machine next to its figures, beyond
// core/cpu_capability.h's cpu_model_name(): the load it ran under.
#pragma once

#include <cstdio>

namespace cfx::bench {

// The 1-minute load average (/proc/loadavg), or -1 where there is none.
inline double load_average() {
  double load = -1;
  if (std::FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &load) != 1) load = -1;
    std::fclose(f);
  }
  return load;
}

}  // namespace cfx::bench
