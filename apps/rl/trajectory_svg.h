// A picture of one episode: the torso's path in the x-z plane (left) and the return so far
// against the step (right), as a self-contained SVG any browser shows.
#pragma once

#include <string>
#include <vector>

namespace cfx::rl {

struct TrajectoryPlot {
  std::string title;
  std::vector<double> x, z;         // torso position per step (qpos[0], qpos[1])
  std::vector<double> cumulative;   // return after each step
};

std::string trajectory_svg(const TrajectoryPlot& plot);

}  // namespace cfx::rl
