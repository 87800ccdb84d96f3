#include "learned/evaluator.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace switchyard::learned {

std::vector<double> default_cost_weights() {
  std::vector<double> out{0.0};
  // 10^-1 .. 10^7 in steps of 10^(1/12): fine enough that neighbouring points
  // move only a few decisions on the shared benchmarks.
  for (int e = -12; e <= 84; ++e) out.push_back(std::pow(10.0, e / 12.0));
  return out;
}

Result<RowPredictions> predict_rows(const RouterModel& router, const Dataset& data) {
  RowPredictions out;
  out.quality.reserve(data.rows());
  out.cost.reserve(data.rows());
  RouterModel::Decision d;
  for (size_t i = 0; i < data.rows(); ++i) {
    auto ok = router.explain(RouteInput{data.prompts[i], data.embeddings[i]}, 0.0, d);
    if (!ok) {
      Error e = ok.error();
      e.message = data.path + " row " + std::to_string(i + 1) + ": " + e.message;
      return e;
    }
    out.quality.push_back(d.quality);
    out.cost.push_back(d.cost_usd);
  }
  return out;
}

Result<EvalResult> evaluate(const RouterModel& router, const Dataset& data,
                            const std::vector<double>& cost_weights) {
  auto predictions = predict_rows(router, data);
  if (!predictions) return predictions.error();
  return evaluate_predictions(*predictions, router.candidates(), data, cost_weights);
}

Result<EvalResult> evaluate_predictions(const RowPredictions& p,
                                        const std::vector<std::string>& candidates,
                                        const Dataset& data,
                                        const std::vector<double>& cost_weights) {
  EvalResult r;
  r.rows = data.rows();
  r.candidates = candidates;
  const size_t m = candidates.size();
  std::vector<size_t> column(m);
  for (size_t j = 0; j < m; ++j) {
    column[j] = data.model_index(candidates[j]);
    if (column[j] == data.models.size()) {
      return Error::make(ErrorKind::kInvalidRequest,
                         "router candidate '" + candidates[j] + "' has no labels in " + data.path,
                         std::string("data_mismatch"));
    }
  }
  // Label and true cost per (row, candidate); a missing label scores 0, a
  // missing cost falls back to the router's own estimate.
  std::vector<double> label(r.rows * m), cost(r.rows * m);
  size_t missing_cost = 0;
  for (size_t i = 0; i < r.rows; ++i) {
    for (size_t j = 0; j < m; ++j) {
      const float q = data.q(i, column[j]);
      const float c = data.cost(i, column[j]);
      label[i * m + j] = std::isnan(q) ? 0.0 : q;
      if (std::isnan(c)) {
        ++missing_cost;
        cost[i * m + j] = p.cost[i][j];
      } else {
        cost[i * m + j] = c;
      }
    }
  }
  if (missing_cost > 0) {
    r.warnings.push_back(std::to_string(missing_cost) +
                         " (row, model) cells have no cost in the data; the router's estimate "
                         "is used for them");
  }
  const double n = std::max<double>(1.0, static_cast<double>(r.rows));

  for (double lambda : cost_weights) {
    CurvePoint point;
    point.cost_weight = lambda;
    point.picks.assign(m, 0);
    for (size_t i = 0; i < r.rows; ++i) {
      size_t best = 0;
      double best_score = p.quality[i][0] - lambda * p.cost[i][0];
      for (size_t j = 1; j < m; ++j) {
        const double s = p.quality[i][j] - lambda * p.cost[i][j];
        if (s > best_score || (s == best_score && p.cost[i][j] < p.cost[i][best])) {
          best = j;
          best_score = s;
        }
      }
      point.accuracy += label[i * m + best];
      point.cost_usd += cost[i * m + best];
      ++point.picks[best];
    }
    point.accuracy /= n;
    r.curve.push_back(std::move(point));
  }

  for (size_t j = 0; j < m; ++j) {
    ReferencePoint ref{candidates[j], 0, 0};
    for (size_t i = 0; i < r.rows; ++i) {
      ref.accuracy += label[i * m + j];
      ref.cost_usd += cost[i * m + j];
    }
    ref.accuracy /= n;
    r.single_models.push_back(ref);
  }
  r.best_single = r.single_models.front();
  r.cheapest_single = r.single_models.front();
  for (const auto& ref : r.single_models) {
    if (ref.accuracy > r.best_single.accuracy ||
        (ref.accuracy == r.best_single.accuracy && ref.cost_usd < r.best_single.cost_usd)) {
      r.best_single = ref;
    }
    if (ref.cost_usd < r.cheapest_single.cost_usd) r.cheapest_single = ref;
  }
  r.oracle.name = "oracle";
  for (size_t i = 0; i < r.rows; ++i) {
    size_t best = 0;
    for (size_t j = 1; j < m; ++j) {
      const double a = label[i * m + j], b = label[i * m + best];
      if (a > b || (a == b && cost[i * m + j] < cost[i * m + best])) best = j;
    }
    r.oracle.accuracy += label[i * m + best];
    r.oracle.cost_usd += cost[i * m + best];
  }
  r.oracle.accuracy /= n;
  r.recommended_cost_weight = recommend_cost_weight(r);
  r.area = curve_area(r);
  return r;
}

