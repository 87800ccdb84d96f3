#include "store/response_cache.h"

#include <algorithm>

#include "store/records.h"
#include "telemetry/prometheus_text.h"

namespace switchyard::store {
namespace {

// A stream longer than this is passed through but not stored.
constexpr size_t kMaxRecorded = size_t{4} << 20;

// Fields that change how an answer is delivered, not what it says.
bool delivery_only(std::string_view field) {
  return field == "stream" || field == "stream_options" || field == "user" || field == "model";
}

void canonical_into(const boost::json::value& value, std::string& out) {
  if (value.is_object()) {
    const auto& object = value.get_object();
    std::vector<const boost::json::key_value_pair*> fields;
    fields.reserve(object.size());
    for (const auto& kv : object) fields.push_back(&kv);
    std::sort(fields.begin(), fields.end(),
              [](const auto* a, const auto* b) { return a->key() < b->key(); });
    out += '{';
    for (size_t i = 0; i < fields.size(); ++i) {
      if (i > 0) out += ',';
      out += boost::json::serialize(boost::json::string(fields[i]->key()));
      out += ':';
      canonical_into(fields[i]->value(), out);
    }
    out += '}';
  } else if (value.is_array()) {
    out += '[';
    bool first = true;
    for (const auto& element : value.get_array()) {
      if (!first) out += ',';
      first = false;
      canonical_into(element, out);
    }
    out += ']';
  } else {
    out += boost::json::serialize(value);
  }
}

const char* route_name(ApiRoute route) {
  switch (route) {
    case ApiRoute::kChatCompletions:
      return "chat";
    case ApiRoute::kCompletions:
      return "completions";
    case ApiRoute::kEmbeddings:
      return "embeddings";
  }
  return "other";
}

std::string str_of(const boost::json::value* v) {
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

}  // namespace

CacheControls cache_controls(const std::optional<boost::json::object>& cache) {
  CacheControls controls;
  if (!cache) return controls;
  auto flag = [&](const char* name) {
    const auto* v = cache->if_contains(name);
    return v != nullptr && v->is_bool() && v->get_bool();
  };
  controls.no_cache = flag("no-cache");
  controls.no_store = flag("no-store");
  if (const auto* ttl = cache->if_contains("ttl")) {
    if (ttl->is_int64() && ttl->get_int64() > 0) controls.ttl_seconds = ttl->get_int64();
    if (ttl->is_double() && ttl->get_double() >= 1) {
      controls.ttl_seconds = static_cast<int64_t>(ttl->get_double());
    }
  }
  return controls;
}

std::string canonical_json(const boost::json::value& value) {
  std::string out;
  canonical_into(value, out);
  return out;
}

std::string cache_key(std::string_view name_space, ApiRoute route, std::string_view model_group,
                      std::string_view scope, const boost::json::object& body,
                      const std::optional<std::string>& mock_response) {
  boost::json::object answer_fields;
  for (const auto& kv : body) {
    if (!delivery_only(kv.key())) answer_fields.emplace(kv.key(), kv.value());
  }
  std::string material = "v1\n";
  material += name_space;
  material += '\n';
  material += route_name(route);
  material += '\n';
  material += model_group;
  material += '\n';
  material += scope;
  material += '\n';
  if (mock_response) material += "mock:" + *mock_response + "\n";
  material += canonical_json(answer_fields);
  return sha256_hex(material);
}

std::optional<std::string> LocalCache::get(const std::string& key, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  if (it->second.expires <= now) return std::nullopt;  // evicted later, in order
  return it->second.value;
}

void LocalCache::set(const std::string& key, std::string value, Clock::time_point expires) {
  std::lock_guard lock(mutex_);
  auto [it, inserted] = entries_.try_emplace(key);
  if (!inserted) bytes_ -= it->second.value.size();
  bytes_ += value.size();
  it->second.value = std::move(value);
  it->second.expires = expires;
  if (inserted) order_.push_back(key);
  evict_locked();
}

void LocalCache::evict_locked() {
  while ((entries_.size() > max_entries_ || bytes_ > max_bytes_) && !order_.empty()) {
    auto it = entries_.find(order_.front());
    if (it != entries_.end()) {
      bytes_ -= it->second.value.size();
      entries_.erase(it);
    }
    order_.pop_front();
  }
}

void StreamRecorder::feed(std::string_view sse) {
  if (broken_) return;
  bytes_ += sse.size();
  if (bytes_ > kMaxRecorded) {
    broken_ = true;
    return;
  }
  partial_.append(sse);
  size_t start = 0;
  for (;;) {
    const size_t eol = partial_.find('\n', start);
    if (eol == std::string::npos) break;
    std::string_view line(partial_.data() + start, eol - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.starts_with("data:")) {
      line.remove_prefix(5);
      if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
      if (line != "[DONE]") on_event(line);
    }
    start = eol + 1;
  }
  partial_.erase(0, start);
}

void StreamRecorder::on_event(std::string_view data) {
  boost::json::error_code ec;
  auto parsed = boost::json::parse(data, ec);
  if (ec || !parsed.is_object()) return;  // error events and the like: not an answer
  const auto& chunk = parsed.get_object();
  if (chunk.contains("error")) {
    broken_ = true;
    return;
  }
  if (id_.empty()) {
    id_ = str_of(chunk.if_contains("id"));
    model_ = str_of(chunk.if_contains("model"));
    object_ = str_of(chunk.if_contains("object"));
    system_fingerprint_ = str_of(chunk.if_contains("system_fingerprint"));
    if (const auto* c = chunk.if_contains("created"); c && c->is_int64()) created_ = c->get_int64();
  }
  if (const auto* u = chunk.if_contains("usage"); u && u->is_object()) usage_ = u->get_object();
  const auto* choices = chunk.if_contains("choices");
  if (choices == nullptr || !choices->is_array()) return;
  for (const auto& cv : choices->get_array()) {
    if (!cv.is_object()) continue;
    const auto& c = cv.get_object();
    const auto* index_v = c.if_contains("index");
    const size_t index = index_v && index_v->is_int64() && index_v->get_int64() >= 0
                             ? static_cast<size_t>(index_v->get_int64())
                             : 0;
    if (index > 128) {
      broken_ = true;
      return;
    }
    if (choices_.size() <= index) choices_.resize(index + 1);
    Choice& choice = choices_[index];
    if (const auto* text = c.if_contains("text"); text && text->is_string()) {
      choice.content += text->get_string();
      choice.has_content = true;
    }
    if (const auto* delta = c.if_contains("delta"); delta && delta->is_object()) {
      const auto& d = delta->get_object();
      if (auto role = str_of(d.if_contains("role")); !role.empty()) choice.role = role;
      if (const auto* content = d.if_contains("content"); content && content->is_string()) {
        choice.content += content->get_string();
        choice.has_content = true;
      }
      if (const auto* calls = d.if_contains("tool_calls"); calls && calls->is_array()) {
        for (const auto& call_v : calls->get_array()) {
          if (!call_v.is_object()) continue;
          const auto& call = call_v.get_object();
          const auto* ti = call.if_contains("index");
          const size_t t = ti && ti->is_int64() && ti->get_int64() >= 0
                               ? static_cast<size_t>(ti->get_int64())
                               : choice.tool_calls.size();
          if (t > 128) {
            broken_ = true;
            return;
          }
          if (choice.tool_calls.size() <= t) choice.tool_calls.resize(t + 1);
          ToolCall& tc = choice.tool_calls[t];
          if (auto id = str_of(call.if_contains("id")); !id.empty()) tc.id = id;
          if (auto type = str_of(call.if_contains("type")); !type.empty()) tc.type = type;
          if (const auto* fn = call.if_contains("function"); fn && fn->is_object()) {
            tc.name += str_of(fn->get_object().if_contains("name"));
            tc.arguments += str_of(fn->get_object().if_contains("arguments"));
          }
        }
      }
    }
    if (auto reason = str_of(c.if_contains("finish_reason")); !reason.empty()) {
      choice.finish_reason = reason;
    }
  }
}

std::optional<std::string> StreamRecorder::complete() const {
  if (broken_ || choices_.empty()) return std::nullopt;
  const bool text = object_ == "text_completion";
  boost::json::array choices;
  for (size_t i = 0; i < choices_.size(); ++i) {
    const Choice& c = choices_[i];
    if (c.finish_reason.empty()) return std::nullopt;  // did not finish
    boost::json::object out;
    out["index"] = i;
    if (text) {
      out["text"] = c.content;
    } else {
      boost::json::object message;
      message["role"] = c.role;
      if (c.has_content || c.tool_calls.empty()) {
        message["content"] = c.content;
      } else {
        message["content"] = nullptr;
      }
      if (!c.tool_calls.empty()) {
        boost::json::array calls;
        for (const auto& tc : c.tool_calls) {
          calls.push_back(boost::json::object{
              {"id", tc.id},
              {"type", tc.type},
              {"function", boost::json::object{{"name", tc.name}, {"arguments", tc.arguments}}}});
        }
        message["tool_calls"] = std::move(calls);
      }
      out["message"] = std::move(message);
    }
    out["finish_reason"] = c.finish_reason;
    choices.push_back(std::move(out));
  }
  boost::json::object answer;
  answer["id"] = id_;
  answer["object"] = text ? "text_completion" : "chat.completion";
  answer["created"] = created_;
  answer["model"] = model_;
  if (!system_fingerprint_.empty()) answer["system_fingerprint"] = system_fingerprint_;
  answer["choices"] = std::move(choices);
  if (usage_) answer["usage"] = *usage_;
  return boost::json::serialize(answer);
}

std::vector<std::string> replay_as_sse(const std::string& answer, bool include_usage) {
  std::vector<std::string> events;
  boost::json::error_code ec;
  auto parsed = boost::json::parse(answer, ec);
  if (ec || !parsed.is_object()) return events;
  const auto& a = parsed.get_object();
  const bool text = str_of(a.if_contains("object")) == "text_completion";
  auto chunk_base = [&] {
    boost::json::object c;
    c["id"] = a.contains("id") ? a.at("id") : boost::json::value("");
    c["object"] = text ? "text_completion" : "chat.completion.chunk";
    c["created"] = a.contains("created") ? a.at("created") : boost::json::value(0);
    c["model"] = a.contains("model") ? a.at("model") : boost::json::value("");
    if (a.contains("system_fingerprint")) c["system_fingerprint"] = a.at("system_fingerprint");
    return c;
  };
  auto emit = [&](const boost::json::object& c) {
    events.push_back("data: " + boost::json::serialize(c) + "\n\n");
  };
  const auto* choices = a.if_contains("choices");
  if (choices != nullptr && choices->is_array()) {
    for (const auto& cv : choices->get_array()) {
      if (!cv.is_object()) continue;
      const auto& c = cv.get_object();
      const boost::json::value index = c.contains("index") ? c.at("index") : boost::json::value(0);
      boost::json::object body = chunk_base();
      boost::json::object choice;
      choice["index"] = index;
      if (text) {
        choice["text"] = c.contains("text") ? c.at("text") : boost::json::value("");
        choice["finish_reason"] = c.contains("finish_reason") ? c.at("finish_reason") : nullptr;
        body["choices"] = boost::json::array{choice};
        emit(body);
        continue;
      }
      boost::json::object delta;
      if (const auto* m = c.if_contains("message"); m && m->is_object()) {
        const auto& message = m->get_object();
        delta["role"] = message.contains("role") ? message.at("role") : "assistant";
        delta["content"] = message.contains("content") ? message.at("content") : nullptr;
        if (const auto* calls = message.if_contains("tool_calls"); calls && calls->is_array()) {
          boost::json::array indexed;
          int64_t t = 0;
          for (const auto& call : calls->get_array()) {
            if (!call.is_object()) continue;
            boost::json::object with_index = call.get_object();
            with_index["index"] = t++;
            indexed.push_back(std::move(with_index));
          }
          delta["tool_calls"] = std::move(indexed);
        }
      }
      choice["delta"] = std::move(delta);
      choice["finish_reason"] = nullptr;
      body["choices"] = boost::json::array{choice};
      emit(body);
      boost::json::object last = chunk_base();
      boost::json::object end;
      end["index"] = index;
      end["delta"] = boost::json::object{};
      end["finish_reason"] = c.contains("finish_reason") ? c.at("finish_reason") : "stop";
      last["choices"] = boost::json::array{end};
      emit(last);
    }
  }
  if (include_usage && a.contains("usage")) {
    boost::json::object usage = chunk_base();
    usage["choices"] = boost::json::array{};
    usage["usage"] = a.at("usage");
    emit(usage);
  }
  events.emplace_back("data: [DONE]\n\n");
  return events;
}

void ResponseCache::render_metrics(std::string& out) const {
  append_prometheus_counter(out, "switchyard_cache_hits_total",
                            "Requests answered from the response cache.", stats.hits.load());
  append_prometheus_counter(out, "switchyard_cache_misses_total",
                            "Cacheable requests not found in the response cache.",
                            stats.misses.load());
  append_prometheus_counter(out, "switchyard_cache_stores_total",
                            "Answers written to the response cache.", stats.stores.load());
  append_prometheus_counter(out, "switchyard_cache_bypassed_total",
                            "Requests answered without the cache because Redis was unreachable.",
                            stats.bypassed.load());
  append_prometheus_counter(out, "switchyard_cache_store_failures_total",
                            "Answers that could not be written to the cache (Redis unreachable).",
                            stats.store_failures.load());
}

std::string redis_cache_key(const ResponseCache& cache, const std::string& key) {
  if (cache.name_space.empty()) return "switchyard:cache:" + key;
  return cache.name_space + ":" + key;
}

}  // namespace switchyard::store
