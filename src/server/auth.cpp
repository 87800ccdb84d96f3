#include "server/auth.h"

#include <openssl/crypto.h>

#include <cctype>

#include "core/sha256.h"

namespace switchyard {

KeyDigest digest_key(std::string_view key) { return sha256(key); }

bool digests_equal(const KeyDigest& a, const KeyDigest& b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::optional<std::string_view> presented_key(std::string_view authorization,
                                              std::string_view x_api_key) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  authorization = trim(authorization);
  if (authorization.size() > 7) {
    std::string_view scheme = authorization.substr(0, 7);
    bool bearer = true;
    const char* expected = "bearer ";
    for (size_t i = 0; i < 7; ++i) {
      if (std::tolower(static_cast<unsigned char>(scheme[i])) != expected[i]) bearer = false;
    }
    if (bearer) {
      auto key = trim(authorization.substr(7));
      if (!key.empty()) return key;
    }
  }
  x_api_key = trim(x_api_key);
  if (!x_api_key.empty()) return x_api_key;
  return std::nullopt;
}

}  // namespace switchyard
