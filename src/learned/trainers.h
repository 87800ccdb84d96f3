#pragma once
// The per-strategy fitting routines behind `switchyard train`. Each takes the
// featurized training rows and writes its model section (spec + tensors) into
// an ArtefactWriter. Called on the training thread only.
#include <boost/json/object.hpp>
#include <cstdint>
#include <vector>

#include "learned/artefact.h"
#include "learned/network.h"
#include "learned/quality_model.h"
#include "learned/train_common.h"

namespace switchyard::learned {

// ---- knn ----
// Stores the training rows as an inverted index (feature -> rows) for fast
// cosine scoring, dropping features present in more than max_df of the rows
// (they add little to the similarity and dominate scoring time).
boost::json::object write_knn(const TrainingSet& set, uint32_t input_dim, const KnnParams& params,
                              ArtefactWriter& writer);

// ---- linear SVM (svm, and the hybrid classifier) ----
struct SvmParams {
  double c = 1.0;
  uint32_t max_epochs = 100;
  double tolerance = 0.02;
  uint32_t platt_folds = 3;
  bool balanced = false;  // weight C per class inversely to its frequency
};

struct LinearSvm {
  uint32_t dim = 0, outputs = 0;
  std::vector<float> weight;  // dim x outputs
  std::vector<float> bias, platt_a, platt_b;

  // All-zero weights and identity calibration (a = 1, b = 0).
  static LinearSvm zeros(uint32_t dim, uint32_t outputs) {
    LinearSvm m;
    m.dim = dim;
    m.outputs = outputs;
    m.weight.assign(static_cast<size_t>(dim) * outputs, 0.0f);
    m.bias.assign(outputs, 0.0f);
    m.platt_a.assign(outputs, 1.0f);
    m.platt_b.assign(outputs, 0.0f);
    return m;
  }
};

// One binary SVM per target column, each followed by Platt scaling fitted on
// out-of-fold decision values. targets[o][r] in [0, 1] or NaN (row unused):
// the SVM sees (target >= 0.5), Platt sees the target itself.
LinearSvm train_linear_svm(const SparseMatrix& x, uint32_t dim,
                           const std::vector<std::vector<float>>& targets, const SvmParams& params,
                           uint64_t seed, const ProgressFn& progress);
boost::json::object write_linear_svm(const LinearSvm& svm, ArtefactWriter& writer);

// ---- logistic regression (svm strategy, --svm-loss logistic) ----
struct LogisticParams {
  // Candidate values of C (liblinear scaling: C multiplies the summed loss),
  // tried in increasing order; each candidate model takes the one with the
  // lowest k-fold log-loss (the sweep stops after two grid points in a row
  // without improvement).
  std::vector<double> c_grid{0.1, 0.3, 1, 3, 10, 30, 100, 300, 1000};
  uint32_t folds = 3;
  uint32_t max_iterations = 200;  // L-BFGS iterations per fit
};

// One L2-regularised logistic regression per target column on the soft targets
// (targets[o][r] in [0, 1], NaN = row unused), returned as a LinearSvm with an
// identity Platt map (a = 1, b = 0). `chosen_c`, if given, receives the C
// picked for each output.
LinearSvm train_logistic(const SparseMatrix& x, uint32_t dim,
                         const std::vector<std::vector<float>>& targets,
                         const LogisticParams& params, uint64_t seed, const ProgressFn& progress,
                         std::vector<double>* chosen_c = nullptr);

// ---- mlp ----
// Defaults chosen by 5-fold cross-validation on the training splits of the two
// shared data sets (docs/routing.md, "How the defaults were chosen").
struct MlpParams {
  std::vector<uint32_t> hidden{32};
  double learning_rate = 2e-3;
  uint32_t batch_size = 32;
  uint32_t max_epochs = 60;
  uint32_t patience = 6;
  double dropout = 0.5;
  double weight_decay = 1e-4;
  double init_scale = 0.1;
};

struct NetFit {
  FeedForwardNet net;
  uint32_t epochs = 0;  // epochs of the returned weights
  double validation_loss = 0;
};

// Masked binary cross-entropy on soft labels, Adam with lazy updates of the
// sparse first layer, dropout on hidden layers. With `validation`, stops early
// on its loss and returns the best epoch's weights; without, runs `epochs`.
NetFit train_mlp(const TrainingSet& train, const TrainingSet* validation, uint32_t dim,
                 const MlpParams& params, uint32_t epochs, uint64_t seed,
                 const ProgressFn& progress);

// ---- mf ----
struct MfParams {
  uint32_t factors = 8;
  double learning_rate = 2e-3;
  uint32_t batch_size = 32;
  uint32_t max_epochs = 60;
  uint32_t patience = 6;
  double weight_decay = 1e-4;
  double init_scale = 0.1;
  double pairwise_weight = 1.0;   // RouteLLM's win/loss logistic loss
  double pointwise_weight = 0.5;  // anchors logits to P(correct) so costs can be traded
};

struct MfFit {
  uint32_t dim = 0, factors = 0, models = 0;
  std::vector<float> projection;       // dim x factors
  std::vector<float> model_embedding;  // models x factors
  std::vector<float> classifier;       // factors
  std::vector<float> bias;             // models
  uint32_t epochs = 0;
  double validation_loss = 0;
};

MfFit train_mf(const TrainingSet& train, const TrainingSet* validation, uint32_t dim,
               const MfParams& params, uint32_t epochs, uint64_t seed, const ProgressFn& progress);
boost::json::object write_mf(const MfFit& fit, ArtefactWriter& writer);

}  // namespace switchyard::learned
