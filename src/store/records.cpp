#include "store/records.h"

#include <openssl/sha.h>

#include <chrono>
#include <cstdio>
#include <ctime>

#include "core/utc_time.h"

namespace switchyard::store {

bool KeyRecord::allows_model(std::string_view model) const {
  if (models.empty()) return true;
  for (const auto& m : models) {
    // LiteLLM's spellings for "no restriction".
    if (m == model || m == "*" || m == "all-proxy-models") return true;
  }
  return false;
}

int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::optional<int64_t> parse_duration_seconds(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 12) return std::nullopt;
  const int64_t n = std::stoll(std::string(text.substr(0, digits)));
  const std::string_view unit = text.substr(digits);
  if (unit == "s") return n;
  if (unit == "m") return n * 60;
  if (unit == "h") return n * 3600;
  if (unit == "d") return n * 86400;
  if (unit == "w") return n * 7 * 86400;
  if (unit == "mo") return n * 30 * 86400;
  return std::nullopt;
}

std::string iso_time(int64_t ms) {
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06d+00:00", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>((ms % 1000) * 1000));
  return buf;
}

std::optional<int64_t> parse_time(std::string_view text, bool* date_only) {
  return parse_utc_time_ms(text, date_only);
}

std::string display_name(std::string_view key) {
  if (key.size() < 12) return "sk-...";
  return "sk-..." + std::string(key.substr(key.size() - 4));
}

namespace {
boost::json::value opt(const std::optional<std::string>& v) {
  return v ? boost::json::value(*v) : boost::json::value(nullptr);
}
template <typename T>
boost::json::value opt_num(const std::optional<T>& v) {
  return v ? boost::json::value(*v) : boost::json::value(nullptr);
}
boost::json::value opt_time(const std::optional<int64_t>& ms) {
  return ms ? boost::json::value(iso_time(*ms)) : boost::json::value(nullptr);
}
}  // namespace

boost::json::object key_json(const KeyRecord& key) {
  boost::json::object o;
  o["token"] = key.token;
  o["key_name"] = key.key_name;
  o["key_alias"] = opt(key.key_alias);
  o["spend"] = key.spend;
  o["max_budget"] = opt_num(key.max_budget);
  o["expires"] = opt_time(key.expires_ms);
  boost::json::array models;
  for (const auto& m : key.models) models.emplace_back(m);
  o["models"] = std::move(models);
  o["aliases"] = boost::json::object();
  o["config"] = boost::json::object();
  o["user_id"] = opt(key.user_id);
  o["team_id"] = opt(key.team_id);
  o["max_parallel_requests"] = nullptr;
  boost::json::error_code ec;
  auto metadata = boost::json::parse(key.metadata_json, ec);
  o["metadata"] = (ec || !metadata.is_object()) ? boost::json::value(boost::json::object())
                                                : std::move(metadata);
  o["tpm_limit"] = opt_num(key.tpm_limit);
  o["rpm_limit"] = opt_num(key.rpm_limit);
  o["budget_duration"] = opt(key.budget_duration);
  o["budget_reset_at"] = opt_time(key.budget_reset_at_ms);
  o["blocked"] = key.blocked;
  o["created_at"] = iso_time(key.created_at_ms);
  o["updated_at"] = iso_time(key.updated_at_ms);
  return o;
}

boost::json::object spend_json(const SpendRecord& row) {
  boost::json::object o;
  o["request_id"] = row.request_id;
  o["call_type"] = row.call_type;
  o["api_key"] = row.api_key;
  o["spend"] = row.spend;
  o["total_tokens"] = row.total_tokens;
  o["prompt_tokens"] = row.prompt_tokens;
  o["completion_tokens"] = row.completion_tokens;
  o["startTime"] = iso_time(row.start_time_ms);
  o["endTime"] = iso_time(row.end_time_ms);
  o["model"] = row.model;
  o["model_id"] = row.model_id;
  o["model_group"] = row.model_group;
  o["user"] = row.user_id ? boost::json::value(*row.user_id) : boost::json::value("");
  o["team_id"] = opt(row.team_id);
  o["status"] = row.status >= 200 && row.status < 400 ? "success" : "failure";
  o["metadata"] = boost::json::object{{"status_code", row.status}};
  o["cache_hit"] = "False";
  return o;
}

}  // namespace switchyard::store
