#pragma once
// Decoder for the AWS event stream binary framing
// (application/vnd.amazon.eventstream), which Bedrock ConverseStream uses for
// its response body. Each message on the wire is:
//
//   total_length   uint32 BE  (the whole message, these 4 bytes included)
//   headers_length uint32 BE
//   prelude_crc    uint32 BE  CRC32 of the 8 bytes above
//   headers        headers_length bytes: name_len u8, name, type u8, value
//   payload        total_length - headers_length - 16 bytes
//   message_crc    uint32 BE  CRC32 of everything before it
//
// The decoder is owned by the one request that reads the upstream body,
// touched only by that request's thread, and lives as long as that body.
// Bytes may arrive split anywhere. Corrupt input (bad CRC, impossible
// lengths, malformed or repeated headers) puts it in a sticky error state;
// it never buffers more than one message, and a message may not exceed the
// configured limits (by default those of the AWS SDKs' decoders: 128 KiB of
// headers and 24 MiB of payload).
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

namespace switchyard::bedrock {

// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as zlib's crc32():
// crc32(b, crc32(a)) == crc32(a + b).
uint32_t crc32(std::string_view data, uint32_t crc = 0);

enum class HeaderType : uint8_t {
  kBoolTrue = 0,
  kBoolFalse = 1,
  kByte = 2,
  kShort = 3,
  kInt = 4,
  kLong = 5,
  kBytes = 6,
  kString = 7,
  kTimestamp = 8,  // int64 milliseconds since the Unix epoch
  kUuid = 9,       // 16 raw bytes
};

struct HeaderValue {
  HeaderType type = HeaderType::kString;
  int64_t integer = 0;  // bool (1/0), byte, short, int, long, timestamp
  std::string bytes;    // bytes, string, uuid

  bool is_string() const { return type == HeaderType::kString; }
  bool as_bool() const { return type == HeaderType::kBoolTrue; }
};

struct EventStreamMessage {
  // By name (a repeated name makes the message corrupt).
  std::map<std::string, HeaderValue, std::less<>> headers;
  std::string payload;

  const HeaderValue* header(std::string_view name) const;
  // The header's text when it is a string header, else "".
  std::string_view header_string(std::string_view name) const;
};

class EventStreamDecoder {
 public:
  static constexpr size_t kDefaultMaxPayloadBytes = size_t{24} * 1024 * 1024;
  static constexpr size_t kDefaultMaxHeaderBytes = size_t{128} * 1024;

  explicit EventStreamDecoder(size_t max_payload_bytes = kDefaultMaxPayloadBytes,
                              size_t max_header_bytes = kDefaultMaxHeaderBytes)
      : max_payload_(max_payload_bytes), max_headers_(max_header_bytes) {}

  // Consumes `bytes` and calls on_message(EventStreamMessage&&) for every
  // message completed by them, in order. Returns false when the stream is
  // (or becomes) corrupt; the messages before the corruption were delivered.
  template <typename F>
  bool feed(std::string_view bytes, F&& on_message) {
    EventStreamMessage msg;
    while (true) {
      Step s = step(bytes, msg);
      if (s == Step::kMessage) {
        on_message(std::move(msg));
        msg = EventStreamMessage{};
        continue;
      }
      return s != Step::kError;
    }
  }

  bool failed() const { return failed_; }
  const std::string& error() const { return error_; }
  // True when part of a message is buffered: if the body ends now, the last
  // message was truncated.
  bool mid_message() const { return !pending_.empty(); }
  size_t buffered_bytes() const { return pending_.size(); }

 private:
  enum class Step { kMessage, kNeedMore, kError };
  // Takes what it needs from the front of `input` (advancing it); returns
  // kMessage with `out` filled, kNeedMore once `input` is used up, or kError.
  Step step(std::string_view& input, EventStreamMessage& out);
  // Checks a 12-byte prelude; returns the total length, or 0 after fail().
  uint32_t check_prelude(std::string_view prelude);
  bool parse(std::string_view message, EventStreamMessage& out);
  Step fail(std::string why);

  size_t max_payload_;
  size_t max_headers_;
  std::string pending_;         // bytes of the message in progress (never more than one message)
  uint32_t pending_total_ = 0;  // its total length, once its prelude is known
  bool failed_ = false;
  std::string error_;
};

}  // namespace switchyard::bedrock
