// Service-account JWTs are checked the way Google's token endpoint checks
// them: the signature verified with the public half of a key pair generated
// here, header and claims decoded and compared field by field.
#include "upstream/google_credentials.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <memory>

#include "test_env.h"
#include "upstream/s3_client.h"

using namespace switchyard;
namespace json = boost::json;

namespace {

struct Pkey {
  EVP_PKEY* key = nullptr;
  explicit Pkey(EVP_PKEY* k) : key(k) {}
  ~Pkey() { EVP_PKEY_free(key); }
  Pkey(const Pkey&) = delete;
  Pkey& operator=(const Pkey&) = delete;
};

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

std::string private_pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  return bio_text(bio);
}

std::string public_pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  return bio_text(bio);
}

std::unique_ptr<Pkey> read_public(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  auto key = std::make_unique<Pkey>(PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return key;
}

std::string base64url_decode(std::string text) {
  for (char& c : text) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  const size_t pad = (4 - text.size() % 4) % 4;
  text.append(pad, '=');
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return {};
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

bool verify_rs256(const std::string& public_key_pem, const std::string& signed_part,
                  const std::string& signature) {
  auto key = read_public(public_key_pem);
  if (key->key == nullptr) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok =
      EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key->key) == 1 &&
      EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(signed_part.data()),
                       signed_part.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

struct Jwt {
  std::string header_b64, claims_b64, signature_b64;
  json::object header, claims;
};

Jwt split(const std::string& jwt) {
  Jwt out;
  const auto a = jwt.find('.');
  const auto b = jwt.find('.', a + 1);
  EXPECT_NE(a, std::string::npos);
  EXPECT_NE(b, std::string::npos);
  EXPECT_EQ(jwt.find('.', b + 1), std::string::npos);
  out.header_b64 = jwt.substr(0, a);
  out.claims_b64 = jwt.substr(a + 1, b - a - 1);
  out.signature_b64 = jwt.substr(b + 1);
  for (const auto* part : {&out.header_b64, &out.claims_b64, &out.signature_b64}) {
    EXPECT_EQ(part->find_first_of("+/="), std::string::npos) << "not base64url: " << *part;
  }
  out.header = json::parse(base64url_decode(out.header_b64)).as_object();
  out.claims = json::parse(base64url_decode(out.claims_b64)).as_object();
  return out;
}

class ServiceAccountKey : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    key_ = new Pkey(EVP_RSA_gen(2048));
    other_ = new Pkey(EVP_RSA_gen(2048));
  }
  static void TearDownTestSuite() {
    delete key_;
    delete other_;
  }
  GoogleServiceAccount account() const {
    GoogleServiceAccount a;
    a.client_email = "gateway@example-project.iam.gserviceaccount.com";
    a.private_key_id = "0123456789abcdef";
    a.token_uri = "http://127.0.0.1:9/token";
    a.private_key_pem = Secret(private_pem(key_->key));
    return a;
  }
  static Pkey* key_;
  static Pkey* other_;
};
Pkey* ServiceAccountKey::key_ = nullptr;
Pkey* ServiceAccountKey::other_ = nullptr;

std::string key_file_json(const std::string& private_key, const std::string& type) {
  json::object doc;
  doc["type"] = type;
  doc["project_id"] = "example-project";
  doc["private_key_id"] = "0123456789abcdef";
  doc["private_key"] = private_key;
  doc["client_email"] = "gateway@example-project.iam.gserviceaccount.com";
  doc["token_uri"] = "http://127.0.0.1:9/token";
  return json::serialize(doc);
}

}  // namespace

TEST(Base64Url, Rfc4648VectorsWithoutPadding) {
  EXPECT_EQ(base64url_encode(""), "");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(base64url_encode("foob"), "Zm9vYg");
  EXPECT_EQ(base64url_encode("fooba"), "Zm9vYmE");
  EXPECT_EQ(base64url_encode("foobar"), "Zm9vYmFy");
  // The two characters that differ from standard base64.
  EXPECT_EQ(base64url_encode(std::string("\xfb\xff\xbf", 3)), "-_-_");
}

