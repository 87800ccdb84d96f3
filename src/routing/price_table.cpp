#include "routing/price_table.h"

#include <array>

namespace switchyard {
namespace {
struct Entry {
  std::string_view name;
  double input_per_mtok;
  double output_per_mtok;
};
// Ordered so that a more specific name is tried before its prefix
// (gpt-4o-mini before gpt-4o).
constexpr std::array<Entry, 26> kPrices = {{
    {"gpt-4.1-nano", 0.10, 0.40},
    {"gpt-4.1-mini", 0.40, 1.60},
    {"gpt-4.1", 2.00, 8.00},
    {"gpt-4o-mini", 0.15, 0.60},
    {"gpt-4o", 2.50, 10.00},
    {"gpt-4-turbo", 10.00, 30.00},
    {"gpt-4-1106-preview", 10.00, 30.00},
    {"gpt-4", 30.00, 60.00},
    {"gpt-3.5-turbo", 0.50, 1.50},
    {"o4-mini", 1.10, 4.40},
    {"o3-mini", 1.10, 4.40},
    {"o1-mini", 1.10, 4.40},
    {"o3", 2.00, 8.00},
    {"o1", 15.00, 60.00},
    {"text-embedding-3-small", 0.02, 0},
    {"text-embedding-3-large", 0.13, 0},
    {"text-embedding-ada-002", 0.10, 0},
    {"claude-3-5-haiku", 0.80, 4.00},
    {"claude-3-haiku", 0.25, 1.25},
    {"claude-haiku-4", 1.00, 5.00},
    {"claude-3-opus", 15.00, 75.00},
    {"claude-opus-4", 15.00, 75.00},
    {"claude-3-5-sonnet", 3.00, 15.00},
    {"claude-3-7-sonnet", 3.00, 15.00},
    {"claude-sonnet-4", 3.00, 15.00},
    {"claude-3-sonnet", 3.00, 15.00},
}};
}  // namespace

std::optional<TokenPrice> builtin_price(std::string_view model_id) {
  for (const auto& entry : kPrices) {
    if (model_id.find(entry.name) != std::string_view::npos) {
      return TokenPrice{entry.input_per_mtok / 1e6, entry.output_per_mtok / 1e6};
    }
  }
  return std::nullopt;
}

}  // namespace switchyard
