#pragma once
// Where a Bedrock deployment's AWS credentials come from: the standard AWS
// chain, in the order the AWS SDKs use it.
//
//   1. keys in the deployment's config (aws_access_key_id / aws_secret_access_key)
//   2. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN
//   3. a profile of the shared credentials file ($AWS_SHARED_CREDENTIALS_FILE,
//      else ~/.aws/credentials): aws_profile_name, else $AWS_PROFILE, else
//      "default"
//   4. container credentials (ECS task roles, EKS Pod Identity):
//      $AWS_CONTAINER_CREDENTIALS_FULL_URI or
//      http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, with
//      $AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE)
//   5. EC2 instance metadata, IMDSv2 (session token first), at
//      $AWS_EC2_METADATA_SERVICE_ENDPOINT or http://169.254.169.254, unless
//      $AWS_EC2_METADATA_DISABLED=true
//
// Sources 1-3 are read once, when the model registry is built (at startup or
// reload, never on the request path). Sources 4-5 hand out temporary
// credentials: one background thread per source fetches them and fetches
// new ones before they expire, so a request only copies the current value
// under a short lock. Providers are shared (one per source) by every
// deployment and config snapshot that uses them, and live as long as one of
// those does.
//
// Nothing here logs or returns a secret: problem() and log lines name the
// source and the failure only.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "config/loader.h"
#include "core/error.h"
#include "upstream/aws_sigv4.h"

namespace switchyard {

class AwsCredentialsProvider {
 public:
  virtual ~AwsCredentialsProvider() = default;
  // The credentials to sign with now; empty() when none are available
  // (not fetched yet, or expired and not renewed).
  virtual AwsCredentials current() const = 0;
  // "config", "environment", "profile NAME (FILE)", "container", "imds".
  virtual std::string source() const = 0;
  // Why current() is empty, for the error a client gets. No secrets.
  virtual std::string problem() const { return {}; }
};

// The first source of the chain that applies. nullptr (and `error` says
// what was tried) when none does.
std::shared_ptr<AwsCredentialsProvider> resolve_aws_credentials(const AwsCredentials& configured,
                                                                const std::string& profile_name,
                                                                const EnvLookup& env,
                                                                std::string& error);

// --- pieces, exposed for tests ---------------------------------------------

// The keys of `profile` in an INI credentials file; nullopt when the profile
// is missing or has no key pair.
std::optional<AwsCredentials> parse_credentials_file(std::string_view text,
                                                     std::string_view profile);

struct TemporaryCredentials {
  AwsCredentials credentials;
  // nullopt: the endpoint gave no expiry (treated as valid for an hour).
  std::optional<std::chrono::system_clock::time_point> expiration;
};
// The JSON container and IMDS endpoints answer with:
// {"AccessKeyId","SecretAccessKey","Token","Expiration":"2026-01-01T00:00:00Z"}
// (IMDS adds "Code":"Success"). Error messages never quote the body.
Result<TemporaryCredentials> parse_credentials_json(std::string_view body);
// "2026-01-01T00:00:00Z" (fractional seconds allowed).
std::optional<std::chrono::system_clock::time_point> parse_iso8601_utc(std::string_view text);
// How long to wait before fetching again when the current credentials have
// `remaining` left: 5 minutes before they expire, or half their remaining
// life when that is less (short-lived credentials), at least 1 s.
std::chrono::milliseconds refresh_delay(std::chrono::milliseconds remaining);

}  // namespace switchyard