TEST_F(ServiceAccountKey, JwtIsSignedWithTheKeyAndCarriesGooglesClaims) {
  const int64_t iat = 1'700'000'000;
  auto jwt = build_service_account_jwt(account(), kGcsReadOnlyScope, iat);
  ASSERT_TRUE(jwt) << jwt.error().message;
  const Jwt parts = split(*jwt);

  EXPECT_EQ(parts.header.at("alg").as_string(), "RS256");
  EXPECT_EQ(parts.header.at("typ").as_string(), "JWT");
  EXPECT_EQ(parts.header.at("kid").as_string(), "0123456789abcdef");

  EXPECT_EQ(parts.claims.at("iss").as_string(), "gateway@example-project.iam.gserviceaccount.com");
  EXPECT_EQ(parts.claims.at("scope").as_string(),
            "https://www.googleapis.com/auth/devstorage.read_only");
  EXPECT_EQ(parts.claims.at("aud").as_string(), "http://127.0.0.1:9/token");
  EXPECT_EQ(parts.claims.at("iat").to_number<int64_t>(), iat);
  EXPECT_EQ(parts.claims.at("exp").to_number<int64_t>(), iat + 3600);
  EXPECT_EQ(parts.claims.size(), 5u);

  const std::string signed_part = parts.header_b64 + "." + parts.claims_b64;
  const std::string signature = base64url_decode(parts.signature_b64);
  EXPECT_EQ(signature.size(), 256u);  // RSA-2048
  EXPECT_TRUE(verify_rs256(public_pem(key_->key), signed_part, signature));
  // The check can fail: another key, or claims changed after signing.
  EXPECT_FALSE(verify_rs256(public_pem(other_->key), signed_part, signature));
  auto forged = parts.claims;
  forged["scope"] = "https://www.googleapis.com/auth/devstorage.full_control";
  EXPECT_FALSE(verify_rs256(public_pem(key_->key),
                            parts.header_b64 + "." + base64url_encode(json::serialize(forged)),
                            signature));
}

TEST_F(ServiceAccountKey, NoKidWithoutAPrivateKeyId) {
  auto a = account();
  a.private_key_id.clear();
  auto jwt = build_service_account_jwt(a, kGcsReadOnlyScope, 1);
  ASSERT_TRUE(jwt);
  EXPECT_FALSE(split(*jwt).header.contains("kid"));
}

TEST_F(ServiceAccountKey, KeysThatCannotSignAreRefusedWithoutQuotingThem) {
  auto a = account();
  a.private_key_pem =
      Secret("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n");
  auto jwt = build_service_account_jwt(a, kGcsReadOnlyScope, 1);
  ASSERT_FALSE(jwt);
  EXPECT_EQ(jwt.error().message, "private_key is not a PEM private key");

  Pkey ec(EVP_EC_gen("P-256"));
  a.private_key_pem = Secret(private_pem(ec.key));
  jwt = build_service_account_jwt(a, kGcsReadOnlyScope, 1);
  ASSERT_FALSE(jwt);
  EXPECT_EQ(jwt.error().message, "private_key is not an RSA key (RS256 needs one)");
}

TEST_F(ServiceAccountKey, KeyFileParsing) {
  auto ok = GoogleServiceAccount::parse(key_file_json(private_pem(key_->key), "service_account"));
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->client_email, "gateway@example-project.iam.gserviceaccount.com");
  EXPECT_EQ(ok->private_key_id, "0123456789abcdef");
  EXPECT_EQ(ok->token_uri, "http://127.0.0.1:9/token");

  auto user = GoogleServiceAccount::parse(key_file_json("x", "authorized_user"));
  ASSERT_FALSE(user);
  EXPECT_NE(user.error().message.find("\"authorized_user\", expected \"service_account\""),
            std::string::npos)
      << user.error().message;
  EXPECT_FALSE(GoogleServiceAccount::parse("{not json"));

  json::object doc = json::parse(key_file_json("k", "service_account")).as_object();
  doc.erase("token_uri");
  auto defaulted = GoogleServiceAccount::parse(json::serialize(doc));
  ASSERT_TRUE(defaulted);
  EXPECT_EQ(defaulted->token_uri, "https://oauth2.googleapis.com/token");
  doc.erase("client_email");
  auto missing = GoogleServiceAccount::parse(json::serialize(doc));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "\"client_email\" is missing");
}

