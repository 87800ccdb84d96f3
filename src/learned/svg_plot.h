#pragma once
// Hand-written SVG of an accuracy-vs-cost curve (log cost axis) with the single
// models and the oracle as reference points. No plotting dependency: the
// output is a few hundred lines of plain SVG that renders in any browser and
// on GitHub.
#include <string>
#include <vector>

#include "learned/evaluator.h"

namespace switchyard::learned {

struct PlotOptions {
  std::string title;
  std::vector<double> budgets;  // vertical guide lines at these total costs
};

std::string accuracy_cost_svg(const EvalResult& result, const PlotOptions& options);

}  // namespace switchyard::learned
