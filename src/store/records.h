#pragma once
// Rows the store keeps: virtual keys and spend log entries, plus the
// LiteLLM-compatible JSON views of them and the duration/time helpers the
// admin API shares.
#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/sha256.h"

namespace switchyard::store {

// A virtual key. The key itself is never stored: `token` is the SHA-256 hex
// of it, `key_name` a display form ("sk-...abcd") that cannot be used.
struct KeyRecord {
  std::string token;
  std::string key_name;
  std::optional<std::string> key_alias;
  std::optional<std::string> user_id;
  std::optional<std::string> team_id;
  std::vector<std::string> models;  // empty = every model
  std::string metadata_json = "{}";
  std::optional<double> max_budget;
  std::optional<std::string> budget_duration;
  std::optional<int64_t> budget_reset_at_ms;
  double spend = 0;
  double reserved = 0;
  std::optional<int64_t> rpm_limit;
  std::optional<int64_t> tpm_limit;
  std::optional<int64_t> expires_ms;
  bool blocked = false;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;

  bool expired(int64_t now_ms) const { return expires_ms && *expires_ms <= now_ms; }
  bool allows_model(std::string_view model) const;
};

// One request's spend, written asynchronously in batches.
struct SpendRecord {
  std::string request_id;
  std::string call_type;  // route, e.g. "/v1/chat/completions"
  std::string api_key;    // key token (SHA-256 hex); "" when none was presented
  std::optional<std::string> user_id;
  std::optional<std::string> team_id;
  std::string model;        // what the client asked for
  std::string model_group;  // the group that answered (after fallbacks)
  std::string model_id;     // deployment id
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t total_tokens = 0;
  double spend = 0;
  double reserved_released = 0;  // budget reservation this row settles in the DB
  int status = 0;
  int64_t start_time_ms = 0;
  int64_t end_time_ms = 0;
};

// One row of switchyard_models: a deployment added with POST /model/new.
struct ModelRow {
  std::string model_id;
  std::string model_name;
  std::string definition;  // JSON {model_name, litellm_params, model_info}, credentials sealed
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct SpendFilter {
  std::optional<std::string> api_key;  // token
  std::optional<std::string> user_id;
  std::optional<std::string> request_id;
  std::optional<int64_t> start_ms;  // inclusive
  std::optional<int64_t> end_ms;    // exclusive
  int64_t limit = 1000;
};

int64_t unix_now_ms();
// "30s", "10m", "1h", "30d", "2w", "1mo" (30 days) -> seconds.
std::optional<int64_t> parse_duration_seconds(std::string_view text);
// ISO-8601 UTC with microseconds and "+00:00", as Python's isoformat() prints.
std::string iso_time(int64_t ms);
// "2024-05-01", "2024-05-01T10:00:00", with optional "Z"/"+00:00"/fraction.
std::optional<int64_t> parse_time(std::string_view text, bool* date_only = nullptr);

using ::switchyard::sha256_hex;  // core/sha256.h
// "sk-...wxyz": safe to show, useless to call with.
std::string display_name(std::string_view key);

// LiteLLM's key object (the `info` of /key/info, the items of /key/list).
boost::json::object key_json(const KeyRecord& key);
// LiteLLM's SpendLogs row.
boost::json::object spend_json(const SpendRecord& row);

}  // namespace switchyard::store
