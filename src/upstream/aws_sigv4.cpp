#include "upstream/aws_sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <ctime>

namespace switchyard {
namespace {

std::array<unsigned char, 32> hmac(std::string_view key, std::string_view data) {
  std::array<unsigned char, 32> out{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &length);
  return out;
}

std::string_view as_view(const std::array<unsigned char, 32>& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

std::string trim_and_collapse(std::string_view value) {
  std::string out;
  bool space = false;
  for (char c : value) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

std::string canonical_uri(const SigV4Request& r) {
  std::string path = r.path.empty() ? "/" : r.path;
  if (!r.double_encode_path) return path;
  // Encode each segment once more, keeping the separators.
  std::string out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    out += aws_uri_encode(std::string_view(path).substr(start, slash - start), true);
    if (slash < path.size()) out.push_back('/');
    start = slash + 1;
  }
  return out;
}

}  // namespace

std::string aws_uri_encode(std::string_view text, bool encode_slash) {
  static const char* kDigits = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (c == '/' && !encode_slash)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 0xf]);
    }
  }
  return out;
}

std::string amz_date_now() {
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[20];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

SigV4Signature sign_v4(const SigV4Request& request, const AwsCredentials& credentials,
                       std::string_view region, std::string_view service,
                       std::string_view amz_date) {
  SigV4Signature s;
  // Canonical query: encoded key=value pairs sorted by key, then value.
  std::vector<std::pair<std::string, std::string>> query;
  for (const auto& [k, v] : request.query) {
    query.emplace_back(aws_uri_encode(k, true), aws_uri_encode(v, true));
  }
  std::sort(query.begin(), query.end());
  std::string canonical_query;
  for (const auto& [k, v] : query) {
    if (!canonical_query.empty()) canonical_query.push_back('&');
    canonical_query += k + "=" + v;
  }
  // Canonical headers: lower-case names, sorted, values trimmed; repeated
  // names joined with commas.
  std::vector<std::pair<std::string, std::string>> headers;
  for (const auto& [name, value] : request.headers) {
    std::string lower(name.size(), '\0');
    std::transform(name.begin(), name.end(), lower.begin(), ::tolower);
    headers.emplace_back(std::move(lower), trim_and_collapse(value));
  }
  std::stable_sort(headers.begin(), headers.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string canonical_headers;
  for (size_t i = 0; i < headers.size(); ++i) {
    if (i > 0 && headers[i].first == headers[i - 1].first) {
      canonical_headers.pop_back();  // the newline
      canonical_headers += "," + headers[i].second + "\n";
      continue;
    }
    canonical_headers += headers[i].first + ":" + headers[i].second + "\n";
    if (!s.signed_headers.empty()) s.signed_headers.push_back(';');
    s.signed_headers += headers[i].first;
  }

  s.canonical_request = request.method + "\n" + canonical_uri(request) + "\n" + canonical_query +
                        "\n" + canonical_headers + "\n" + s.signed_headers + "\n" +
                        request.payload_sha256_hex;
  const std::string date(amz_date.substr(0, 8));
  const std::string scope =
      date + "/" + std::string(region) + "/" + std::string(service) + "/aws4_request";
  s.string_to_sign = "AWS4-HMAC-SHA256\n" + std::string(amz_date) + "\n" + scope + "\n" +
                     sha256_hex(s.canonical_request);
  const auto k_date = hmac("AWS4" + credentials.secret_access_key, date);
  const auto k_region = hmac(as_view(k_date), region);
  const auto k_service = hmac(as_view(k_region), service);
  const auto k_signing = hmac(as_view(k_service), "aws4_request");
  const auto signature = hmac(as_view(k_signing), s.string_to_sign);
  s.signature = hex_lower(signature.data(), signature.size());
  s.authorization = "AWS4-HMAC-SHA256 Credential=" + credentials.access_key_id + "/" + scope +
                    ", SignedHeaders=" + s.signed_headers + ", Signature=" + s.signature;
  return s;
}

}  // namespace switchyard