TEST(GoogleKeyFile, ErrorsNameTheVariableAndThePath) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("switchyard-gsa-" + std::to_string(::getpid()) + ".json");
  auto missing = GoogleServiceAccount::load_file(path.string());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message,
            "GOOGLE_APPLICATION_CREDENTIALS (" + path.string() + "): cannot open the key file");
  std::ofstream(path) << "{\"type\":\"service_account\",\"client_email\":\"a@b\"}";
  auto incomplete = GoogleServiceAccount::load_file(path.string());
  std::filesystem::remove(path);
  ASSERT_FALSE(incomplete);
  EXPECT_EQ(incomplete.error().message,
            "GOOGLE_APPLICATION_CREDENTIALS (" + path.string() + "): \"private_key\" is missing");
}

TEST(GoogleToken, RequestBodyAndResponses) {
  EXPECT_EQ(token_request_body("aa.bb.c-_"),
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=aa.bb.c-_");

  auto ok = parse_token_response(
      200, R"({"access_token":"ya29.abc","expires_in":3599,"token_type":"Bearer"})", "u");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->access_token.reveal(), "ya29.abc");
  EXPECT_EQ(ok->expires_in.count(), 3599);

  auto refused = parse_token_response(
      400, R"({"error":"invalid_grant","error_description":"Invalid JWT Signature."})",
      "https://oauth2.googleapis.com/token");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message,
            "token request to https://oauth2.googleapis.com/token failed: HTTP 400 invalid_grant: "
            "Invalid JWT Signature.");

  EXPECT_FALSE(parse_token_response(200, R"({"access_token":"t"})", "u"));
  EXPECT_FALSE(parse_token_response(200, R"({"access_token":"t","expires_in":0})", "u"));
  EXPECT_FALSE(
      parse_token_response(200, R"({"access_token":"t","expires_in":60,"token_type":"mac"})", "u"));
  EXPECT_FALSE(parse_token_response(200, R"({"expires_in":60})", "u"));
  auto html = parse_token_response(502, "<html>bad gateway</html>", "u");
  ASSERT_FALSE(html);
  EXPECT_EQ(html.error().message, "token request to u failed: HTTP 502");
}

TEST(GoogleTokenSource, NothingCachedBeforeTheFirstToken) {
  GoogleTokenSource source("/nonexistent/key.json");
  EXPECT_FALSE(source.fresh(Clock::now()));
  EXPECT_FALSE(source.still_valid(Clock::now()));
  EXPECT_EQ(source.tokens_obtained(), 0u);
}

