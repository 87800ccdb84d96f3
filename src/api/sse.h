#pragma once
// Incremental reader of a Server-Sent Events byte stream. The gateway passes
// upstream bytes to the client unchanged; this only watches them to learn
// the usage chunk and whether [DONE] arrived.
#include <string>
#include <string_view>

#include "api/inbound.h"

namespace switchyard {

class SseObserver {
 public:
  void feed(std::string_view bytes);
  bool saw_done() const { return saw_done_; }
  const TokenUsage& usage() const { return usage_; }
  size_t events() const { return events_; }

 private:
  void on_line(std::string_view line);
  std::string partial_line_;
  bool saw_done_ = false;
  size_t events_ = 0;
  TokenUsage usage_;
};

// "data: <json>\n\n" framing for one event.
std::string sse_event(std::string_view json);

}  // namespace switchyard
