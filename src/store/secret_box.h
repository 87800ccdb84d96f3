#pragma once
// Encrypts credentials stored in the database (api keys of models added
// with POST /model/new), so a dump of the table does not hand them out.
// AES-256-GCM with a key derived (SHA-256) from LITELLM_SALT_KEY, else the
// master key, as LiteLLM does. Sealed values read "enc:v1:<base64 of
// nonce | ciphertext | tag>"; a value that is not sealed is returned as is
// (os.environ/ references are stored in the clear: they name a variable).
#include <optional>
#include <string>
#include <string_view>

#include "core/secret.h"

namespace switchyard::store {

class SecretBox {
 public:
  explicit SecretBox(const Secret& key_material);

  std::string seal(std::string_view plaintext) const;
  // nullopt: sealed with another key, or damaged.
  std::optional<std::string> open(std::string_view sealed) const;
  static bool is_sealed(std::string_view value);

 private:
  unsigned char key_[32];
};

}  // namespace switchyard::store
