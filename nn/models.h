// The Flowformer model family of the paper's five benchmarks (../shared/BENCHMARKS.md), one
// header and source per model in nn/models/; this header includes them all:
//   FlowformerClassifier   encoder classifier: LRA (§1.1) and UEA time series (§4.3)   classifier.h
//   FlowformerDualEncoder  LRA Retrieval: one encoder on two documents, MLP head (§1.1)  dual_encoder.h
//   FlowformerLM           causal language model, fairseq transformer_lm (§2.2)          lm.h
//   FlowformerVision       four-stage ImageNet model (§3.2)                             vision.h
//   DecisionTransformer    D4RL offline RL (§5.3)                                       decision_transformer.h
// Each is a config struct (with presets for the paper's settings) plus a Module whose
// constructor wires the layers and whose forward reads like the paper. All of them take
// AttentionKind::Softmax for the vanilla-Transformer baseline. What several of them share
// (the layer stack, the causal layer, the LRA init) is written once in nn/models/common.{h,cpp}.
#pragma once

#include "nn/models/classifier.h"
#include "nn/models/decision_transformer.h"
#include "nn/models/dual_encoder.h"
#include "nn/models/lm.h"
#include "nn/models/vision.h"
