#include "providers/bedrock/event_stream.h"

#include <algorithm>
#include <array>

namespace switchyard::bedrock {

namespace {

constexpr std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1U) ? (0xEDB88320U ^ (c >> 1)) : (c >> 1);
    table[i] = c;
  }
  return table;
}

constexpr std::array<uint32_t, 256> kCrcTable = make_crc_table();

constexpr size_t kPreludeBytes = 12;     // total_length, headers_length, prelude_crc
constexpr size_t kMinMessageBytes = 16;  // prelude + message_crc

uint32_t be32(std::string_view s, size_t pos) {
  return (static_cast<uint32_t>(static_cast<unsigned char>(s[pos])) << 24) |
         (static_cast<uint32_t>(static_cast<unsigned char>(s[pos + 1])) << 16) |
         (static_cast<uint32_t>(static_cast<unsigned char>(s[pos + 2])) << 8) |
         static_cast<uint32_t>(static_cast<unsigned char>(s[pos + 3]));
}

uint64_t be_n(std::string_view s, size_t pos, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(s[pos + i]);
  return v;
}

}  // namespace

uint32_t crc32(std::string_view data, uint32_t crc) {
  crc = ~crc;
  for (char ch : data) {
    crc = kCrcTable[(crc ^ static_cast<unsigned char>(ch)) & 0xFFU] ^ (crc >> 8);
  }
  return ~crc;
}

const HeaderValue* EventStreamMessage::header(std::string_view name) const {
  auto it = headers.find(name);
  return it == headers.end() ? nullptr : &it->second;
}

std::string_view EventStreamMessage::header_string(std::string_view name) const {
  const HeaderValue* v = header(name);
  return (v != nullptr && v->is_string()) ? std::string_view(v->bytes) : std::string_view();
}

EventStreamDecoder::Step EventStreamDecoder::fail(std::string why) {
  failed_ = true;
  error_ = std::move(why);
  pending_.clear();
  pending_.shrink_to_fit();
  pending_total_ = 0;
  return Step::kError;
}

uint32_t EventStreamDecoder::check_prelude(std::string_view prelude) {
  const uint32_t total = be32(prelude, 0);
  const uint32_t headers = be32(prelude, 4);
  const uint32_t crc = be32(prelude, 8);
  if (crc32(prelude.substr(0, 8)) != crc) {
    fail("event stream prelude CRC mismatch");
    return 0;
  }
  if (total < kMinMessageBytes) {
    fail("event stream message shorter than its prelude (" + std::to_string(total) + " bytes)");
    return 0;
  }
  if (headers > total - kMinMessageBytes || headers > max_headers_) {
    fail("event stream headers length " + std::to_string(headers) + " is impossible or too large");
    return 0;
  }
  if (total - kMinMessageBytes - headers > max_payload_) {
    fail("event stream payload of " + std::to_string(total - kMinMessageBytes - headers) +
         " bytes exceeds the limit of " + std::to_string(max_payload_));
    return 0;
  }
  return total;
}

