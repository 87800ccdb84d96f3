#include "upstream/aws_credentials.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "test_env.h"

using namespace switchyard;
using std::chrono::milliseconds;

namespace {

const char* kCredentialsFile = R"(
# comment
[default]
aws_access_key_id = AKIDDEFAULT
aws_secret_access_key=secret-default

[work]
aws_access_key_id   =   AKIDWORK
aws_secret_access_key = secret-work
aws_session_token = token-work
; another comment
[profile config-style]
aws_access_key_id = AKIDCFG
aws_secret_access_key = secret-cfg
[role-only]
role_arn = arn:aws:iam::123456789012:role/x
source_profile = default
)";

struct TempFile {
  std::filesystem::path path;
  explicit TempFile(const std::string& text) {
    path = std::filesystem::temp_directory_path() /
           ("switchyard-aws-credentials-" + std::to_string(::getpid()));
    std::ofstream(path) << text;
  }
  ~TempFile() { std::filesystem::remove(path); }
};

}  // namespace

TEST(AwsCredentials, ParsesProfilesOfTheCredentialsFile) {
  auto def = parse_credentials_file(kCredentialsFile, "default");
  ASSERT_TRUE(def);
  EXPECT_EQ(def->access_key_id, "AKIDDEFAULT");
  EXPECT_EQ(def->secret_access_key, "secret-default");
  EXPECT_EQ(def->session_token, "");
  auto work = parse_credentials_file(kCredentialsFile, "work");
  ASSERT_TRUE(work);
  EXPECT_EQ(work->access_key_id, "AKIDWORK");
  EXPECT_EQ(work->secret_access_key, "secret-work");
  EXPECT_EQ(work->session_token, "token-work");
  ASSERT_TRUE(parse_credentials_file(kCredentialsFile, "config-style"));
  EXPECT_EQ(parse_credentials_file(kCredentialsFile, "config-style")->access_key_id, "AKIDCFG");
  EXPECT_FALSE(parse_credentials_file(kCredentialsFile, "role-only"));  // no keys
  EXPECT_FALSE(parse_credentials_file(kCredentialsFile, "missing"));
}

TEST(AwsCredentials, ParsesContainerAndImdsAnswers) {
  auto imds = parse_credentials_json(
      R"({"Code":"Success","LastUpdated":"2026-01-01T00:00:00Z","Type":"AWS-HMAC",
          "AccessKeyId":"ASIAX","SecretAccessKey":"s","Token":"t",
          "Expiration":"2026-01-01T06:00:00Z"})");
  ASSERT_TRUE(imds);
  EXPECT_EQ(imds->credentials.access_key_id, "ASIAX");
  EXPECT_EQ(imds->credentials.session_token, "t");
  ASSERT_TRUE(imds->expiration);
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*imds->expiration), 1767247200);

  auto no_expiry = parse_credentials_json(R"({"AccessKeyId":"A","SecretAccessKey":"s"})");
  ASSERT_TRUE(no_expiry);
  EXPECT_FALSE(no_expiry->expiration);

  EXPECT_FALSE(parse_credentials_json(R"({"Code":"AssumeRoleUnauthorizedAccess"})"));
  EXPECT_FALSE(parse_credentials_json(R"({"AccessKeyId":"A"})"));
  EXPECT_FALSE(parse_credentials_json("<html>"));
  auto bad_time = parse_credentials_json(
      R"({"AccessKeyId":"A","SecretAccessKey":"s","Expiration":"tomorrow"})");
  ASSERT_FALSE(bad_time);
  // Error messages never quote the answer (it holds secrets).
  EXPECT_EQ(bad_time.error().message.find("tomorrow"), std::string::npos);
}

TEST(AwsCredentials, ParsesIso8601Utc) {
  auto t = parse_iso8601_utc("2026-01-01T06:00:00Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*t), 1767247200);
  auto fractional = parse_iso8601_utc("2026-01-01T06:00:00.250Z");
  ASSERT_TRUE(fractional);
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*fractional), 1767247200);
  EXPECT_FALSE(parse_iso8601_utc("2026-01-01 06:00:00"));
  EXPECT_FALSE(parse_iso8601_utc("2026-01-01T06:00:00+01:00"));
}

