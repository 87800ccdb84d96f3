#pragma once
// Typed, null-tolerant lookups into Boost.JSON objects, shared by the
// provider translation layers (Anthropic, Bedrock). Pure functions.
#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace switchyard::json_access {

const boost::json::value* find(const boost::json::object& obj, std::string_view key);
// The value if it is a non-null member, else nullptr.
const boost::json::value* find_set(const boost::json::object& obj, std::string_view key);
std::optional<std::string_view> find_string(const boost::json::object& obj, std::string_view key);
const boost::json::object* find_object(const boost::json::object& obj, std::string_view key);
const boost::json::array* find_array(const boost::json::object& obj, std::string_view key);
// Integral JSON number (int64, uint64 in range, or a double with no fraction).
std::optional<int64_t> as_int(const boost::json::value& v);
std::optional<int64_t> find_int(const boost::json::object& obj, std::string_view key);

// Key paths for the `param` of translation errors:
// at("messages", 2) == "messages[2]", join("messages[2]", "content") ==
// "messages[2].content".
std::string at(std::string_view base, size_t index);
std::string join(std::string_view base, std::string_view field);

}  // namespace switchyard::json_access