bool EventStreamDecoder::parse(std::string_view message, EventStreamMessage& out) {
  const size_t total = message.size();
  const uint32_t expected = be32(message, total - 4);
  if (crc32(message.substr(0, total - 4)) != expected) {
    fail("event stream message CRC mismatch");
    return false;
  }
  const size_t headers_end = kPreludeBytes + be32(message, 4);
  size_t pos = kPreludeBytes;
  auto need = [&](size_t n) { return headers_end - pos >= n; };
  while (pos < headers_end) {
    const size_t name_len = static_cast<unsigned char>(message[pos++]);
    if (name_len == 0 || !need(name_len + 1)) {
      fail("event stream header name is empty or runs past the headers");
      return false;
    }
    std::string name(message.substr(pos, name_len));
    pos += name_len;
    const auto raw_type = static_cast<unsigned char>(message[pos++]);
    HeaderValue value;
    if (raw_type > static_cast<unsigned char>(HeaderType::kUuid)) {
      fail("event stream header '" + name + "' has unknown type " + std::to_string(raw_type));
      return false;
    }
    value.type = static_cast<HeaderType>(raw_type);
    size_t fixed = 0;
    switch (value.type) {
      case HeaderType::kBoolTrue:
        value.integer = 1;
        break;
      case HeaderType::kBoolFalse:
        value.integer = 0;
        break;
      case HeaderType::kByte:
        fixed = 1;
        break;
      case HeaderType::kShort:
        fixed = 2;
        break;
      case HeaderType::kInt:
        fixed = 4;
        break;
      case HeaderType::kLong:
      case HeaderType::kTimestamp:
        fixed = 8;
        break;
      case HeaderType::kUuid:
        fixed = 16;
        break;
      case HeaderType::kBytes:
      case HeaderType::kString: {
        if (!need(2)) {
          fail("event stream header '" + name + "' is truncated");
          return false;
        }
        const size_t len = be_n(message, pos, 2);
        pos += 2;
        if (!need(len)) {
          fail("event stream header '" + name + "' runs past the headers");
          return false;
        }
        value.bytes.assign(message.substr(pos, len));
        pos += len;
        break;
      }
    }
    if (fixed != 0) {
      if (!need(fixed)) {
        fail("event stream header '" + name + "' is truncated");
        return false;
      }
      if (value.type == HeaderType::kUuid) {
        value.bytes.assign(message.substr(pos, fixed));
      } else {
        // Sign-extend the big-endian two's complement value.
        const uint64_t raw = be_n(message, pos, fixed);
        const unsigned shift = static_cast<unsigned>(64 - 8 * fixed);
        value.integer = static_cast<int64_t>(raw << shift) >> shift;
      }
      pos += fixed;
    }
    if (!out.headers.emplace(std::move(name), std::move(value)).second) {
      fail("event stream message repeats a header");
      return false;
    }
  }
  out.payload.assign(message.substr(headers_end, total - 4 - headers_end));
  return true;
}

EventStreamDecoder::Step EventStreamDecoder::step(std::string_view& input,
                                                  EventStreamMessage& out) {
  if (failed_) return Step::kError;
  if (pending_.empty()) {
    if (input.empty()) return Step::kNeedMore;
    if (input.size() >= kPreludeBytes) {
      const uint32_t total = check_prelude(input.substr(0, kPreludeBytes));
      if (total == 0) return Step::kError;
      if (input.size() >= total) {
        // Whole message in this buffer: parse it in place, no copy.
        std::string_view m = input.substr(0, total);
        input.remove_prefix(total);
        return parse(m, out) ? Step::kMessage : Step::kError;
      }
      pending_total_ = total;
      pending_.reserve(total);
    }
    pending_.append(input);
    input = {};
    return Step::kNeedMore;
  }
  if (pending_total_ == 0) {
    const size_t take = std::min(kPreludeBytes - pending_.size(), input.size());
    pending_.append(input.substr(0, take));
    input.remove_prefix(take);
    if (pending_.size() < kPreludeBytes) return Step::kNeedMore;
    const uint32_t total = check_prelude(pending_);
    if (total == 0) return Step::kError;
    pending_total_ = total;
    pending_.reserve(total);
  }
  const size_t take = std::min<size_t>(pending_total_ - pending_.size(), input.size());
  pending_.append(input.substr(0, take));
  input.remove_prefix(take);
  if (pending_.size() < pending_total_) return Step::kNeedMore;
  const bool ok = parse(pending_, out);
  if (!ok) return Step::kError;
  pending_.clear();
  pending_total_ = 0;
  // Do not keep a large buffer alive after a large message.
  if (pending_.capacity() > size_t{64} * 1024) pending_.shrink_to_fit();
  return Step::kMessage;
}

}  // namespace switchyard::bedrock
