#include "telemetry/prometheus_text.h"

#include "core/format.h"

namespace switchyard {
namespace {

void append_name_and_labels(std::string& out, std::string_view name, PromLabels labels) {
  out += name;
  if (labels.size() == 0) return;
  out += '{';
  bool first = true;
  for (const auto& [key, value] : labels) {
    if (!first) out += ',';
    first = false;
    out += key;
    out += "=\"";
    out += escape_prometheus_label(value);
    out += '"';
  }
  out += '}';
}

}  // namespace

std::string escape_prometheus_label(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void append_prometheus_family(std::string& out, std::string_view name, std::string_view help,
                              std::string_view type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void append_prometheus_sample(std::string& out, std::string_view name, PromLabels labels,
                              uint64_t value) {
  append_name_and_labels(out, name, labels);
  out += ' ';
  append_int(out, static_cast<int64_t>(value));
  out += '\n';
}

void append_prometheus_sample(std::string& out, std::string_view name, PromLabels labels,
                              double value) {
  append_name_and_labels(out, name, labels);
  out += ' ';
  append_shortest(out, value);
  out += '\n';
}

void append_prometheus_counter(std::string& out, std::string_view name, std::string_view help,
                               uint64_t value) {
  append_prometheus_family(out, name, help, "counter");
  append_prometheus_sample(out, name, {}, value);
}

}  // namespace switchyard
