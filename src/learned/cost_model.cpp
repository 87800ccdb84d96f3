#include "learned/cost_model.h"

#include <cmath>

namespace switchyard::learned {

CostRate rate_from_price(const Price& price) {
  CostRate r;
  r.per_char_usd = price.input_per_mtok / 1e6 / kCharsPerToken;
  r.fixed_usd = price.output_per_mtok / 1e6 * kAssumedOutputTokens;
  r.source = "price";
  return r;
}

std::vector<CostRate> fit_cost_rates(const Dataset& data, std::vector<std::string>& warnings) {
  std::vector<CostRate> out(data.models.size());
  std::vector<double> chars(data.rows());
  for (size_t i = 0; i < data.rows(); ++i)
    chars[i] = static_cast<double>(count_chars(data.prompts[i]));
  for (size_t j = 0; j < data.models.size(); ++j) {
    // Least squares of cost on [1, chars], then clamp to non-negative
    // coefficients: a negative slope or intercept is noise, not a price.
    double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (size_t i = 0; i < data.rows(); ++i) {
      const double y = data.cost(i, j);
      if (std::isnan(y)) continue;
      const double x = chars[i];
      n += 1;
      sx += x;
      sy += y;
      sxx += x * x;
      sxy += x * y;
    }
    CostRate& r = out[j];
    if (n == 0) {
      if (auto it = data.prices.find(data.models[j]); it != data.prices.end()) {
        r = rate_from_price(it->second);
      } else {
        r.source = "none";
        warnings.push_back("no cost or price for model '" + data.models[j] +
                           "': it is treated as free");
      }
      continue;
    }
    r.source = "fitted";
    const double var = n * sxx - sx * sx;
    double slope = var > 1e-12 ? (n * sxy - sx * sy) / var : 0.0;
    double intercept = (sy - slope * sx) / n;
    if (slope < 0) {
      slope = 0;
      intercept = sy / n;
    }
    if (intercept < 0) {
      intercept = 0;
      slope = sxx > 0 ? sxy / sxx : 0;
    }
    r.fixed_usd = intercept;
    r.per_char_usd = std::max(0.0, slope);
  }
  return out;
}

}  // namespace switchyard::learned
