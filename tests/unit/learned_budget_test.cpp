// Choosing the cost weight for a budget on a validation curve (eval's "chosen on
// training validation" lines): known curves, known answers.
#include <gtest/gtest.h>

#include <cmath>

#include "learned/evaluator.h"

using namespace switchyard::learned;

namespace {

CurvePoint point(double cost_weight, double accuracy, double cost_usd) {
  CurvePoint p;
  p.cost_weight = cost_weight;
  p.accuracy = accuracy;
  p.cost_usd = cost_usd;
  return p;
}

}  // namespace

TEST(LearnedBudget, PicksTheBestValidationPointWithinTheScaledBudget) {
  // 100 validation rows; costs are totals over those rows.
  const std::vector<CurvePoint> curve = {point(0, 0.90, 5.0), point(10, 0.85, 2.0),
                                         point(100, 0.80, 0.5), point(1000, 0.60, 0.1)};
  // $4 over 200 rows = $0.02 per row = $2 over the 100 validation rows.
  EXPECT_EQ(cost_weight_for_budget(curve, 100, 4.0, 200), 10);
  // Just under: only the cheaper points fit.
  EXPECT_EQ(cost_weight_for_budget(curve, 100, 3.9, 200), 100);
  // Same budget per row, different sizes: same answer.
  EXPECT_EQ(cost_weight_for_budget(curve, 100, 1.0, 50), 10);
  // Everything fits: the most accurate point.
  EXPECT_EQ(cost_weight_for_budget(curve, 100, 100.0, 100), 0);
  // Nothing fits, or no rows: NaN.
  EXPECT_TRUE(std::isnan(cost_weight_for_budget(curve, 100, 0.01, 100)));
  EXPECT_TRUE(std::isnan(cost_weight_for_budget(curve, 0, 1.0, 100)));
}

TEST(LearnedBudget, EqualAccuracyGoesToTheCheaperPoint) {
  const std::vector<CurvePoint> curve = {point(1, 0.8, 3.0), point(50, 0.8, 1.0),
                                         point(500, 0.5, 0.2)};
  EXPECT_EQ(cost_weight_for_budget(curve, 10, 10.0, 10), 50);
}
