#include "upstream/google_credentials.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <boost/json.hpp>
#include <cctype>
#include <fstream>
#include <memory>
#include <sstream>

#include "upstream/aws_credentials.h"
#include "upstream/aws_sigv4.h"

namespace switchyard {
namespace json = boost::json;

namespace {

constexpr size_t kMaxKeyFileBytes = size_t{64} * 1024;
constexpr size_t kMaxTokenBody = size_t{64} * 1024;
constexpr size_t kMaxQuotedError = 200;

Error credentials_error(std::string message) {
  return Error::make(ErrorKind::kUnavailable, std::move(message), "gcs_credentials_unavailable");
}

std::string shortened(std::string_view text) {
  std::string out(text.substr(0, kMaxQuotedError));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  if (text.size() > kMaxQuotedError) out += "...";
  return out;
}

std::string string_field(const json::object& doc, const char* name) {
  const json::value* v = doc.if_contains(name);
  if (v == nullptr || !v->is_string()) return {};
  return std::string(v->as_string());
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// A PEM with a passphrase must fail, not prompt on a terminal.
int no_passphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*user*/) { return 0; }

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};

Result<std::string> rs256_sign(const Secret& pem, std::string_view data) {
  const std::string& text = pem.reveal();
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!bio) return credentials_error("out of memory reading private_key");
  std::unique_ptr<EVP_PKEY, PkeyDeleter> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  ERR_clear_error();
  if (!key) return credentials_error("private_key is not a PEM private key");
  if (EVP_PKEY_base_id(key.get()) != EVP_PKEY_RSA) {
    return credentials_error("private_key is not an RSA key (RS256 needs one)");
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  size_t length = 0;
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &length, bytes, data.size()) != 1) {
    ERR_clear_error();
    return credentials_error("cannot sign with private_key");
  }
  std::string signature(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length, bytes,
                     data.size()) != 1) {
    ERR_clear_error();
    return credentials_error("cannot sign with private_key");
  }
  signature.resize(length);
  return signature;
}

std::string jwt_header(const GoogleServiceAccount& account) {
  json::object header;
  header["alg"] = "RS256";
  header["typ"] = "JWT";
  if (!account.private_key_id.empty()) header["kid"] = account.private_key_id;
  return json::serialize(header);
}

std::string jwt_claims(const GoogleServiceAccount& account, std::string_view scope, int64_t iat) {
  json::object claims;
  claims["iss"] = account.client_email;
  claims["scope"] = scope;
  claims["aud"] = account.token_uri;
  claims["iat"] = iat;
  claims["exp"] = iat + kAssertionLifetimeSeconds;
  return json::serialize(claims);
}

int64_t unix_seconds_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<GoogleServiceAccount> GoogleServiceAccount::parse(std::string_view text) {
  error_code ec;
  json::value doc = json::parse(text, ec);
  if (ec || !doc.is_object()) return credentials_error("not a JSON object");
  const auto& obj = doc.as_object();
  const std::string type = string_field(obj, "type");
  if (type != "service_account") {
    std::string what = "\"type\" is ";
    if (type.empty()) {
      what += "missing";
    } else {
      what.append("\"").append(shortened(type)).append("\"");
    }
    what +=
        ", expected \"service_account\" (user and external-account credentials are not "
        "supported)";
    return credentials_error(what);
  }
  GoogleServiceAccount account;
  account.client_email = string_field(obj, "client_email");
  account.private_key_id = string_field(obj, "private_key_id");
  account.private_key_pem = Secret(string_field(obj, "private_key"));
  const std::string token_uri = string_field(obj, "token_uri");
  if (!token_uri.empty()) account.token_uri = token_uri;
  if (account.client_email.empty()) return credentials_error("\"client_email\" is missing");
  if (account.private_key_pem.empty()) return credentials_error("\"private_key\" is missing");
  if (!parse_endpoint(account.token_uri)) {
    return credentials_error("\"token_uri\" is not an http(s) URL");
  }
  return account;
}

Result<GoogleServiceAccount> GoogleServiceAccount::load_file(const std::string& path) {
  const std::string origin = "GOOGLE_APPLICATION_CREDENTIALS (" + path + "): ";
  std::ifstream in(path, std::ios::binary);
  if (!in) return credentials_error(origin + "cannot open the key file");
  std::string text(kMaxKeyFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxKeyFileBytes) return credentials_error(origin + "key file too large");
  auto account = parse(text);
  if (!account) return credentials_error(origin + account.error().message);
  return account;
}

std::string base64url_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t n = (static_cast<uint8_t>(bytes[i]) << 16) |
                       (static_cast<uint8_t>(bytes[i + 1]) << 8) |
                       static_cast<uint8_t>(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t n = static_cast<uint8_t>(bytes[i]) << 16;
    if (rest == 2) n |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    if (rest == 2) out += kAlphabet[(n >> 6) & 63];
  }
  return out;
}

Result<std::string> build_service_account_jwt(const GoogleServiceAccount& account,
                                              std::string_view scope, int64_t issued_at_unix) {
  std::string signing_input = base64url_encode(jwt_header(account)) + "." +
                              base64url_encode(jwt_claims(account, scope, issued_at_unix));
  auto signature = rs256_sign(account.private_key_pem, signing_input);
  if (!signature) return signature.error();
  return signing_input + "." + base64url_encode(*signature);
}

std::string token_request_body(std::string_view assertion) {
  return "grant_type=" + aws_uri_encode("urn:ietf:params:oauth:grant-type:jwt-bearer", true) +
         "&assertion=" + aws_uri_encode(assertion, true);
}

