#pragma once
// Sizing of the Beast read buffers of client and upstream connections. Beast
// reads max(512, free capacity) bytes at a time, so a buffer without room
// turned one message into several recv() calls (an SDK's ~700 B of headers,
// a typical upstream answer: two each, measured with strace).
#include <algorithm>
#include <boost/optional.hpp>
#include <cstddef>
#include <cstdint>

#include "core/asio.h"

namespace switchyard {

// Room a fresh buffer gets: headers plus a small JSON body in one read.
inline constexpr size_t kReadBufferStart = 2048;
// Most room reserved for an announced body; Beast caps a read at 64 KiB anyway.
inline constexpr uint64_t kMaxBodyReadReserve = 64 * 1024;

inline void prepare_read_buffer(beast::flat_buffer& buffer) { buffer.reserve(kReadBufferStart); }

// After the headers: room for the body they announce (parser's
// content_length_remaining()), so it arrives in as few reads as possible.
inline void reserve_for_body(beast::flat_buffer& buffer, boost::optional<uint64_t> remaining) {
  if (remaining) buffer.reserve(buffer.size() + std::min(*remaining, kMaxBodyReadReserve));
}

// An idle buffer (nothing unread) gives back what a large message grew.
inline void trim_idle_read_buffer(beast::flat_buffer& buffer) {
  if (buffer.size() != 0 || buffer.capacity() <= kMaxBodyReadReserve) return;
  buffer.shrink_to_fit();
  buffer.reserve(kReadBufferStart);
}

}  // namespace switchyard
