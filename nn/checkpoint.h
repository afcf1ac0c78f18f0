// HDF5 checkpoints that PyTorch users can read and write.
//
// File layout (one file per checkpoint):
//   /<state-dict key>            one dataset per module key at the root, float32, PyTorch
//                                shape, e.g. "/layers.0.attn.query_projection.weight" [D, D]
//   /optimizer/<key>             optimiser state (nn/optim.h keys: "state.3.exp_avg",
//                                "state.3.step" (int64), "param_groups.0.lr" (float64)),
//                                only when an optimiser is saved
// so h5py reads it directly, and a PyTorch state dict written by
//   with h5py.File("ckpt.h5", "w") as f:
//       for k, v in model.state_dict().items(): f[k] = v.float().cpu().numpy()
// loads into the Conflux module with the same structure.
//
// Writes go to "<path>.tmp", are flushed and fsync'ed, then renamed over <path>: a crash
// leaves either the old checkpoint or the new one, never a torn file.
// Loading checks every key and shape before it changes anything; a missing key, an
// unexpected key or a wrong shape throws cfx::Error naming the key and both shapes.
// Not here: the state dict itself (nn/module.h), any other file format.
#pragma once

#include <filesystem>

#include "nn/module.h"
#include "nn/optim.h"

namespace cfx::nn {

void save(const Module& module, const std::filesystem::path& path);
void save(const Module& module, const Optimizer& optimizer, const std::filesystem::path& path);
// Reads the root datasets into `module`; ignores the "optimizer" group.
void load(Module& module, const std::filesystem::path& path);
void load(Module& module, Optimizer& optimizer, const std::filesystem::path& path);

// Low level: any tensors, keys with '/' become groups; each dataset keeps its tensor's dtype
// (float32/float64/int32/int64/uint8). Same atomic write.
void save_tensors(const StateDict& tensors, const std::filesystem::path& path);
// Every dataset in the file, keyed by its path without the leading '/', in name order;
// float32/float64 datasets keep their type, integers become int64.
StateDict load_tensors(const std::filesystem::path& path);

}  // namespace cfx::nn
