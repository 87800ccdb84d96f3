#include "store/resp.h"

#include <charconv>

namespace switchyard::store {
namespace {

// Nesting bound: a hostile or broken peer cannot make us recurse deeply.
constexpr int kMaxDepth = 8;
// Bulk strings larger than this are refused (cached answers are far below).
constexpr int64_t kMaxBulk = int64_t{512} * 1024 * 1024;

bool parse_int(std::string_view text, int64_t& value) {
  if (text.empty()) return false;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, value);
  return ec == std::errc() && ptr == end;
}

ParseStatus parse_at(std::string_view in, size_t& pos, RedisReply& out, int depth) {
  if (depth > kMaxDepth) return ParseStatus::kError;
  if (pos >= in.size()) return ParseStatus::kIncomplete;
  const size_t eol = in.find("\r\n", pos);
  if (eol == std::string_view::npos) return ParseStatus::kIncomplete;
  const char type = in[pos];
  const std::string_view line = in.substr(pos + 1, eol - pos - 1);
  const size_t after_line = eol + 2;
  switch (type) {
    case '+':
      out.type = RedisReply::Type::kStatus;
      out.str.assign(line);
      pos = after_line;
      return ParseStatus::kDone;
    case '-':
      out.type = RedisReply::Type::kError;
      out.str.assign(line);
      pos = after_line;
      return ParseStatus::kDone;
    case ':':
      out.type = RedisReply::Type::kInteger;
      if (!parse_int(line, out.integer)) return ParseStatus::kError;
      pos = after_line;
      return ParseStatus::kDone;
    case '_':
      out.type = RedisReply::Type::kNil;
      pos = after_line;
      return ParseStatus::kDone;
    case '#':
      out.type = RedisReply::Type::kInteger;
      out.integer = line == "t" ? 1 : 0;
      pos = after_line;
      return ParseStatus::kDone;
    case ',':
      out.type = RedisReply::Type::kString;
      out.str.assign(line);
      pos = after_line;
      return ParseStatus::kDone;
    case '$': {
      int64_t length = 0;
      if (!parse_int(line, length) || length < -1 || length > kMaxBulk) return ParseStatus::kError;
      if (length == -1) {
        out.type = RedisReply::Type::kNil;
        pos = after_line;
        return ParseStatus::kDone;
      }
      const auto n = static_cast<size_t>(length);
      if (in.size() < after_line + n + 2) return ParseStatus::kIncomplete;
      if (in.substr(after_line + n, 2) != "\r\n") return ParseStatus::kError;
      out.type = RedisReply::Type::kString;
      out.str.assign(in.substr(after_line, n));
      pos = after_line + n + 2;
      return ParseStatus::kDone;
    }
    case '*':
    case '~':
    case '%': {
      int64_t count = 0;
      if (!parse_int(line, count) || count < -1 || count > 1'000'000) return ParseStatus::kError;
      if (count == -1) {
        out.type = RedisReply::Type::kNil;
        pos = after_line;
        return ParseStatus::kDone;
      }
      if (type == '%') count *= 2;  // a map arrives as key, value, ...
      out.type = RedisReply::Type::kArray;
      out.elements.clear();
      out.elements.resize(static_cast<size_t>(count));
      size_t at = after_line;
      for (auto& element : out.elements) {
        const ParseStatus s = parse_at(in, at, element, depth + 1);
        if (s != ParseStatus::kDone) return s;
      }
      pos = at;
      return ParseStatus::kDone;
    }
    default:
      return ParseStatus::kError;
  }
}

}  // namespace

int64_t RedisReply::as_int() const {
  if (type == Type::kInteger) return integer;
  int64_t value = 0;
  if (type == Type::kString && parse_int(str, value)) return value;
  return 0;
}

void encode_command(const std::vector<std::string>& args, std::string& out) {
  out += '*';
  out += std::to_string(args.size());
  out += "\r\n";
  for (const auto& arg : args) {
    out += '$';
    out += std::to_string(arg.size());
    out += "\r\n";
    out += arg;
    out += "\r\n";
  }
}

ParseStatus parse_reply(std::string_view in, size_t& consumed, RedisReply& out) {
  size_t pos = 0;
  out = RedisReply{};
  const ParseStatus status = parse_at(in, pos, out, 0);
  if (status == ParseStatus::kDone) consumed = pos;
  return status;
}

}  // namespace switchyard::store
