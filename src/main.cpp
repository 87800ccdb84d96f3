// switchyard: LLM gateway. Subcommands:
//   serve         run the gateway
//   check-config  validate a config and print it normalised (secrets as ***)
//   migrate       bring the database schema up to date (keys, spend)
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
#include "core/cpu_budget.h"
#include "learned/cli.h"
#include "server/config_sync.h"
#include "server/server.h"
#include "store/bootstrap.h"
#include "store/sql.h"
#include "telemetry/log.h"

using namespace switchyard;

namespace {

constexpr const char* kUsage = R"(Usage: switchyard <command> [options]

Commands:
  serve          Run the gateway.
  check-config   Validate a config file and print it normalised (secrets as ***).
  migrate        Apply database migrations (PostgreSQL from DATABASE_URL or
                 general_settings.database_url, else the SQLite file in data_dir).
  version        Print the version.
  train          Train a learned router from routing data.
  route          Route queries (JSONL) with a trained router.
  eval           Evaluate a trained router: accuracy vs cost.

Options (serve, check-config, migrate):
  --config PATH      Config file. Otherwise LITELLM_CONFIG_PATH, then /app/config/config.yaml.
  --host HOST        Listen address (serve; default switchyard_settings.host or 0.0.0.0).
  --port PORT        Listen port, 0 = any free port (serve; default 4000).
  --threads N        I/O worker threads (serve; default one per usable CPU: affinity mask and cgroup quota).
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

// The local config file (--config, LITELLM_CONFIG_PATH, /app/config/config.yaml);
// prints every place tried when none exists.
std::optional<std::string> local_config_path(const Args& args, const EnvLookup& env) {
  auto location = locate_config(option(args, "--config"), env);
  if (!location.path) {
    std::string tried;
    for (const auto& place : location.tried) tried += "\n  - " + place;
    std::fprintf(stderr, "error: no config file found. Looked in:%s\n", tried.c_str());
  }
  return location.path;
}

// Locates, parses and validates the config; prints problems to stderr.
std::optional<Config> load(const Args& args, bool as_log) {
  const EnvLookup env = process_env();
  auto local_path = local_config_path(args, env);
  if (!local_path) return std::nullopt;
  ConfigDiagnostics diagnostics;
  auto config = load_config_file(*local_path, env, diagnostics);
  for (const auto& warning : diagnostics.warnings) {
    if (as_log) {
      log_event(LogLevel::kWarning, "config", {{"detail", json_string(warning)}});
    } else {
      std::fprintf(stderr, "warning: %s\n", warning.c_str());
    }
  }
  if (!config) {
    std::fprintf(stderr, "error: invalid config %s:\n", local_path->c_str());
    for (const auto& error : diagnostics.errors) std::fprintf(stderr, "  - %s\n", error.c_str());
    return std::nullopt;
  }
  return config;
}

// What `serve` starts with: the config, where it came from and its version.
struct StartupConfig {
  Config config;
  ConfigSource source;         // what the sync watches (the object even after a fallback)
  std::string served_version;  // empty when the object store failed at startup
  std::string startup_error;   // why the object could not be used
};

std::optional<Config> parse_logged(const std::string& text, const std::string& where,
                                   const EnvLookup& env, std::vector<std::string>& errors) {
  ConfigDiagnostics diagnostics;
  auto config = parse_config(text, env, diagnostics);
  for (const auto& warning : diagnostics.warnings) {
    log_event(LogLevel::kWarning, "config", {{"detail", json_string(warning)}});
  }
  errors = diagnostics.errors;
  if (config) config->source = where;
  return config;
}

// Startup order: the object in S3/GCS when CONFIG_S3_* / CONFIG_GCS_* (or
// LiteLLM's LITELLM_CONFIG_BUCKET_*) name one; if it cannot be read or is
// invalid, the local lookup (--config, LITELLM_CONFIG_PATH,
// /app/config/config.yaml) with an error logged, while the sync keeps
// trying the object. Without an object: the local lookup only.
std::optional<StartupConfig> load_for_serve(const Args& args) {
  const EnvLookup env = process_env();
  std::string source_error;
  auto remote = remote_config_source(env, source_error);
  if (!source_error.empty()) {
    std::fprintf(stderr, "error: %s\n", source_error.c_str());
    return std::nullopt;
  }
  StartupConfig out;
  if (remote) {
    out.source = *remote;
    S3Client client(object_store_settings(*remote, env));
    Result<FetchedConfig> fetched = Error::make(ErrorKind::kUnavailable, "not tried");
    for (int attempt = 0; attempt < 3; ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(std::chrono::seconds(attempt));
      fetched = fetch_config(*remote, &client, "");
      if (fetched) break;
    }
    if (fetched) {
      std::vector<std::string> errors;
      if (auto config = parse_logged(fetched->text, remote->location(), env, errors)) {
        out.config = std::move(*config);
        out.served_version = fetched->version;
        log_event(LogLevel::kInfo, "config read from object storage",
                  {{"source", json_string(remote->location())},
                   {"version", json_string(fetched->version)}});
        return out;
      }
      out.startup_error = "invalid config in " + remote->location() + ":";
      for (const auto& e : errors) out.startup_error += " " + e + ";";
    } else {
      out.startup_error = fetched.error().message;
    }
    log_event(
        LogLevel::kError, "cannot use the config object; falling back to the local config",
        {{"source", json_string(remote->location())}, {"error", json_string(out.startup_error)}});
  }
  auto local_path = local_config_path(args, env);
  if (!local_path) return std::nullopt;
  ConfigSource file;
  file.path = *local_path;
  auto fetched = fetch_config(file, nullptr, "");
  if (!fetched) {
    std::fprintf(stderr, "error: %s\n", fetched.error().message.c_str());
    return std::nullopt;
  }
  std::vector<std::string> errors;
  auto config = parse_logged(fetched->text, file.path, env, errors);
  if (!config) {
    std::fprintf(stderr, "error: invalid config %s:\n", file.path.c_str());
    for (const auto& error : errors) std::fprintf(stderr, "  - %s\n", error.c_str());
    return std::nullopt;
  }
  out.config = std::move(*config);
  if (!remote) {
    out.source = file;
    out.served_version = fetched->version;
  }
  return out;
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

int cmd_migrate(const Args& args) {
  auto config = load(args, false);
  if (!config) return 1;
  const auto options = store::store_options(*config);
  const std::string target = store::describe_target(options);
  if (options.database_url.empty()) {
    auto ready = prepare_data_dir(config->server.data_dir, "the SQLite store (switchyard.db)");
    if (!ready) {
      std::fprintf(stderr, "error: %s\n", ready.error().message.c_str());
      return 1;
    }
  }
  auto report = store::migrate(options);
  if (!report) {
    std::fprintf(stderr, "error: migration of %s failed: %s\n", target.c_str(),
                 report.error().message.c_str());
    return 1;
  }
  for (const auto& step : report->applied) std::printf("applied %s\n", step.c_str());
  std::printf("schema of %s at version %d (%zu migration(s) applied)\n", target.c_str(),
              report->to_version, report->applied.size());
  return 0;
}

// The store exists when there is something to keep: virtual keys need a
// master key to be managed, and a configured database asks for it.
std::shared_ptr<store::StoreService> start_store(const Config& cfg) {
  if (cfg.general_settings.master_key.empty() && cfg.general_settings.database_url.empty()) {
    return nullptr;
  }
  const auto options = store::store_options(cfg);
  const std::string target = store::describe_target(options);
  const bool postgres = !options.database_url.empty();
  const auto run_env = process_env()("LITELLM_RUN_DB_MIGRATIONS");
  // PostgreSQL is shared by replicas: migrations run only when asked (or as
  // a Job). The embedded SQLite file belongs to this process: migrated
  // unless explicitly disabled.
  const bool migrate_now =
      postgres ? (run_env && *run_env == "true") : !(run_env && *run_env == "false");
  if (!cfg.general_settings.database_url.empty() && !postgres) {
    log_event(LogLevel::kWarning,
              "database_url is not a postgresql:// URL; using the embedded SQLite store",
              {{"store", json_string(target)}});
  }
  if (migrate_now) {
    auto report = store::migrate(options);
    if (!report) {
      log_event(LogLevel::kError, "database migration failed",
                {{"store", json_string(target)}, {"error", json_string(report.error().message)}});
    } else {
      log_event(LogLevel::kInfo, "database migrated",
                {{"store", json_string(target)},
                 {"version", std::to_string(report->to_version)},
                 {"applied", std::to_string(report->applied.size())}});
    }
  }
  auto opened = store::StoreService::open(options);
  if (!opened) {
    log_event(LogLevel::kError, "cannot open the store",
              {{"store", json_string(target)}, {"error", json_string(opened.error().message)}});
    return nullptr;
  }
  auto service = *opened;
  auto schema =
      service->run_sync([](store::StoreDb& db) -> Result<int> { return db.schema_version(); });
  if (!schema) {
    log_event(LogLevel::kWarning, "database not reachable at startup; will retry",
              {{"store", json_string(target)}, {"error", json_string(schema.error().message)}});
  } else if (*schema < store::latest_schema_version()) {
    const std::string problem =
        "database schema at version " + std::to_string(*schema) + ", this build needs " +
        std::to_string(store::latest_schema_version()) +
        ": run `switchyard migrate` (or set LITELLM_RUN_DB_MIGRATIONS=true)";
    service->set_schema_state(false, problem);
    log_event(LogLevel::kError, "database schema out of date",
              {{"store", json_string(target)}, {"detail", json_string(problem)}});
  } else {
    log_event(LogLevel::kInfo, "store ready",
              {{"store", json_string(target)}, {"schema_version", std::to_string(*schema)}});
  }
  return service;
}

// What this config needs the data dir for ("" when nothing): the embedded
// SQLite store, router artefacts downloaded from S3 or GCS.
std::string data_dir_needs(const Config& cfg) {
  std::string needs;
  const bool store =
      !cfg.general_settings.master_key.empty() || !cfg.general_settings.database_url.empty();
  if (store && !store::is_postgres_url(cfg.general_settings.database_url.reveal())) {
    needs = "the SQLite store (switchyard.db)";
  }
  const auto& router = cfg.router_settings;
  const bool remote_router = is_learned_strategy(router.routing_strategy) &&
                             (parse_object_uri(router.routing_strategy_args.model_path) ||
                              (!router.routing_strategy_args.model_s3_bucket.empty() &&
                               !router.routing_strategy_args.model_s3_key.empty()));
  if (remote_router) {
    if (!needs.empty()) needs += " and ";
    needs += "router artefacts downloaded from object storage";
  }
  return needs;
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
  auto startup = load_for_serve(args);
  if (!startup) return 1;
  auto sync_options = ConfigSyncOptions::from_env(process_env(), startup->source);
  if (!sync_options) {
    std::fprintf(stderr, "error: %s\n", sync_options.error().message.c_str());
    return 2;
  }
  auto* config = &startup->config;
  // Fail now, not at the first request that needs the store: a container
  // with a read-only root filesystem and no volume at the data dir is a
  // deployment mistake the operator should see at once.
  if (const std::string needs = data_dir_needs(*config); !needs.empty()) {
    auto ready = prepare_data_dir(config->server.data_dir, needs);
    if (!ready) {
      std::fprintf(stderr, "error: %s\n", ready.error().message.c_str());
      return 1;
    }
  }

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
  if (config->server.worker_threads > 0) {
    options.threads = static_cast<size_t>(config->server.worker_threads);
  } else {
    // One worker per CPU this process may use (affinity mask, cgroup quota),
    // not per CPU of the machine.
    const CpuBudget budget = current_cpu_budget();
    options.threads = budget.usable();
    log_event(
        LogLevel::kInfo, "worker threads from the CPU budget",
        {{"threads", std::to_string(options.threads)}, {"budget", json_string(budget.describe())}});
  }
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
  // Router artefacts from object storage go to the data dir (the one
  // writable place besides /tmp; see docs/operations.md).
  LearnedRoutingOptions learned_options;
  learned_options.data_dir = snapshot->config->server.data_dir;
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
    auto learned = std::make_shared<LearnedRouting>(strategy, strategy_args, learned_options);
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
    snapshot->learned_routing = std::move(learned);
  }
  log_event(LogLevel::kInfo, "config loaded",
            {{"source", json_string(cfg.source)},
             {"deployments", std::to_string(cfg.model_list.size())},
             {"model_groups", std::to_string(snapshot->registry->group_names().size())}});
  options.store = start_store(cfg);
  if (cfg.general_settings.store_model_in_db) {
    if (options.store == nullptr) {
      log_event(LogLevel::kWarning,
                "store_model_in_db is set but there is no database (set a master key or "
                "DATABASE_URL); /model/new is disabled");
    } else {
      // Credentials in the model table are sealed with LITELLM_SALT_KEY,
      // else the master key (as LiteLLM does): keep it stable.
      std::optional<Secret> seal_key;
      if (auto salt = process_env()("LITELLM_SALT_KEY"); salt && !salt->empty()) {
        seal_key = Secret(*salt);
      } else if (!cfg.general_settings.master_key.empty()) {
        seal_key = cfg.general_settings.master_key;
      }
      options.db_models = std::make_shared<DbModelSync>(
          options.store, process_env(), std::move(seal_key),
          std::chrono::milliseconds(static_cast<int64_t>(cfg.server.model_db_poll_seconds * 1000)));
    }
  }
  options.config_sync =
      std::make_shared<ConfigSync>(std::move(*sync_options), process_env(), learned_options,
                                   startup->served_version, startup->startup_error);
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
  if (args.command == "migrate") return cmd_migrate(args);
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
