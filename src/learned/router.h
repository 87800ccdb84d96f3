#pragma once
// RouterModel: a loaded learned router, the one type the gateway uses.
//
// Lifetime and threading: built by load_file() off the request path (startup or
// hot reload), then published as shared_ptr<const RouterModel>; in-flight
// requests keep the instance they started with. Everything is immutable after
// load; score()/choose() are const, lock-free and thread-safe. Per-call working
// memory lives in a thread_local scratch that is grown once per thread and then
// reused, so a steady-state decision does not allocate (beyond `scores` growing
// on its first use).
//
//   auto router = learned::RouterModel::load_file(args.model_path);
//   if (!router) { log(router.error().message); keep the old one; }
//   size_t pick = (*router)->choose(prompt, args.cost_weight);
//   const std::string& model = (*router)->candidates()[pick];
#include <boost/json/object.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "learned/artefact.h"
#include "learned/cost_model.h"
#include "learned/featurizer.h"
#include "learned/quality_model.h"

namespace switchyard::learned {

// The strategies, spelled as in `llmrouter-<name>` and `switchyard train --strategy`.
inline constexpr const char* kStrategies[] = {"knn", "svm", "mlp", "mf", "hybrid", "custom"};
bool is_known_strategy(std::string_view name);

class RouterModel {
 public:
  static Result<std::shared_ptr<const RouterModel>> load_file(const std::string& path);
  static Result<std::shared_ptr<const RouterModel>> load_bytes(std::string bytes);
  static Result<std::shared_ptr<const RouterModel>> load(const Artefact& artefact);

  const std::string& strategy() const { return strategy_; }
  // Hex SHA-256 of the artefact payload: identifies exactly what is loaded.
  const std::string& checksum() const { return checksum_; }
  // The artefact's model_version label (defaults to the checksum prefix).
  const std::string& version() const { return version_; }
  const std::vector<std::string>& candidates() const { return candidates_; }
  const std::vector<CostRate>& cost_rates() const { return costs_; }
  const std::vector<double>& prior_quality() const { return prior_; }
  const Featurizer& featurizer() const { return *featurizer_; }
  // True when decisions need RouteInput::embedding (embedding featurizer).
  bool needs_embedding() const { return featurizer_->needs_embedding(); }
  // Cost weight chosen on the training-time validation slice (see docs/routing.md).
  double recommended_cost_weight() const { return recommended_cost_weight_; }
  // The artefact header without the tensor directory: metadata for logs and /info.
  const boost::json::object& metadata() const { return metadata_; }

  // scores[i] = predicted_quality(i) - cost_weight * predicted_cost_usd(i) for
  // candidates()[i]. For a router that needs embeddings, a prompt alone scores
  // with the training prior as quality.
  void score(std::string_view prompt, double cost_weight, std::vector<double>& scores) const;
  Result<bool> score(const RouteInput& input, double cost_weight,
                     std::vector<double>& scores) const;

  // Index into candidates() of the best score; ties go to the cheaper candidate,
  // then the lower index.
  size_t choose(std::string_view prompt, double cost_weight) const;

  // Everything behind one decision, for debug logs and `switchyard route --explain`.
  struct Decision {
    size_t choice = 0;
    std::vector<double> quality;
    std::vector<double> cost_usd;
    std::vector<double> score;
  };
  Result<bool> explain(const RouteInput& input, double cost_weight, Decision& out) const;

  // Candidates absent from `available` (e.g. the model groups of a config).
  std::vector<std::string> missing_from(const std::vector<std::string>& available) const;

 private:
  RouterModel() = default;
  // Fills predicted quality and cost per candidate. False (with quality = prior)
  // when the featurizer cannot use the input.
  Result<bool> predict(const RouteInput& input, std::vector<double>& quality,
                       std::vector<double>& cost) const;

  std::string strategy_;
  std::string checksum_;
  std::string version_;
  std::vector<std::string> candidates_;
  std::vector<CostRate> costs_;
  std::vector<double> prior_;
  double recommended_cost_weight_ = 0;
  boost::json::object metadata_;
  std::unique_ptr<Featurizer> featurizer_;
  std::unique_ptr<QualityModel> quality_;
};

// argmax with the documented tie-break (cheaper, then lower index).
size_t best_candidate(const std::vector<double>& scores, const std::vector<double>& cost);

}  // namespace switchyard::learned
