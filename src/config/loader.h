#pragma once
// Reads LiteLLM-format YAML into a validated Config. Problems are collected
// (not thrown) with the YAML key path, so one run reports all of them.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"

namespace switchyard {

struct ConfigDiagnostics {
  std::vector<std::string> warnings;  // unknown keys, ignored settings
  std::vector<std::string> errors;    // "<key path>: <what was expected>"
};

// Returns the value of an environment variable, or nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup process_env();

std::optional<Config> parse_config(const std::string& yaml_text, const EnvLookup& env,
                                   ConfigDiagnostics& diagnostics);
// One model_list entry ({model_name, litellm_params, model_info}) as JSON or
// YAML text, validated like an entry of the file (POST /model/new, rows of
// the DB model table). Error paths start with `path`. The id is left empty
// when model_info has none.
std::optional<Deployment> parse_deployment(const std::string& text, const std::string& path,
                                          const EnvLookup& env, ConfigDiagnostics& diagnostics);
std::optional<Config> load_config_file(const std::string& path, const EnvLookup& env,
                                       ConfigDiagnostics& diagnostics);

// Config file lookup order: --config, then LITELLM_CONFIG_PATH, then
// /app/config/config.yaml. `tried` lists every place looked at, for the error.
struct ConfigLocation {
  std::optional<std::string> path;
  std::vector<std::string> tried;
};
ConfigLocation locate_config(const std::optional<std::string>& cli_path, const EnvLookup& env);

// Normalised YAML of the effective config; secrets print as ***.
std::string dump_config(const Config& config);

}  // namespace switchyard
