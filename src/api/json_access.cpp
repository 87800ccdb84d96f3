#include "api/json_access.h"

#include <cmath>

namespace switchyard::json_access {

const boost::json::value* find(const boost::json::object& obj, std::string_view key) {
  return obj.if_contains(key);
}

const boost::json::value* find_set(const boost::json::object& obj, std::string_view key) {
  const auto* v = obj.if_contains(key);
  return (v == nullptr || v->is_null()) ? nullptr : v;
}

std::optional<std::string_view> find_string(const boost::json::object& obj, std::string_view key) {
  const auto* v = obj.if_contains(key);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  const auto& s = v->get_string();
  return std::string_view(s.data(), s.size());
}

const boost::json::object* find_object(const boost::json::object& obj, std::string_view key) {
  const auto* v = obj.if_contains(key);
  return (v != nullptr && v->is_object()) ? &v->get_object() : nullptr;
}

const boost::json::array* find_array(const boost::json::object& obj, std::string_view key) {
  const auto* v = obj.if_contains(key);
  return (v != nullptr && v->is_array()) ? &v->get_array() : nullptr;
}

std::optional<int64_t> as_int(const boost::json::value& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64()) {
    if (v.get_uint64() > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<int64_t>(v.get_uint64());
  }
  if (v.is_double()) {
    double d = v.get_double();
    if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) < 9.0e18) {
      return static_cast<int64_t>(d);
    }
  }
  return std::nullopt;
}

std::optional<int64_t> find_int(const boost::json::object& obj, std::string_view key) {
  const auto* v = obj.if_contains(key);
  if (v == nullptr) return std::nullopt;
  return as_int(*v);
}

std::string at(std::string_view base, size_t index) {
  std::string s(base);
  s += '[';
  s += std::to_string(index);
  s += ']';
  return s;
}

std::string join(std::string_view base, std::string_view field) {
  std::string s(base);
  s += '.';
  s += field;
  return s;
}

}  // namespace switchyard::json_access
