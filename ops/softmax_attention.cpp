// scaled_dot_product_attention: the vanilla Transformer attention the paper compares
// Flow-Attention with. Deliberately composed from primitive ops (matmul, masked_fill,
// softmax), so it materialises the [B,H,L,S] score matrix: quadratic time and memory,
// which is the point of the comparison.
#include <cmath>
#include <limits>

#include "ops/creation.h"
#include "ops/elementwise.h"
#include "ops/flow_attention.h"
#include "ops/linalg.h"
#include "ops/reduce.h"

namespace cfx {

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, bool causal,
                                    const Tensor& key_padding_mask) {
  CFX_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4, "scaled_dot_product_attention: expected q, k, v of shape "
            "[B,H,L,D], [B,H,S,D], [B,H,S,M], got ", q.shape(), ", ", k.shape(), ", ", v.shape());
  CFX_CHECK(q.size(-1) == k.size(-1) && k.size(2) == v.size(2), "scaled_dot_product_attention: q ", q.shape(),
            ", k ", k.shape(), " and v ", v.shape(), " disagree on D or S");
  const int64_t L = q.size(2), S = k.size(2);
  Tensor scores = matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(static_cast<double>(q.size(-1))));  // [B,H,L,S]
  const double neg_inf = -std::numeric_limits<double>::infinity();
  if (causal) {
    CFX_CHECK(L == S, "scaled_dot_product_attention: causal attention needs L == S, got L=", L, ", S=", S);
    Tensor i = arange(L, {kInt64, q.device()}).view({L, 1});
    Tensor j = arange(S, {kInt64, q.device()}).view({1, S});
    scores = masked_fill(scores, gt(j, i), neg_inf);  // key after query: no attention
  }
  if (key_padding_mask.defined()) {
    CFX_CHECK(key_padding_mask.dtype() == kBool && key_padding_mask.shape() == (Shape{k.size(0), S}),
              "scaled_dot_product_attention: key_padding_mask must be bool [B, S] = ", (Shape{k.size(0), S}),
              ", got ", key_padding_mask.dtype(), " ", key_padding_mask.shape());
    scores = masked_fill(scores, key_padding_mask.view({k.size(0), 1, 1, S}), neg_inf);
  }
  return matmul(softmax(scores, -1), v);
}

}  // namespace cfx
