// safetensors files (https://huggingface.co/docs/safetensors), the format of the Hugging Face
// Hub, beside the HDF5 checkpoints of nn/checkpoint.h.
//
// Layout: 8 bytes little-endian u64 N, N bytes of UTF-8 JSON, then the data region:
//   {"__metadata__": {"format": "pt"},
//    "layers.0.attn.query_projection.weight": {"dtype": "F32", "shape": [8, 8], "data_offsets": [0, 256]}, ...}
// offsets count from the first byte after the header; tensors are raw little-endian row-major.
// What we write is what the reference writer (safetensors' Rust core) writes for the same
// tensors: tensors ordered by descending dtype (I64, F64, F32, I32, U8, BOOL) then by name,
// so each is aligned to its element size; compact JSON padded with spaces to 8 bytes.
//
// dtypes: F32 F64 I64 I32 U8 BOOL load as float32 float64 int64 int32 uint8 bool; F16 and
// BF16 load as float32 (exact widening, since Conflux has no 16-bit floats); any other
// dtype of the spec (I8, I16, U16, U32, U64, F8_*, C64, ...) throws naming it.
// Every file is validated before anything is read or changed (header size, JSON, each
// entry's fields, byte counts, offsets that tile the data region with no hole or overlap,
// duplicate keys); a bad file throws cfx::Error naming the file and the tensor.
// Writes are atomic (core/detail/atomic_file.h): a crash leaves the old file or the new one.
// Tensors on CUDA or non-contiguous are copied to CPU row-major first.
// Not here: HDF5 (nn/checkpoint.h), optimiser state, memory mapping.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "nn/module.h"

namespace cfx::nn {

using SafetensorsMetadata = std::map<std::string, std::string>;

// The module's state dict (parameters and persistent buffers, the keys of nn::save), each
// tensor in its own dtype, like safetensors.torch.save_model. Adds {"format": "pt"} to the
// metadata unless it sets "format" (transformers' from_pretrained wants it).
void save_safetensors(const Module& module, const std::filesystem::path& path, const SafetensorsMetadata& metadata = {});
// Like load_state_dict: strict checks that the file has exactly the module's keys. Either
// way every shape must match, and a float tensor must meet a float tensor (float32/float64/
// F16/BF16 convert to the module's dtype); other dtypes must match exactly. The error lists
// every problem with its key. Nothing changes on error.
void load_safetensors(Module& module, const std::filesystem::path& path, bool strict = true);

// Low level: any named tensors, written as they are (no "format" added). Keys are unique,
// valid UTF-8 and not "__metadata__".
void save_tensors_safetensors(const StateDict& tensors, const std::filesystem::path& path,
                              const SafetensorsMetadata& metadata = {});
// Every tensor in the file, in name order, as CPU tensors.
StateDict load_tensors_safetensors(const std::filesystem::path& path);
// The "__metadata__" object (empty when there is none); validates the whole header.
SafetensorsMetadata load_safetensors_metadata(const std::filesystem::path& path);

}  // namespace cfx::nn
