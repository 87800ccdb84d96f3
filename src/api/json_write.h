#pragma once
// A JSON writer for the request path that prints exactly what
// boost::json::serialize() prints (same escapes, same number text, members
// in object order, no spaces), appending to a caller's string in one pass.
// boost::json::serialize() goes through a resumable, buffer-by-buffer state
// machine: ~2.9k instructions for a ~200 B chat body (callgrind), about three
// times this.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <string_view>

namespace switchyard {

void append_json(std::string& out, const boost::json::value& value);
void append_json(std::string& out, const boost::json::object& object);
// A JSON string literal with boost::json::serialize()'s escapes: \b \t \n \f
// \r by name, other bytes below 0x20 as \u00xx, '"' and '\\'; everything else
// (UTF-8 included) as is.
void append_json_string_literal(std::string& out, std::string_view text);

// `body` as boost::json::serialize() would print it after
// body["model"] = model: the top-level "model" member's value is `model`
// (a member appended at the end if there is none). The body is not touched.
// `size_hint`: the expected length (e.g. the client's body), to allocate once.
std::string serialize_with_model(const boost::json::object& body, std::string_view model,
                                 size_t size_hint = 0);

}  // namespace switchyard
