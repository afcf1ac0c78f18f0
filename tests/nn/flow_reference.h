// A scalar, loop-by-loop transcription of the official core `Flow_Attention` module
// (thuml/Flowformer Flow_Attention.py; ../shared/BENCHMARKS.md section 0.2): projections
// with PyTorch [out, in] weights, sigmoid feature map, clamp(Ô, -1, 1), out projection; with
// cv = true the Flowformer_CV module's attention (+ eps after each of the four normaliser dot
// products, section 0.2). Plain std::vector<double>, no Conflux ops, so it checks the module
// independently.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

namespace cfx::testing {

struct OfficialFlowWeights {
  int64_t d_input = 0, d_model = 0, d_output = 0, n_heads = 1;
  // [out, in] row-major, as in a PyTorch state dict.
  std::vector<double> wq, bq, wk, bk, wv, bv, wo, bo;
};

// x: [B, L, d_input] row-major -> [B, L, d_output].
inline std::vector<double> official_flow_attention(const OfficialFlowWeights& w, const std::vector<double>& x,
                                                   int64_t B, int64_t L, double eps = 1e-6, bool cv = false) {
  const double after = cv ? eps : 0.0;
  const int64_t Di = w.d_input, Dm = w.d_model, Do = w.d_output, H = w.n_heads, dh = Dm / H;
  auto dense = [&](const std::vector<double>& in, int64_t n_in, const std::vector<double>& W,
                   const std::vector<double>& b, int64_t n_out) {
    std::vector<double> out(static_cast<size_t>(B * L * n_out));
    for (int64_t r = 0; r < B * L; ++r)
      for (int64_t o = 0; o < n_out; ++o) {
        double s = b[o];
        for (int64_t i = 0; i < n_in; ++i) s += W[o * n_in + i] * in[r * n_in + i];
        out[r * n_out + o] = s;
      }
    return out;
  };
  auto sig = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
  const auto q = dense(x, Di, w.wq, w.bq, Dm), k = dense(x, Di, w.wk, w.bk, Dm), v = dense(x, Di, w.wv, w.bv, Dm);
  std::vector<double> merged(static_cast<size_t>(B * L * Dm));
  const int64_t S = L;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      auto Q = [&](int64_t i, int64_t d) { return sig(q[(b * L + i) * Dm + h * dh + d]); };
      auto K = [&](int64_t j, int64_t d) { return sig(k[(b * L + j) * Dm + h * dh + d]); };
      auto V = [&](int64_t j, int64_t m) { return v[(b * L + j) * Dm + h * dh + m]; };
      std::vector<double> ksum(dh, 0), qsum(dh, 0), I(L), O(S), a(dh, 0), bb(dh, 0), C(S);
      for (int64_t d = 0; d < dh; ++d) {
        for (int64_t j = 0; j < S; ++j) ksum[d] += K(j, d);
        for (int64_t i = 0; i < L; ++i) qsum[d] += Q(i, d);
      }
      for (int64_t i = 0; i < L; ++i) {  // sink incoming
        double s = 0;
        for (int64_t d = 0; d < dh; ++d) s += (Q(i, d) + eps) * (ksum[d] + eps);
        I[i] = 1.0 / (s + after);
      }
      for (int64_t j = 0; j < S; ++j) {  // source outgoing
        double s = 0;
        for (int64_t d = 0; d < dh; ++d) s += (K(j, d) + eps) * (qsum[d] + eps);
        O[j] = 1.0 / (s + after);
      }
      for (int64_t d = 0; d < dh; ++d) {
        for (int64_t j = 0; j < S; ++j) a[d] += K(j, d) * O[j];
        for (int64_t i = 0; i < L; ++i) bb[d] += Q(i, d) * I[i];
      }
      double cmax = -1e300;
      std::vector<double> Ohat(S);
      for (int64_t j = 0; j < S; ++j) {  // conserved source, clamped, then competition
        double s = 0;
        for (int64_t d = 0; d < dh; ++d) s += (K(j, d) + eps) * (bb[d] + eps);
        Ohat[j] = std::clamp(s + after, -1.0, 1.0);
        cmax = std::max(cmax, Ohat[j]);
      }
      double z = 0;
      for (int64_t j = 0; j < S; ++j) z += std::exp(Ohat[j] - cmax);
      for (int64_t j = 0; j < S; ++j) C[j] = static_cast<double>(S) * std::exp(Ohat[j] - cmax) / z;
      for (int64_t i = 0; i < L; ++i) {
        double ihat = 0;
        for (int64_t d = 0; d < dh; ++d) ihat += (Q(i, d) + eps) * (a[d] + eps);
        const double A = sig((ihat + after) * static_cast<double>(L) / static_cast<double>(S));
        for (int64_t m = 0; m < dh; ++m) {
          double y = 0;
          for (int64_t d = 0; d < dh; ++d) {
            double kv = 0;
            for (int64_t j = 0; j < S; ++j) kv += K(j, d) * C[j] * V(j, m);
            y += Q(i, d) * kv;
          }
          merged[(b * L + i) * Dm + h * dh + m] = A * I[i] * y;
        }
      }
    }
  return dense(merged, Dm, w.wo, w.bo, Do);
}

}  // namespace cfx::testing
