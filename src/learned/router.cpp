#include "learned/router.h"

#include <boost/json.hpp>
#include <cmath>
#include <set>

namespace switchyard::learned {

namespace json = boost::json;

namespace {

ScoringScratch& thread_scratch() {
  static thread_local ScoringScratch scratch;
  return scratch;
}

struct PredictionBuffers {
  std::vector<double> quality;
  std::vector<double> cost;
};

PredictionBuffers& thread_buffers() {
  static thread_local PredictionBuffers buffers;
  return buffers;
}

Error with_prefix(Error e, const std::string& prefix) {
  e.message = prefix + e.message;
  return e;
}

}  // namespace

bool is_known_strategy(std::string_view name) {
  for (const char* s : kStrategies) {
    if (name == s) return true;
  }
  return false;
}

size_t best_candidate(const std::vector<double>& scores, const std::vector<double>& cost) {
  size_t best = 0;
  for (size_t i = 1; i < scores.size(); ++i) {
    if (scores[i] > scores[best] || (scores[i] == scores[best] && cost[i] < cost[best])) best = i;
  }
  return best;
}

Result<std::shared_ptr<const RouterModel>> RouterModel::load_file(const std::string& path) {
  auto artefact = Artefact::read_file(path);
  if (!artefact) return artefact.error();
  auto model = load(*artefact);
  if (!model) return with_prefix(model.error(), path + ": ");
  return model;
}

Result<std::shared_ptr<const RouterModel>> RouterModel::load_bytes(std::string bytes) {
  auto artefact = Artefact::parse(std::move(bytes));
  if (!artefact) return artefact.error();
  return load(*artefact);
}

Result<std::shared_ptr<const RouterModel>> RouterModel::load(const Artefact& artefact) {
  const json::object& h = artefact.header();
  if (json_string_or(h, "format", "") != "switchyard-router") {
    return artefact_error(kErrArtefactMismatch, "header.format is not \"switchyard-router\"");
  }
  auto strategy = json_string_at(h, "strategy", "header");
  if (!strategy) return strategy.error();
  if (!is_known_strategy(*strategy)) {
    return artefact_error(kErrArtefactMismatch, "unknown strategy '" + *strategy + "'");
  }
  std::shared_ptr<RouterModel> model(new RouterModel());
  model->strategy_ = *strategy;
  model->checksum_ = artefact.checksum();
  model->version_ = json_string_or(h, "model_version", artefact.checksum().substr(0, 12));

  const json::value* candidates = h.if_contains("candidates");
  if (candidates == nullptr || !candidates->is_array() || candidates->as_array().empty()) {
    return artefact_error(kErrArtefactMismatch, "header.candidates missing or empty");
  }
  std::set<std::string> seen;
  for (const auto& c : candidates->as_array()) {
    if (!c.is_object())
      return artefact_error(kErrArtefactMismatch, "header.candidates[] not object");
    const auto& o = c.as_object();
    auto name = json_string_at(o, "name", "candidates[]");
    if (!name) return name.error();
    if (name->empty() || !seen.insert(*name).second) {
      return artefact_error(kErrArtefactMismatch,
                            "candidate name '" + *name + "' empty or repeated");
    }
    CostRate rate;
    if (const auto* cost = o.if_contains("cost"); cost && cost->is_object()) {
      rate.fixed_usd = json_number_or(cost->as_object(), "fixed_usd", 0);
      rate.per_char_usd = json_number_or(cost->as_object(), "per_char_usd", 0);
      rate.source = json_string_or(cost->as_object(), "source", "");
    }
    if (!(rate.fixed_usd >= 0) || !(rate.per_char_usd >= 0) || !std::isfinite(rate.fixed_usd) ||
        !std::isfinite(rate.per_char_usd)) {
      return artefact_error(kErrArtefactMismatch, "candidate '" + *name + "' has an invalid cost");
    }
    const double prior = json_number_or(o, "prior_quality", 0.0);
    model->candidates_.push_back(*name);
    model->costs_.push_back(rate);
    model->prior_.push_back(std::isfinite(prior) ? prior : 0.0);
  }

  auto featurizer = load_featurizer(artefact);
  if (!featurizer) return featurizer.error();
  model->featurizer_ = std::move(*featurizer);
  auto quality = load_quality_model(artefact, model->strategy_, model->featurizer_->dimension(),
                                    model->prior_);
  if (!quality) return quality.error();
  model->quality_ = std::move(*quality);

  if (const auto* v = h.if_contains("validation"); v && v->is_object()) {
    model->recommended_cost_weight_ =
        json_number_or(v->as_object(), "recommended_cost_weight", 0.0);
  }
  model->metadata_ = h;
  model->metadata_.erase("tensors");
  return std::shared_ptr<const RouterModel>(std::move(model));
}

Result<bool> RouterModel::predict(const RouteInput& input, std::vector<double>& quality,
                                  std::vector<double>& cost) const {
  const size_t m = candidates_.size();
  quality.resize(m);
  cost.resize(m);
  const size_t chars = count_chars(input.prompt);
  for (size_t i = 0; i < m; ++i) cost[i] = costs_[i].predict(chars);
  ScoringScratch& s = thread_scratch();
  if (featurizer_->needs_embedding() && input.embedding.empty()) {
    quality.assign(prior_.begin(), prior_.end());
    return false;
  }
  auto ok = featurizer_->featurize(input, s.features, s.x);
  if (!ok) {
    quality.assign(prior_.begin(), prior_.end());
    return ok.error();
  }
  quality_->predict(s.x, s, quality);
  return true;
}

void RouterModel::score(std::string_view prompt, double cost_weight,
                        std::vector<double>& scores) const {
  (void)score(RouteInput{prompt, {}}, cost_weight, scores);
}

Result<bool> RouterModel::score(const RouteInput& input, double cost_weight,
                                std::vector<double>& scores) const {
  PredictionBuffers& b = thread_buffers();
  auto ok = predict(input, b.quality, b.cost);
  scores.resize(candidates_.size());
  for (size_t i = 0; i < scores.size(); ++i) scores[i] = b.quality[i] - cost_weight * b.cost[i];
  return ok;
}

size_t RouterModel::choose(std::string_view prompt, double cost_weight) const {
  PredictionBuffers& b = thread_buffers();
  (void)predict(RouteInput{prompt, {}}, b.quality, b.cost);
  size_t best = 0;
  double best_score = b.quality[0] - cost_weight * b.cost[0];
  for (size_t i = 1; i < candidates_.size(); ++i) {
    const double s = b.quality[i] - cost_weight * b.cost[i];
    if (s > best_score || (s == best_score && b.cost[i] < b.cost[best])) {
      best = i;
      best_score = s;
    }
  }
  return best;
}

Result<bool> RouterModel::explain(const RouteInput& input, double cost_weight,
                                  Decision& out) const {
  auto ok = predict(input, out.quality, out.cost_usd);
  out.score.resize(candidates_.size());
  for (size_t i = 0; i < out.score.size(); ++i) {
    out.score[i] = out.quality[i] - cost_weight * out.cost_usd[i];
  }
  out.choice = best_candidate(out.score, out.cost_usd);
  return ok;
}

std::vector<std::string> RouterModel::missing_from(
    const std::vector<std::string>& available) const {
  std::set<std::string> have(available.begin(), available.end());
  std::vector<std::string> out;
  for (const auto& c : candidates_) {
    if (!have.count(c)) out.push_back(c);
  }
  return out;
}

}  // namespace switchyard::learned
