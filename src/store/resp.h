#pragma once
// RESP (the Redis protocol): command encoding and an incremental reply
// parser. RESP2 plus the RESP3 scalar types a server may send (null,
// boolean, double), so a proxy speaking RESP3 does not break us. Pure
// functions, no I/O: the client (redis_client.h) feeds bytes in.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace switchyard::store {

struct RedisReply {
  enum class Type { kNil, kStatus, kError, kInteger, kString, kArray };
  Type type = Type::kNil;
  std::string str;  // status, error or bulk string
  int64_t integer = 0;
  std::vector<RedisReply> elements;

  bool is_error() const { return type == Type::kError; }
  bool is_nil() const { return type == Type::kNil; }
  // Integer replies, and bulk strings holding an integer (GET of a counter).
  // Nil counts as 0.
  int64_t as_int() const;
};

// Appends `*N\r\n$len\r\narg\r\n...` for one command.
void encode_command(const std::vector<std::string>& args, std::string& out);

enum class ParseStatus { kIncomplete, kDone, kError };

// Parses one reply from the front of `in`. kDone: `out` holds it and
// `consumed` how many bytes it took. kIncomplete: feed more bytes and call
// again from the same position. kError: the stream is not RESP (drop the
// connection).
ParseStatus parse_reply(std::string_view in, size_t& consumed, RedisReply& out);

}  // namespace switchyard::store
