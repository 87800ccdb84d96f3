#pragma once
// Prometheus text exposition for metric families kept outside Metrics (the
// store, Redis, the response cache, learned routing, config sync): one place
// writes HELP/TYPE lines and escapes label values.
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace switchyard {

using PromLabels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

// Backslash, double quote and newline escaped as the text format requires.
std::string escape_prometheus_label(std::string_view value);
// "# HELP name help\n# TYPE name type\n"
void append_prometheus_family(std::string& out, std::string_view name, std::string_view help,
                              std::string_view type);
// "name{k="v",...} value\n"
void append_prometheus_sample(std::string& out, std::string_view name, PromLabels labels,
                              uint64_t value);
void append_prometheus_sample(std::string& out, std::string_view name, PromLabels labels,
                              double value);
// A counter family with one unlabelled sample.
void append_prometheus_counter(std::string& out, std::string_view name, std::string_view help,
                               uint64_t value);

}  // namespace switchyard
