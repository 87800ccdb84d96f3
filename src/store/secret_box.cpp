#include "store/secret_box.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <memory>
#include <vector>

namespace switchyard::store {
namespace {

constexpr std::string_view kPrefix = "enc:v1:";
constexpr int kNonceBytes = 12;
constexpr int kTagBytes = 16;

using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

std::string to_base64(const std::vector<unsigned char>& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::optional<std::vector<unsigned char>> from_base64(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  std::vector<unsigned char> out(3 * text.size() / 4);
  const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the padding as zero bytes.
  size_t size = static_cast<size_t>(n);
  if (text.ends_with("==")) {
    size -= 2;
  } else if (text.ends_with('=')) {
    size -= 1;
  }
  out.resize(size);
  return out;
}

}  // namespace

SecretBox::SecretBox(const Secret& key_material) {
  const std::string& material = key_material.reveal();
  SHA256(reinterpret_cast<const unsigned char*>(material.data()), material.size(), key_);
}

bool SecretBox::is_sealed(std::string_view value) { return value.starts_with(kPrefix); }

std::string SecretBox::seal(std::string_view plaintext) const {
  std::vector<unsigned char> out(kNonceBytes + plaintext.size() + kTagBytes);
  RAND_bytes(out.data(), kNonceBytes);
  CipherContext ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_, out.data());
  EVP_EncryptUpdate(ctx.get(), out.data() + kNonceBytes, &len,
                    reinterpret_cast<const unsigned char*>(plaintext.data()),
                    static_cast<int>(plaintext.size()));
  int tail = 0;
  EVP_EncryptFinal_ex(ctx.get(), out.data() + kNonceBytes + len, &tail);
  EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                      out.data() + kNonceBytes + plaintext.size());
  return std::string(kPrefix) + to_base64(out);
}

std::optional<std::string> SecretBox::open(std::string_view sealed) const {
  if (!is_sealed(sealed)) return std::string(sealed);
  auto bytes = from_base64(sealed.substr(kPrefix.size()));
  if (!bytes || bytes->size() < static_cast<size_t>(kNonceBytes + kTagBytes)) return std::nullopt;
  const size_t text_size = bytes->size() - kNonceBytes - kTagBytes;
  std::string plain(text_size, '\0');
  CipherContext ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_, bytes->data());
  EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()), &len,
                    bytes->data() + kNonceBytes, static_cast<int>(text_size));
  EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes,
                      bytes->data() + kNonceBytes + text_size);
  int tail = 0;
  if (EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()) + len, &tail) !=
      1) {
    return std::nullopt;  // wrong key or tampered
  }
  return plain;
}

}  // namespace switchyard::store
