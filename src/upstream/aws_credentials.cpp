#include "upstream/aws_credentials.h"

#include <boost/json.hpp>
#include <condition_variable>
#include <ctime>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include "core/asio.h"
#include "core/utc_time.h"
#include "telemetry/log.h"

namespace switchyard {
namespace {

using std::chrono::milliseconds;
using std::chrono::system_clock;
using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr milliseconds kMetadataTimeout{1000};
constexpr milliseconds kFirstRetry{1000};
constexpr milliseconds kMaxRetry{60000};
constexpr size_t kMaxMetadataBody = size_t{64} * 1024;
constexpr const char* kDefaultImdsEndpoint = "http://169.254.169.254";
constexpr const char* kEcsHost = "http://169.254.170.2";

std::string trim(std::string_view s) {
  const auto* ws = " \t\r\n";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  const size_t e = s.find_last_not_of(ws);
  return std::string(s.substr(b, e - b + 1));
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// --- fixed credentials (config, environment, credentials file) ---------------

class FixedCredentials final : public AwsCredentialsProvider {
 public:
  FixedCredentials(AwsCredentials credentials, std::string source)
      : credentials_(std::move(credentials)), source_(std::move(source)) {}
  AwsCredentials current() const override { return credentials_; }
  std::string source() const override { return source_; }

 private:
  AwsCredentials credentials_;
  std::string source_;
};

// --- a small blocking HTTP client for the metadata endpoints -----------------

struct HttpAnswer {
  int status = 0;
  std::string body;
};

struct HttpUrl {
  std::string host;
  std::string port;
  std::string target;
};

Result<HttpUrl> split_http_url(const std::string& url) {
  constexpr std::string_view kScheme = "http://";
  if (lower(url.substr(0, kScheme.size())) != kScheme) {
    return Error::make(ErrorKind::kInvalidRequest,
                       "only http:// credential endpoints are supported");
  }
  const std::string rest = url.substr(kScheme.size());
  const size_t slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  HttpUrl out;
  out.target = slash == std::string::npos ? "/" : rest.substr(slash);
  const size_t colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']') == std::string::npos) {
    out.host = authority.substr(0, colon);
    out.port = authority.substr(colon + 1);
  } else {
    out.host = authority;
    out.port = "80";
  }
  if (out.host.empty())
    return Error::make(ErrorKind::kInvalidRequest, "credential endpoint has no host");
  return out;
}

Error endpoint_error(const std::string& what) {
  return Error::make(ErrorKind::kUnavailable, what, "aws_credentials_unavailable");
}

awaitable<Result<HttpAnswer>> http_exchange(http::verb method, HttpUrl url, Headers headers) {
  auto executor = co_await asio::this_coro::executor;
  tcp::resolver resolver(executor);
  auto [resolve_ec, endpoints] = co_await resolver.async_resolve(url.host, url.port, use_nothrow);
  if (resolve_ec) co_return endpoint_error("cannot resolve " + url.host);
  beast::tcp_stream stream(executor);
  stream.expires_after(kMetadataTimeout);
  auto [connect_ec, connected] = co_await stream.async_connect(endpoints, use_nothrow);
  if (connect_ec) co_return endpoint_error("cannot connect to " + url.host + ":" + url.port);
  http::request<http::string_body> request(method, url.target, 11);
  request.set(http::field::host, url.host + ":" + url.port);
  for (const auto& [name, value] : headers) request.set(name, value);
  request.prepare_payload();
  auto [write_ec, written] = co_await http::async_write(stream, request, use_nothrow);
  if (write_ec) co_return endpoint_error("cannot send to " + url.host + ":" + url.port);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxMetadataBody);
  auto [read_ec, read] = co_await http::async_read(stream, buffer, parser, use_nothrow);
  if (read_ec == beast::error::timeout) {
    co_return endpoint_error("no answer from " + url.host + ":" + url.port + " in time");
  }
  if (read_ec) co_return endpoint_error("bad answer from " + url.host + ":" + url.port);
  HttpAnswer answer;
  answer.status = static_cast<int>(parser.get().result_int());
  answer.body = std::move(parser.get().body());
  co_return answer;
}

