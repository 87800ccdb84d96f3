// SigV4 against AWS's published vectors (the Signature Version 4 test suite
// and the S3 "GET Object" example in the S3 API reference).
#include <gtest/gtest.h>

#include "upstream/aws_sigv4.h"

using namespace switchyard;

namespace {
const AwsCredentials kSuiteCredentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                       ""};
constexpr const char* kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
}  // namespace

TEST(SigV4, SuiteGetVanilla) {
  SigV4Request r;
  r.method = "GET";
  r.path = "/";
  r.headers = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}};
  r.payload_sha256_hex = kEmptySha256;
  auto s = sign_v4(r, kSuiteCredentials, "us-east-1", "service", "20150830T123600Z");
  EXPECT_EQ(s.canonical_request,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-"
            "date\n" +
                std::string(kEmptySha256));
  EXPECT_EQ(s.signature, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  EXPECT_EQ(s.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4, SuiteQueryOrderKeyCase) {
  SigV4Request r;
  r.method = "GET";
  r.path = "/";
  r.query = {{"Param2", "value2"}, {"Param1", "value1"}};
  r.headers = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}};
  r.payload_sha256_hex = kEmptySha256;
  auto s = sign_v4(r, kSuiteCredentials, "us-east-1", "service", "20150830T123600Z");
  EXPECT_EQ(s.signature, "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

TEST(SigV4, S3GetObjectExample) {
  SigV4Request r;
  r.method = "GET";
  r.path = "/test.txt";
  r.double_encode_path = false;  // S3 signs the path as sent
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
               {"Range", "bytes=0-9"},
               {"x-amz-content-sha256", kEmptySha256},
               {"x-amz-date", "20130524T000000Z"}};
  r.payload_sha256_hex = kEmptySha256;
  AwsCredentials creds{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
  auto s = sign_v4(r, creds, "us-east-1", "s3", "20130524T000000Z");
  EXPECT_EQ(sha256_hex(s.canonical_request),
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(s.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(s.signed_headers, "host;range;x-amz-content-sha256;x-amz-date");
}

TEST(SigV4, NonS3PathsAreEncodedTwice) {
  // Bedrock model ids carry ':' which is sent as %3A and signed as %253A.
  SigV4Request r;
  r.method = "POST";
  r.path = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse";
  r.headers = {{"host", "bedrock-runtime.us-east-1.amazonaws.com"},
               {"x-amz-date", "20240101T000000Z"}};
  r.payload_sha256_hex = sha256_hex("{}");
  auto s = sign_v4(r, kSuiteCredentials, "us-east-1", "bedrock", "20240101T000000Z");
  EXPECT_NE(s.canonical_request.find("\n/model/anthropic.claude-3-haiku-20240307-v1%253A0/converse\n"),
            std::string::npos)
      << s.canonical_request;
}

TEST(SigV4, UriEncoding) {
  EXPECT_EQ(aws_uri_encode("a b/c~d", true), "a%20b%2Fc~d");
  EXPECT_EQ(aws_uri_encode("a b/c", false), "a%20b/c");
  EXPECT_EQ(amz_date_now().size(), 16u);
}
