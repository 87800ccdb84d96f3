#pragma once
// A configuration value that must never be printed: keys, passwords,
// connection strings. Anything that formats a Secret gets "***".
#include <string>
#include <utility>

namespace switchyard {

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  bool empty() const { return value_.empty(); }
  // The only way to read the value; grep for reveal() to audit every use.
  const std::string& reveal() const { return value_; }
  const char* masked() const { return value_.empty() ? "" : "***"; }
  // Compares without revealing (config reload diffs).
  bool operator==(const Secret&) const = default;

 private:
  std::string value_;
};

}  // namespace switchyard
