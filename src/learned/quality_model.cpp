#include "learned/quality_model.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

#include "learned/simd.h"

namespace switchyard::learned {

namespace json = boost::json;

KnnModel::KnnModel(KnnParams params, uint32_t rows, uint32_t candidates,
                   std::vector<uint64_t> start, std::vector<uint32_t> posting_row,
                   std::vector<float> posting_value, std::vector<float> labels,
                   std::vector<double> prior, CommonFactors common)
    : params_(params),
      rows_(rows),
      candidates_(candidates),
      labels_(std::move(labels)),
      prior_(std::move(prior)),
      common_features_(std::move(common.features)),
      projection_(std::move(common.projection)) {
  // The artefact stores postings as two arrays with 64-bit offsets; scoring
  // reads them as (row, value) pairs with 32-bit offsets (load_knn checks the
  // count fits).
  start_.assign(start.begin(), start.end());
  postings_.resize(posting_row.size());
  for (size_t p = 0; p < posting_row.size(); ++p) postings_[p] = {posting_row[p], posting_value[p]};
  const size_t features = start_.size() - 1;
  if (params_.common_rank > 0) {
    const uint32_t rank = params_.common_rank;
    const size_t blocks = (rows_ + kRowBlock - 1) / kRowBlock;
    row_blocks_.assign(blocks * rank * kRowBlock, 0.0f);
    for (uint32_t r = 0; r < rows_; ++r) {
      for (uint32_t f = 0; f < rank; ++f) {
        row_blocks_[(static_cast<size_t>(r / kRowBlock) * rank + f) * kRowBlock + r % kRowBlock] =
            common.row_factors[static_cast<size_t>(r) * rank + f];
      }
    }
    common_slot_.assign(features, -1);
    for (size_t k = 0; k < common_features_.size(); ++k) {
      common_slot_[common_features_[k]] = static_cast<int32_t>(k);
    }
  }
  has_postings_.assign((features + 63) / 64, 0);
  is_common_.assign((features + 63) / 64, 0);
  for (size_t i = 0; i < features; ++i) {
    if (start_[i + 1] > start_[i]) has_postings_[i / 64] |= uint64_t{1} << (i % 64);
  }
  for (uint32_t i : common_features_) is_common_[i / 64] |= uint64_t{1} << (i % 64);
}

namespace {

// Orders floats descending and, on ties, rows ascending, as one integer key.
uint64_t neighbour_key(float similarity, uint32_t row) {
  uint32_t u;
  std::memcpy(&u, &similarity, 4);
  const uint32_t ascending = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
  return (static_cast<uint64_t>(~ascending) << 32) | row;
}

float neighbour_similarity(uint64_t key) {
  const uint32_t ascending = ~static_cast<uint32_t>(key >> 32);
  const uint32_t u = (ascending & 0x80000000u) ? (ascending & 0x7fffffffu) : ~ascending;
  float similarity;
  std::memcpy(&similarity, &u, 4);
  return similarity;
}

// The k best rows (smallest keys) in a max-heap of k keys: one compare per
// row and a heap update only for the few that enter, instead of keying every
// row and partitioning them all (nth_element was a fifth of a decision).
struct TopK {
  std::vector<uint64_t>& best;
  size_t k;
  // Returns true when the heap is full, i.e. best.front() is the bar to beat.
  bool offer(uint64_t key) {
    if (best.size() < k) {
      best.push_back(key);
      if (best.size() < k) return false;
      std::make_heap(best.begin(), best.end());
    } else if (key < best.front()) {
      std::pop_heap(best.begin(), best.end());
      best.back() = key;
      std::push_heap(best.begin(), best.end());
    }
    return true;
  }
};

// Four floats in one SSE register (the baseline x86-64 target has no wider
// vectors; GCC spills 32-byte vector types to the stack there).
using Float4 = float __attribute__((vector_size(16)));

#if defined(__x86_64__) && defined(__GNUC__)
// See learned/simd.h: chosen at run time, bit-identical to the 4-wide loops.
using Float8 = float __attribute__((vector_size(32)));

// sim[block rows] = U block . common, for every block of 8 rows (one register
// per block); eight blocks at a time keep both add pipes busy.
[[gnu::target("avx2")]] void low_rank_avx2(const float* __restrict u,
                                           const float* __restrict common, uint32_t rank,
                                           size_t blocks, float* __restrict sim) {
  const size_t block_floats = static_cast<size_t>(rank) * 8;
  size_t b = 0;
  for (; b + 8 <= blocks; b += 8) {
    Float8 acc[8] = {};
    const float* __restrict base = u + b * block_floats;
    for (uint32_t f = 0; f < rank; ++f) {
      const float c = common[f];
      for (size_t j = 0; j < 8; ++j) {
        Float8 factors;
        std::memcpy(&factors, base + j * block_floats + size_t{f} * 8, sizeof(factors));
        acc[j] += c * factors;
      }
    }
    std::memcpy(sim + b * 8, acc, sizeof(acc));
  }
  for (; b < blocks; ++b) {
    Float8 acc = {};
    const float* __restrict base = u + b * block_floats;
    for (uint32_t f = 0; f < rank; ++f) {
      Float8 factors;
      std::memcpy(&factors, base + size_t{f} * 8, sizeof(factors));
      acc += common[f] * factors;
    }
    std::memcpy(sim + b * 8, &acc, sizeof(acc));
  }
}
#else
void low_rank_avx2(const float*, const float*, uint32_t, size_t, float*) {}
#endif

// The k most similar of rows [0, rows) (the k smallest keys), in key order.
// The heap offered every row is exact but costs a few hundred heap updates at
// k = 50; instead a lower bound of the k-th best similarity is found first (the
// rows cut into up to 4k runs: each run's maximum is a different row, so the
// k-th largest of those maxima is at most the k-th best), only rows at least as
// similar as the bound (and NaN) are keyed, and the k best keys are selected
// from those. `run_max` is scratch.
void top_k_rows(const float* sim, uint32_t rows, size_t k, std::vector<float>& run_max,
                std::vector<uint64_t>& out) {
  out.clear();
  if (k >= rows) {
    for (uint32_t r = 0; r < rows; ++r) out.push_back(neighbour_key(sim[r], r));
    std::sort(out.begin(), out.end());
    return;
  }
  const size_t runs = std::min<size_t>(rows, 4 * k);    // >= k
  const auto run = static_cast<uint32_t>(rows / runs);  // >= 1
  const float lowest = -std::numeric_limits<float>::infinity();
  run_max.resize(runs);
  for (size_t g = 0; g < runs; ++g) {
    uint32_t r = static_cast<uint32_t>(g) * run;
    const uint32_t end = r + run;
    Float4 most = {lowest, lowest, lowest, lowest};
    for (; r + 4 <= end; r += 4) {
      Float4 v;
      std::memcpy(&v, sim + r, sizeof(v));
      most = v > most ? v : most;  // NaN never replaces
    }
    float m = std::max(std::max(most[0], most[1]), std::max(most[2], most[3]));
    for (; r < end; ++r) m = sim[r] > m ? sim[r] : m;
    run_max[g] = m;
  }
  std::nth_element(run_max.begin(), run_max.begin() + static_cast<ptrdiff_t>(k - 1), run_max.end(),
                   std::greater<float>());
  const float bar = run_max[k - 1];
  const Float4 bars = {bar, bar, bar, bar};
  uint32_t r = 0;
  for (; r + 4 <= rows; r += 4) {
    Float4 v;
    std::memcpy(&v, sim + r, sizeof(v));
    const auto below = v < bars;
    if (below[0] && below[1] && below[2] && below[3]) continue;
    for (uint32_t j = r; j < r + 4; ++j) {
      if (!(sim[j] < bar)) out.push_back(neighbour_key(sim[j], j));
    }
  }
  for (; r < rows; ++r) {
    if (!(sim[r] < bar)) out.push_back(neighbour_key(sim[r], r));
  }
  if (out.size() > k) {
    std::nth_element(out.begin(), out.begin() + static_cast<ptrdiff_t>(k), out.end());
    out.resize(k);
  }
  std::sort(out.begin(), out.end());
}

}  // namespace

void KnnModel::select_terms(const SparseVector& x, ScoringScratch& s, size_t& n_posting,
                            size_t& n_common) const {
  const uint64_t features = start_.size() - 1;
  // The heaviest query terms first; ties by feature index keep it deterministic.
  size_t terms = x.size();
  const bool pruned = params_.query_terms > 0 && terms > params_.query_terms;
  if (pruned) {
    s.query_order.resize(x.size());
    for (uint32_t k = 0; k < x.size(); ++k) s.query_order[k] = k;
    terms = params_.query_terms;
    std::nth_element(s.query_order.begin(), s.query_order.begin() + static_cast<ptrdiff_t>(terms),
                     s.query_order.end(), [&](uint32_t a, uint32_t b) {
                       if (x.value[a] != x.value[b]) return x.value[a] > x.value[b];
                       return x.index[a] < x.index[b];
                     });
  }
  // Many query terms (most of a 2 KB prompt's at 2^16 buckets) have neither
  // postings nor a low-rank slot. Two bitmaps of features/8 bytes answer that
  // from L1 instead of the postings_start array, and the terms that do have
  // work are gathered first, without branches, in the same order.
  s.posting_terms.resize(terms);
  s.common_terms.resize(terms);
  n_posting = 0;
  n_common = 0;
  const uint32_t* const order = pruned ? s.query_order.data() : nullptr;
  uint32_t* const posting_terms = s.posting_terms.data();
  uint32_t* const common_terms = s.common_terms.data();
  for (size_t t = 0; t < terms; ++t) {
    const auto k = order != nullptr ? order[t] : static_cast<uint32_t>(t);
    const uint32_t i = x.index[k];
    const bool in_range = i < features;
    const size_t word = in_range ? i / 64 : 0;
    const uint64_t bit = in_range ? uint64_t{1} << (i % 64) : 0;
    posting_terms[n_posting] = k;
    n_posting += (has_postings_[word] & bit) != 0 ? 1 : 0;
    common_terms[n_common] = k;
    n_common += (is_common_[word] & bit) != 0 ? 1 : 0;
  }
}

void KnnModel::project_common(const SparseVector& x, ScoringScratch& s, size_t n_common) const {
  const uint32_t rank = params_.common_rank;
  s.common.assign(rank, 0.0f);
  float* __restrict common = s.common.data();
  if (rank == 16) {  // the default: four registers, no loop over the rank
    Float4 acc[4] = {};
    for (size_t t = 0; t < n_common; ++t) {
      const uint32_t k = s.common_terms[t];
      const float v = x.value[k];
      const float* __restrict row =
          projection_.data() + static_cast<size_t>(common_slot_[x.index[k]]) * 16;
      for (size_t j = 0; j < 4; ++j) {
        Float4 w;
        std::memcpy(&w, row + 4 * j, sizeof(w));
        acc[j] += v * w;
      }
    }
    std::memcpy(common, acc, sizeof(acc));
    return;
  }
  for (size_t t = 0; t < n_common; ++t) {
    const uint32_t k = s.common_terms[t];
    const float v = x.value[k];
    const float* __restrict row =
        projection_.data() + static_cast<size_t>(common_slot_[x.index[k]]) * rank;
    for (uint32_t f = 0; f < rank; ++f) common[f] += v * row[f];
  }
}

void KnnModel::predict(const SparseVector& x, ScoringScratch& s, std::span<double> quality) const {
  size_t n_posting = 0, n_common = 0;
  select_terms(x, s, n_posting, n_common);
  const uint32_t rank = params_.common_rank;
  s.neighbours.clear();
  TopK top{s.neighbours, std::max<size_t>(1, params_.k)};
  const uint32_t* const start = start_.data();
  const Posting* const postings = postings_.data();
  if (rank > 0) {
    // Dense path: every row gets the low-rank similarity of the frequent
    // features, then the exact sparse part is added. Each row's sum is formed
    // in the same order as predict_reference() (0, then factor 0, 1, ... of the
    // low-rank part, then the posting lists in term order), so the result is
    // bit-identical; only the loop structure differs.
    project_common(x, s, n_common);
    const size_t blocks = (rows_ + kRowBlock - 1) / kRowBlock;
    if (s.similarity.size() < blocks * kRowBlock) s.similarity.resize(blocks * kRowBlock);
    float* __restrict sim = s.similarity.data();
    const float* __restrict common = s.common.data();
    // A block of kRowBlock rows keeps its partial sums in registers across all
    // factors (the column-at-a-time loop loaded and stored them `rank` times).
    const float* __restrict u = row_blocks_.data();
    // Four blocks at a time: eight independent chains of adds keep both
    // floating-point pipes busy (one block's two chains were latency-bound).
    static_assert(kRowBlock == 8);
    const size_t block_floats = static_cast<size_t>(rank) * kRowBlock;
    size_t b = 0;
    if (use_avx2()) {
      low_rank_avx2(u, common, rank, blocks, sim);
      b = blocks;
    }
    for (; b + 4 <= blocks; b += 4) {
      Float4 acc[8] = {};
      const float* __restrict base = u + b * block_floats;
      for (uint32_t f = 0; f < rank; ++f) {
        const float c = common[f];
        for (size_t j = 0; j < 8; ++j) {
          Float4 factors;
          std::memcpy(&factors, base + (j / 2) * block_floats + size_t{f} * kRowBlock + (j % 2) * 4,
                      sizeof(factors));
          acc[j] += c * factors;
        }
      }
      std::memcpy(sim + b * kRowBlock, acc, sizeof(acc));
    }
    for (; b < blocks; ++b) {
      Float4 lo = {0, 0, 0, 0}, hi = {0, 0, 0, 0};
      const float* __restrict base = u + b * block_floats;
      for (uint32_t f = 0; f < rank; ++f) {
        Float4 u_lo, u_hi;
        std::memcpy(&u_lo, base + size_t{f} * kRowBlock, sizeof(u_lo));
        std::memcpy(&u_hi, base + size_t{f} * kRowBlock + 4, sizeof(u_hi));
        const float c = common[f];
        lo += c * u_lo;
        hi += c * u_hi;
      }
      std::memcpy(sim + b * kRowBlock, &lo, sizeof(lo));
      std::memcpy(sim + b * kRowBlock + 4, &hi, sizeof(hi));
    }
    // Posting lists are scattered over megabytes: fetch the ones a few terms
    // ahead while this one is added (no effect on the result).
    constexpr size_t kAhead = 8;
    for (size_t t = 0; t < n_posting && t < kAhead; ++t) {
      __builtin_prefetch(postings + start[x.index[s.posting_terms[t]]]);
    }
    for (size_t t = 0; t < n_posting; ++t) {
      if (t + kAhead < n_posting) {
        __builtin_prefetch(postings + start[x.index[s.posting_terms[t + kAhead]]]);
      }
      const uint32_t k = s.posting_terms[t];
      const uint32_t i = x.index[k];
      const float v = x.value[k];
      const Posting* p = postings + start[i];
      const Posting* const end = postings + start[i + 1];
      // Four at a time: fewer loop branches; each add is still its own
      // load-add-store in list order, so a repeated row would also be exact.
      for (; p + 4 <= end; p += 4) {
        sim[p[0].row] += v * p[0].value;
        sim[p[1].row] += v * p[1].value;
        sim[p[2].row] += v * p[2].value;
        sim[p[3].row] += v * p[3].value;
      }
      for (; p < end; ++p) sim[p->row] += v * p->value;
    }
    top_k_rows(sim, rows_, top.k, s.run_max, s.neighbours);
  } else {
    // Sparse path: only rows sharing a feature with the query are touched.
    if (s.hit.size() < rows_) {
      s.hit.assign(rows_, 0);
      s.sparse_similarity.assign(rows_, 0.0f);
    }
    s.hit_rows.clear();
    for (size_t t = 0; t < n_posting; ++t) {
      const uint32_t k = s.posting_terms[t];
      const uint32_t i = x.index[k];
      const float v = x.value[k];
      for (uint32_t p = start[i]; p < start[i + 1]; ++p) {
        const uint32_t r = postings[p].row;
        if (!s.hit[r]) {
          s.hit[r] = 1;
          s.hit_rows.push_back(r);
        }
        s.sparse_similarity[r] += v * postings[p].value;
      }
    }
    for (uint32_t r : s.hit_rows) {
      top.offer(neighbour_key(s.sparse_similarity[r], r));
      s.sparse_similarity[r] = 0.0f;
      s.hit[r] = 0;
    }
    std::sort(s.neighbours.begin(), s.neighbours.end());
  }
  aggregate(s, quality);
}

void KnnModel::predict_reference(const SparseVector& x, ScoringScratch& s,
                                 std::span<double> quality) const {
  size_t n_posting = 0, n_common = 0;
  select_terms(x, s, n_posting, n_common);
  const uint32_t rank = params_.common_rank;
  s.neighbours.clear();
  TopK top{s.neighbours, std::max<size_t>(1, params_.k)};
  if (rank > 0) {
    project_common(x, s, n_common);
    s.similarity.assign(rows_, 0.0f);
    for (uint32_t f = 0; f < rank; ++f) {
      for (uint32_t r = 0; r < rows_; ++r) s.similarity[r] += s.common[f] * row_factor(r, f);
    }
    for (size_t t = 0; t < n_posting; ++t) {
      const uint32_t k = s.posting_terms[t];
      const uint32_t i = x.index[k];
      for (uint32_t p = start_[i]; p < start_[i + 1]; ++p) {
        s.similarity[postings_[p].row] += x.value[k] * postings_[p].value;
      }
    }
    for (uint32_t r = 0; r < rows_; ++r) top.offer(neighbour_key(s.similarity[r], r));
  } else {
    std::vector<float> similarity(rows_, 0.0f);
    std::vector<uint8_t> hit(rows_, 0);
    std::vector<uint32_t> hit_rows;
    for (size_t t = 0; t < n_posting; ++t) {
      const uint32_t k = s.posting_terms[t];
      const uint32_t i = x.index[k];
      for (uint32_t p = start_[i]; p < start_[i + 1]; ++p) {
        const uint32_t r = postings_[p].row;
        if (!hit[r]) hit_rows.push_back(r);
        hit[r] = 1;
        similarity[r] += x.value[k] * postings_[p].value;
      }
    }
    for (uint32_t r : hit_rows) top.offer(neighbour_key(similarity[r], r));
  }
  // Neighbours are aggregated most similar first (ties: lower row), whatever
  // order the selection left them in, so every path sums in the same order.
  std::sort(s.neighbours.begin(), s.neighbours.end());
  aggregate(s, quality);
}

void KnnModel::aggregate(ScoringScratch& s, std::span<double> quality) const {
  const uint32_t rank = params_.common_rank;
  const size_t k = s.neighbours.size();
  // Similarity-weighted mean label of the k nearest, per candidate.
  s.quality.assign(2 * static_cast<size_t>(candidates_), 0.0);
  double* num = s.quality.data();
  double* den = num + candidates_;
  for (uint32_t m = 0; m < candidates_; ++m) {
    num[m] = params_.prior_weight * prior_[m];
    den[m] = params_.prior_weight;
  }
  for (size_t n = 0; n < k; ++n) {
    const auto r = static_cast<uint32_t>(s.neighbours[n]);
    const float similarity = rank > 0 ? s.similarity[r] : neighbour_similarity(s.neighbours[n]);
    const double clipped = std::max(0.0f, similarity);
    const double w = params_.power == 1.0 ? clipped : std::pow(clipped, params_.power);
    const float* labels = labels_.data() + static_cast<size_t>(r) * candidates_;
    for (uint32_t m = 0; m < candidates_; ++m) {
      if (std::isnan(labels[m])) continue;
      num[m] += w * labels[m];
      den[m] += w;
    }
  }
  for (uint32_t m = 0; m < candidates_; ++m) quality[m] = den[m] > 0 ? num[m] / den[m] : prior_[m];
}

void HybridModel::predict(const SparseVector& x, ScoringScratch& s,
                          std::span<double> quality) const {
  double p = 0;
  classifier_.forward(x, s.net, std::span<double>(&p, 1));
  for (double& q : quality) q = 0;
  quality[small_] = p;
  quality[large_] = threshold_;
}

FeedForwardNet fold_svm(uint32_t input_dim, uint32_t outputs, const std::vector<float>& weight,
                        const std::vector<float>& bias, const std::vector<float>& platt_a,
                        const std::vector<float>& platt_b) {
  DenseLayer layer;
  layer.in = input_dim;
  layer.out = outputs;
  layer.activation = Activation::kSigmoid;
  layer.weight.resize(weight.size());
  layer.bias.resize(outputs);
  for (uint32_t j = 0; j < outputs; ++j) {
    layer.bias[j] = platt_a[j] * bias[j] + platt_b[j];
  }
  for (size_t i = 0; i < input_dim; ++i) {
    for (uint32_t j = 0; j < outputs; ++j) {
      layer.weight[i * outputs + j] = platt_a[j] * weight[i * outputs + j];
    }
  }
  std::vector<DenseLayer> layers;
  layers.push_back(std::move(layer));
  return FeedForwardNet(std::move(layers));
}

FeedForwardNet fold_mf(uint32_t input_dim, uint32_t factors, uint32_t outputs,
                       const std::vector<float>& projection,
                       const std::vector<float>& model_embedding,
                       const std::vector<float>& classifier, const std::vector<float>& bias) {
  DenseLayer project;
  project.in = input_dim;
  project.out = factors;
  project.weight = projection;
  project.bias.assign(factors, 0.0f);
  project.activation = Activation::kIdentity;
  DenseLayer head;
  head.in = factors;
  head.out = outputs;
  head.activation = Activation::kSigmoid;
  head.bias = bias;
  head.weight.resize(static_cast<size_t>(factors) * outputs);
  for (uint32_t k = 0; k < factors; ++k) {
    for (uint32_t m = 0; m < outputs; ++m) {
      head.weight[k * outputs + m] = classifier[k] * model_embedding[m * factors + k];
    }
  }
  std::vector<DenseLayer> layers;
  layers.push_back(std::move(project));
  layers.push_back(std::move(head));
  return FeedForwardNet(std::move(layers));
}

namespace {

Result<FeedForwardNet> load_linear_svm(const Artefact& a, uint32_t input_dim, uint32_t outputs) {
  auto weight = a.f32("model.weight", {input_dim, outputs});
  if (!weight) return weight.error();
  auto bias = a.f32("model.bias", {outputs});
  if (!bias) return bias.error();
  auto platt_a = a.f32("model.platt_a", {outputs});
  if (!platt_a) return platt_a.error();
  auto platt_b = a.f32("model.platt_b", {outputs});
  if (!platt_b) return platt_b.error();
  return fold_svm(input_dim, outputs, *weight, *bias, *platt_a, *platt_b);
}

Result<std::unique_ptr<QualityModel>> load_knn(const Artefact& a, const json::object& spec,
                                               uint32_t input_dim, std::span<const double> prior) {
  const auto m = static_cast<uint32_t>(prior.size());
  auto rows = json_int_at(spec, "rows", "model");
  if (!rows) return rows.error();
  if (*rows < 1 || *rows > (int64_t{1} << 31)) {
    return artefact_error(kErrArtefactMismatch, "model.rows out of range");
  }
  KnnParams params;
  auto k = json_int_at(spec, "k", "model");
  if (!k) return k.error();
  if (*k < 1 || *k > 100000) return artefact_error(kErrArtefactMismatch, "model.k out of range");
  params.k = static_cast<uint32_t>(*k);
  params.power = json_number_or(spec, "power", 1.0);
  params.prior_weight = json_number_or(spec, "prior_weight", 0.0);
  params.max_df = json_number_or(spec, "max_df", 1.0);
  const double query_terms = json_number_or(spec, "query_terms", 0);
  const double max_postings = json_number_or(spec, "max_postings", 0);
  if (!(query_terms >= 0 && query_terms <= 1e9) || !(max_postings >= 0 && max_postings <= 1e9)) {
    return artefact_error(kErrArtefactMismatch, "model.query_terms / max_postings out of range");
  }
  params.query_terms = static_cast<uint32_t>(query_terms);
  params.max_postings = static_cast<uint32_t>(max_postings);
  const double rank = json_number_or(spec, "common_rank", 0);
  if (!(rank >= 0 && rank <= 1024)) {
    return artefact_error(kErrArtefactMismatch, "model.common_rank out of range");
  }
  params.common_rank = static_cast<uint32_t>(rank);
  if (!(params.power > 0 && params.power <= 64) || !(params.prior_weight >= 0)) {
    return artefact_error(kErrArtefactMismatch, "model.power / model.prior_weight out of range");
  }
  const auto n = static_cast<uint32_t>(*rows);
  auto start = a.u64("model.postings_start", {uint64_t{input_dim} + 1});
  if (!start) return start.error();
  auto posting_row = a.u32("model.postings_row", {0});
  if (!posting_row) return posting_row.error();
  auto posting_value = a.f32("model.postings_value", {posting_row->size()});
  if (!posting_value) return posting_value.error();
  auto labels = a.f32("model.labels", {n, m});
  if (!labels) return labels.error();
  if (posting_row->size() > UINT32_MAX) {
    return artefact_error(kErrArtefactMismatch, "model.postings_row: more than 2^32 postings");
  }
  if (start->front() != 0 || start->back() != posting_row->size()) {
    return artefact_error(kErrArtefactMismatch, "model.postings_start does not cover the postings");
  }
  for (size_t i = 1; i < start->size(); ++i) {
    if ((*start)[i] < (*start)[i - 1]) {
      return artefact_error(kErrArtefactMismatch, "model.postings_start is not monotone");
    }
  }
  for (uint32_t r : *posting_row) {
    if (r >= n) return artefact_error(kErrArtefactMismatch, "model.postings_row out of range");
  }
  KnnModel::CommonFactors common;
  if (params.common_rank > 0) {
    auto features = a.u32("model.common_features", {0});
    if (!features) return features.error();
    auto projection = a.f32("model.common_projection", {features->size(), params.common_rank});
    if (!projection) return projection.error();
    auto row_factors = a.f32("model.common_rows", {n, params.common_rank});
    if (!row_factors) return row_factors.error();
    for (size_t k = 0; k < features->size(); ++k) {
      if ((*features)[k] >= input_dim || (k > 0 && (*features)[k] <= (*features)[k - 1])) {
        return artefact_error(kErrArtefactMismatch,
                              "model.common_features out of range or unsorted");
      }
    }
    common = {std::move(*features), std::move(*projection), std::move(*row_factors)};
  }
  return std::unique_ptr<QualityModel>(std::make_unique<KnnModel>(
      params, n, m, std::move(*start), std::move(*posting_row), std::move(*posting_value),
      std::move(*labels), std::vector<double>(prior.begin(), prior.end()), std::move(common)));
}

}  // namespace

Result<std::unique_ptr<QualityModel>> load_quality_model(const Artefact& a,
                                                         const std::string& strategy,
                                                         uint32_t input_dim,
                                                         std::span<const double> prior) {
  auto spec_ptr = json_object_at(a.header(), "model", "header");
  if (!spec_ptr) return spec_ptr.error();
  const json::object& spec = **spec_ptr;
  auto type = json_string_at(spec, "type", "model");
  if (!type) return type.error();
  const auto m = static_cast<uint32_t>(prior.size());

  const char* expected = nullptr;
  if (strategy == "knn")
    expected = "knn";
  else if (strategy == "svm")
    expected = "linear_svm";
  else if (strategy == "mlp" || strategy == "custom")
    expected = "feedforward";
  else if (strategy == "mf")
    expected = "mf";
  else if (strategy == "hybrid")
    expected = "hybrid";
  else
    return artefact_error(kErrArtefactMismatch, "unknown strategy '" + strategy + "'");
  if (*type != expected) {
    return artefact_error(kErrArtefactMismatch, "strategy '" + strategy + "' needs model.type '" +
                                                    expected + "', artefact has '" + *type + "'");
  }

  if (*type == "knn") return load_knn(a, spec, input_dim, prior);
  if (*type == "linear_svm") {
    auto net = load_linear_svm(a, input_dim, m);
    if (!net) return net.error();
    return std::unique_ptr<QualityModel>(std::make_unique<NetworkModel>(std::move(*net)));
  }
  if (*type == "feedforward") {
    auto net = FeedForwardNet::load(a, spec, input_dim, m);
    if (!net) return net.error();
    return std::unique_ptr<QualityModel>(std::make_unique<NetworkModel>(std::move(*net)));
  }
  if (*type == "mf") {
    auto factors = json_int_at(spec, "factors", "model");
    if (!factors) return factors.error();
    if (*factors < 1 || *factors > 4096) {
      return artefact_error(kErrArtefactMismatch, "model.factors out of range");
    }
    const auto f = static_cast<uint32_t>(*factors);
    auto projection = a.f32("model.projection", {input_dim, f});
    if (!projection) return projection.error();
    auto embedding = a.f32("model.model_embedding", {m, f});
    if (!embedding) return embedding.error();
    auto classifier = a.f32("model.classifier", {f});
    if (!classifier) return classifier.error();
    auto bias = a.f32("model.bias", {m});
    if (!bias) return bias.error();
    return std::unique_ptr<QualityModel>(std::make_unique<NetworkModel>(
        fold_mf(input_dim, f, m, *projection, *embedding, *classifier, *bias)));
  }
  // hybrid
  if (m != 2) {
    return artefact_error(kErrArtefactMismatch,
                          "hybrid router needs exactly 2 candidates, has " + std::to_string(m));
  }
  auto small = json_int_at(spec, "small_index", "model");
  if (!small) return small.error();
  auto threshold = json_number_at(spec, "threshold", "model");
  if (!threshold) return threshold.error();
  if (*small < 0 || *small > 1 || !std::isfinite(*threshold)) {
    return artefact_error(kErrArtefactMismatch, "model.small_index / model.threshold out of range");
  }
  auto net = load_linear_svm(a, input_dim, 1);
  if (!net) return net.error();
  const auto s = static_cast<size_t>(*small);
  return std::unique_ptr<QualityModel>(
      std::make_unique<HybridModel>(std::move(*net), s, 1 - s, *threshold));
}

}  // namespace switchyard::learned