awaitable<void> exchange_into(http::verb method, HttpUrl url, Headers headers,
                              std::optional<Result<HttpAnswer>>* out) {
  *out = co_await http_exchange(method, std::move(url), std::move(headers));
}

// Runs one exchange on `io` (the refresher's own context, so stopping it
// interrupts a fetch at once).
Result<HttpAnswer> http_fetch(asio::io_context& io, http::verb method, const std::string& url,
                              Headers headers) {
  auto parsed = split_http_url(url);
  if (!parsed) return parsed.error();
  std::optional<Result<HttpAnswer>> out;
  io.restart();
  asio::co_spawn(io, exchange_into(method, std::move(*parsed), std::move(headers), &out),
                 asio::detached);
  io.run();
  if (!out) return endpoint_error("credential fetch stopped");
  return std::move(*out);
}

// --- container (ECS / EKS Pod Identity) and IMDSv2 ----------------------------

struct ContainerSource {
  std::string url;
  std::string token;       // AWS_CONTAINER_AUTHORIZATION_TOKEN
  std::string token_file;  // AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (read each time: it rotates)
};

Result<TemporaryCredentials> fetch_container(asio::io_context& io, const ContainerSource& source) {
  Headers headers;
  std::string token = source.token;
  if (!source.token_file.empty()) {
    auto text = read_file(source.token_file);
    if (!text) return endpoint_error("cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    token = trim(*text);
  }
  if (!token.empty()) headers.emplace_back("authorization", token);
  headers.emplace_back("accept", "application/json");
  auto answer = http_fetch(io, http::verb::get, source.url, std::move(headers));
  if (!answer) return answer.error();
  if (answer->status != 200) {
    return endpoint_error("container credentials endpoint answered HTTP " +
                          std::to_string(answer->status));
  }
  return parse_credentials_json(answer->body);
}

Result<TemporaryCredentials> fetch_imds(asio::io_context& io, const std::string& endpoint) {
  Headers token_headers;
  token_headers.emplace_back("x-aws-ec2-metadata-token-ttl-seconds", "21600");
  auto token = http_fetch(io, http::verb::put, endpoint + "/latest/api/token", token_headers);
  if (!token) return token.error();
  if (token->status != 200) {
    return endpoint_error("IMDS token request answered HTTP " + std::to_string(token->status));
  }
  Headers headers;
  headers.emplace_back("x-aws-ec2-metadata-token", trim(token->body));
  const std::string base = endpoint + "/latest/meta-data/iam/security-credentials/";
  auto roles = http_fetch(io, http::verb::get, base, headers);
  if (!roles) return roles.error();
  const std::string role = trim(roles->body.substr(0, roles->body.find('\n')));
  if (roles->status != 200 || role.empty()) {
    return endpoint_error("IMDS has no instance profile role (HTTP " +
                          std::to_string(roles->status) + ")");
  }
  auto answer = http_fetch(io, http::verb::get, base + role, headers);
  if (!answer) return answer.error();
  if (answer->status != 200) {
    return endpoint_error("IMDS credentials request answered HTTP " +
                          std::to_string(answer->status));
  }
  return parse_credentials_json(answer->body);
}

// Temporary credentials kept fresh by a background thread (see the header).
class RefreshingCredentials final : public AwsCredentialsProvider {
 public:
  using Fetch = std::function<Result<TemporaryCredentials>(asio::io_context&)>;
  RefreshingCredentials(std::string source, Fetch fetch)
      : source_(std::move(source)), fetch_(std::move(fetch)) {
    thread_ = std::thread([this] { run(); });
  }
  RefreshingCredentials(const RefreshingCredentials&) = delete;
  RefreshingCredentials& operator=(const RefreshingCredentials&) = delete;
  ~RefreshingCredentials() override {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    io_.stop();  // interrupts a fetch in progress
    wake_.notify_all();
    thread_.join();
  }

  AwsCredentials current() const override {
    std::lock_guard lock(mutex_);
    if (credentials_.empty() || system_clock::now() >= expires_) return {};
    return credentials_;
  }
  std::string source() const override { return source_; }
  std::string problem() const override {
    std::lock_guard lock(mutex_);
    std::string out = "no AWS credentials from " + source_;
    if (!credentials_.empty()) out += " (the last ones expired)";
    out += problem_.empty() ? ": not fetched yet" : ": " + problem_;
    return out;
  }

 private:
  void run() {
    milliseconds retry = kFirstRetry;
    std::unique_lock lock(mutex_);
    while (!stop_) {
      lock.unlock();
      auto fetched = fetch_(io_);
      lock.lock();
      if (stop_) break;
      milliseconds wait{0};
      if (fetched) {
        credentials_ = fetched->credentials;
        expires_ = fetched->expiration.value_or(system_clock::now() + std::chrono::hours(1));
        const auto remaining =
            std::chrono::duration_cast<milliseconds>(expires_ - system_clock::now());
        wait = refresh_delay(remaining);
        problem_.clear();
        retry = kFirstRetry;
        log_event(LogLevel::kInfo, "aws credentials fetched",
                  {{"source", json_string(source_)},
                   {"expires_in_s", std::to_string(remaining.count() / 1000)},
                   {"next_refresh_in_s", std::to_string(wait.count() / 1000)}});
      } else {
        if (problem_ != fetched.error().message) {
          log_event(
              LogLevel::kWarning, "aws credentials fetch failed",
              {{"source", json_string(source_)}, {"detail", json_string(fetched.error().message)}});
        }
        problem_ = fetched.error().message;
        wait = retry;
        retry = std::min(retry * 2, kMaxRetry);
      }
      wake_.wait_for(lock, wait, [this] { return stop_; });
    }
  }

  const std::string source_;
  const Fetch fetch_;
  asio::io_context io_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  AwsCredentials credentials_;
  system_clock::time_point expires_{};
  std::string problem_;
  std::thread thread_;
};

// One refreshing provider per source for the whole process, kept while any
// deployment (of any config snapshot) uses it.
std::shared_ptr<AwsCredentialsProvider> shared_refreshing(const std::string& key,
                                                          const std::string& source,
                                                          RefreshingCredentials::Fetch fetch) {
  static std::mutex mutex;
  static std::map<std::string, std::weak_ptr<AwsCredentialsProvider>> live;
  std::lock_guard lock(mutex);
  if (auto existing = live[key].lock()) return existing;
  auto created = std::make_shared<RefreshingCredentials>(source, std::move(fetch));
  live[key] = created;
  return created;
}

}  // namespace

