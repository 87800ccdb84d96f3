#pragma once
// Built-in list prices (USD per token) for common models, used when a
// deployment's config sets no input/output_cost_per_token. Approximate public
// list prices; config values always win.
#include <optional>
#include <string_view>

namespace switchyard {

struct TokenPrice {
  double input_per_token = 0;
  double output_per_token = 0;
};

// Matches on the model id (provider prefixes and Bedrock/Anthropic dated
// suffixes allowed), longest known name first.
std::optional<TokenPrice> builtin_price(std::string_view model_id);

}  // namespace switchyard
