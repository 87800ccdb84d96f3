#include "learned/trainer.h"

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <optional>

#include "learned/cost_model.h"
#include "learned/router.h"

#ifndef SWITCHYARD_VERSION
#define SWITCHYARD_VERSION "dev"
#endif

namespace switchyard::learned {

namespace json = boost::json;

namespace {

Error train_error(std::string message) {
  return Error::make(ErrorKind::kInvalidRequest, std::move(message), std::string("train_invalid"));
}

std::string now_iso8601() {
  std::time_t t = std::time(nullptr);
  if (const char* epoch = std::getenv("SOURCE_DATE_EPOCH"); epoch && *epoch) {
    t = static_cast<std::time_t>(std::strtoll(epoch, nullptr, 10));
  }
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::vector<double> mean_quality(const Dataset& d) {
  std::vector<double> out(d.models.size(), 0.0);
  for (size_t j = 0; j < d.models.size(); ++j) {
    double sum = 0, n = 0;
    for (size_t i = 0; i < d.rows(); ++i) {
      const float q = d.q(i, j);
      if (!std::isnan(q)) {
        sum += q;
        n += 1;
      }
    }
    out[j] = n > 0 ? sum / n : 0.0;
  }
  return out;
}

json::object curve_json(const EvalResult& r) {
  json::array curve;
  for (const auto& p : r.curve) {
    curve.push_back(json::object{
        {"cost_weight", p.cost_weight}, {"accuracy", p.accuracy}, {"cost_usd", p.cost_usd}});
  }
  auto ref = [](const ReferencePoint& p) {
    return json::object{{"name", p.name}, {"accuracy", p.accuracy}, {"cost_usd", p.cost_usd}};
  };
  return json::object{{"rows", r.rows},
                      {"recommended_cost_weight", r.recommended_cost_weight},
                      {"area", r.area},
                      {"best_single", ref(r.best_single)},
                      {"cheapest_single", ref(r.cheapest_single)},
                      {"oracle", ref(r.oracle)},
                      {"curve", std::move(curve)}};
}

// Everything a fitted stage leaves behind besides the artefact itself.
struct StageState {
  uint32_t epochs = 0;  // mlp/mf: chosen on the validation slice
  double hybrid_threshold = 0.5;
};

struct Featurized {
  std::unique_ptr<Featurizer> featurizer;
  TrainingSet fit;
  TrainingSet early_stop;
};

Result<Featurized> featurize(const Dataset& fit_rows, const Dataset* early_stop,
                             const TrainOptions& o) {
  Featurized out;
  if (o.featurizer == "embedding") {
    const size_t dim = fit_rows.embeddings.empty() ? 0 : fit_rows.embeddings[0].size();
    if (dim == 0) return train_error("--featurizer embedding needs an `embedding` array per row");
    for (const Dataset* d : {&fit_rows, early_stop}) {
      if (d == nullptr) continue;
      for (size_t i = 0; i < d->rows(); ++i) {
        if (d->embeddings[i].size() != dim) {
          return train_error("row " + std::to_string(i + 1) + " has an embedding of " +
                             std::to_string(d->embeddings[i].size()) + " values, expected " +
                             std::to_string(dim));
        }
      }
    }
    out.featurizer = std::make_unique<EmbeddingFeaturizer>(static_cast<uint32_t>(dim), true);
  } else if (o.featurizer == "hashed_tfidf") {
    out.featurizer = HashedTfidfFeaturizer::fit(o.tfidf, fit_rows.prompts);
  } else {
    return train_error("unknown featurizer '" + o.featurizer + "' (hashed_tfidf, embedding)");
  }
  FeatureScratch scratch;
  SparseVector v;
  auto fill = [&](const Dataset& d, TrainingSet& set) -> Result<bool> {
    set.x.columns = out.featurizer->dimension();
    set.models = d.models.size();
    set.quality = d.quality;
    for (size_t i = 0; i < d.rows(); ++i) {
      auto ok = out.featurizer->featurize(RouteInput{d.prompts[i], d.embeddings[i]}, scratch, v);
      if (!ok) return ok.error();
      set.x.append(v);
      if (o.progress && (i % 256 == 0 || i + 1 == d.rows())) {
        o.progress("featurize", static_cast<double>(i + 1) / d.rows());
      }
    }
    return true;
  };
  if (auto ok = fill(fit_rows, out.fit); !ok) return ok.error();
  if (early_stop != nullptr) {
    if (auto ok = fill(*early_stop, out.early_stop); !ok) return ok.error();
  }
  return out;
}

// Fits the strategy on `fit_rows` and fills `writer` with a complete header
// (except "validation") and every tensor.
Result<bool> fit_stage(const Dataset& fit_rows, const Dataset* early_stop, const TrainOptions& o,
                       const std::vector<CostRate>& costs, StageState& state,
                       ArtefactWriter& writer, json::object& hyper) {
  auto featurized = featurize(fit_rows, early_stop, o);
  if (!featurized) return featurized.error();
  Featurized& f = *featurized;
  const uint32_t dim = f.featurizer->dimension();
  const TrainingSet* validation = early_stop ? &f.early_stop : nullptr;

  json::object model;
  if (o.strategy == "knn") {
    KnnParams knn = o.knn;
    // Every embedding dimension is set on every row: document-frequency pruning
    // is only meaningful for sparse n-gram features.
    if (o.featurizer == "embedding") {
      knn.max_df = 1.0;
      knn.common_rank = 0;
    }
    model = write_knn(f.fit, dim, knn, writer);
    hyper = json::object{{"k", o.knn.k},
                         {"power", o.knn.power},
                         {"prior_weight", o.knn.prior_weight},
                         {"max_df", knn.max_df},
                         {"query_terms", o.knn.query_terms},
                         {"max_postings", o.knn.max_postings},
                         {"common_rank", knn.common_rank}};
  } else if (o.strategy == "svm") {
    std::vector<std::vector<float>> targets(f.fit.models, std::vector<float>(f.fit.rows()));
    for (size_t r = 0; r < f.fit.rows(); ++r) {
      for (size_t m = 0; m < f.fit.models; ++m) targets[m][r] = f.fit.q(r, m);
    }
    if (o.svm_loss == "logistic") {
      std::vector<double> chosen;
      auto lr = train_logistic(f.fit.x, dim, targets, o.logistic, o.seed, o.progress, &chosen);
      model = write_linear_svm(lr, writer);
      model["loss"] = "logistic";
      model["calibration"] = "none";
      json::array grid, picked;
      for (double c : o.logistic.c_grid) grid.push_back(c);
      for (double c : chosen) picked.push_back(c);
      hyper = json::object{{"loss", "logistic"},
                           {"c_grid", std::move(grid)},
                           {"cv_folds", o.logistic.folds},
                           {"c_per_candidate", std::move(picked)}};
    } else {
      auto svm = train_linear_svm(f.fit.x, dim, targets, o.svm, o.seed, o.progress);
      model = write_linear_svm(svm, writer);
      hyper = json::object{{"loss", "hinge"},
                           {"c", o.svm.c},
                           {"max_epochs", o.svm.max_epochs},
                           {"platt_folds", o.svm.platt_folds},
                           {"balanced", o.svm.balanced}};
    }
  } else if (o.strategy == "mlp") {
    auto fit = train_mlp(f.fit, validation, dim, o.mlp, state.epochs, o.seed, o.progress);
    if (validation) state.epochs = std::max<uint32_t>(1, fit.epochs);
    model = fit.net.save(writer, "model");
    json::array hidden;
    for (uint32_t h : o.mlp.hidden) hidden.push_back(h);
    hyper = json::object{{"hidden", std::move(hidden)},    {"learning_rate", o.mlp.learning_rate},
                         {"batch_size", o.mlp.batch_size}, {"epochs", state.epochs},
                         {"dropout", o.mlp.dropout},       {"weight_decay", o.mlp.weight_decay},
                         {"init_scale", o.mlp.init_scale}, {"patience", o.mlp.patience}};
  } else if (o.strategy == "mf") {
    auto fit = train_mf(f.fit, validation, dim, o.mf, state.epochs, o.seed, o.progress);
    if (validation) state.epochs = std::max<uint32_t>(1, fit.epochs);
    model = write_mf(fit, writer);
    hyper = json::object{{"factors", o.mf.factors},
                         {"learning_rate", o.mf.learning_rate},
                         {"batch_size", o.mf.batch_size},
                         {"epochs", state.epochs},
                         {"weight_decay", o.mf.weight_decay},
                         {"init_scale", o.mf.init_scale},
                         {"pairwise_weight", o.mf.pairwise_weight},
                         {"pointwise_weight", o.mf.pointwise_weight}};
  } else if (o.strategy == "hybrid") {
    // Candidates are [small, large]; target = small is good enough.
    std::vector<std::vector<float>> targets(1, std::vector<float>(f.fit.rows()));
    for (size_t r = 0; r < f.fit.rows(); ++r) {
      const float qs = f.fit.q(r, 0), ql = f.fit.q(r, 1);
      targets[0][r] = (std::isnan(qs) || std::isnan(ql))
                          ? std::numeric_limits<float>::quiet_NaN()
                          : (qs >= ql - o.hybrid_margin ? 1.0f : 0.0f);
    }
    // The classifier follows --svm-loss: logistic regression by default (3-fold CV on
    // both training splits: +0.005..0.007 accuracy over hinge + Platt at the budgets).
    const bool logistic = o.svm_loss == "logistic";
    std::vector<double> chosen;
    auto svm = logistic
                   ? train_logistic(f.fit.x, dim, targets, o.logistic, o.seed, o.progress, &chosen)
                   : train_linear_svm(f.fit.x, dim, targets, o.svm, o.seed, o.progress);
    model = write_linear_svm(svm, writer);
    if (logistic) {
      model["loss"] = "logistic";
      model["calibration"] = "none";
    }
    model["type"] = "hybrid";
    model["small_index"] = 0;
    model["small"] = fit_rows.models[0];
    model["large"] = fit_rows.models[1];
    model["threshold"] = state.hybrid_threshold;
    model["target_large_share"] = o.hybrid_large_share;
    model["quality_margin"] = o.hybrid_margin;
    hyper = json::object{{"loss", o.svm_loss},
                         {"c", logistic ? (chosen.empty() ? 0.0 : chosen[0]) : o.svm.c},
                         {"large_share", o.hybrid_large_share},
                         {"margin", o.hybrid_margin},
                         {"small", fit_rows.models[0]},
                         {"large", fit_rows.models[1]}};
  } else {
    return train_error("unknown strategy '" + o.strategy + "'");
  }

  json::object& h = writer.header();
  h["format"] = "switchyard-router";
  h["format_version"] = kArtefactFormatVersion;
  h["strategy"] = o.strategy;
  if (!o.model_version.empty()) h["model_version"] = o.model_version;
  h["created_at"] = o.created_at.empty() ? now_iso8601() : o.created_at;
  h["switchyard_version"] = SWITCHYARD_VERSION;
  h["seed"] = o.seed;
  json::array candidates;
  const auto prior = mean_quality(fit_rows);
  for (size_t j = 0; j < fit_rows.models.size(); ++j) {
    candidates.push_back(json::object{{"name", fit_rows.models[j]},
                                      {"cost", json::object{{"fixed_usd", costs[j].fixed_usd},
                                                            {"per_char_usd", costs[j].per_char_usd},
                                                            {"source", costs[j].source}}},
                                      {"prior_quality", prior[j]}});
  }
  h["candidates"] = std::move(candidates);
  json::object featurizer_spec;
  f.featurizer->save(featurizer_spec, writer);
  h["featurizer"] = std::move(featurizer_spec);
  h["model"] = std::move(model);
  return true;
}

void progress_done(const TrainOptions& o, std::string_view stage) {
  if (o.progress) o.progress(stage, 1.0);
}

}  // namespace

std::pair<std::string, std::string> default_hybrid_pair(const Dataset& data) {
  const auto quality = mean_quality(data);
  std::vector<double> cost(data.models.size(), 0.0);
  for (size_t j = 0; j < data.models.size(); ++j) {
    double sum = 0, n = 0;
    for (size_t i = 0; i < data.rows(); ++i) {
      const float c = data.cost(i, j);
      if (!std::isnan(c)) {
        sum += c;
        n += 1;
      }
    }
    cost[j] = n > 0 ? sum / n : 0;
  }
  size_t large = 0;
  for (size_t j = 1; j < quality.size(); ++j) {
    if (quality[j] > quality[large] || (quality[j] == quality[large] && cost[j] < cost[large])) {
      large = j;
    }
  }
  size_t small = large;
  for (size_t j = 0; j < quality.size(); ++j) {
    if (j == large || cost[j] > 0.25 * cost[large]) continue;
    if (small == large || quality[j] > quality[small]) small = j;
  }
  if (small == large) {
    for (size_t j = 0; j < quality.size(); ++j) {
      if (j != large && (small == large || cost[j] < cost[small])) small = j;
    }
  }
  return {data.models[small], data.models[large]};
}

Result<TrainOutcome> train_router(const Dataset& input, const TrainOptions& options) {
  TrainOptions o = options;
  if (o.strategy == "custom") {
    return train_error(
        "custom routers are trained outside Switchyard and loaded as artefacts; see "
        "docs/routing.md (\"custom\")");
  }
  if (!is_known_strategy(o.strategy)) {
    return train_error("unknown strategy '" + o.strategy + "' (knn, svm, mlp, mf, hybrid)");
  }
  if (input.rows() < 4) return train_error("need at least 4 training rows");
  if (!(o.validation_fraction >= 0 && o.validation_fraction < 0.9)) {
    return train_error("validation fraction must be in [0, 0.9)");
  }
  if (o.created_at.empty()) o.created_at = now_iso8601();

  TrainOutcome outcome;
  Dataset data;
  if (o.strategy == "hybrid") {
    auto pair = default_hybrid_pair(input);
    if (o.hybrid_small.empty()) o.hybrid_small = pair.first;
    if (o.hybrid_large.empty()) o.hybrid_large = pair.second;
    if (o.hybrid_small == o.hybrid_large) {
      return train_error("hybrid needs two different models (--small, --large)");
    }
    auto selected = select_models(input, {o.hybrid_small, o.hybrid_large});
    if (!selected) return selected.error();
    data = std::move(*selected);
  } else {
    data = input;
  }
  if (data.models.size() < 2) return train_error("need at least 2 candidate models");
  outcome.candidates = data.models;
  const auto costs = fit_cost_rates(data, outcome.warnings);

  // Seeded split into the fit part and the validation slice.
  std::vector<size_t> order(data.rows());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  Rng rng(o.seed);
  rng.shuffle(order);
  size_t n_val = static_cast<size_t>(std::llround(o.validation_fraction * data.rows()));
  n_val = std::min(n_val, data.rows() - 2);
  const bool needs_validation = o.strategy == "mlp" || o.strategy == "mf" || o.strategy == "hybrid";
  if (n_val == 0 && needs_validation) {
    return train_error("strategy '" + o.strategy +
                       "' needs a validation slice (--val-fraction > 0)");
  }
  StageState state;
  json::object validation_json;
  if (n_val > 0) {
    std::vector<size_t> val_idx(order.begin(), order.begin() + static_cast<ptrdiff_t>(n_val));
    std::vector<size_t> fit_idx(order.begin() + static_cast<ptrdiff_t>(n_val), order.end());
    std::sort(val_idx.begin(), val_idx.end());
    std::sort(fit_idx.begin(), fit_idx.end());
    Dataset fit_rows = select_rows(data, fit_idx);
    Dataset val_rows = select_rows(data, val_idx);
    struct StageA {
      ArtefactWriter writer;
      json::object hyper;
      StageState state;
      EvalResult evaluation;
    };
    auto run_stage_a = [&](const TrainOptions& variant) -> Result<StageA> {
      StageA a;
      if (auto ok = fit_stage(fit_rows, needs_validation ? &val_rows : nullptr, variant, costs,
                              a.state, a.writer, a.hyper);
          !ok) {
        return ok.error();
      }
      auto router = RouterModel::load_bytes(a.writer.serialize());
      if (!router) return router.error();
      auto predictions = predict_rows(**router, val_rows);
      if (!predictions) return predictions.error();
      if (variant.strategy == "hybrid") {
        // Threshold so that the target share of validation queries goes large.
        std::vector<double> p;
        for (const auto& q : predictions->quality) p.push_back(q[0]);
        std::sort(p.begin(), p.end());
        const auto k = static_cast<size_t>(std::llround(variant.hybrid_large_share * p.size()));
        // Share 0 and 1 mean "never" and "always" (at cost weight 0), also for
        // queries scored outside the validation range.
        if (k == 0)
          a.state.hybrid_threshold = -1e-6;
        else if (k >= p.size())
          a.state.hybrid_threshold = 1.0 + 1e-6;
        else
          a.state.hybrid_threshold = 0.5 * (p[k - 1] + p[k]);
        for (auto& q : predictions->quality) q[1] = a.state.hybrid_threshold;
        a.writer.header()["model"].as_object()["threshold"] = a.state.hybrid_threshold;
      }
      auto evaluation =
          evaluate_predictions(*predictions, data.models, val_rows, default_cost_weights());
      if (!evaluation) return evaluation.error();
      a.evaluation = std::move(*evaluation);
      return a;
    };
    // knn with k = 0 ("auto"): pick k on the validation slice by curve area.
    std::vector<uint32_t> ks{o.knn.k};
    if (o.strategy == "knn" && o.knn.k == 0) {
      ks.clear();
      for (uint32_t k : {10u, 25u, 50u, 100u, 200u}) {
        if (k < fit_rows.rows()) ks.push_back(k);
      }
      if (ks.empty()) ks.push_back(static_cast<uint32_t>(std::max<size_t>(1, fit_rows.rows() / 2)));
    }
    std::optional<StageA> best;
    uint32_t best_k = ks.front();
    for (uint32_t k : ks) {
      TrainOptions variant = o;
      variant.knn.k = k;
      auto a = run_stage_a(variant);
      if (!a) return a.error();
      if (!best || a->evaluation.area > best->evaluation.area + 1e-9) {
        best = std::move(*a);
        best_k = k;
      }
    }
    o.knn.k = best_k;
    ArtefactWriter& writer = best->writer;
    json::object& hyper = best->hyper;
    state = best->state;
    outcome.validation = std::move(best->evaluation);
    outcome.has_validation = true;
    validation_json = curve_json(outcome.validation);
    if (!o.refit) {
      writer.header()["validation"] = validation_json;
      writer.header()["training"] =
          json::object{{"data_path", data.path},   {"data_sha256", data.sha256},
                       {"rows", data.rows()},      {"fit_rows", fit_rows.rows()},
                       {"validation_rows", n_val}, {"validation_fraction", o.validation_fraction},
                       {"refit", false},           {"hyper_parameters", hyper}};
      outcome.hyper_parameters = hyper;
      outcome.artefact = writer.serialize(&outcome.checksum);
      progress_done(o, "done");
      return outcome;
    }
  }
  // Final model on every training row with the settings found above.
  if (o.strategy == "knn" && o.knn.k == 0) o.knn.k = 50;  // "auto" without a validation slice
  ArtefactWriter writer;
  json::object hyper;
  if (auto ok = fit_stage(data, nullptr, o, costs, state, writer, hyper); !ok) return ok.error();
  if (n_val > 0) writer.header()["validation"] = validation_json;
  writer.header()["training"] = json::object{{"data_path", data.path},
                                             {"data_sha256", data.sha256},
                                             {"rows", data.rows()},
                                             {"fit_rows", data.rows()},
                                             {"validation_rows", n_val},
                                             {"validation_fraction", o.validation_fraction},
                                             {"refit", true},
                                             {"hyper_parameters", hyper}};
  outcome.hyper_parameters = hyper;
  outcome.artefact = writer.serialize(&outcome.checksum);
  progress_done(o, "done");
  return outcome;
}

}  // namespace switchyard::learned
