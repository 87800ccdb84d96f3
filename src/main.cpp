// switchyard: LLM gateway. Subcommands:
//   serve         run the gateway
//   check-config  validate a config and print it normalised (secrets as ***)
//   version       print the version
//   train, route, eval  learned routing, offline (src/learned/cli.h)
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/loader.h"
#include "learned/cli.h"
#include "server/server.h"
#include "telemetry/log.h"

using namespace switchyard;

namespace {

constexpr const char* kUsage = R"(Usage: switchyard <command> [options]

Commands:
  serve          Run the gateway.
  check-config   Validate a config file and print it normalised (secrets as ***).
  version        Print the version.
  train          Train a learned router from routing data.
  route          Route queries (JSONL) with a trained router.
  eval           Evaluate a trained router: accuracy vs cost.

Options (serve, check-config):
  --config PATH      Config file. Otherwise LITELLM_CONFIG_PATH, then /app/config/config.yaml.
  --host HOST        Listen address (serve; default switchyard_settings.host or 0.0.0.0).
  --port PORT        Listen port, 0 = any free port (serve; default 4000).
  --threads N        I/O worker threads (serve; default one per core).
  --log-level LEVEL  debug, info, warning or error (default info).
)";

struct Args {
  std::string command;
  std::map<std::string, std::string> options;
  std::vector<std::string> errors;
};

Args parse_args(int argc, char** argv) {
  Args args;
  static const std::vector<std::string> kValued = {"--config", "--host", "--port", "--threads",
                                                   "--log-level"};
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (args.command.empty() && !arg.starts_with("-")) {
      args.command = arg;
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      args.command = "help";
      continue;
    }
    std::string value;
    auto eq = arg.find('=');
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    }
    if (std::find(kValued.begin(), kValued.end(), arg) == kValued.end()) {
      args.errors.push_back("unknown option " + arg);
      continue;
    }
    if (eq == std::string::npos) {
      if (i + 1 >= argc) {
        args.errors.push_back("option " + arg + " needs a value");
        continue;
      }
      value = argv[++i];
    }
    args.options[arg] = value;
  }
  return args;
}

std::optional<std::string> option(const Args& args, const char* name) {
  auto it = args.options.find(name);
  if (it == args.options.end()) return std::nullopt;
  return it->second;
}

// Locates, parses and validates the config; prints problems to stderr.
std::optional<Config> load(const Args& args, bool as_log) {
  const EnvLookup env = process_env();
  auto location = locate_config(option(args, "--config"), env);
  if (!location.path) {
    std::string tried;
    for (const auto& place : location.tried) tried += "\n  - " + place;
    std::fprintf(stderr, "error: no config file found. Looked in:%s\n", tried.c_str());
    return std::nullopt;
  }
  ConfigDiagnostics diagnostics;
  auto config = load_config_file(*location.path, env, diagnostics);
  for (const auto& warning : diagnostics.warnings) {
    if (as_log) {
      log_event(LogLevel::kWarning, "config", {{"detail", json_string(warning)}});
    } else {
      std::fprintf(stderr, "warning: %s\n", warning.c_str());
    }
  }
  if (!config) {
    std::fprintf(stderr, "error: invalid config %s:\n", location.path->c_str());
    for (const auto& error : diagnostics.errors) std::fprintf(stderr, "  - %s\n", error.c_str());
    return std::nullopt;
  }
  return config;
}

bool parse_int(const std::string& text, long& out) {
  char* end = nullptr;
  out = std::strtol(text.c_str(), &end, 10);
  return !text.empty() && end != nullptr && *end == '\0';
}

