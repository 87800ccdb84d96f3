#include "api/sse.h"

#include <boost/json.hpp>

#include "api/json_scratch.h"

namespace switchyard {

void SseObserver::feed(std::string_view bytes) {
  size_t start = 0;
  while (start < bytes.size()) {
    size_t nl = bytes.find('\n', start);
    if (nl == std::string_view::npos) {
      partial_line_.append(bytes.substr(start));
      return;
    }
    std::string_view piece = bytes.substr(start, nl - start);
    if (!partial_line_.empty()) {
      partial_line_.append(piece);
      std::string line = std::move(partial_line_);
      partial_line_.clear();
      on_line(line);
    } else {
      on_line(piece);
    }
    start = nl + 1;
  }
}

void SseObserver::on_line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (!line.starts_with("data:")) return;
  std::string_view data = line.substr(5);
  if (!data.empty() && data.front() == ' ') data.remove_prefix(1);
  ++events_;
  if (data == "[DONE]") {
    saw_done_ = true;
    return;
  }
  // Only chunks that carry usage are worth parsing.
  if (data.find("\"usage\"") == std::string_view::npos) return;
  boost::json::error_code ec;
  ScratchJson scratch;
  auto value = scratch.parse(data, ec);
  if (ec || !value.is_object()) return;
  auto usage = usage_from(value.as_object());
  if (usage.known()) usage_ = usage;
}

std::string sse_event(std::string_view json) {
  std::string out;
  out.reserve(json.size() + 8);
  out += "data: ";
  out += json;
  out += "\n\n";
  return out;
}

}  // namespace switchyard
