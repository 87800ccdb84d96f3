#pragma once
// Per-candidate cost rates: predicted USD for one request = fixed_usd +
// per_char_usd x prompt characters. Learned at train time from the data's
// observed per-query costs (least squares), or derived from prices with the
// characters/4 + 256-output-token rule; stored in the artefact.
#include <cstddef>
#include <string>
#include <vector>

#include "learned/dataset.h"

namespace switchyard::learned {

struct CostRate {
  double fixed_usd = 0;
  double per_char_usd = 0;
  std::string source;  // "fitted", "price", "none"

  double predict(size_t chars) const {
    return fixed_usd + per_char_usd * static_cast<double>(chars);
  }
};

// One rate per data.models entry, from rows [0, data.rows()) whose cost is known.
// Models without any known cost get a zero rate and a warning.
std::vector<CostRate> fit_cost_rates(const Dataset& data, std::vector<std::string>& warnings);

// Rate implied by a price with the characters/4 + 256-output-token rule.
CostRate rate_from_price(const Price& price);

}  // namespace switchyard::learned
