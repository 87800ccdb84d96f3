// Learned-routing decision latency: featurize + score one prompt, per strategy,
// with default-sized models (default hash bits and layer widths) and
// a 2 KB prompt. Reports mean time from Google Benchmark plus p50/p99 per call
// as counters (the target in docs/routing.md is p99 <= 50 us).
//
//   build-learned/switchyard-routing-bench --benchmark_min_time=2
//   SWITCHYARD_ROUTER_MODEL=/path/router.syr SWITCHYARD_BENCH_PROMPTS=test.jsonl
//     build-learned/switchyard-routing-bench     (one command line)
//
// Models are trained at start-up on synthetic data shaped like the shared
// routing data (2,000 queries, 11 candidates) with few epochs: latency depends
// on the shapes, not on how well the weights were fitted.
// SWITCHYARD_BENCH_HASH_BITS=N trains them with 2^N hashed buckets instead of the default;
// SWITCHYARD_BENCH_KNN_MAX_POSTINGS=N trains knn with --max-postings N.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "learned/dataset.h"
#include "learned/router.h"
#include "learned/trainer.h"

using namespace switchyard::learned;

namespace {

// English-ish text with a Zipf-like word distribution, numbers and code bits.
std::string synthetic_text(Rng& rng, size_t bytes) {
  static const std::vector<std::string> vocabulary = [] {
    std::vector<std::string> words;
    Rng r(1);
    const char* syllables[] = {"ta",  "ro", "mi", "sen",  "ka", "lo", "ver", "un", "pre", "dis",
                               "ing", "ed", "ly", "tion", "al", "er", "the", "an", "qu",  "st"};
    for (int i = 0; i < 6000; ++i) {
      std::string w;
      const size_t n = 1 + r.below(4);
      for (size_t k = 0; k < n; ++k) w += syllables[r.below(20)];
      words.push_back(w);
    }
    return words;
  }();
  std::string out;
  while (out.size() < bytes) {
    const double u = rng.uniform();
    const auto rank = static_cast<size_t>(std::pow(6000.0, u * u)) % vocabulary.size();
    out += vocabulary[rank];
    const size_t r = rng.below(40);
    if (r == 0) {
      out += ".\n";
    } else if (r == 1) {
      out += ' ';
      out += std::to_string(rng.below(1000));
    } else if (r == 2) {
      out += "(x);";
    }
    out += ' ';
  }
  out.resize(bytes);
  return out;
}

Dataset synthetic_routing_data(size_t rows, size_t models) {
  Rng rng(42);
  Dataset d;
  d.path = "synthetic";
  for (size_t m = 0; m < models; ++m) d.models.push_back("model-" + std::to_string(m));
  for (size_t i = 0; i < rows; ++i) {
    d.prompts.push_back(synthetic_text(rng, 200 + rng.below(2400)));
    d.groups.emplace_back();
    d.embeddings.emplace_back();
    for (size_t m = 0; m < models; ++m) {
      d.quality.push_back(rng.uniform() < 0.3 + 0.05 * static_cast<double>(m) ? 1.0f : 0.0f);
      d.cost_usd.push_back(static_cast<float>(1e-4 * (m + 1) * (1 + rng.uniform())));
      d.input_tokens.push_back(std::nanf(""));
      d.output_tokens.push_back(std::nanf(""));
    }
  }
  return d;
}

std::map<std::string, std::shared_ptr<const RouterModel>>& routers() {
  static std::map<std::string, std::shared_ptr<const RouterModel>> all = [] {
    std::map<std::string, std::shared_ptr<const RouterModel>> out;
    const Dataset data = synthetic_routing_data(2000, 11);
    // SWITCHYARD_BENCH_ONLY=<strategy> trains that router alone (svm for
    // "featurize"): training under valgrind takes minutes per router.
    std::vector<std::string> strategies = {"knn", "svm", "mlp", "mf", "hybrid"};
    if (const char* only = std::getenv("SWITCHYARD_BENCH_ONLY")) {
      const std::string s = only;
      strategies = {s == "featurize" || s == "file" ? std::string("svm") : s};
    }
    for (const std::string& strategy : strategies) {
      TrainOptions o;
      o.strategy = strategy;
      o.validation_fraction = 0.1;
      o.refit = false;
      o.svm.max_epochs = 2;
      o.svm.platt_folds = 2;
      o.mlp.max_epochs = 1;
      o.mf.max_epochs = 1;
      if (const char* cap = std::getenv("SWITCHYARD_BENCH_KNN_MAX_POSTINGS")) {
        o.knn.max_postings = static_cast<uint32_t>(std::atoi(cap));
      }
      if (const char* bits = std::getenv("SWITCHYARD_BENCH_HASH_BITS")) {
        o.tfidf.hash_bits = std::atoi(bits);
      }
      auto outcome = train_router(data, o);
      if (!outcome.ok()) {
        std::fprintf(stderr, "training %s failed: %s\n", strategy.c_str(),
                     outcome.error().message.c_str());
        std::exit(1);
      }
      out[strategy] = *RouterModel::load_bytes(outcome->artefact);
    }
    if (const char* path = std::getenv("SWITCHYARD_ROUTER_MODEL")) {
      auto loaded = RouterModel::load_file(path);
      if (!loaded.ok()) {
        std::fprintf(stderr, "%s\n", loaded.error().message.c_str());
        std::exit(1);
      }
      out["file"] = *loaded;
    }
    return out;
  }();
  return all;
}

// The prompts decisions are timed on: by default one synthetic 2 KB prompt;
// with SWITCHYARD_BENCH_PROMPTS=file.jsonl (routing data or route input), its
// prompts of 1.5-2.5 KB, cycled.
const std::vector<std::string>& prompts_2kb() {
  static const std::vector<std::string> prompts = [] {
    std::vector<std::string> out;
    if (const char* path = std::getenv("SWITCHYARD_BENCH_PROMPTS")) {
      auto text = read_whole_file(path);
      auto rows = text.ok() ? parse_queries(*text)
                            : switchyard::Result<std::vector<QueryRow>>(text.error());
      if (!rows.ok()) {
        std::fprintf(stderr, "%s\n", rows.error().message.c_str());
        std::exit(1);
      }
      for (auto& row : *rows) {
        if (row.prompt.size() >= 1536 && row.prompt.size() <= 2560) out.push_back(row.prompt);
      }
    }
    if (out.empty()) {
      Rng rng(7);
      out.push_back(synthetic_text(rng, 2048));
    }
    return out;
  }();
  return prompts;
}

void report_percentiles(benchmark::State& state, std::vector<double>& ns) {
  if (ns.empty()) return;
  std::sort(ns.begin(), ns.end());
  // The minimum is the load-independent figure on a shared machine: other
  // tenants and preemption only ever add time.
  state.counters["min_us"] = ns.front() / 1000.0;
  state.counters["p50_us"] = ns[ns.size() / 2] / 1000.0;
  state.counters["p99_us"] = ns[std::min(ns.size() - 1, ns.size() * 99 / 100)] / 1000.0;
}

void BM_Decision(benchmark::State& state, const std::string& strategy) {
  auto it = routers().find(strategy);
  if (it == routers().end()) {
    state.SkipWithError("no such router");
    return;
  }
  const RouterModel& router = *it->second;
  const auto& prompts = prompts_2kb();
  std::vector<double> scores;
  std::vector<double> ns;
  ns.reserve(1 << 20);
  router.score(prompts[0], 1.0, scores);  // warm the thread's scratch
  size_t next = 0;
  for (auto _ : state) {
    const std::string& prompt = prompts[next++ % prompts.size()];
    const auto t0 = std::chrono::steady_clock::now();
    router.score(prompt, 1.0, scores);
    benchmark::DoNotOptimize(scores.data());
    const auto t1 = std::chrono::steady_clock::now();
    if (ns.size() < ns.capacity())
      ns.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count());
  }
  report_percentiles(state, ns);
  state.SetLabel(std::to_string(prompts.size()) + " prompt(s) of ~2 KB, " +
                 std::to_string(router.candidates().size()) + " candidates");
}