std::optional<AwsCredentials> parse_credentials_file(std::string_view text,
                                                     std::string_view profile) {
  AwsCredentials out;
  bool in_profile = false;
  bool found = false;
  std::istringstream lines{std::string(text)};
  std::string raw;
  while (std::getline(lines, raw)) {
    const std::string line = trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[') {
      const size_t close = line.find(']');
      std::string name = trim(line.substr(1, close == std::string::npos ? 0 : close - 1));
      // ~/.aws/config writes "[profile NAME]"; the credentials file "[NAME]".
      if (name.rfind("profile ", 0) == 0) name = trim(name.substr(8));
      in_profile = name == profile;
      found = found || in_profile;
      continue;
    }
    if (!in_profile) continue;
    const size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = lower(trim(line.substr(0, eq)));
    const std::string value = trim(line.substr(eq + 1));
    if (key == "aws_access_key_id") out.access_key_id = value;
    if (key == "aws_secret_access_key") out.secret_access_key = value;
    if (key == "aws_session_token") out.session_token = value;
  }
  if (!found || out.empty()) return std::nullopt;
  return out;
}

std::optional<system_clock::time_point> parse_iso8601_utc(std::string_view text) {
  // AWS always writes the zone; a timestamp without one is not trusted.
  if (!text.ends_with('Z') && !text.ends_with("+00:00")) return std::nullopt;
  bool date_only = false;
  auto ms = parse_utc_time_ms(text, &date_only);
  if (!ms || date_only) return std::nullopt;
  return system_clock::time_point(std::chrono::milliseconds(*ms));
}

