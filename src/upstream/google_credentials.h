#pragma once
// Google service-account credentials for Cloud Storage reads (config sync,
// router artefacts): the JSON key file GOOGLE_APPLICATION_CREDENTIALS names,
// the RS256-signed JWT assertion of Google's server-to-server OAuth 2.0
// flow, its exchange at the key's token_uri for an access token, and a cache
// that hands the token out until shortly before it expires.
//
// Threads: a GoogleTokenSource may be shared; its cache is under a mutex.
// The exchange runs on the caller's io_context, i.e. on the config-sync or
// router reload thread, never on a request worker.
//
// Nothing here logs or returns the private key, the assertion or a token:
// errors name the key file, the field or the token endpoint's error code.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/asio.h"
#include "core/error.h"
#include "core/secret.h"
#include "upstream/http_client.h"

namespace switchyard {

inline constexpr const char* kGcsReadOnlyScope =
    "https://www.googleapis.com/auth/devstorage.read_only";
inline constexpr const char* kGoogleTokenUri = "https://oauth2.googleapis.com/token";
// Google caps an assertion's life at one hour.
inline constexpr int64_t kAssertionLifetimeSeconds = 3600;

struct GoogleServiceAccount {
  std::string client_email;
  std::string private_key_id;  // the JWT header's "kid" when present
  std::string token_uri = kGoogleTokenUri;
  Secret private_key_pem;

  // A key file's JSON ({"type":"service_account","client_email",
  // "private_key","private_key_id","token_uri",...}). Errors name the
  // field, never a value.
  static Result<GoogleServiceAccount> parse(std::string_view json);
  // Reads and parses `path`; errors start with
  // "GOOGLE_APPLICATION_CREDENTIALS (<path>): ".
  static Result<GoogleServiceAccount> load_file(const std::string& path);
};

// RFC 4648 section 5 alphabet, no padding.
std::string base64url_encode(std::string_view bytes);

// "<header>.<claims>.<signature>": header {"alg":"RS256","typ":"JWT","kid"},
// claims {"iss": client_email, "scope", "aud": token_uri, "iat",
// "exp": iat + 3600}, signed with the account's RSA key (SHA-256).
Result<std::string> build_service_account_jwt(const GoogleServiceAccount& account,
                                              std::string_view scope, int64_t issued_at_unix);

// The form body POSTed to token_uri (grant_type jwt-bearer + assertion).
std::string token_request_body(std::string_view assertion);

struct GoogleAccessToken {
  Secret access_token;
  std::chrono::seconds expires_in{0};
};
// The token endpoint's answer: 200 {"access_token","expires_in",
// "token_type":"Bearer"}, else {"error","error_description"} (quoted in
// the error, shortened; they name the problem, not a secret).
Result<GoogleAccessToken> parse_token_response(int status, std::string_view body,
                                               std::string_view token_uri);

class GoogleTokenSource {
 public:
  explicit GoogleTokenSource(std::string key_file, std::string scope = kGcsReadOnlyScope);

  const std::string& key_file() const { return key_file_; }
  // The cached token when it is not yet due for refresh: 5 minutes before
  // it expires, or after half its life when that is shorter.
  std::optional<std::string> fresh(Clock::time_point now) const;
  // The cached token while it has more than 5 s left, due or not: used when
  // a refresh fails, so a token endpoint outage costs nothing until then.
  std::optional<std::string> still_valid(Clock::time_point now) const;
  // Obtains a new token on `pool`: reads the key file again (a rotated key
  // is picked up), signs an assertion, POSTs it to token_uri.
  awaitable<Result<std::string>> refresh(ConnectionPool& pool, Clock::time_point deadline);
  // Forgets the cached token (the storage API answered 401).
  void invalidate();
  // client_email of the key file last read ("" before the first read).
  std::string account() const;
  uint64_t tokens_obtained() const;

 private:
  struct Exchange {
    UpstreamEndpoint endpoint;
    UpstreamRequest request;
    std::string token_uri;
  };
  Result<Exchange> prepare();
  Result<std::string> store(int status, const std::string& body, const std::string& token_uri);

  std::string key_file_;
  std::string scope_;
  mutable std::mutex mutex_;  // guards the fields below
  Secret token_;
  Clock::time_point refresh_at_{};
  Clock::time_point expires_at_{};
  std::string account_;
  uint64_t tokens_obtained_ = 0;
};

}  // namespace switchyard