void BM_FeaturizeOnly(benchmark::State& state) {
  const RouterModel& router = *routers().at("svm");
  FeatureScratch scratch;
  SparseVector v;
  const auto& prompts = prompts_2kb();
  std::vector<double> ns;
  ns.reserve(1 << 20);
  size_t next = 0;
  for (auto _ : state) {
    const std::string& prompt = prompts[next++ % prompts.size()];
    const auto t0 = std::chrono::steady_clock::now();
    (void)router.featurizer().featurize(RouteInput{prompt, {}}, scratch, v);
    benchmark::DoNotOptimize(v.index.data());
    const auto t1 = std::chrono::steady_clock::now();
    if (ns.size() < ns.capacity())
      ns.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count());
  }
  report_percentiles(state, ns);
  state.counters["nonzeros"] = static_cast<double>(v.size());
}

void BM_LoadArtefact(benchmark::State& state, const std::string& strategy) {
  TrainOptions o;
  o.strategy = strategy;
  o.validation_fraction = 0.1;
  o.refit = false;
  o.svm.max_epochs = 1;
  o.mlp.max_epochs = 1;
  static const Dataset data = synthetic_routing_data(2000, 11);
  auto outcome = train_router(data, o);
  for (auto _ : state) {
    auto router = RouterModel::load_bytes(outcome->artefact);
    benchmark::DoNotOptimize(router.ok());
  }
  state.counters["MB"] = static_cast<double>(outcome->artefact.size()) / 1e6;
}

}  // namespace