int cmd_check_config(const Args& args) {
  auto config = load(args, false);
  if (!config) return 1;
  std::vector<std::string> warnings;
  auto shared = std::make_shared<const Config>(std::move(*config));
  DeploymentStates states;
  ModelRegistry::build(shared, process_env(), states, warnings);
  for (const auto& w : warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  std::fputs(dump_config(*shared).c_str(), stdout);
  std::fprintf(stderr, "config OK: %s (%zu deployments)\n", shared->source.c_str(),
               shared->model_list.size());
  return 0;
}

int cmd_serve(const Args& args) {
  if (auto level = option(args, "--log-level")) {
    if (*level == "debug")
      set_log_level(LogLevel::kDebug);
    else if (*level == "warning")
      set_log_level(LogLevel::kWarning);
    else if (*level == "error")
      set_log_level(LogLevel::kError);
    else if (*level != "info") {
      std::fprintf(stderr, "error: --log-level must be debug, info, warning or error\n");
      return 2;
    }
  }
  auto config = load(args, true);
  if (!config) return 1;

  ServeOptions options;
  options.host = option(args, "--host").value_or(config->server.host);
  long number = 0;
  options.port = static_cast<int>(config->server.port);
  if (auto port = option(args, "--port")) {
    if (!parse_int(*port, number) || number < 0 || number > 65535) {
      std::fprintf(stderr, "error: --port must be 0-65535\n");
      return 2;
    }
    options.port = static_cast<int>(number);
  }
  options.threads = config->server.worker_threads > 0
                        ? static_cast<size_t>(config->server.worker_threads)
                        : std::max(1u, std::thread::hardware_concurrency());
  if (auto threads = option(args, "--threads")) {
    if (!parse_int(*threads, number) || number < 1 || number > 256) {
      std::fprintf(stderr, "error: --threads must be 1-256\n");
      return 2;
    }
    options.threads = static_cast<size_t>(number);
  }
  options.drain_grace_seconds = config->server.drain_grace_seconds;
  options.access_log = config->server.access_log;

  std::vector<std::string> warnings;
  auto states = std::make_shared<DeploymentStates>();
  auto snapshot = make_snapshot(std::make_shared<const Config>(std::move(*config)), process_env(),
                                *states, warnings);
  for (const auto& w : warnings)
    log_event(LogLevel::kWarning, "deployment", {{"detail", json_string(w)}});
  const auto& cfg = *snapshot->config;
  if (!snapshot->master_key) {
    log_event(LogLevel::kWarning,
              "NO MASTER KEY CONFIGURED: the gateway is OPEN, anyone who can reach it can use "
              "every model. Set general_settings.master_key or LITELLM_MASTER_KEY.");
  }
  const auto strategy = cfg.router_settings.routing_strategy;
  if (is_learned_strategy(strategy)) {
    const auto& strategy_args = cfg.router_settings.routing_strategy_args;
    auto learned = std::make_shared<LearnedRouting>(strategy, strategy_args);
    // A router that cannot load does not stop the gateway: requests use the
    // fallback strategy until a valid artefact appears (hot reload or
    // POST /router/reload).
    if (learned->load_initial().ok) {
      auto missing = learned->unresolved_candidates(*snapshot->registry);
      if (!missing.empty()) {
        std::string names;
        for (const auto& m : missing) names += (names.empty() ? "" : ", ") + m;
        log_event(LogLevel::kWarning,
                  "router candidates with no deployment in model_list (add a label_mapping)",
                  {{"candidates", json_string(names)}});
      }
    } else {
      log_event(LogLevel::kWarning, "learned router not loaded; routing with the fallback strategy",
                {{"routing_strategy", json_string(routing_strategy_name(strategy))},
                 {"fallback_strategy",
                  json_string(routing_strategy_name(strategy_args.fallback_strategy))}});
    }
    learned->start_watching();
    options.learned_routing = std::move(learned);
  }
  log_event(LogLevel::kInfo, "config loaded",
            {{"source", json_string(cfg.source)},
             {"deployments", std::to_string(cfg.model_list.size())},
             {"model_groups", std::to_string(snapshot->registry->group_names().size())}});
  return run_server(states, snapshot, options);
}

}  // namespace

int main(int argc, char** argv) {
  // The learned-routing commands have their own options; hand them over first.
  if (argc > 1 && learned::is_learned_command(argv[1])) return learned::run_learned_cli(argc, argv);
  Args args = parse_args(argc, argv);
  if (!args.errors.empty()) {
    for (const auto& e : args.errors) std::fprintf(stderr, "error: %s\n", e.c_str());
    std::fputs(kUsage, stderr);
    return 2;
  }
  if (args.command == "serve") return cmd_serve(args);
  if (args.command == "check-config") return cmd_check_config(args);
  if (args.command == "version" || args.command == "--version") {
    std::printf("switchyard %s\n", SWITCHYARD_VERSION);
    return 0;
  }
  if (args.command == "help" || args.command.empty()) {
    std::fputs(kUsage, args.command.empty() ? stderr : stdout);
    std::fputs(learned::kLearnedUsage, args.command.empty() ? stderr : stdout);
    return args.command.empty() ? 2 : 0;
  }
  std::fprintf(stderr, "error: unknown command '%s'\n", args.command.c_str());
  std::fputs(kUsage, stderr);
  return 2;
}
