// End to end: a 1-layer Flow-Attention encoder classifier learns a synthetic sequence task.
//
// Task: sequences of 16 tokens from {1, 2, 3, 4} (no ties allowed); the label is 1 when token
// 1 occurs more often than token 2. The model pools the CLS token, so the answer has to be
// carried by attention from the sequence into the CLS position.
#include "testing.h"

using namespace cfx;
using namespace cfx::nn;

namespace {

constexpr int64_t kLen = 16;

// tokens [N, kLen] int64 and labels [N] int64.
std::pair<Tensor, Tensor> make_batch(int64_t n, Generator& gen) {
  std::vector<int64_t> tokens, labels;
  while (static_cast<int64_t>(labels.size()) < n) {
    const auto draw = to_vector<int64_t>(randint(1, 5, {kLen}, {kInt64}, &gen));
    int64_t ones = 0, twos = 0;
    for (int64_t t : draw) ones += t == 1, twos += t == 2;
    if (ones == twos) continue;
    tokens.insert(tokens.end(), draw.begin(), draw.end());
    labels.push_back(ones > twos ? 1 : 0);
  }
  return {tensor(tokens, {n, kLen}), tensor(labels, {n})};
}

double accuracy(const FlowformerClassifier& model, const Tensor& x, const Tensor& y) {
  NoGradGuard no_grad;
  const auto pred = to_vector<int64_t>(argmax(model.forward(x), 1));
  const auto truth = to_vector<int64_t>(y);
  int64_t correct = 0;
  for (size_t i = 0; i < pred.size(); ++i) correct += pred[i] == truth[i];
  return static_cast<double>(correct) / static_cast<double>(pred.size());
}

}  // namespace

TEST_CASE("end to end: a Flow-Attention encoder learns 'more 1s than 2s' to > 90% accuracy") {
  FlowformerClassifierConfig c;
  c.vocab_size = 5;
  c.max_len = kLen;
  c.num_classes = 2;
  c.n_layers = 1;
  c.layer.d_model = 32;
  c.layer.n_heads = 2;
  c.layer.d_ff = 64;
  c.layer.flow = FlowAttentionOptions::core();
  c.layer.dropout = c.layer.activation_dropout = 0.0;
  c.embedding_dropout = 0.0;
  c.head_hidden = 32;
  c.pooling = Pooling::CLS;
  Generator gen(2024);
  FlowformerClassifier model(c, &gen);

  AdamOptions o;
  o.lr = 3e-3;
  o.weight_decay = 0.01;
  AdamW opt(param_groups_no_decay(model, 0.01), o);
  const int steps = 200;
  LRScheduler sched(opt, schedule::warmup_cosine(20, steps, 0.1));
  auto [test_x, test_y] = make_batch(512, gen);
  const double before = accuracy(model, test_x, test_y);

  double loss_value = 0;
  for (int step = 0; step < steps; ++step) {
    auto [x, y] = make_batch(32, gen);
    Tensor loss = cross_entropy(model.forward(x), y);
    opt.zero_grad();
    loss.backward();
    clip_grad_norm_(model.parameters(), 1.0);
    opt.step();
    sched.step();
    loss_value = loss.item<double>();
  }
  model.eval();
  const double after = accuracy(model, test_x, test_y);
  MESSAGE("accuracy ", before, " -> ", after, " after ", steps, " steps, last loss ", loss_value);
  CHECK(after > 0.9);
}