BENCHMARK(BM_FeaturizeOnly);
BENCHMARK_CAPTURE(BM_Decision, knn, std::string("knn"));
BENCHMARK_CAPTURE(BM_Decision, svm, std::string("svm"));
BENCHMARK_CAPTURE(BM_Decision, mlp, std::string("mlp"));
BENCHMARK_CAPTURE(BM_Decision, mf, std::string("mf"));
BENCHMARK_CAPTURE(BM_Decision, hybrid, std::string("hybrid"));
BENCHMARK_CAPTURE(BM_Decision, file, std::string("file"));
BENCHMARK_CAPTURE(BM_LoadArtefact, knn, std::string("knn"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_LoadArtefact, mlp, std::string("mlp"))->Unit(benchmark::kMillisecond);

namespace {

// Instruction counts (load-independent): SWITCHYARD_BENCH_CALLS=N makes the
// binary run N featurizations and N decisions per router instead of the
// benchmarks, each batch in one call of count_calls() (featurize, then knn, svm,
// mlp, mf, hybrid, file). SWITCHYARD_BENCH_ONLY=<batch> runs that batch alone,
// so the total of
//   SWITCHYARD_BENCH_ONLY=knn SWITCHYARD_BENCH_CALLS=1000 valgrind --tool=callgrind
//     --collect-atstart=no --toggle-collect='*count_calls*' build/switchyard-routing-bench
// divided by N is one decision's instruction count (featurize + score).
void run_calls(const std::string& what, size_t n) {
  const auto& prompts = prompts_2kb();
  if (what == "featurize") {
    static FeatureScratch scratch;  // kept between the warm-up and the counted batch
    static SparseVector v;
    const RouterModel& router = *routers().at("svm");
    for (size_t i = 0; i < n; ++i) {
      (void)router.featurizer().featurize(RouteInput{prompts[i % prompts.size()], {}}, scratch, v);
      benchmark::DoNotOptimize(v.index.data());
    }
    return;
  }
  const RouterModel& router = *routers().at(what);
  std::vector<double> scores;
  for (size_t i = 0; i < n; ++i) {
    router.score(prompts[i % prompts.size()], 1.0, scores);
    benchmark::DoNotOptimize(scores.data());
  }
}

[[gnu::noinline]] void count_calls(const std::string& what, size_t n) { run_calls(what, n); }

}  // namespace

// Trains the routers and builds the prompts before any benchmark runs, so a
// profiler can collect only the timed loops.
int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  (void)routers();
  (void)prompts_2kb();
  if (const char* calls = std::getenv("SWITCHYARD_BENCH_CALLS")) {
    const auto n = static_cast<size_t>(std::atoll(calls));
    std::vector<std::string> what = {"featurize", "knn", "svm", "mlp", "mf", "hybrid"};
    if (routers().count("file")) what.emplace_back("file");
    // SWITCHYARD_BENCH_ONLY=knn (one batch name) counts that batch alone, so a
    // callgrind total is that router's Ir / N.
    if (const char* only = std::getenv("SWITCHYARD_BENCH_ONLY")) what = {only};
    for (const auto& w : what) {
      // One untimed call first, so the thread's scratch buffers are grown outside the count.
      run_calls(w, 1);
      count_calls(w, n);
    }
    return 0;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
