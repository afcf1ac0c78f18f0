// Synthetic ListOps: LRA's tree grammar, bracket-form writer, evaluator and TSV files (see generate.h).
#include <algorithm>
#include <fstream>
#include <numeric>
#include <unordered_set>

#include "data/detail/io.h"   // defines: split_ws, quote
#include "data/detail/rng.h"  // defines: Rng
#include "data/lra/generate.h"

namespace cfx::data {

namespace fs = std::filesystem;

namespace {

enum Op { kMin, kMax, kMed, kSum };
constexpr const char* kOpNames[] = {"[MIN", "[MAX", "[MED", "[SM"};
constexpr double kValueP = 0.25;  // LRA VALUE_P: a node is an operator when r <= 0.25

int apply(Op op, std::vector<int> args) {
  switch (op) {
    case kMin: return *std::min_element(args.begin(), args.end());
    case kMax: return *std::max_element(args.begin(), args.end());
    case kMed: {  // int(np.median(args)): mean of the middle two when even, truncated
      std::sort(args.begin(), args.end());
      const size_t m = args.size() / 2;
      return args.size() % 2 ? args[m] : (args[m - 1] + args[m]) / 2;
    }
    case kSum: return std::accumulate(args.begin(), args.end(), 0) % 10;
  }
  return 0;
}

// One tree of LRA's generate_tree, written straight into `out` in bracket form. Stops early
// (over = true) once the length reaches max_length: such a tree is rejected anyway.
struct TreeWriter {
  detail::Rng& rng;
  const ListOpsOptions& opts;
  std::string out;
  int64_t length = 0;
  bool over = false;

  void count(int64_t n) {
    length += n;
    over = over || length >= opts.max_length;
  }

  int node(int64_t depth) {  // depth <= max_depth, so recursion is bounded by the option
    const double r = depth < opts.max_depth ? rng.uniform() : 1.0;
    if (r > kValueP) {
      const int v = static_cast<int>(rng.randint(0, 9));
      out += static_cast<char>('0' + v);
      count(1);
      return v;
    }
    const int64_t k = rng.randint(2, opts.max_args);
    const auto op = static_cast<Op>(rng.randint(0, 3));
    for (int64_t i = 0; i <= k; ++i) out += "( ";  // binarised: ((op, a0), a1) ... , ])
    out += kOpNames[op];
    count(2);  // the operator and its ']'
    std::vector<int> args;
    for (int64_t i = 0; i < k && !over; ++i) {
      out += ' ';
      args.push_back(node(depth + 1));
      out += " )";
    }
    out += " ] )";
    return over ? 0 : apply(op, std::move(args));
  }
};

}  // namespace

std::vector<ListOpsExample> generate_listops_examples(int64_t n, const ListOpsOptions& opts, Generator& gen) {
  CFX_CHECK(n >= 0, "generate_listops_examples: n must be >= 0, got ", n);
  CFX_CHECK(opts.max_depth >= 1 && opts.max_depth <= 1000, "generate_listops_examples: max_depth ",
            opts.max_depth, " outside 1..1000");
  CFX_CHECK(opts.max_args >= 2, "generate_listops_examples: max_args must be >= 2, got ", opts.max_args);
  CFX_CHECK(opts.min_length + 1 < opts.max_length, "generate_listops_examples: no length strictly between ",
            "min_length ", opts.min_length, " and max_length ", opts.max_length);
  detail::Rng rng(gen);
  std::vector<ListOpsExample> out;
  std::unordered_set<std::string> seen;
  int64_t draws = 0;
  while (static_cast<int64_t>(out.size()) < n) {
    CFX_CHECK(++draws <= opts.max_draws, "generate_listops_examples: only ", out.size(), " of ", n,
              " trees accepted after ", opts.max_draws, " draws (min_length ", opts.min_length, ", max_length ",
              opts.max_length, ", max_depth ", opts.max_depth, ", unique ", opts.unique, ")");
    TreeWriter w{rng, opts, {}, 0, false};
    const int value = w.node(1);
    if (w.over || w.length <= opts.min_length || w.length >= opts.max_length) continue;
    if (opts.unique && !seen.insert(w.out).second) continue;
    out.push_back({std::move(w.out), value});
  }
  return out;
}

int listops_evaluate(std::string_view source) {
  struct Frame {
    Op op;
    std::vector<int> args;
  };
  std::vector<Frame> stack;
  int result = -1;
  auto emit = [&](int v) {
    if (!stack.empty()) {
      stack.back().args.push_back(v);
      return;
    }
    CFX_CHECK(result < 0, "listops_evaluate: more than one top-level value in ", detail::quote(source));
    result = v;
  };
  for (std::string_view tok : detail::split_ws(source)) {
    if (tok == "(" || tok == ")") continue;
    if (tok == "]" || tok == "X") {
      CFX_CHECK(!stack.empty(), "listops_evaluate: unmatched ']' in ", detail::quote(source));
      Frame f = std::move(stack.back());
      stack.pop_back();
      CFX_CHECK(!f.args.empty(), "listops_evaluate: operator ", kOpNames[f.op], " without arguments in ",
                detail::quote(source));
      emit(apply(f.op, std::move(f.args)));
    } else if (tok.size() == 1 && tok[0] >= '0' && tok[0] <= '9') {
      emit(tok[0] - '0');
    } else {
      const auto* it = std::find(std::begin(kOpNames), std::end(kOpNames), tok);
      CFX_CHECK(it != std::end(kOpNames), "listops_evaluate: unknown token ", detail::quote(tok), " in ",
                detail::quote(source));
      CFX_CHECK(result < 0 || !stack.empty(), "listops_evaluate: more than one top-level value in ",
                detail::quote(source));
      stack.push_back({static_cast<Op>(it - std::begin(kOpNames)), {}});
    }
  }
  CFX_CHECK(stack.empty(), "listops_evaluate: ", stack.size(), " unclosed operator(s) in ", detail::quote(source));
  CFX_CHECK(result >= 0, "listops_evaluate: no value in ", detail::quote(source));
  return result;
}

void write_listops_tsv(const fs::path& file, const std::vector<ListOpsExample>& examples) {
  std::ofstream out(file, std::ios::binary);
  CFX_CHECK(out, "write_listops_tsv: cannot write ", file.string());
  out << "Source\tTarget\n";
  for (const ListOpsExample& e : examples) out << e.source << '\t' << e.target << '\n';
  CFX_CHECK(out.good(), "write_listops_tsv: write error on ", file.string());
}

void generate_listops(const fs::path& dir, int64_t num_train, int64_t num_val, int64_t num_test,
                      const ListOpsOptions& opts, uint64_t seed) {
  Generator gen(seed);
  auto all = generate_listops_examples(num_train + num_val + num_test, opts, gen);
  fs::create_directories(dir);
  const auto at = [&](int64_t i) { return all.begin() + i; };
  write_listops_tsv(dir / "basic_train.tsv", {at(0), at(num_train)});
  write_listops_tsv(dir / "basic_val.tsv", {at(num_train), at(num_train + num_val)});
  write_listops_tsv(dir / "basic_test.tsv", {at(num_train + num_val), all.end()});
}

}  // namespace cfx::data
