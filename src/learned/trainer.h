#pragma once
// `switchyard train`: featurize, fit one strategy, validate on a held-out slice
// of the training data, and produce a complete artefact (file image).
//
// Protocol: the rows are split (seeded) into a fit part and a validation slice.
// A model fitted on the fit part is written, re-loaded through the same code
// the gateway uses, and evaluated on the slice: those figures, the early-stopping
// epoch (mlp, mf) and the hybrid threshold come from the slice only. With
// `refit` (default) the final model is then fitted on all rows with those
// settings. The test split is never seen here.
#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "learned/dataset.h"
#include "learned/evaluator.h"
#include "learned/featurizer.h"
#include "learned/trainers.h"

namespace switchyard::learned {

struct TrainOptions {
  std::string strategy;  // knn | svm | mlp | mf | hybrid
  uint64_t seed = 42;
  double validation_fraction = 0.2;
  bool refit = true;
  std::string featurizer = "hashed_tfidf";  // or "embedding" (rows carry `embedding`)
  HashedTfidfSpec tfidf = HashedTfidfSpec::defaults();
  KnnParams knn;
  SvmParams svm;
  // svm strategy: "logistic" (per-candidate logistic regression, C by 3-fold CV; the
  // default since 2026-11-28, see docs/routing.md) or "hinge" (linear SVM + Platt).
  std::string svm_loss = "logistic";
  LogisticParams logistic;  // used with svm_loss == "logistic"
  MlpParams mlp;
  MfParams mf;
  std::string hybrid_small;  // empty: chosen from the data (see docs/routing.md)
  std::string hybrid_large;
  double hybrid_large_share = 0.3;  // share of validation queries sent to the large model
  double hybrid_margin = 0.0;       // small is "good enough" when q_small >= q_large - margin
  std::string model_version;        // free-form label; default: checksum prefix
  std::string created_at;           // ISO-8601 UTC; empty: SOURCE_DATE_EPOCH or now
  ProgressFn progress;
};

struct TrainOutcome {
  std::string artefact;  // the file image
  std::string checksum;
  std::vector<std::string> candidates;
  bool has_validation = false;
  EvalResult validation;
  boost::json::object hyper_parameters;
  std::vector<std::string> warnings;
};

// `data` must already be restricted to the candidate models and have costs
// resolved (resolve_costs()).
Result<TrainOutcome> train_router(const Dataset& data, const TrainOptions& options);

// The small/large pair hybrid uses when none is given: large = best mean
// quality; small = best mean quality among models costing at most a quarter of
// the large one (else the cheapest other model).
std::pair<std::string, std::string> default_hybrid_pair(const Dataset& data);

}  // namespace switchyard::learned
