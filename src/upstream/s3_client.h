#pragma once
// Reads objects from S3 (and S3-compatible stores: MinIO, moto, s3rver, the
// GCS XML API with HMAC keys) with SigV4, or from the GCS XML API with a
// service account's OAuth access token, with conditional GET
// (If-None-Match), for the config sync and router-model downloads.
//
// Ownership and threads: an S3Client belongs to one background thread (the
// config sync thread, or a LearnedRouting reload thread). Its calls block
// that thread while they run a private io_context; no request worker ever
// calls it. The credentials provider is shared and thread-safe.
//
// Nothing here logs or returns a secret or an object body in an error.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/loader.h"
#include "core/error.h"
#include "upstream/aws_credentials.h"
#include "upstream/google_credentials.h"
#include "upstream/http_client.h"

namespace switchyard {

struct ObjectRef {
  std::string bucket;
  std::string key;
  std::string scheme = "s3";  // "s3" or "gs", for messages and status only
  std::string uri() const { return scheme + "://" + bucket + "/" + key; }
};

// "s3://bucket/key/with/slashes"; nullopt when not of that form.
std::optional<ObjectRef> parse_s3_uri(std::string_view uri);
// The same, also accepting "gs://bucket/key" (scheme "gs": read from GCS
// with S3Settings::gcs_from_env).
std::optional<ObjectRef> parse_object_uri(std::string_view uri);

struct S3Settings {
  std::string region = "us-east-1";
  // Set: path-style requests to this endpoint (MinIO, moto, GCS, ...).
  // Unset: virtual-hosted AWS endpoints.
  std::optional<UpstreamEndpoint> endpoint;
  std::string endpoint_text;  // as configured, for status output
  std::shared_ptr<AwsCredentialsProvider> credentials;
  std::string credentials_error;  // why credentials is null
  std::string service = "s3";
  // GCS with a service account: requests carry `Authorization: Bearer` with
  // an access token from this source instead of a SigV4 signature.
  std::shared_ptr<GoogleTokenSource> google;
  // How requests are authenticated, for status output: "aws", "hmac",
  // "service_account" or "none" (unsigned).
  std::string auth = "none";

  // AWS_REGION / AWS_DEFAULT_REGION, AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL,
  // and the AWS credentials chain (env keys, profile, container, IMDS).
  static S3Settings from_env(const EnvLookup& env);
  // GCS through its XML API. Endpoint: CONFIG_GCS_ENDPOINT, else
  // STORAGE_EMULATOR_HOST, else https://storage.googleapis.com.
  // Credentials, first that applies:
  //   1. GCS_HMAC_ACCESS_ID + GCS_HMAC_SECRET: HMAC key, SigV4
  //   2. GOOGLE_APPLICATION_CREDENTIALS: service-account key file, Bearer
  //      token (skipped when STORAGE_EMULATOR_HOST is the endpoint: Google's
  //      client libraries do not authenticate to the emulator either)
  //   3. AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY as an HMAC key
  //   4. none: unsigned requests (an emulator, a public object)
  static S3Settings gcs_from_env(const EnvLookup& env);
};

// Where one GET goes and what it carries; pure, so tests can compare the
// signature with AWS's published S3 example.
struct S3Request {
  UpstreamEndpoint endpoint;
  UpstreamRequest request;
};
// `extra_headers` are signed too (e.g. Range in the AWS example);
// If-None-Match is added unsigned when `if_none_match` is not empty.
S3Request build_s3_get(const S3Settings& settings, const ObjectRef& object,
                       const AwsCredentials& credentials, std::string_view amz_date,
                       const std::string& if_none_match,
                       const std::vector<std::pair<std::string, std::string>>& extra_headers = {});

// The same GET for the GCS XML API with an OAuth access token: path-style
// `{endpoint}/{bucket}/{key}`, `Authorization: Bearer` (none when
// `bearer_token` is empty), If-None-Match when set, no x-amz-* headers.
S3Request build_gcs_bearer_get(const S3Settings& settings, const ObjectRef& object,
                               const std::string& bearer_token, const std::string& if_none_match);

struct S3Object {
  bool not_modified = false;  // 304: the ETag asked about is still current
  std::string etag;           // as sent, quotes included
  std::string body;           // get(): the object; get_to_file(): empty
  uint64_t size = 0;
};

class S3Client {
 public:
  explicit S3Client(S3Settings settings);
  ~S3Client();
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;

  // GET (conditional when `if_none_match` is set). Errors name the object,
  // the HTTP status and S3's error code, never the body or a key.
  Result<S3Object> get(const ObjectRef& object, const std::string& if_none_match, size_t max_bytes,
                       std::chrono::milliseconds timeout);
  // Same, streaming the body into `path` (written whole or not at all:
  // a temporary file in the same directory, renamed at the end).
  Result<S3Object> get_to_file(const ObjectRef& object, const std::string& if_none_match,
                               const std::string& path, std::chrono::milliseconds timeout);
  const S3Settings& settings() const { return settings_; }

 private:
  struct Impl;
  S3Settings settings_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace switchyard
