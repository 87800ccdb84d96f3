#pragma once
// The strategy-specific half of a router: maps a feature vector to a predicted
// quality in [0, 1] (roughly, P(the candidate answers well)) per candidate.
// Implementations are immutable after load and keep per-call memory in
// ScoringScratch, so one instance serves every gateway thread without locks.
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/error.h"
#include "learned/artefact.h"
#include "learned/featurizer.h"
#include "learned/network.h"
#include "learned/sparse.h"

namespace switchyard::learned {

// Everything one routing decision needs to write to; one per thread.
struct ScoringScratch {
  FeatureScratch features;
  SparseVector x;
  NetScratch net;
  std::vector<float> similarity;         // knn: one per training row (dense path)
  std::vector<float> sparse_similarity;  // knn: per row, kept zeroed between calls
  std::vector<uint8_t> hit;              // knn: row touched in this call (sparse path)
  std::vector<uint32_t> hit_rows;
  std::vector<uint64_t> neighbours;     // knn: (similarity, row) sort keys
  std::vector<float> run_max;           // knn: top-k bound, maxima of runs of rows
  std::vector<uint32_t> query_order;    // knn: query terms by weight
  std::vector<uint32_t> posting_terms;  // knn: query terms with postings, in order
  std::vector<uint32_t> common_terms;   // knn: query terms in the low-rank block
  std::vector<float> common;            // knn: V^T q
  std::vector<double> quality;
};

class QualityModel {
 public:
  virtual ~QualityModel() = default;
  // `quality` holds one slot per candidate.
  virtual void predict(const SparseVector& x, ScoringScratch& scratch,
                       std::span<double> quality) const = 0;
};

// Builds the quality model described by header["model"] for `strategy`.
// `prior` (mean training quality per candidate) is the fallback of models that
// can abstain (knn with no overlapping neighbour).
Result<std::unique_ptr<QualityModel>> load_quality_model(const Artefact& artefact,
                                                         const std::string& strategy,
                                                         uint32_t input_dim,
                                                         std::span<const double> prior);

// ---- concrete models (exposed for the trainers) ---------------------------

struct KnnParams {
  uint32_t k = 0;             // 0 = "auto": chosen on the validation slice from 10..200
  double power = 1.0;         // neighbour weight = similarity^power
  double prior_weight = 0.0;  // pseudo-count pulling predictions toward the prior
  double max_df = 0.05;       // buckets in more than this share of rows are not indexed exactly
  // Latency bounds (0 = unbounded): a query uses only its `query_terms` heaviest
  // features, and each feature keeps only its `max_postings` heaviest rows.
  // Classic impact-ordered pruning: the dropped terms carry little similarity.
  // Both are applied when the artefact is written / read from it, so every
  // artefact routes with the bounds it was trained with. max_postings = 16
  // more than halves a 2 KB prompt's posting work, but it cost 0.012-0.017 of
  // test accuracy on the shared data sets (docs/routing.md "Latency"), so the
  // default stays exact.
  uint32_t query_terms = 0;
  uint32_t max_postings = 0;
  // Features above max_df are not dropped but approximated by a rank-r
  // factorisation (randomized SVD) of their row x feature block: similarity =
  // exact sparse part + F_row . (V^T q). On prompt templates shared by many
  // rows (few-shot preambles, system prompts) this keeps "same template"
  // similarity at O(rows x r) instead of O(rows x shared features). 0 = drop them.
  uint32_t common_rank = 16;
};

class KnnModel final : public QualityModel {
 public:
  // Postings: for feature i, entries [start[i], start[i+1]) of (row, value).
  // Low-rank part of the frequent features (empty when params.common_rank == 0).
  struct CommonFactors {
    std::vector<uint32_t> features;  // sorted feature ids
    std::vector<float> projection;   // features x rank (V)
    std::vector<float> row_factors;  // rows x rank (U Sigma)
  };
  KnnModel(KnnParams params, uint32_t rows, uint32_t candidates, std::vector<uint64_t> start,
           std::vector<uint32_t> posting_row, std::vector<float> posting_value,
           std::vector<float> labels, std::vector<double> prior, CommonFactors common);
  void predict(const SparseVector& x, ScoringScratch& scratch,
               std::span<double> quality) const override;
  // The same prediction by the plain loops (one row-factor column, then one
  // posting list, at a time; every row offered to the heap), kept for tests
  // that check the fast path gives bit-identical results.
  void predict_reference(const SparseVector& x, ScoringScratch& scratch,
                         std::span<double> quality) const;

