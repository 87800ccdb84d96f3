#pragma once
#include <string>

#include "config/config.h"

namespace switchyard {
// Comma-separated list of every accepted routing_strategy name, for errors.
std::string routing_strategy_names();
}  // namespace switchyard
