#include "upstream/s3_client.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "telemetry/log.h"

namespace switchyard {
namespace {

constexpr const char* kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr size_t kMaxErrorBody = size_t{64} * 1024;

std::string first_set(const EnvLookup& env, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    if (auto v = env(name); v && !v->empty()) return *v;
  }
  return {};
}

// S3's XML error <Code>…</Code>; never the whole body (it may echo the key).
std::string error_code_of(const std::string& body) {
  const auto start = body.find("<Code>");
  if (start == std::string::npos) return {};
  const auto end = body.find("</Code>", start);
  if (end == std::string::npos || end - start > 80) return {};
  return body.substr(start + 6, end - start - 6);
}

Error fetch_error(const ObjectRef& object, const std::string& what) {
  return Error::make(ErrorKind::kUnavailable, object.uri() + ": " + what, "object_store_error");
}

Error status_error(const ObjectRef& object, int status, const std::string& body,
                   const S3Settings& settings) {
  std::string what = "HTTP " + std::to_string(status);
  const std::string code = error_code_of(body);
  if (!code.empty()) what += " " + code;
  if (status == 404) what += " (no such bucket or key)";
  if (status == 401 && settings.google) {
    what += " (the service account's access token was refused; a new one is fetched next time)";
  } else if (status == 401 || status == 403) {
    what += " (access denied: check the credentials and the bucket policy";
    if (!settings.credentials && !settings.google) {
      what += "; the request was unsigned: " + settings.credentials_error;
    }
    what += ")";
  }
  return fetch_error(object, what);
}

// Where a body goes: a string (bounded) or a file.
struct Sink {
  std::string* text = nullptr;
  size_t max_bytes = 0;
  std::ofstream* file = nullptr;
  int* status = nullptr;  // the HTTP status, when one came back
};

awaitable<Result<S3Object>> exchange(ConnectionPool& pool, S3Request req, ObjectRef object,
                                     const S3Settings* settings, Clock::time_point deadline,
                                     Sink sink) {
  UpstreamCall call(pool, req.endpoint);
  const UpstreamFailure failure = co_await call.start(req.request, deadline);
  if (failure != UpstreamFailure::kNone) {
    co_return fetch_error(object, std::string("request failed (") + upstream_failure_name(failure) +
                                      ") to " + req.endpoint.host + ":" + req.endpoint.port);
  }
  S3Object out;
  const int status = call.status();
  if (sink.status != nullptr) *sink.status = status;
  out.etag = call.header("etag");
  if (status == 304) {
    out.not_modified = true;
    std::string ignored;
    co_await call.read_all(ignored, deadline, kMaxErrorBody);
    call.finish();
    co_return out;
  }
  if (status != 200) {
    std::string body;
    co_await call.read_all(body, deadline, kMaxErrorBody);
    call.finish();
    co_return status_error(object, status, body, *settings);
  }
  std::string chunk;
  while (!call.body_done()) {
    chunk.clear();
    const UpstreamFailure read = co_await call.read_some(chunk, deadline);
    if (read != UpstreamFailure::kNone) {
      co_return fetch_error(object,
                            std::string("body read failed (") + upstream_failure_name(read) + ")");
    }
    out.size += chunk.size();
    if (sink.file != nullptr) {
      sink.file->write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
      if (!*sink.file) co_return fetch_error(object, "cannot write the downloaded file");
    } else {
      if (out.size > sink.max_bytes) {
        call.cancel();
        co_return fetch_error(object, "larger than " + std::to_string(sink.max_bytes) + " bytes");
      }
      sink.text->append(chunk);
    }
  }
  call.finish();
  co_return out;
}

}  // namespace

std::optional<ObjectRef> parse_s3_uri(std::string_view uri) {
  constexpr std::string_view kScheme = "s3://";
  if (!uri.starts_with(kScheme)) return std::nullopt;
  uri.remove_prefix(kScheme.size());
  const auto slash = uri.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 >= uri.size()) {
    return std::nullopt;
  }
  return ObjectRef{std::string(uri.substr(0, slash)), std::string(uri.substr(slash + 1)), "s3"};
}

std::optional<ObjectRef> parse_object_uri(std::string_view uri) {
  constexpr std::string_view kGs = "gs://";
  if (!uri.starts_with(kGs)) return parse_s3_uri(uri);
  auto object = parse_s3_uri("s3://" + std::string(uri.substr(kGs.size())));
  if (object) object->scheme = "gs";
  return object;
}

S3Settings S3Settings::from_env(const EnvLookup& env) {
  S3Settings s;
  const std::string region = first_set(env, {"AWS_REGION", "AWS_DEFAULT_REGION"});
  if (!region.empty()) s.region = region;
  s.endpoint_text = first_set(env, {"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"});
  if (!s.endpoint_text.empty()) {
    auto parsed = parse_endpoint(s.endpoint_text);
    if (parsed) {
      s.endpoint = std::move(*parsed);
    } else {
      s.credentials_error = "AWS_ENDPOINT_URL(_S3): " + parsed.error().message;
    }
  }
  std::string error;
  s.credentials = resolve_aws_credentials({}, "", env, error);
  if (!s.credentials && s.credentials_error.empty()) s.credentials_error = error;
  s.auth = s.credentials ? "aws" : "none";
  return s;
}