TEST(GcsSettings, CredentialPrecedence) {
  // 1. GCS HMAC keys win over everything.
  auto hmac = S3Settings::gcs_from_env(env_from({{"GCS_HMAC_ACCESS_ID", "GOOG1EXAMPLE"},
                                                 {"GCS_HMAC_SECRET", "s"},
                                                 {"GOOGLE_APPLICATION_CREDENTIALS", "/k.json"},
                                                 {"AWS_ACCESS_KEY_ID", "AKID"},
                                                 {"AWS_SECRET_ACCESS_KEY", "x"}}));
  EXPECT_EQ(hmac.auth, "hmac");
  ASSERT_TRUE(hmac.credentials);
  EXPECT_EQ(hmac.credentials->current().access_key_id, "GOOG1EXAMPLE");
  EXPECT_FALSE(hmac.google);
  EXPECT_EQ(hmac.endpoint_text, "https://storage.googleapis.com");

  // 2. The service account over AWS keys, also with an endpoint override.
  auto sa = S3Settings::gcs_from_env(env_from({{"GOOGLE_APPLICATION_CREDENTIALS", "/k.json"},
                                               {"CONFIG_GCS_ENDPOINT", "http://127.0.0.1:4443"},
                                               {"STORAGE_EMULATOR_HOST", "127.0.0.1:1"},
                                               {"AWS_ACCESS_KEY_ID", "AKID"},
                                               {"AWS_SECRET_ACCESS_KEY", "x"}}));
  EXPECT_EQ(sa.auth, "service_account");
  ASSERT_TRUE(sa.google);
  EXPECT_EQ(sa.google->key_file(), "/k.json");
  EXPECT_FALSE(sa.credentials);
  EXPECT_EQ(sa.endpoint_text, "http://127.0.0.1:4443");

  // The emulator is not authenticated to, as in Google's client libraries.
  auto emulator = S3Settings::gcs_from_env(env_from({{"GOOGLE_APPLICATION_CREDENTIALS", "/k.json"},
                                                     {"STORAGE_EMULATOR_HOST", "127.0.0.1:4443"}}));
  EXPECT_EQ(emulator.auth, "none");
  EXPECT_FALSE(emulator.google);
  EXPECT_FALSE(emulator.credentials);
  EXPECT_EQ(emulator.endpoint_text, "http://127.0.0.1:4443");
  ASSERT_TRUE(emulator.endpoint);
  EXPECT_EQ(emulator.endpoint->port, "4443");

  // 3. AWS keys as an HMAC key; 4. nothing: unsigned.
  auto aws = S3Settings::gcs_from_env(
      env_from({{"AWS_ACCESS_KEY_ID", "AKID"}, {"AWS_SECRET_ACCESS_KEY", "x"}}));
  EXPECT_EQ(aws.auth, "hmac");
  ASSERT_TRUE(aws.credentials);
  EXPECT_EQ(aws.credentials->current().access_key_id, "AKID");
  auto none = S3Settings::gcs_from_env(env_from({}));
  EXPECT_EQ(none.auth, "none");
  EXPECT_FALSE(none.credentials);
  EXPECT_NE(none.credentials_error.find("GOOGLE_APPLICATION_CREDENTIALS"), std::string::npos);
}

TEST(GcsSettings, BearerRequestIsPathStyleWithoutAwsHeaders) {
  auto settings = S3Settings::gcs_from_env(
      env_from({{"GOOGLE_APPLICATION_CREDENTIALS", "/k.json"},
                {"CONFIG_GCS_ENDPOINT", "https://storage.example.test:8443/base/"}}));
  auto r = build_gcs_bearer_get(settings, ObjectRef{"cfg", "prod/config v2.yaml", "gs"}, "tok",
                                "\"abc\"");
  EXPECT_TRUE(r.endpoint.tls);
  EXPECT_EQ(r.endpoint.host, "storage.example.test");
  EXPECT_EQ(r.endpoint.port, "8443");
  EXPECT_EQ(r.request.method, http::verb::get);
  EXPECT_EQ(r.request.target, "/base/cfg/prod/config%20v2.yaml");
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"authorization", "Bearer tok"}, {"if-none-match", "\"abc\""}};
  EXPECT_EQ(r.request.headers, expected);
}

TEST(GcsSettings, ObjectUrisForRouterModels) {
  auto gs = parse_object_uri("gs://models/routers/knn.syr");
  ASSERT_TRUE(gs);
  EXPECT_EQ(gs->scheme, "gs");
  EXPECT_EQ(gs->bucket, "models");
  EXPECT_EQ(gs->key, "routers/knn.syr");
  EXPECT_EQ(gs->uri(), "gs://models/routers/knn.syr");
  auto s3 = parse_object_uri("s3://b/k");
  ASSERT_TRUE(s3);
  EXPECT_EQ(s3->scheme, "s3");
  EXPECT_FALSE(parse_object_uri("gs://bucket-only"));
  EXPECT_FALSE(parse_object_uri("gs:///key"));
  EXPECT_FALSE(parse_object_uri("/local/model.syr"));
  // parse_s3_uri itself still takes s3:// only.
  EXPECT_FALSE(parse_s3_uri("gs://b/k"));
}
