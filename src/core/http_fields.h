#pragma once
// Header look-up for the request path. Beast's fields[name] / find(name)
// walk a red-black tree ordered by a case-insensitive compare that lowers
// each character of both names at every node: ~150-500 instructions a
// look-up, ~1.5k per proxied request (callgrind). A message has a handful
// of fields, so a walk over its list that compares lengths first and only
// then the names is cheaper, with the same answer: the value of the first
// field of that name in the order they arrived (what Beast's find returns
// for repeated names), names compared ignoring ASCII case.
#include <string_view>

#include "core/asio.h"

namespace switchyard {

template <class Fields>
std::string_view header_value(const Fields& fields, std::string_view name) {
  for (const auto& field : fields) {
    const auto field_name = field.name_string();
    if (field_name.size() == name.size() && beast::iequals(field_name, name)) {
      const auto value = field.value();
      return {value.data(), value.size()};
    }
  }
  return {};
}

}  // namespace switchyard