S3Settings S3Settings::gcs_from_env(const EnvLookup& env) {
  S3Settings s;
  s.region = first_set(env, {"CONFIG_GCS_REGION"});
  if (s.region.empty()) s.region = "auto";
  const std::string configured = first_set(env, {"CONFIG_GCS_ENDPOINT"});
  const std::string emulator = first_set(env, {"STORAGE_EMULATOR_HOST"});
  s.endpoint_text = configured.empty() ? emulator : configured;
  if (s.endpoint_text.empty()) s.endpoint_text = "https://storage.googleapis.com";
  if (!s.endpoint_text.starts_with("http://") && !s.endpoint_text.starts_with("https://")) {
    s.endpoint_text = "http://" + s.endpoint_text;  // STORAGE_EMULATOR_HOST may be host:port
  }
  if (auto parsed = parse_endpoint(s.endpoint_text)) s.endpoint = std::move(*parsed);
  const bool to_emulator = configured.empty() && !emulator.empty();
  const auto no_env = [](const std::string&) { return std::optional<std::string>(); };
  auto hmac_from = [&](const char* id_var, const char* alt_id_var, const char* secret_var) -> bool {
    AwsCredentials hmac;
    hmac.access_key_id = first_set(env, {id_var, alt_id_var});
    hmac.secret_access_key = first_set(env, {secret_var});
    if (hmac.access_key_id.empty() || hmac.secret_access_key.empty()) return false;
    std::string ignored;
    s.credentials = resolve_aws_credentials(hmac, "", no_env, ignored);
    s.auth = "hmac";
    return s.credentials != nullptr;
  };
  if (hmac_from("GCS_HMAC_ACCESS_ID", "GCS_HMAC_KEY", "GCS_HMAC_SECRET")) return s;
  const std::string key_file = first_set(env, {"GOOGLE_APPLICATION_CREDENTIALS"});
  if (!key_file.empty() && !to_emulator) {
    s.google = std::make_shared<GoogleTokenSource>(key_file);
    s.auth = "service_account";
    return s;
  }
  if (hmac_from("AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")) return s;
  s.auth = "none";
  s.credentials_error =
      to_emulator ? "STORAGE_EMULATOR_HOST is set: requests to the emulator are not authenticated"
                  : "no GCS credentials (GOOGLE_APPLICATION_CREDENTIALS names a service-account "
                    "key file; or GCS_HMAC_ACCESS_ID / GCS_HMAC_SECRET)";
  return s;
}

S3Request build_gcs_bearer_get(const S3Settings& settings, const ObjectRef& object,
                               const std::string& bearer_token, const std::string& if_none_match) {
  S3Request out;
  if (settings.endpoint) out.endpoint = *settings.endpoint;
  out.request.method = http::verb::get;
  out.request.target = out.endpoint.base_path + "/" + aws_uri_encode(object.bucket, true) + "/" +
                       aws_uri_encode(object.key, false);
  if (!bearer_token.empty()) {
    out.request.headers.emplace_back("authorization", "Bearer " + bearer_token);
  }
  if (!if_none_match.empty()) out.request.headers.emplace_back("if-none-match", if_none_match);
  return out;
}

S3Request build_s3_get(const S3Settings& settings, const ObjectRef& object,
                       const AwsCredentials& credentials, std::string_view amz_date,
                       const std::string& if_none_match,
                       const std::vector<std::pair<std::string, std::string>>& extra_headers) {
  S3Request out;
  const std::string key_path = aws_uri_encode(object.key, false);
  if (settings.endpoint) {
    out.endpoint = *settings.endpoint;
    out.request.target =
        out.endpoint.base_path + "/" + aws_uri_encode(object.bucket, true) + "/" + key_path;
  } else {
    out.endpoint.tls = true;
    out.endpoint.port = "443";
    const std::string regional = settings.region == "us-east-1"
                                     ? "s3.amazonaws.com"
                                     : "s3." + settings.region + ".amazonaws.com";
    // Bucket names with dots do not match the *.s3 wildcard certificate.
    if (object.bucket.find('.') == std::string::npos) {
      out.endpoint.host = object.bucket + "." + regional;
      out.request.target = "/" + key_path;
    } else {
      out.endpoint.host = regional;
      out.request.target = "/" + object.bucket + "/" + key_path;
    }
  }
  out.request.method = http::verb::get;
  SigV4Request sig;
  sig.method = "GET";
  sig.path = out.request.target;
  sig.double_encode_path = false;  // S3 signs the path as sent
  sig.payload_sha256_hex = kEmptySha256;
  sig.headers = {{"host", out.endpoint.host_header()},
                 {"x-amz-content-sha256", kEmptySha256},
                 {"x-amz-date", std::string(amz_date)}};
  if (!credentials.session_token.empty()) {
    sig.headers.emplace_back("x-amz-security-token", credentials.session_token);
  }
  for (const auto& h : extra_headers) sig.headers.push_back(h);
  for (const auto& [name, value] : sig.headers) {
    if (name != "host") out.request.headers.emplace_back(name, value);
  }
  if (!credentials.empty()) {
    const auto signature = sign_v4(sig, credentials, settings.region, settings.service, amz_date);
    out.request.headers.emplace_back("authorization", signature.authorization);
  }
  if (!if_none_match.empty()) out.request.headers.emplace_back("if-none-match", if_none_match);
  return out;
}