Result<GoogleAccessToken> parse_token_response(int status, std::string_view body,
                                               std::string_view token_uri) {
  const std::string where = "token request to " + std::string(token_uri);
  error_code ec;
  json::value doc = json::parse(body, ec);
  const json::object* obj = !ec && doc.is_object() ? &doc.as_object() : nullptr;
  if (status != 200) {
    std::string what = where + " failed: HTTP " + std::to_string(status);
    if (obj != nullptr) {
      const std::string code = string_field(*obj, "error");
      const std::string description = string_field(*obj, "error_description");
      if (!code.empty()) what.append(" ").append(shortened(code));
      if (!description.empty()) what.append(": ").append(shortened(description));
    }
    return credentials_error(what);
  }
  if (obj == nullptr) return credentials_error(where + ": the answer is not a JSON object");
  GoogleAccessToken out;
  out.access_token = Secret(string_field(*obj, "access_token"));
  if (out.access_token.empty()) return credentials_error(where + ": no access_token in the answer");
  const std::string type = string_field(*obj, "token_type");
  if (!type.empty() && !equals_ignoring_case(type, "bearer")) {
    return credentials_error(where + ": token_type is \"" + shortened(type) + "\", not Bearer");
  }
  const json::value* expires = obj->if_contains("expires_in");
  int64_t seconds = 0;
  if (expires != nullptr && expires->is_int64()) seconds = expires->as_int64();
  if (expires != nullptr && expires->is_uint64())
    seconds = static_cast<int64_t>(expires->as_uint64());
  if (expires != nullptr && expires->is_double())
    seconds = static_cast<int64_t>(expires->as_double());
  if (seconds <= 0) return credentials_error(where + ": no positive expires_in in the answer");
  out.expires_in = std::chrono::seconds(seconds);
  return out;
}

GoogleTokenSource::GoogleTokenSource(std::string key_file, std::string scope)
    : key_file_(std::move(key_file)), scope_(std::move(scope)) {}

std::optional<std::string> GoogleTokenSource::fresh(Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  if (token_.empty() || now >= refresh_at_) return std::nullopt;
  return token_.reveal();
}

std::optional<std::string> GoogleTokenSource::still_valid(Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  if (token_.empty() || now + std::chrono::seconds(5) >= expires_at_) return std::nullopt;
  return token_.reveal();
}

void GoogleTokenSource::invalidate() {
  std::lock_guard lock(mutex_);
  token_ = Secret();
}

std::string GoogleTokenSource::account() const {
  std::lock_guard lock(mutex_);
  return account_;
}

uint64_t GoogleTokenSource::tokens_obtained() const {
  std::lock_guard lock(mutex_);
  return tokens_obtained_;
}

Result<GoogleTokenSource::Exchange> GoogleTokenSource::prepare() {
  auto account = GoogleServiceAccount::load_file(key_file_);
  if (!account) return account.error();
  {
    std::lock_guard lock(mutex_);
    account_ = account->client_email;
  }
  auto assertion = build_service_account_jwt(*account, scope_, unix_seconds_now());
  if (!assertion) {
    return credentials_error("GOOGLE_APPLICATION_CREDENTIALS (" + key_file_ +
                             "): " + assertion.error().message);
  }
  auto endpoint = parse_endpoint(account->token_uri);
  if (!endpoint) return credentials_error("token_uri: " + endpoint.error().message);
  Exchange out;
  out.endpoint = std::move(*endpoint);
  out.token_uri = account->token_uri;
  out.request.method = http::verb::post;
  out.request.target = out.endpoint.base_path.empty() ? "/" : out.endpoint.base_path;
  out.request.headers.emplace_back("content-type", "application/x-www-form-urlencoded");
  out.request.headers.emplace_back("accept", "application/json");
  out.request.body = token_request_body(*assertion);
  return out;
}

Result<std::string> GoogleTokenSource::store(int status, const std::string& body,
                                             const std::string& token_uri) {
  auto token = parse_token_response(status, body, token_uri);
  if (!token) return token.error();
  const auto now = Clock::now();
  const auto lifetime = std::chrono::duration_cast<std::chrono::milliseconds>(token->expires_in);
  std::lock_guard lock(mutex_);
  token_ = token->access_token;
  expires_at_ = now + lifetime;
  refresh_at_ = now + std::min(refresh_delay(lifetime), lifetime);
  ++tokens_obtained_;
  return token_.reveal();
}

awaitable<Result<std::string>> GoogleTokenSource::refresh(ConnectionPool& pool,
                                                          Clock::time_point deadline) {
  auto exchange = prepare();
  if (!exchange) co_return exchange.error();
  UpstreamCall call(pool, exchange->endpoint);
  const UpstreamFailure failure = co_await call.start(exchange->request, deadline);
  if (failure != UpstreamFailure::kNone) {
    co_return credentials_error("token request to " + exchange->token_uri + " failed (" +
                                upstream_failure_name(failure) + ")");
  }
  std::string body;
  const UpstreamFailure read = co_await call.read_all(body, deadline, kMaxTokenBody);
  if (read != UpstreamFailure::kNone) {
    co_return credentials_error("token request to " + exchange->token_uri +
                                ": reading the answer failed (" + upstream_failure_name(read) +
                                ")");
  }
  call.finish();
  co_return store(call.status(), body, exchange->token_uri);
}

}  // namespace switchyard
