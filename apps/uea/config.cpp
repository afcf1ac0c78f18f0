// UEA presets and flags (config.h). Section numbers refer to ../shared/BENCHMARKS.md.
#include "apps/uea/config.h"

#include "core/error.h"

namespace cfx::uea {

const std::vector<UeaPreset>& uea_presets() {
  // 4.1 (epochs, optimizer from scripts/flowformer.sh) and 4.5 (Flowformer accuracy)
  static const std::vector<UeaPreset> presets = {
      {"EthanolConcentration", 100, "radam", 33.8}, {"FaceDetection", 100, "radam", 67.6},
      {"Handwriting", 100, "radam", 33.8},          {"Heartbeat", 100, "radam", 77.6},
      {"JapaneseVowels", 100, "radam", 98.9},       {"PEMS-SF", 400, "radam", 83.8},
      {"SelfRegulationSCP1", 100, "radam", 92.5},   {"SelfRegulationSCP2", 100, "radam", 56.1},
      {"SpokenArabicDigits", 100, "adam", 98.8},    {"UWaveGestureLibrary", 100, "radam", 86.6},
  };
  return presets;
}

UeaConfig preset(const std::string& dataset) {
  UeaConfig c;
  c.dataset = dataset;
  c.out_dir = "runs/uea_" + dataset;
  for (const UeaPreset& p : uea_presets())
    if (dataset == p.name) {
      c.epochs = p.epochs;
      c.optimizer = p.optimizer;
    }
  return c;
}

std::optional<double> paper_accuracy(const std::string& dataset) {
  for (const UeaPreset& p : uea_presets())
    if (dataset == p.name) return p.paper_accuracy;
  return std::nullopt;
}

void add_flags(app::Flags& f, UeaConfig& c) {
  f.add("dataset", &c.dataset, "UEA set: <data>/<dataset>/<dataset>_{TRAIN,TEST}.ts (or per-dimension .arff)");
  f.add("data", &c.data_dir, "folder holding the <dataset>/ folders (the archive's Multivariate_ts/)");
  f.add("out", &c.out_dir, "run directory: checkpoints, state.json, config.json, metrics.jsonl, best.h5");
  f.add("log", &c.log_file, "metrics file (default <out>/metrics.jsonl)");
  f.add("checkpoint", &c.checkpoint, "eval: checkpoint to evaluate (default <out>/best.h5)");
  f.add("resume", &c.resume, "continue the run in --out from its last checkpoint");
  f.add("layers", &c.layers, "encoder layers");
  f.add("d-model", &c.d_model, "model width");
  f.add("heads", &c.heads, "attention heads");
  f.add("d-ff", &c.d_ff, "MLP width");
  f.add("dropout", &c.dropout, "dropout everywhere");
  f.add("max-len", &c.max_len, "model length (0 = the longest training series)");
  f.add("epochs", &c.epochs, "training epochs");
  f.add("batch-size", &c.batch_size, "series per batch");
  f.add("lr", &c.lr, "learning rate (constant)");
  f.add("optimizer", &c.optimizer, "radam | adam");
  f.add("clip", &c.clip, "max global gradient norm (0 = none)");
  f.add("eval-every", &c.eval_every, "epochs between evaluations on the test set (plus before training, after epoch 1, at the end)");
  f.add("checkpoint-every", &c.checkpoint_every, "epochs between checkpoints");
  f.add("keep-checkpoints", &c.keep_checkpoints, "step checkpoints kept on disk");
  f.add("time-limit", &c.time_limit, "seconds of training in this session (0 = none), then checkpoint + final eval");
  f.add("seed", &c.seed, "seed of the initialisation, the batch order and dropout");
  f.add("seeds", &c.seeds, "runs of consecutive seeds (each in <out>/seed_<s>/), then their mean and spread vs the paper");
  f.add("threads", &c.threads, "CPU threads (0 = CONFLUX_NUM_THREADS or all cores)");
  f.add("device", &c.device, "cpu | cuda | cuda:N");
  f.add("log-every", &c.log_every, "progress line every N steps when stderr is not a terminal");
}

void validate(const UeaConfig& c) {
  CFX_CHECK(!c.data_dir.empty(), "conflux-uea: --data is required (the folder holding ", c.dataset, "/)");
  CFX_CHECK(c.optimizer == "radam" || c.optimizer == "adam", "conflux-uea: --optimizer takes radam or adam, got '",
            c.optimizer, "'");
  CFX_CHECK(c.layers > 0 && c.d_model > 0 && c.heads > 0 && c.d_ff > 0 && c.d_model % c.heads == 0,
            "conflux-uea: --layers, --d-model, --heads, --d-ff must be positive and heads must divide d-model, got ",
            c.layers, ", ", c.d_model, ", ", c.heads, ", ", c.d_ff);
  CFX_CHECK(c.seeds >= 1, "conflux-uea: --seeds must be >= 1, got ", c.seeds);
  CFX_CHECK(c.epochs > 0 && c.batch_size > 0 && c.eval_every > 0 && c.checkpoint_every > 0 && c.keep_checkpoints > 0,
            "conflux-uea: --epochs, --batch-size, --eval-every, --checkpoint-every, --keep-checkpoints must be positive");
  CFX_CHECK(c.lr > 0 && c.clip >= 0 && c.dropout >= 0 && c.dropout < 1 && c.max_len >= 0,
            "conflux-uea: --lr must be positive, --clip >= 0, --dropout in [0, 1), --max-len >= 0");
}

}  // namespace cfx::uea