struct S3Client::Impl {
  asio::io_context io{1};
  std::unique_ptr<ssl::context> tls = make_client_tls_context();
  ConnectionPool pool{io, *tls, std::chrono::seconds(10), 2};

  template <typename T>
  static awaitable<void> into(awaitable<T> op, std::optional<T>* out) {
    *out = co_await std::move(op);
  }

  // Runs one operation to completion on this client's io_context (the
  // calling thread blocks; it is a background thread).
  template <typename T>
  std::optional<T> run(awaitable<T> op) {
    std::optional<T> out;
    io.restart();
    asio::co_spawn(io, into(std::move(op), &out), asio::detached);
    io.run();
    return out;
  }

  // The service account's access token: the cached one while fresh, else a
  // new one; a still-valid cached one when getting a new one fails.
  Result<std::string> bearer(GoogleTokenSource& source, Clock::time_point deadline) {
    if (auto token = source.fresh(Clock::now())) return *token;
    auto got = run(source.refresh(pool, deadline));
    if (!got) return Error::make(ErrorKind::kInternal, "token request did not complete");
    if (*got) return std::move(*got);
    if (auto token = source.still_valid(Clock::now())) {
      log_event(LogLevel::kWarning,
                "cannot renew the GCS access token; using the current one until it expires",
                {{"error", json_string(got->error().message)}});
      return *token;
    }
    return std::move(*got);
  }

  // The request for one GET: signed (SigV4), with a Bearer token, or unsigned.
  Result<S3Request> prepare(const S3Settings& settings, const ObjectRef& object,
                            const std::string& if_none_match, Clock::time_point deadline) {
    if (!settings.endpoint_text.empty() && !settings.endpoint) {
      return fetch_error(object, "endpoint " + settings.endpoint_text + " is not an http(s) URL" +
                                     (settings.credentials_error.empty()
                                          ? std::string()
                                          : " (" + settings.credentials_error + ")"));
    }
    if (settings.google) {
      auto token = bearer(*settings.google, deadline);
      if (!token) return fetch_error(object, "service-account token: " + token.error().message);
      return build_gcs_bearer_get(settings, object, *token, if_none_match);
    }
    AwsCredentials credentials;
    if (settings.credentials) {
      credentials = settings.credentials->current();
      if (credentials.empty()) {
        return fetch_error(object, "AWS credentials (" + settings.credentials->source() +
                                       ") not available: " + settings.credentials->problem());
      }
    }
    return build_s3_get(settings, object, credentials, amz_date_now(), if_none_match);
  }

  Result<S3Object> fetch(const S3Settings& settings, const ObjectRef& object,
                         const std::string& if_none_match, Clock::time_point deadline, Sink sink) {
    auto request = prepare(settings, object, if_none_match, deadline);
    if (!request) return request.error();
    int status = 0;
    sink.status = &status;
    auto out = run(exchange(pool, std::move(*request), object, &settings, deadline, sink));
    if (!out) return Error::make(ErrorKind::kInternal, "object fetch did not complete");
    // A token the storage API refuses (revoked, or the clocks disagree) is
    // not used again.
    if (status == 401 && settings.google) settings.google->invalidate();
    return std::move(*out);
  }
};

S3Client::S3Client(S3Settings settings)
    : settings_(std::move(settings)), impl_(std::make_unique<Impl>()) {}
S3Client::~S3Client() = default;

Result<S3Object> S3Client::get(const ObjectRef& object, const std::string& if_none_match,
                               size_t max_bytes, std::chrono::milliseconds timeout) {
  std::string body;
  Sink sink{&body, max_bytes, nullptr};
  auto result = impl_->fetch(settings_, object, if_none_match, Clock::now() + timeout, sink);
  if (result && !result->not_modified) result->body = std::move(body);
  return result;
}

Result<S3Object> S3Client::get_to_file(const ObjectRef& object, const std::string& if_none_match,
                                       const std::string& path, std::chrono::milliseconds timeout) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  const std::string temp = path + ".download-" + std::to_string(::getpid());
  std::ofstream file(temp, std::ios::binary | std::ios::trunc);
  if (!file) return fetch_error(object, "cannot write " + temp);
  Sink sink{nullptr, 0, &file};
  auto result = impl_->fetch(settings_, object, if_none_match, Clock::now() + timeout, sink);
  file.close();
  if (!result || result->not_modified || !file) {
    fs::remove(temp, ec);
    if (result && !result->not_modified && !file)
      return fetch_error(object, "cannot write " + temp);
    return result;
  }
  fs::rename(temp, path, ec);
  if (ec) {
    fs::remove(temp, ec);
    return fetch_error(object, "cannot move the download to " + path + ": " + ec.message());
  }
  return result;
}

}  // namespace switchyard
