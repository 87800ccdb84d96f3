#include "api/json_write.h"

#include <algorithm>
#include <boost/json/detail/format.hpp>
#include <charconv>
#include <cstdint>
#include <cstring>

#include "core/json_escape_scan.h"

namespace switchyard {
namespace {

// Writes through a raw pointer into `out`, grown ahead of each piece:
// std::string::append/push_back per piece cost more than the bytes (an
// out-of-line call each). `out` is cut to what was written at the end.
class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {
    const size_t at = out_.size();
    out_.resize(std::max<size_t>(out_.capacity(), at + 64));
    p_ = out_.data() + at;
    end_ = out_.data() + out_.size();
  }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;
  ~Writer() { out_.resize(static_cast<size_t>(p_ - out_.data())); }

  void ensure(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) grow(n);
  }
  void put(char c) {
    ensure(1);
    *p_++ = c;
  }
  void put(const char* s, size_t n) {
    ensure(n);
    std::memcpy(p_, s, n);
    p_ += n;
  }
  void string(std::string_view text);
  void value(const boost::json::value& v);
  void object(const boost::json::object& o);
  void member(bool& first, std::string_view key) {
    if (!first) put(',');
    first = false;
    string(key);
    put(':');
  }

 private:
  void grow(size_t n) {
    const size_t at = static_cast<size_t>(p_ - out_.data());
    out_.resize(std::max(out_.size() * 2, at + n + 64));
    p_ = out_.data() + at;
    end_ = out_.data() + out_.size();
  }
  void number(const boost::json::value& v);

  std::string& out_;
  char* p_ = nullptr;
  char* end_ = nullptr;
};

// Writes the escape for `c` at `p`; returns the end.
char* write_escape(char* p, unsigned char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  char named = 0;
  switch (c) {
    case '"':
      named = '"';
      break;
    case '\\':
      named = '\\';
      break;
    case '\b':
      named = 'b';
      break;
    case '\t':
      named = 't';
      break;
    case '\n':
      named = 'n';
      break;
    case '\f':
      named = 'f';
      break;
    case '\r':
      named = 'r';
      break;
    default:
      break;
  }
  if (named != 0) {
    p[0] = '\\';
    p[1] = named;
    return p + 2;
  }
  const char escaped[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
  std::memcpy(p, escaped, sizeof escaped);
  return p + sizeof escaped;
}

// Bytes [from, to) of `s` one at a time, escaped where needed.
char* write_bytes(char* p, const char* s, size_t from, size_t to) {
  for (size_t i = from; i < to; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') {
      *p++ = static_cast<char>(c);
    } else {
      p = write_escape(p, c);
    }
  }
  return p;
}

void Writer::string(std::string_view text) {
  const size_t n = text.size();
  // Room for the text as it is; an escape makes room for the worst case
  // (every byte left a \u00xx escape) before writing it.
  ensure(n + 2 + 8);  // + 8: the tail is stored as a whole word
  const char* s = text.data();
  char* p = p_;  // a local: stores through char* would reload a member
  *p++ = '"';
  size_t i = 0;
  auto room_for_escapes = [&](size_t from) {
    p_ = p;
    ensure((n - from) * 6 + 1 + 8);
    p = p_;
  };
  // Whole words: copied as they are unless one of their bytes needs escaping.
  for (; n - i >= 8; i += 8) {
    uint64_t w;
    std::memcpy(&w, s + i, sizeof w);
    if (word_needs_json_escape(w)) {
      room_for_escapes(i);
      p = write_bytes(p, s, i, i + 8);
    } else {
      std::memcpy(p, &w, sizeof w);
      p += 8;
    }
  }
  // The last 1-7 bytes (most keys and short values are only these): tested
  // as one word padded with spaces.
  if (const size_t rest = n - i; rest != 0) {
    uint64_t w = 0x2020202020202020ULL;
    std::memcpy(&w, s + i, rest);
    if (word_needs_json_escape(w)) {
      room_for_escapes(i);
      p = write_bytes(p, s, i, n);
    } else {
      std::memcpy(p, &w, sizeof w);  // the padding is overwritten or cut off
      p += rest;
    }
  }
  *p++ = '"';
  p_ = p;
}

void Writer::number(const boost::json::value& v) {
  ensure(64);
  if (v.is_int64()) {
    p_ = std::to_chars(p_, end_, v.get_int64()).ptr;
  } else if (v.is_uint64()) {
    p_ = std::to_chars(p_, end_, v.get_uint64()).ptr;
  } else {
    // Boost.JSON's own double formatting, so the text is the same.
    p_ += boost::json::detail::format_double(p_, v.get_double());
  }
}

void Writer::object(const boost::json::object& o) {
  put('{');
  bool first = true;
  for (const auto& item : o) {
    member(first, item.key());
    value(item.value());
  }
  put('}');
}

void Writer::value(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::object:
      object(v.get_object());
      return;
    case boost::json::kind::array: {
      put('[');
      bool first = true;
      for (const auto& item : v.get_array()) {
        if (!first) put(',');
        first = false;
        value(item);
      }
      put(']');
      return;
    }
    case boost::json::kind::string:
      string(v.get_string());
      return;
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
    case boost::json::kind::double_:
      number(v);
      return;
    case boost::json::kind::bool_:
      if (v.get_bool()) {
        put("true", 4);
      } else {
        put("false", 5);
      }
      return;
    case boost::json::kind::null:
      put("null", 4);
      return;
  }
}

}  // namespace

void append_json_string_literal(std::string& out, std::string_view text) {
  Writer w(out);
  w.string(text);
}

void append_json(std::string& out, const boost::json::object& object) {
  Writer w(out);
  w.object(object);
}

void append_json(std::string& out, const boost::json::value& value) {
  Writer w(out);
  w.value(value);
}

std::string serialize_with_model(const boost::json::object& body, std::string_view model,
                                 size_t size_hint) {
  std::string out;
  out.reserve((size_hint != 0 ? size_hint : body.size() * 32) + model.size() + 64);
  {
    Writer w(out);
    w.put('{');
    bool first = true;
    bool model_written = false;
    for (const auto& item : body) {
      w.member(first, item.key());
      if (!model_written && item.key() == "model") {
        w.string(model);
        model_written = true;
      } else {
        w.value(item.value());
      }
    }
    if (!model_written) {
      w.member(first, "model");
      w.string(model);
    }
    w.put('}');
  }
  return out;
}

}  // namespace switchyard
