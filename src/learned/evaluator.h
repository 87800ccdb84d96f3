#pragma once
// Offline evaluation of a router on labelled data: sweep the cost weight,
// record (accuracy, total cost) per point, and compare with every single
// candidate and the oracle. Accuracy is the mean quality of the chosen model
// per row, a missing (null) label counting as 0; cost is the row's own cost for
// that model. Used by `switchyard eval` and by the trainer on its validation slice.
#include <string>
#include <vector>

#include "core/error.h"
#include "learned/dataset.h"
#include "learned/router.h"

namespace switchyard::learned {

struct CurvePoint {
  double cost_weight = 0;
  double accuracy = 0;
  double cost_usd = 0;        // total over the rows
  std::vector<size_t> picks;  // per candidate
};

struct ReferencePoint {
  std::string name;
  double accuracy = 0;
  double cost_usd = 0;
};

struct EvalResult {
  size_t rows = 0;
  std::vector<std::string> candidates;
  std::vector<CurvePoint> curve;              // in cost_weight order
  std::vector<ReferencePoint> single_models;  // one per candidate
  ReferencePoint best_single;                 // highest accuracy, cheaper on ties
  ReferencePoint cheapest_single;
  ReferencePoint oracle;               // cheapest best-quality candidate per row
  double recommended_cost_weight = 0;  // see recommend_cost_weight()
  double area = 0;                     // see curve_area()
  std::vector<std::string> warnings;
};

// 0 plus a log-spaced grid wide enough for per-query costs from 1e-7 to 1 USD.
std::vector<double> default_cost_weights();

// Per-row predictions, computed once; the sweep then only re-ranks.
struct RowPredictions {
  std::vector<std::vector<double>> quality;  // rows x candidates
  std::vector<std::vector<double>> cost;
};
Result<RowPredictions> predict_rows(const RouterModel& router, const Dataset& data);

Result<EvalResult> evaluate(const RouterModel& router, const Dataset& data,
                            const std::vector<double>& cost_weights);
Result<EvalResult> evaluate_predictions(const RowPredictions& predictions,
                                        const std::vector<std::string>& candidates,
                                        const Dataset& data,
                                        const std::vector<double>& cost_weights);

// The curve point that beats mixing the cheapest and the best single model at
// random by the widest margin (largest accuracy above the straight line between
// them); ties go to the cheaper point. Returns its cost weight.
double recommend_cost_weight(const EvalResult& result);

// Mean accuracy of the curve's upper envelope over log10(cost) between the
// cheapest and the best single model: one number for "routing quality at every
// budget", used to compare hyper-parameters on the validation slice.
double curve_area(const EvalResult& result);

// Best accuracy on the curve at total cost <= budget (NaN when none).
const CurvePoint* best_within_budget(const EvalResult& result, double budget_usd);

// The cost weight a deployment would pick for a budget without looking at the
// rows it is scored on: the best point of a *validation* curve (`rows` rows)
// whose cost per row is at most budget_usd / target_rows. NaN when no point of
// the validation curve fits.
double cost_weight_for_budget(const std::vector<CurvePoint>& validation_curve,
                              size_t validation_rows, double budget_usd, size_t target_rows);

}  // namespace switchyard::learned
