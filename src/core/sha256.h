#pragma once
// SHA-256 for the request path (key digests, token hashes) and everything
// else that hashes. OpenSSL's one-shot SHA256() looks the algorithm up and
// allocates a context on every call (~5,000 instructions for a 20-byte key);
// this keeps one context per thread and fetches the algorithm once.
#include <array>
#include <string>
#include <string_view>

namespace switchyard {

using Sha256Digest = std::array<unsigned char, 32>;

Sha256Digest sha256(std::string_view data);
// Lower-case hex of the bytes.
std::string hex_lower(const unsigned char* data, size_t size);
// Lower-case hex SHA-256 (SigV4 payload hashes, stored key tokens, cache keys).
std::string sha256_hex(std::string_view data);

}  // namespace switchyard
