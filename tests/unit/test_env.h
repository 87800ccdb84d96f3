#pragma once
// An EnvLookup over a fixed map, so tests never depend on the real
// environment.
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "config/loader.h"

namespace switchyard {

inline EnvLookup env_from(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

}  // namespace switchyard
