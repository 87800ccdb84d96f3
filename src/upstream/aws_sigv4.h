#pragma once
// AWS Signature Version 4 request signing (Bedrock, S3). Pure functions:
// the caller supplies the clock, so tests can replay AWS's published
// vectors.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/sha256.h"  // sha256_hex for payload hashes

namespace switchyard {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // optional (temporary credentials)
  bool empty() const { return access_key_id.empty() || secret_access_key.empty(); }
};

struct SigV4Request {
  std::string method;  // "GET", "POST"
  // The path as sent on the wire (already percent-encoded once).
  std::string path;
  // Decoded query parameters; encoding and sorting happen while signing.
  std::vector<std::pair<std::string, std::string>> query;
  // Headers to sign (host and x-amz-date at least); names any case.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string payload_sha256_hex;  // hex SHA-256 of the body
  // Every service but S3 signs the path encoded once more (so "%3A" in a
  // Bedrock model id is signed as "%253A").
  bool double_encode_path = true;
};

struct SigV4Signature {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers;  // "host;x-amz-date"
  std::string signature;       // hex
  std::string authorization;   // full Authorization header value
};

// amz_date: "YYYYMMDDTHHMMSSZ".
SigV4Signature sign_v4(const SigV4Request& request, const AwsCredentials& credentials,
                       std::string_view region, std::string_view service,
                       std::string_view amz_date);

// RFC 3986 unreserved characters kept, everything else %XX (upper case).
std::string aws_uri_encode(std::string_view text, bool encode_slash);
std::string amz_date_now();

}  // namespace switchyard
