#pragma once
// JSON documents that are parsed, read and dropped inside one function (an
// upstream answer read only for its usage, an SSE chunk) live in a buffer on
// the caller's stack instead of one heap block per object, array and string.
// The parsed value points into the ScratchJson: it must not outlive it.
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <string_view>

namespace switchyard {

class ScratchJson {
 public:
  ScratchJson() = default;
  ScratchJson(const ScratchJson&) = delete;
  ScratchJson& operator=(const ScratchJson&) = delete;

  // Larger documents spill over to the heap, in a few big blocks.
  boost::json::value parse(std::string_view text, boost::json::error_code& ec) {
    return boost::json::parse(text, ec, &resource_);
  }

 private:
  static constexpr size_t kBytes = 4096;
  alignas(16) unsigned char buffer_[kBytes];
  boost::json::monotonic_resource resource_{buffer_, kBytes};
};

}  // namespace switchyard
