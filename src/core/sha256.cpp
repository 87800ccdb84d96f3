#include "core/sha256.h"

#include <openssl/evp.h>

#include <memory>

namespace switchyard {

Sha256Digest sha256(std::string_view data) {
  static EVP_MD* const kAlgorithm = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(
      EVP_MD_CTX_new(), EVP_MD_CTX_free);
  Sha256Digest out{};
  unsigned int size = 0;
  EVP_DigestInit_ex2(context.get(), kAlgorithm, nullptr);
  EVP_DigestUpdate(context.get(), data.data(), data.size());
  EVP_DigestFinal_ex(context.get(), out.data(), &size);
  return out;
}

std::string hex_lower(const unsigned char* data, size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(size * 2, '0');
  for (size_t i = 0; i < size; ++i) {
    out[2 * i] = kHex[data[i] >> 4];
    out[2 * i + 1] = kHex[data[i] & 0xf];
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  const Sha256Digest digest = sha256(data);
  return hex_lower(digest.data(), digest.size());
}

}  // namespace switchyard