Result<TemporaryCredentials> parse_credentials_json(std::string_view body) {
  boost::json::error_code ec;
  const auto parsed = boost::json::parse(body, ec);
  if (ec || !parsed.is_object()) return endpoint_error("credentials answer is not a JSON object");
  const auto& obj = parsed.as_object();
  auto field = [&obj](std::string_view name) -> std::string {
    const auto* v = obj.if_contains(name);
    return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
  };
  const std::string code = field("Code");
  if (!code.empty() && code != "Success")
    return endpoint_error("credentials answer has Code " + code);
  TemporaryCredentials out;
  out.credentials.access_key_id = field("AccessKeyId");
  out.credentials.secret_access_key = field("SecretAccessKey");
  out.credentials.session_token = field("Token");
  if (out.credentials.empty()) {
    return endpoint_error("credentials answer lacks AccessKeyId or SecretAccessKey");
  }
  const std::string expiration = field("Expiration");
  if (!expiration.empty()) {
    out.expiration = parse_iso8601_utc(expiration);
    if (!out.expiration) return endpoint_error("credentials answer has an unreadable Expiration");
  }
  return out;
}

milliseconds refresh_delay(milliseconds remaining) {
  constexpr milliseconds kAhead = std::chrono::minutes(5);
  milliseconds wait = remaining > 2 * kAhead ? remaining - kAhead : remaining / 2;
  return std::max(wait, milliseconds(1000));
}

std::shared_ptr<AwsCredentialsProvider> resolve_aws_credentials(const AwsCredentials& configured,
                                                                const std::string& profile_name,
                                                                const EnvLookup& env,
                                                                std::string& error) {
  auto var = [&env](const char* name) { return env(name).value_or(""); };
  if (!configured.empty()) return std::make_shared<FixedCredentials>(configured, "config");

  AwsCredentials from_env;
  from_env.access_key_id = var("AWS_ACCESS_KEY_ID");
  from_env.secret_access_key = var("AWS_SECRET_ACCESS_KEY");
  from_env.session_token = var("AWS_SESSION_TOKEN");
  if (!from_env.empty()) return std::make_shared<FixedCredentials>(from_env, "environment");

  std::string profile = profile_name;
  if (profile.empty()) profile = var("AWS_PROFILE");
  const bool profile_asked = !profile.empty();
  if (profile.empty()) profile = "default";
  std::string file = var("AWS_SHARED_CREDENTIALS_FILE");
  if (file.empty() && !var("HOME").empty()) file = var("HOME") + "/.aws/credentials";
  if (!file.empty()) {
    if (auto text = read_file(file)) {
      if (auto keys = parse_credentials_file(*text, profile)) {
        return std::make_shared<FixedCredentials>(*keys, "profile " + profile + " (" + file + ")");
      }
    }
  }
  if (profile_asked) {
    // A profile that was asked for by name and is missing is a mistake, not
    // a reason to fall through to the instance's role.
    error = "AWS profile '" + profile + "' has no aws_access_key_id/aws_secret_access_key in " +
            (file.empty() ? std::string("~/.aws/credentials") : file) +
            " (role_arn/sso/credential_process profiles are not supported)";
    return nullptr;
  }

  ContainerSource container;
  container.url = var("AWS_CONTAINER_CREDENTIALS_FULL_URI");
  if (container.url.empty() && !var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").empty()) {
    container.url = std::string(kEcsHost) + var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  }
  if (!container.url.empty()) {
    if (auto url = split_http_url(container.url); !url) {
      error = "AWS_CONTAINER_CREDENTIALS_FULL_URI: " + url.error().message;
      return nullptr;
    }
    container.token = var("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    container.token_file = var("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    return shared_refreshing(
        "container " + container.url, "container",
        [container](asio::io_context& io) { return fetch_container(io, container); });
  }

  if (lower(var("AWS_EC2_METADATA_DISABLED")) == "true") {
    error =
        "no AWS credentials: not in the config, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, the "
        "credentials file or container credentials, and AWS_EC2_METADATA_DISABLED is set";
    return nullptr;
  }
  std::string imds = var("AWS_EC2_METADATA_SERVICE_ENDPOINT");
  if (imds.empty()) imds = kDefaultImdsEndpoint;
  while (!imds.empty() && imds.back() == '/') imds.pop_back();
  if (auto url = split_http_url(imds); !url) {
    error = "AWS_EC2_METADATA_SERVICE_ENDPOINT: " + url.error().message;
    return nullptr;
  }
  return shared_refreshing("imds " + imds, "imds",
                           [imds](asio::io_context& io) { return fetch_imds(io, imds); });
}

}  // namespace switchyard
