#include "providers/mock.h"

#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstring>

namespace switchyard {
namespace {

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Sum of the text the client sent, for prompt token estimates.
void collect_text(const boost::json::value& v, size_t& chars) {
  if (v.is_string()) {
    chars += v.get_string().size();
  } else if (v.is_array()) {
    for (const auto& item : v.get_array()) collect_text(item, chars);
  } else if (v.is_object()) {
    const auto& obj = v.get_object();
    for (const char* key : {"content", "text"}) {
      if (auto* inner = obj.if_contains(key)) collect_text(*inner, chars);
    }
  }
}

int64_t prompt_tokens(const InboundRequest& request) {
  size_t chars = 0;
  for (const char* key : {"messages", "prompt", "input"}) {
    if (auto* v = request.body.if_contains(key)) collect_text(*v, chars);
  }
  return std::max<int64_t>(1, static_cast<int64_t>((chars + 3) / 4));
}

boost::json::object usage_json(const TokenUsage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.total_tokens}};
}

// FNV-1a, so the same input always yields the same mock embedding.
uint64_t fnv1a(std::string_view text, uint64_t seed) {
  uint64_t h = 1469598103934665603ULL ^ seed;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string base64(const unsigned char* data, size_t size) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  for (size_t i = 0; i < size; i += 3) {
    uint32_t n = static_cast<uint32_t>(data[i]) << 16;
    if (i + 1 < size) n |= static_cast<uint32_t>(data[i + 1]) << 8;
    if (i + 2 < size) n |= data[i + 2];
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < size ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back(i + 2 < size ? kAlphabet[n & 63] : '=');
  }
  return out;
}

constexpr size_t kMockEmbeddingDims = 16;

boost::json::value mock_embedding(std::string_view text, bool as_base64) {
  std::vector<float> v(kMockEmbeddingDims);
  double norm = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    v[i] = static_cast<float>(static_cast<double>(fnv1a(text, i) % 2001) / 1000.0 - 1.0);
    norm += static_cast<double>(v[i]) * v[i];
  }
  norm = std::sqrt(norm);
  for (auto& x : v) x = static_cast<float>(x / (norm > 0 ? norm : 1));
  if (as_base64) {
    return boost::json::string(
        base64(reinterpret_cast<const unsigned char*>(v.data()), v.size() * sizeof(float)));
  }
  boost::json::array arr;
  for (float x : v) arr.push_back(static_cast<double>(x));
  return arr;
}

std::vector<std::string> split_words(const std::string& text, int64_t chunks) {
  std::vector<std::string> words;
  size_t start = 0;
  while (start < text.size()) {
    size_t space = text.find(' ', start);
    size_t end = space == std::string::npos ? text.size() : space + 1;
    words.push_back(text.substr(start, end - start));
    start = end;
  }
  if (chunks <= 0 || static_cast<size_t>(chunks) >= words.size()) return words;
  std::vector<std::string> grouped(static_cast<size_t>(chunks));
  for (size_t i = 0; i < words.size(); ++i) grouped[i * grouped.size() / words.size()] += words[i];
  return grouped;
}

}  // namespace

int64_t estimate_tokens(std::string_view text) {
  return std::max<int64_t>(1, static_cast<int64_t>((text.size() + 3) / 4));
}

MockAnswer mock_answer(const InboundRequest& request, const std::string& model,
                       const std::optional<std::string>& content, int64_t stream_chunks,
                       const std::string& call_id) {
  MockAnswer answer;
  const int64_t created = unix_now();

  if (request.route == ApiRoute::kEmbeddings) {
    const auto* input = request.body.if_contains("input");
    std::vector<std::string> texts;
    if (input && input->is_string()) {
      texts.emplace_back(input->get_string());
    } else if (input && input->is_array()) {
      for (const auto& item : input->get_array()) {
        texts.push_back(item.is_string() ? std::string(item.get_string())
                                         : boost::json::serialize(item));
      }
    }
    bool as_base64 = false;
    if (auto* fmt = request.body.if_contains("encoding_format"); fmt && fmt->is_string()) {
      as_base64 = fmt->get_string() == "base64";
    }
    boost::json::array data;
    size_t chars = 0;
    for (size_t i = 0; i < texts.size(); ++i) {
      chars += texts[i].size();
      data.push_back({{"object", "embedding"},
                      {"index", static_cast<int64_t>(i)},
                      {"embedding", mock_embedding(texts[i], as_base64)}});
    }
    answer.usage.prompt_tokens = std::max<int64_t>(1, static_cast<int64_t>((chars + 3) / 4));
    answer.usage.completion_tokens = 0;
    answer.usage.total_tokens = answer.usage.prompt_tokens;
    boost::json::object body{{"object", "list"},
                             {"data", std::move(data)},
                             {"model", model},
                             {"usage", {{"prompt_tokens", answer.usage.prompt_tokens},
                                        {"total_tokens", answer.usage.total_tokens}}}};
    answer.body = boost::json::serialize(body);
    return answer;
  }

  const std::string text =
      content.value_or("This is a mock response from Switchyard for model " + model + ".");
  answer.usage.prompt_tokens = prompt_tokens(request);
  answer.usage.completion_tokens = estimate_tokens(text);
  answer.usage.total_tokens = answer.usage.prompt_tokens + answer.usage.completion_tokens;
  const bool chat = request.route == ApiRoute::kChatCompletions;
  const std::string id = (chat ? "chatcmpl-" : "cmpl-") + call_id;

  if (!request.stream) {
    boost::json::object choice{{"index", 0}, {"finish_reason", "stop"}};
    if (chat) {
      choice["message"] = {{"role", "assistant"}, {"content", text}};
    } else {
      choice["text"] = text;
      choice["logprobs"] = nullptr;
    }
    boost::json::object body{{"id", id},
                             {"object", chat ? "chat.completion" : "text_completion"},
                             {"created", created},
                             {"model", model},
                             {"choices", boost::json::array{std::move(choice)}},
                             {"usage", usage_json(answer.usage)}};
    answer.body = boost::json::serialize(body);
    return answer;
  }

  const char* object = chat ? "chat.completion.chunk" : "text_completion";
  auto chunk = [&](boost::json::object choice_delta, boost::json::value finish) {
    boost::json::object choice{{"index", 0}, {"finish_reason", std::move(finish)}};
    if (chat) {
      choice["delta"] = std::move(choice_delta);
    } else {
      choice["text"] = choice_delta.contains("content") ? choice_delta["content"] : "";
    }
    boost::json::object event{{"id", id},
                              {"object", object},
                              {"created", created},
                              {"model", model},
                              {"choices", boost::json::array{std::move(choice)}}};
    return "data: " + boost::json::serialize(event) + "\n\n";
  };
  const auto pieces = split_words(text, stream_chunks);
  for (size_t i = 0; i < pieces.size(); ++i) {
    boost::json::object delta{{"content", pieces[i]}};
    if (i == 0 && chat) delta["role"] = "assistant";
    answer.events.push_back(chunk(std::move(delta), nullptr));
  }
  answer.events.push_back(chunk(boost::json::object{}, "stop"));
  if (request.include_usage) {
    boost::json::object event{{"id", id},
                              {"object", object},
                              {"created", created},
                              {"model", model},
                              {"choices", boost::json::array{}},
                              {"usage", usage_json(answer.usage)}};
    answer.events.push_back("data: " + boost::json::serialize(event) + "\n\n");
  }
  answer.events.emplace_back("data: [DONE]\n\n");
  return answer;
}

}  // namespace switchyard
