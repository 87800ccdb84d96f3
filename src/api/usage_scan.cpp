#include "api/usage_scan.h"

#include <algorithm>
#include <boost/json/basic_parser_impl.hpp>
#include <cstdint>
#include <limits>

namespace switchyard {
namespace {

using boost::json::error_code;
using boost::json::string_view;

// SAX handler: tracks only how deep the parser is, the current key at depth
// 1 (the response object) and depth 2 (inside "usage"), and the numbers found
// under the three usage keys.
class UsageHandler {
 public:
  static constexpr std::size_t max_object_size = std::numeric_limits<std::size_t>::max();
  static constexpr std::size_t max_array_size = std::numeric_limits<std::size_t>::max();
  static constexpr std::size_t max_key_size = std::numeric_limits<std::size_t>::max();
  static constexpr std::size_t max_string_size = std::numeric_limits<std::size_t>::max();

  TokenUsage usage;
  bool top_level_object = false;

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }

  bool on_object_begin(error_code&) {
    if (depth_ == 0) top_level_object = true;
    value_seen();  // a container under a usage key is not a number
    if (depth_ == 1 && key_is_usage_) {
      in_usage_ = true;
      usage = TokenUsage{};  // a later "usage" replaces an earlier one
    }
    ++depth_;
    return true;
  }
  bool on_object_end(std::size_t, error_code&) {
    --depth_;
    if (depth_ == 1) in_usage_ = false;
    return true;
  }
  bool on_array_begin(error_code&) {
    value_seen();
    ++depth_;
    return true;
  }
  bool on_array_end(std::size_t, error_code&) {
    --depth_;
    return true;
  }

  bool on_key_part(string_view part, std::size_t, error_code&) {
    append_key(part);
    return true;
  }
  bool on_key(string_view part, std::size_t, error_code&) {
    append_key(part);
    const std::string_view key(key_, std::min(key_len_, sizeof key_));
    const bool fits = key_len_ <= sizeof key_;
    if (depth_ == 1) {
      key_is_usage_ = fits && key == "usage";
      if (key_is_usage_) usage = TokenUsage{};  // "usage": null etc. also replaces
    } else if (depth_ == 2 && in_usage_) {
      field_ = nullptr;
      if (fits && key == "prompt_tokens") field_ = &usage.prompt_tokens;
      if (fits && key == "completion_tokens") field_ = &usage.completion_tokens;
      if (fits && key == "total_tokens") field_ = &usage.total_tokens;
    }
    key_len_ = 0;
    return true;
  }

  bool on_string_part(string_view, std::size_t, error_code&) { return true; }
  bool on_string(string_view, std::size_t, error_code&) {
    value_seen();
    return true;
  }
  bool on_number_part(string_view, error_code&) { return true; }
  bool on_int64(std::int64_t v, string_view, error_code&) {
    value_seen(v);
    return true;
  }
  bool on_uint64(std::uint64_t v, string_view, error_code&) {
    value_seen(static_cast<int64_t>(v));
    return true;
  }
  bool on_double(double v, string_view, error_code&) {
    value_seen(static_cast<int64_t>(v));
    return true;
  }
  bool on_bool(bool, error_code&) {
    value_seen();
    return true;
  }
  bool on_null(error_code&) {
    value_seen();
    return true;
  }
  bool on_comment_part(string_view, error_code&) { return true; }
  bool on_comment(string_view, error_code&) { return true; }

 private:
  void append_key(string_view part) {
    if (depth_ > 2) return;
    for (char c : part) {
      if (key_len_ < sizeof key_) key_[key_len_] = c;
      ++key_len_;
    }
  }
  // The value under one of the three keys: a number sets it, anything else
  // makes it unknown (the last occurrence of a key wins, as in a DOM).
  void value_seen(int64_t v = -1) {
    if (depth_ == 2 && field_ != nullptr) *field_ = v;
    if (depth_ == 2) field_ = nullptr;
  }

  int depth_ = 0;
  bool key_is_usage_ = false;
  bool in_usage_ = false;
  int64_t* field_ = nullptr;
  char key_[24] = {};
  std::size_t key_len_ = 0;
};

}  // namespace

bool scan_response_usage(std::string_view text, TokenUsage& usage) {
  boost::json::basic_parser<UsageHandler> parser{boost::json::parse_options{}};
  error_code ec;
  const std::size_t used = parser.write_some(false, text.data(), text.size(), ec);
  if (ec || !parser.done() || used != text.size()) return false;
  if (!parser.handler().top_level_object) return false;
  usage = parser.handler().usage;
  derive_total_tokens(usage);
  return true;
}

}  // namespace switchyard