double recommend_cost_weight(const EvalResult& r) {
  if (r.curve.empty()) return 0;
  const auto& lo = r.cheapest_single;
  const auto& hi = r.best_single;
  const double slope =
      hi.cost_usd > lo.cost_usd ? (hi.accuracy - lo.accuracy) / (hi.cost_usd - lo.cost_usd) : 0.0;
  const CurvePoint* best = nullptr;
  double best_gain = -std::numeric_limits<double>::infinity();
  for (const auto& point : r.curve) {
    const double gain = point.accuracy - (lo.accuracy + slope * (point.cost_usd - lo.cost_usd));
    if (gain > best_gain + 1e-12 ||
        (std::abs(gain - best_gain) <= 1e-12 && best && point.cost_usd < best->cost_usd)) {
      best_gain = gain;
      best = &point;
    }
  }
  return best->cost_weight;
}

double curve_area(const EvalResult& r) {
  const double lo = std::max(1e-12, std::min(r.cheapest_single.cost_usd, r.best_single.cost_usd));
  const double hi = std::max(r.cheapest_single.cost_usd, r.best_single.cost_usd);
  auto envelope = [&](double budget) {
    double best = 0;
    for (const auto& p : r.curve) {
      if (p.cost_usd <= budget) best = std::max(best, p.accuracy);
    }
    return best;
  };
  if (!(hi > lo)) return envelope(hi);
  const int samples = 200;
  double sum = 0;
  const double a = std::log10(lo), b = std::log10(hi);
  for (int s = 0; s < samples; ++s) {
    const double x = a + (b - a) * (s + 0.5) / samples;
    sum += envelope(std::pow(10.0, x));
  }
  return sum / samples;
}

const CurvePoint* best_within_budget(const EvalResult& r, double budget_usd) {
  const CurvePoint* best = nullptr;
  for (const auto& p : r.curve) {
    if (p.cost_usd > budget_usd + 1e-12) continue;
    if (best == nullptr || p.accuracy > best->accuracy ||
        (p.accuracy == best->accuracy && p.cost_usd < best->cost_usd)) {
      best = &p;
    }
  }
  return best;
}

double cost_weight_for_budget(const std::vector<CurvePoint>& validation_curve,
                              size_t validation_rows, double budget_usd, size_t target_rows) {
  if (validation_rows == 0 || target_rows == 0) return std::numeric_limits<double>::quiet_NaN();
  EvalResult scaled;
  scaled.curve = validation_curve;
  const double scale = static_cast<double>(validation_rows) / static_cast<double>(target_rows);
  const CurvePoint* p = best_within_budget(scaled, budget_usd * scale);
  return p ? p->cost_weight : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace switchyard::learned
