#pragma once
// Master-key authentication. Keys are compared as SHA-256 digests with
// CRYPTO_memcmp, so neither timing nor length reveals the key.
#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace switchyard {

using KeyDigest = std::array<unsigned char, 32>;
KeyDigest digest_key(std::string_view key);
bool digests_equal(const KeyDigest& a, const KeyDigest& b);

// The key a client presented: `Authorization: Bearer <key>` or `x-api-key`.
std::optional<std::string_view> presented_key(std::string_view authorization,
                                              std::string_view x_api_key);

}  // namespace switchyard