  // Rows of the low-rank similarity computed together (a block's factors are
  // contiguous: rank x kRowBlock floats).
  static constexpr uint32_t kRowBlock = 8;

 private:
  struct Posting {
    uint32_t row;
    float value;
  };
  // Terms of `x` with postings / with a low-rank slot, in the order they are
  // scored (query_terms pruning applied). Returns the number of terms kept.
  void select_terms(const SparseVector& x, ScoringScratch& s, size_t& n_posting,
                    size_t& n_common) const;
  // s.common = V^T q over the low-rank terms.
  void project_common(const SparseVector& x, ScoringScratch& s, size_t n_common) const;
  // Similarity-weighted mean label of the neighbours in s.neighbours.
  void aggregate(ScoringScratch& s, std::span<double> quality) const;
  float row_factor(uint32_t row, uint32_t f) const {
    return row_blocks_[(static_cast<size_t>(row / kRowBlock) * params_.common_rank + f) *
                           kRowBlock +
                       row % kRowBlock];
  }

  KnnParams params_;
  uint32_t rows_;
  uint32_t candidates_;
  // Postings as one array of (row, value) pairs: a posting list is one stream
  // of cache lines instead of two. start_[i] .. start_[i + 1] are feature i's.
  std::vector<uint32_t> start_;
  std::vector<Posting> postings_;
  std::vector<float> labels_;  // rows x candidates, NaN = unknown
  std::vector<double> prior_;
  std::vector<uint32_t> common_features_;
  std::vector<float> projection_;  // common features x rank (V)
  // U Sigma in blocks of kRowBlock rows: block b holds rank x kRowBlock floats,
  // factor-major, rows padded with zeros to a whole block.
  std::vector<float> row_blocks_;
  std::vector<int32_t> common_slot_;  // feature -> row of projection_, or -1
  // One bit per feature: has postings / is in the low-rank block.
  std::vector<uint64_t> has_postings_;
  std::vector<uint64_t> is_common_;
};

class NetworkModel final : public QualityModel {
 public:
  explicit NetworkModel(FeedForwardNet net) : net_(std::move(net)) {}
  void predict(const SparseVector& x, ScoringScratch& scratch,
               std::span<double> quality) const override {
    net_.forward(x, scratch.net, quality);
  }
  const FeedForwardNet& net() const { return net_; }

 private:
  FeedForwardNet net_;
};

// Hybrid-LLM: one classifier estimates P(small model is good enough); the large
// model's "quality" is the calibrated threshold, so at cost_weight 0 the large
// model wins exactly when P < threshold, and a cost weight shifts the threshold
// by cost_weight x (cost_large - cost_small).
class HybridModel final : public QualityModel {
 public:
  HybridModel(FeedForwardNet classifier, size_t small, size_t large, double threshold)
      : classifier_(std::move(classifier)), small_(small), large_(large), threshold_(threshold) {}
  void predict(const SparseVector& x, ScoringScratch& scratch,
               std::span<double> quality) const override;

 private:
  FeedForwardNet classifier_;
  size_t small_, large_;
  double threshold_;
};

// Linear SVM weights + Platt scaling folded into one sigmoid layer:
// sigmoid(a * (w.x + b) + c) = sigmoid((a w).x + (a b + c)).
FeedForwardNet fold_svm(uint32_t input_dim, uint32_t outputs, const std::vector<float>& weight,
                        const std::vector<float>& bias, const std::vector<float>& platt_a,
                        const std::vector<float>& platt_b);

// Matrix factorisation logit(m, q) = w . (P_m (x) (W^T e(q))) + b_m as a
// two-layer network: e -> W^T e (identity) -> V h + b (sigmoid), V[k][m] = w_k P_mk.
FeedForwardNet fold_mf(uint32_t input_dim, uint32_t factors, uint32_t outputs,
                       const std::vector<float>& projection,
                       const std::vector<float>& model_embedding,
                       const std::vector<float>& classifier, const std::vector<float>& bias);

}  // namespace switchyard::learned
