#pragma once
// store_model_in_db: deployments added with POST /model/new live in the
// database (switchyard_models) and are merged after the config file's
// model_list into every snapshot. Each replica reads the table every
// `model_db_poll_seconds` on its own thread and publishes a new snapshot when
// it changed, so a model added or deleted on one replica serves on all of
// them within that interval; the replica that took the change applies it
// before it answers.
//
// A DB deployment whose id is already used by the file is skipped (the file
// wins) with a warning; a row that cannot be read (bad JSON, credentials
// sealed with another key) is skipped, logged and counted in
// switchyard_db_model_skipped_rows, never taking the gateway down.
// Credentials are sealed with LITELLM_SALT_KEY, else the master key
// (store/secret_box.h).
#include <atomic>
#include <boost/json.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/loader.h"
#include "core/asio.h"
#include "store/secret_box.h"
#include "store/store_service.h"

namespace switchyard {

class GatewayState;

// The config the workers should serve: `base` without its DB deployments,
// then `db` (skipping ids `base` already uses, each named in `warnings`).
std::shared_ptr<const Config> merge_db_deployments(const Config& base,
                                                   const std::vector<Deployment>& db,
                                                   std::vector<std::string>& warnings);

// litellm_params keys holding credentials: sealed in the DB, never shown.
bool is_credential_param(std::string_view key);

class DbModelSync {
 public:
  DbModelSync(std::shared_ptr<store::StoreService> store, EnvLookup env,
              std::optional<Secret> key_material, std::chrono::milliseconds interval);
  ~DbModelSync();
  DbModelSync(const DbModelSync&) = delete;
  DbModelSync& operator=(const DbModelSync&) = delete;

  // Reads the table once, blocking (startup, before serving), then polls.
  void start(GatewayState& state);
  void stop();
  // Reads the table now on the sync thread and publishes a change; resumes
  // the caller on its own executor. false when the table could not be read.
  awaitable<bool> refresh_now();

  // A model_list entry as stored: credentials sealed. Error: no key to seal
  // them with.
  Result<std::string> encode(boost::json::object entry) const;

  std::string render_prometheus() const;

 private:
  bool refresh();  // sync thread (or before start)
  void schedule();
  std::vector<Deployment> decode_rows(const std::vector<store::ModelRow>& rows);

  std::shared_ptr<store::StoreService> store_;
  EnvLookup env_;
  std::optional<store::SecretBox> box_;
  std::chrono::milliseconds interval_;
  GatewayState* state_ = nullptr;
  asio::thread_pool thread_{1};
  asio::steady_timer timer_{thread_};
  std::atomic<bool> stopped_{false};

  mutable std::mutex mutex_;  // guards the fields below
  std::string signature_;     // of the rows last applied
  std::vector<Deployment> deployments_;
  size_t skipped_rows_ = 0;
  uint64_t read_failures_ = 0;
  uint64_t changes_applied_ = 0;
};

}  // namespace switchyard