TEST(AwsCredentials, RefreshesFiveMinutesAheadOrAtHalfLife) {
  using std::chrono::hours;
  using std::chrono::minutes;
  EXPECT_EQ(refresh_delay(hours(6)), hours(6) - minutes(5));
  EXPECT_EQ(refresh_delay(minutes(15)), minutes(10));
  EXPECT_EQ(refresh_delay(minutes(8)), minutes(4));  // under 10 min: half the remaining life
  EXPECT_EQ(refresh_delay(milliseconds(4000)), milliseconds(2000));
  EXPECT_EQ(refresh_delay(milliseconds(500)), milliseconds(1000));  // floor
  EXPECT_EQ(refresh_delay(milliseconds(-5000)), milliseconds(1000));
}

TEST(AwsCredentials, ChainOrderConfigThenEnvironmentThenProfile) {
  TempFile file(kCredentialsFile);
  std::string error;
  AwsCredentials configured{"AKIDCONFIG", "secret-config", ""};
  const auto env = env_from({{"AWS_ACCESS_KEY_ID", "AKIDENV"},
                             {"AWS_SECRET_ACCESS_KEY", "secret-env"},
                             {"AWS_SHARED_CREDENTIALS_FILE", file.path.string()}});
  auto p = resolve_aws_credentials(configured, "", env, error);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->source(), "config");
  EXPECT_EQ(p->current().access_key_id, "AKIDCONFIG");

  p = resolve_aws_credentials({}, "", env, error);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->source(), "environment");
  EXPECT_EQ(p->current().access_key_id, "AKIDENV");

  p = resolve_aws_credentials(
      {}, "", env_from({{"AWS_SHARED_CREDENTIALS_FILE", file.path.string()}}), error);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->current().access_key_id, "AKIDDEFAULT");

  p = resolve_aws_credentials(
      {}, "",
      env_from({{"AWS_SHARED_CREDENTIALS_FILE", file.path.string()}, {"AWS_PROFILE", "work"}}),
      error);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->current().access_key_id, "AKIDWORK");
  EXPECT_EQ(p->current().session_token, "token-work");
  EXPECT_EQ(p->source(), "profile work (" + file.path.string() + ")");

  // aws_profile_name (the deployment's) wins over AWS_PROFILE.
  p = resolve_aws_credentials(
      {}, "config-style",
      env_from({{"AWS_SHARED_CREDENTIALS_FILE", file.path.string()}, {"AWS_PROFILE", "work"}}),
      error);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->current().access_key_id, "AKIDCFG");

  // HOME/.aws/credentials when no file is named.
  const auto home =
      std::filesystem::temp_directory_path() / ("switchyard-home-" + std::to_string(::getpid()));
  std::filesystem::create_directories(home / ".aws");
  std::ofstream(home / ".aws" / "credentials") << kCredentialsFile;
  p = resolve_aws_credentials({}, "work", env_from({{"HOME", home.string()}}), error);
  std::filesystem::remove_all(home);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->current().access_key_id, "AKIDWORK");
}

TEST(AwsCredentials, ANamedProfileThatIsMissingIsAnError) {
  TempFile file(kCredentialsFile);
  std::string error;
  auto p = resolve_aws_credentials(
      {}, "role-only", env_from({{"AWS_SHARED_CREDENTIALS_FILE", file.path.string()}}), error);
  EXPECT_FALSE(p);
  EXPECT_NE(error.find("AWS profile 'role-only'"), std::string::npos) << error;
}

TEST(AwsCredentials, NothingConfiguredAndMetadataDisabledIsAnError) {
  std::string error;
  auto p =
      resolve_aws_credentials({}, "", env_from({{"AWS_EC2_METADATA_DISABLED", "true"}}), error);
  EXPECT_FALSE(p);
  EXPECT_NE(error.find("AWS_EC2_METADATA_DISABLED"), std::string::npos) << error;

  p = resolve_aws_credentials(
      {}, "", env_from({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "https://example.com/creds"}}),
      error);
  EXPECT_FALSE(p);
  EXPECT_NE(error.find("only http://"), std::string::npos) << error;
}

TEST(AwsCredentials, UnreachableMetadataGivesNoCredentialsAndSaysWhy) {
  // A port nobody listens on: the background fetch fails fast, and the
  // provider reports it instead of handing out empty keys.
  std::string error;
  auto p = resolve_aws_credentials(
      {}, "", env_from({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1"}}), error);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->source(), "imds");
  EXPECT_TRUE(p->current().empty());
  for (int i = 0; i < 100 && p->problem().find("not fetched yet") != std::string::npos; ++i) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_NE(p->problem().find("cannot connect to 127.0.0.1:1"), std::string::npos) << p->problem();
}
