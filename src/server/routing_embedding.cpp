#include "server/routing_embedding.h"

#include <boost/json.hpp>
#include <list>
#include <unordered_map>

#include "providers/exchange.h"
#include "providers/mock.h"
#include "routing/selector.h"

namespace switchyard {
namespace {

// Upper bound on one routing embedding call: the request waits for it.
constexpr std::chrono::milliseconds kEmbeddingTimeout{5000};
constexpr size_t kCacheEntries = 1024;
constexpr size_t kMaxEmbeddingBody = size_t{4} * 1024 * 1024;

// Per-worker LRU keyed by group + prompt (no locks: one per thread).
class EmbeddingCache {
 public:
  const std::vector<float>* find(const std::string& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second);
    return &it->second->second;
  }
  void put(std::string key, std::vector<float> value) {
    if (auto it = index_.find(key); it != index_.end()) {
      it->second->second = std::move(value);
      order_.splice(order_.begin(), order_, it->second);
      return;
    }
    order_.emplace_front(std::move(key), std::move(value));
    index_.emplace(order_.front().first, order_.begin());
    if (order_.size() > kCacheEntries) {
      index_.erase(order_.back().first);
      order_.pop_back();
    }
  }

 private:
  using Entry = std::pair<std::string, std::vector<float>>;
  std::list<Entry> order_;
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

EmbeddingCache& cache() {
  thread_local EmbeddingCache instance;
  return instance;
}

Error embedding_error(const std::string& why) {
  return Error::make(ErrorKind::kUpstreamInvalid, "routing embedding: " + why,
                     "routing_embedding_failed");
}

// data[0].embedding of an OpenAI embeddings response.
Result<std::vector<float>> parse_embedding(const std::string& body) {
  boost::json::error_code ec;
  auto doc = boost::json::parse(body, ec);
  if (ec || !doc.is_object()) return embedding_error("response is not JSON");
  const auto* data = doc.as_object().if_contains("data");
  if (data == nullptr || !data->is_array() || data->as_array().empty() ||
      !data->as_array()[0].is_object()) {
    return embedding_error("response has no data[0]");
  }
  const auto* values = data->as_array()[0].as_object().if_contains("embedding");
  if (values == nullptr || !values->is_array()) {
    return embedding_error("data[0].embedding is not an array of numbers");
  }
  std::vector<float> out;
  out.reserve(values->as_array().size());
  for (const auto& v : values->as_array()) {
    if (!v.is_number()) return embedding_error("data[0].embedding holds a non-number");
    out.push_back(static_cast<float>(v.to_number<double>()));
  }
  return out;
}

InboundRequest embeddings_request(const std::string& group, std::string_view text) {
  InboundRequest request;
  request.route = ApiRoute::kEmbeddings;
  request.model = group;
  request.body["model"] = group;
  request.body["input"] = text;
  request.body["encoding_format"] = "float";
  return request;
}

awaitable<Result<std::vector<float>>> fetch(Worker& worker, const DeploymentRuntime& deployment,
                                            InboundRequest& request) {
  if (deployment.kind == ProviderKind::kMock) {
    MockAnswer answer = mock_answer(request, deployment.config->params.model_id, std::nullopt, 0,
                                    std::string("routing"));
    co_return parse_embedding(answer.body);
  }
  auto prepared = prepare_exchange(deployment, request, std::string("routing-embedding"));
  if (!prepared) co_return prepared.error();
  UpstreamCall call(*worker.pool, deployment.endpoint);
  const auto deadline = Clock::now() + std::min(deployment.timeout, kEmbeddingTimeout);
  UpstreamFailure failure = co_await call.start(prepared->request, deadline);
  if (failure != UpstreamFailure::kNone) {
    co_return embedding_error(std::string("upstream ") + upstream_failure_name(failure));
  }
  std::string body;
  failure = co_await call.read_all(body, deadline, kMaxEmbeddingBody);
  if (failure != UpstreamFailure::kNone) {
    co_return embedding_error(std::string("upstream ") + upstream_failure_name(failure));
  }
  call.finish();
  if (call.status() != 200) {
    co_return embedding_error("upstream answered HTTP " + std::to_string(call.status()));
  }
  TokenUsage usage;
  auto translated = prepared->translator->body(std::move(body), usage);
  if (!translated) co_return translated.error();
  co_return parse_embedding(*translated);
}

}  // namespace

awaitable<Result<std::vector<float>>> routing_embedding(Worker& worker, const Snapshot& snapshot,
                                                        const std::string& embedding_group,
                                                        std::string_view text) {
  std::string key = embedding_group;
  key.push_back('\0');
  key.append(text);
  if (const auto* hit = cache().find(key)) co_return *hit;

  const ModelGroup* group = snapshot.registry->find(embedding_group);
  if (group == nullptr) {
    co_return embedding_error("embedding_model '" + embedding_group +
                              "' is not a model_name in model_list");
  }
  const DeploymentRuntime* deployment =
      select_deployment(*group, snapshot.selection, Clock::now(), {});
  if (deployment == nullptr)
    co_return embedding_error("no deployment of '" + embedding_group + "' is available");

  InboundRequest request = embeddings_request(embedding_group, text);
  auto embedding = co_await fetch(worker, *deployment, request);
  if (embedding) cache().put(std::move(key), *embedding);
  co_return embedding;
}

}  // namespace switchyard
