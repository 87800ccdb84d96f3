#include "learned/cli.h"

#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "learned/dataset.h"
#include "learned/evaluator.h"
#include "learned/router.h"
#include "learned/svg_plot.h"
#include "learned/trainer.h"

namespace switchyard::learned {

namespace json = boost::json;

const char* const kLearnedUsage = R"(
Learned routing (offline; see docs/routing.md):
  train   switchyard train --strategy knn|svm|mlp|mf|hybrid --data TRAIN.jsonl --out MODEL
                [--candidates FILE] [--seed N] [--val-fraction F] [--no-refit]
                [strategy flags: --k --svm-c --hidden --epochs --factors --small --large
                 --large-share ...; `switchyard train --help` lists them all]
  route   switchyard route --model MODEL --input QUERIES.jsonl [--cost-weight X|recommended]
                [--explain]       one {"model": ...} JSON line out per query line in
  eval    switchyard eval --model MODEL --data TEST.jsonl [--svg OUT.svg]
                [--budgets USD,USD] [--candidates FILE] [--title TEXT]
)";

namespace {

constexpr const char* kTrainHelp =
    R"(switchyard train --strategy S --data TRAIN.jsonl --out MODEL [options]

Data: compact rows {"query"|"prompt", "quality": {model: score|null}, "cost_usd" | "price_per_mtok"}
or LLMRouter long rows {"query", "model_name", "performance", ...}. See docs/routing.md.

General
  --strategy S          knn | svm | mlp | mf | hybrid
  --data PATH           training JSONL (only ever the training split)
  --out PATH            artefact to write (atomically)
  --candidates FILE     llm_candidates.json / LLMRouter llm_data: restricts the candidates to the
                        models listed there and supplies prices the data lacks
  --seed N              default 42; training is deterministic given the seed
  --val-fraction F      validation slice of the training rows, default 0.2
  --no-refit            keep the model fitted without the validation slice
  --model-version TEXT  label recorded in the artefact (default: checksum prefix)
  --created-at ISO8601  creation date to record (default: SOURCE_DATE_EPOCH, else now)
  --quiet               no progress bar or summary
Featurizer
  --featurizer NAME     hashed_tfidf (default) | embedding (rows carry "embedding": [...])
  --hash-bits N         2^N hashed buckets, default 14
  --word-ngrams A-B     default 1-2;   --char-ngrams A-B|off  default 4-4 (n <= 7)
  --char-tail N         character n-grams only over the last N bytes, default 256 (0 = all)
  --tail-bytes N|0      words of the last N bytes as their own block, default 512 (0 = off)
  --no-idf              plain TF instead of TF-IDF
  --dense-weight X      weight of the 4 dense features (length, newlines, digits, code), 0.3
knn     --k N|auto (auto: best of 10..200 on the validation slice)  --knn-power X (1)
        --prior-weight X (0)  --max-df X (0.05)  --common-rank N (16; 0 = drop features above
        max-df instead of approximating them)
        --query-terms N (0 = all)  --max-postings N (0 = all): latency bounds
svm     --svm-loss logistic|hinge (logistic)
        logistic: --svm-c-grid X,Y,.. (0.1,0.3,..,1000): C per candidate by 3-fold log-loss
        hinge: --svm-c X (1)  --svm-epochs N (100)  --svm-balanced; Platt on 3-fold scores
mlp     --hidden N[,N] (32)  --epochs N (max, 60)  --patience N (6)  --learning-rate X (2e-3)
        --batch-size N (32)  --dropout X (0.5)  --weight-decay X (1e-4)  --init-scale X (0.1)
mf      --factors N (8)  --pairwise-weight X (1)  --pointwise-weight X (0.5) and the mlp
        optimiser flags (--epochs --patience --learning-rate --batch-size --weight-decay)
hybrid  --small MODEL  --large MODEL  --large-share X (0.3)  --margin X (0)
        classifier: --svm-loss and its flags, as for svm
)";

struct Options {
  std::map<std::string, std::string> values;
  std::set<std::string> flags;
  std::vector<std::string> errors;

  bool has(const std::string& k) const { return values.count(k) || flags.count(k); }
  std::string get(const std::string& k, const std::string& fallback = "") const {
    auto it = values.find(k);
    return it == values.end() ? fallback : it->second;
  }
};

Options parse(const std::vector<std::string>& args, const std::set<std::string>& valued,
              const std::set<std::string>& boolean) {
  Options o;
  for (size_t i = 1; i < args.size(); ++i) {
    std::string arg = args[i];
    if (arg == "-h" || arg == "--help") {
      o.flags.insert("--help");
      continue;
    }
    std::string value;
    const auto eq = arg.find('=');
    const bool inline_value = eq != std::string::npos && arg.starts_with("--");
    if (inline_value) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    }
    if (boolean.count(arg) && !inline_value) {
      o.flags.insert(arg);
      continue;
    }
    if (!valued.count(arg)) {
      o.errors.push_back("unknown option " + arg);
      continue;
    }
    if (!inline_value) {
      if (i + 1 >= args.size()) {
        o.errors.push_back("option " + arg + " needs a value");
        continue;
      }
      value = args[++i];
    }
    o.values[arg] = value;
  }
  return o;
}

bool to_double(const std::string& text, double& out) {
  char* end = nullptr;
  out = std::strtod(text.c_str(), &end);
  return !text.empty() && end && *end == '\0' && std::isfinite(out);
}

bool to_uint(const std::string& text, uint64_t& out) {
  if (text.empty() || text[0] == '-') return false;
  char* end = nullptr;
  out = std::strtoull(text.c_str(), &end, 10);
  return end && *end == '\0';
}

bool to_range(const std::string& text, int& lo, int& hi) {
  const auto dash = text.find('-');
  uint64_t a = 0, b = 0;
  if (dash == std::string::npos) {
    if (!to_uint(text, a)) return false;
    b = a;
  } else if (!to_uint(text.substr(0, dash), a) || !to_uint(text.substr(dash + 1), b)) {
    return false;
  }
  lo = static_cast<int>(a);
  hi = static_cast<int>(b);
  return lo >= 1 && hi >= lo && hi <= 7;
}

// Prints progress on stderr when it is a terminal; nothing otherwise, so logs
// and CI output stay clean.
class ProgressBar {
 public:
  ProgressBar(std::ostream& err, bool enabled) : err_(err), enabled_(enabled) {}
  ~ProgressBar() { finish(); }
  void operator()(std::string_view stage, double fraction) {
    if (!enabled_) return;
    const int percent = static_cast<int>(std::clamp(fraction, 0.0, 1.0) * 100);
    if (stage == stage_ && percent == percent_) return;
    stage_ = std::string(stage);
    percent_ = percent;
    const int filled = percent * 30 / 100;
    err_ << "\r  " << std::left << std::setw(10) << stage_ << " [" << std::string(filled, '#')
         << std::string(30 - filled, ' ') << "] " << std::right << std::setw(3) << percent << "%"
         << std::flush;
    dirty_ = true;
  }
  void finish() {
    if (enabled_ && dirty_) err_ << "\r" << std::string(60, ' ') << "\r" << std::flush;
    dirty_ = false;
  }

 private:
  std::ostream& err_;
  bool enabled_;
  bool dirty_ = false;
  std::string stage_;
  int percent_ = -1;
};

std::string money(double usd) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "$%.3f", usd);
  return buf;
}

std::string number(double v, int precision = 3) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", precision, v);
  return buf;
}

std::string lambda_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

// Loads the data, applies the candidates file (restrict + prices) and resolves costs.
Result<Dataset> load_for(const std::string& path, const std::string& candidates_path,
                         std::ostream& err) {
  auto data = load_dataset(path);
  if (!data) return data.error();
  std::vector<Candidate> candidates;
  if (!candidates_path.empty()) {
    auto loaded = load_candidates(candidates_path);
    if (!loaded) return loaded.error();
    candidates = std::move(*loaded);
    std::vector<std::string> keep;
    for (const auto& c : candidates) {
      if (data->model_index(c.name) < data->models.size()) keep.push_back(c.name);
    }
    if (keep.size() < 2) {
      return Error::make(ErrorKind::kInvalidRequest,
                         "fewer than 2 models of " + candidates_path + " have labels in " + path,
                         std::string("data_mismatch"));
    }
    if (keep.size() < data->models.size()) {
      err << "note: " << data->models.size() - keep.size()
          << " model(s) in the data are not in the candidates file and are ignored\n";
    }
    auto selected = select_models(*data, keep);
    if (!selected) return selected.error();
    *data = std::move(*selected);
  }
  resolve_costs(*data, candidates);
  return data;
}

int fail(std::ostream& err, const Error& e) {
  err << "error: " << e.message << "\n";
  return 1;
}

void print_curve(std::ostream& out, const EvalResult& r, bool compact) {
  out << "  " << std::left << std::setw(12) << "cost_weight" << std::setw(10) << "accuracy"
      << std::setw(11) << "total_cost"
      << "most picked\n";
  const CurvePoint* previous = nullptr;
  for (const auto& p : r.curve) {
    if (previous && previous->accuracy == p.accuracy && previous->cost_usd == p.cost_usd) continue;
    if (compact && previous && std::abs(previous->cost_usd - p.cost_usd) < 0.01 * p.cost_usd &&
        std::abs(previous->accuracy - p.accuracy) < 0.002) {
      continue;
    }
    previous = &p;
    size_t top = 0;
    for (size_t j = 1; j < p.picks.size(); ++j) {
      if (p.picks[j] > p.picks[top]) top = j;
    }
    std::string name = r.candidates[top];
    if (auto slash = name.rfind('/'); slash != std::string::npos) name = name.substr(slash + 1);
    out << "  " << std::left << std::setw(12) << lambda_text(p.cost_weight) << std::setw(10)
        << number(p.accuracy) << std::setw(11) << money(p.cost_usd) << name << " "
        << number(100.0 * p.picks[top] / std::max<size_t>(1, r.rows), 0) << "%\n";
  }
}

void print_references(std::ostream& out, const EvalResult& r) {
  out << "  single models (null label = 0):\n";
  for (const auto& m : r.single_models) {
    out << "    " << std::left << std::setw(40) << m.name << number(m.accuracy) << "  "
        << money(m.cost_usd) << "\n";
  }
  out << "  best single: " << r.best_single.name << " " << number(r.best_single.accuracy) << " at "
      << money(r.best_single.cost_usd) << "\n";
  out << "  oracle:      " << number(r.oracle.accuracy) << " at " << money(r.oracle.cost_usd)
      << "\n";
}

int cmd_train(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  const std::set<std::string> valued = {"--strategy",
                                        "--data",
                                        "--out",
                                        "--candidates",
                                        "--seed",
                                        "--val-fraction",
                                        "--model-version",
                                        "--featurizer",
                                        "--hash-bits",
                                        "--word-ngrams",
                                        "--char-ngrams",
                                        "--tail-bytes",
                                        "--k",
                                        "--knn-power",
                                        "--prior-weight",
                                        "--max-df",
                                        "--svm-c",
                                        "--svm-epochs",
                                        "--svm-loss",
                                        "--svm-c-grid",
                                        "--hidden",
                                        "--epochs",
                                        "--patience",
                                        "--learning-rate",
                                        "--batch-size",
                                        "--dropout",
                                        "--weight-decay",
                                        "--init-scale",
                                        "--factors",
                                        "--pairwise-weight",
                                        "--pointwise-weight",
                                        "--small",
                                        "--large",
                                        "--large-share",
                                        "--margin",
                                        "--created-at",
                                        "--dense-weight",
                                        "--query-terms",
                                        "--max-postings",
                                        "--char-tail",
                                        "--common-rank"};
  const std::set<std::string> boolean = {"--no-refit", "--quiet", "--svm-balanced", "--no-idf"};
  Options o = parse(args, valued, boolean);
  if (o.flags.count("--help")) {
    out << kTrainHelp;
    return 0;
  }
  for (const char* required : {"--strategy", "--data", "--out"}) {
    if (!o.values.count(required)) o.errors.push_back(std::string("missing ") + required);
  }
  TrainOptions t;
  t.strategy = o.get("--strategy");
  if (!t.strategy.empty() && t.strategy != "custom" && !is_known_strategy(t.strategy)) {
    o.errors.push_back("--strategy must be knn, svm, mlp, mf or hybrid");
  }
  auto number_opt = [&](const char* name, double& target, double lo, double hi) {
    if (!o.values.count(name)) return;
    double v = 0;
    if (!to_double(o.get(name), v) || v < lo || v > hi) {
      o.errors.push_back(std::string(name) + " must be a number in [" + lambda_text(lo) + ", " +
                         lambda_text(hi) + "]");
      return;
    }
    target = v;
  };
  auto uint_opt = [&](const char* name, auto& target, uint64_t lo, uint64_t hi) {
    if (!o.values.count(name)) return;
    uint64_t v = 0;
    if (!to_uint(o.get(name), v) || v < lo || v > hi) {
      o.errors.push_back(std::string(name) + " must be an integer in [" + std::to_string(lo) +
                         ", " + std::to_string(hi) + "]");
      return;
    }
    target = static_cast<std::remove_reference_t<decltype(target)>>(v);
  };
  uint_opt("--seed", t.seed, 0, UINT64_MAX);
  number_opt("--val-fraction", t.validation_fraction, 0, 0.89);
  t.refit = !o.flags.count("--no-refit");
  t.model_version = o.get("--model-version");
  t.created_at = o.get("--created-at");
  t.featurizer = o.get("--featurizer", "hashed_tfidf");
  uint_opt("--hash-bits", t.tfidf.hash_bits, 8, 22);
  if (o.flags.count("--no-idf")) t.tfidf.use_idf = false;
  {
    double dense = t.tfidf.dense_weight;
    number_opt("--dense-weight", dense, 0, 10);
    t.tfidf.dense_weight = static_cast<float>(dense);
  }
  // Rebuild the featurizer blocks from the n-gram flags.
  {
    int wl = 1, wh = 2, cl = 4, ch = 4;
    bool chars = true;
    uint64_t tail = 512;
    uint64_t char_tail = 256;
    if (o.values.count("--word-ngrams") && !to_range(o.get("--word-ngrams"), wl, wh)) {
      o.errors.push_back("--word-ngrams must look like 1-2");
    }
    if (o.values.count("--char-ngrams")) {
      if (o.get("--char-ngrams") == "off")
        chars = false;
      else if (!to_range(o.get("--char-ngrams"), cl, ch)) {
        o.errors.push_back("--char-ngrams must look like 4-4, 3-5 or off");
      }
    }
    uint_opt("--tail-bytes", tail, 0, 1u << 20);
    uint_opt("--char-tail", char_tail, 0, 1u << 30);
    t.tfidf.blocks.clear();
    t.tfidf.blocks.push_back({BlockKind::kWord, wl, wh, 0, 1.0f});
    if (chars) {
      t.tfidf.blocks.push_back({BlockKind::kChar, cl, ch, static_cast<uint32_t>(char_tail), 1.0f});
    }
    if (tail > 0) {
      t.tfidf.blocks.push_back({BlockKind::kTailWord, wl, wh, static_cast<uint32_t>(tail), 1.0f});
    }
  }
  if (o.get("--k") == "auto") o.values.erase("--k");
  uint_opt("--k", t.knn.k, 1, 10000);
  number_opt("--knn-power", t.knn.power, 0.01, 64);
  number_opt("--prior-weight", t.knn.prior_weight, 0, 1e6);
  number_opt("--max-df", t.knn.max_df, 0.001, 1);
  uint_opt("--query-terms", t.knn.query_terms, 0, 1u << 30);
  uint_opt("--max-postings", t.knn.max_postings, 0, 1u << 30);
  uint_opt("--common-rank", t.knn.common_rank, 0, 256);
  number_opt("--svm-c", t.svm.c, 1e-6, 1e6);
  uint_opt("--svm-epochs", t.svm.max_epochs, 1, 100000);
  if (o.values.count("--svm-loss")) {
    t.svm_loss = o.get("--svm-loss");
    if (t.svm_loss != "hinge" && t.svm_loss != "logistic") {
      o.errors.push_back("--svm-loss must be hinge or logistic");
    }
  }
  if (o.values.count("--svm-c-grid")) {
    t.logistic.c_grid.clear();
    std::stringstream ss(o.get("--svm-c-grid"));
    std::string part;
    while (std::getline(ss, part, ',')) {
      char* end = nullptr;
      const double c = std::strtod(part.c_str(), &end);
      if (part.empty() || end != part.c_str() + part.size() || !(c >= 1e-6 && c <= 1e6)) {
        o.errors.push_back("--svm-c-grid must be a comma list of numbers in [1e-6, 1e6]");
        break;
      }
      t.logistic.c_grid.push_back(c);
    }
    if (t.logistic.c_grid.empty()) o.errors.push_back("--svm-c-grid needs at least one value");
  }
  t.svm.balanced = o.flags.count("--svm-balanced") > 0;
  if (o.values.count("--hidden")) {
    t.mlp.hidden.clear();
    std::stringstream ss(o.get("--hidden"));
    std::string part;
    while (std::getline(ss, part, ',')) {
      uint64_t h = 0;
      if (!to_uint(part, h) || h < 1 || h > 4096) {
        o.errors.push_back("--hidden must be a comma list of widths 1-4096");
        break;
      }
      t.mlp.hidden.push_back(static_cast<uint32_t>(h));
    }
    if (t.mlp.hidden.empty() || t.mlp.hidden.size() > 4) {
      o.errors.push_back("--hidden takes 1 to 4 layer widths");
    }
  }
  uint_opt("--epochs", t.mlp.max_epochs, 1, 10000);
  uint_opt("--patience", t.mlp.patience, 1, 10000);
  number_opt("--learning-rate", t.mlp.learning_rate, 1e-7, 1);
  uint_opt("--batch-size", t.mlp.batch_size, 1, 100000);
  number_opt("--dropout", t.mlp.dropout, 0, 0.9);
  number_opt("--weight-decay", t.mlp.weight_decay, 0, 1);
  number_opt("--init-scale", t.mlp.init_scale, 1e-6, 10);
  t.mf.max_epochs = t.mlp.max_epochs;
  t.mf.patience = t.mlp.patience;
  t.mf.learning_rate = t.mlp.learning_rate;
  t.mf.batch_size = t.mlp.batch_size;
  t.mf.weight_decay = t.mlp.weight_decay;
  t.mf.init_scale = t.mlp.init_scale;
  uint_opt("--factors", t.mf.factors, 1, 1024);
  number_opt("--pairwise-weight", t.mf.pairwise_weight, 0, 1e3);
  number_opt("--pointwise-weight", t.mf.pointwise_weight, 0, 1e3);
  t.hybrid_small = o.get("--small");
  t.hybrid_large = o.get("--large");
  number_opt("--large-share", t.hybrid_large_share, 0, 1);
  number_opt("--margin", t.hybrid_margin, -1, 1);
  if (!o.errors.empty()) {
    for (const auto& e : o.errors) err << "error: " << e << "\n";
    err << "see `switchyard train --help`\n";
    return 2;
  }

  const bool quiet = o.flags.count("--quiet") > 0;
  const auto started = std::chrono::steady_clock::now();
  auto data = load_for(o.get("--data"), o.get("--candidates"), err);
  if (!data) return fail(err, data.error());
  ProgressBar bar(err, !quiet && &err == &std::cerr && ::isatty(2));
  t.progress = [&bar](std::string_view stage, double fraction) { bar(stage, fraction); };
  auto outcome = train_router(*data, t);
  bar.finish();
  if (!outcome) return fail(err, outcome.error());
  if (auto ok = write_file_atomically(o.get("--out"), outcome->artefact); !ok) {
    return fail(err, ok.error());
  }
  if (quiet) return 0;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  for (const auto& w : outcome->warnings) err << "warning: " << w << "\n";
  err << "trained " << t.strategy << " on " << data->rows() << " rows, "
      << outcome->candidates.size() << " candidates, in " << number(seconds, 1) << " s\n";
  if (outcome->has_validation) {
    const auto& v = outcome->validation;
    err << "validation slice (" << v.rows << " training rows held out):\n";
    std::ostringstream table;
    print_curve(table, v, true);
    err << table.str();
    err << "  best single " << v.best_single.name << " " << number(v.best_single.accuracy) << " at "
        << money(v.best_single.cost_usd) << "; oracle " << number(v.oracle.accuracy) << " at "
        << money(v.oracle.cost_usd) << "\n";
    err << "  recommended cost weight " << lambda_text(v.recommended_cost_weight) << " (curve area "
        << number(v.area) << ")\n";
  }
  err << "wrote " << o.get("--out") << " (" << outcome->artefact.size() << " bytes, sha256 "
      << outcome->checksum.substr(0, 16) << "...)\n";
  return 0;
}

int cmd_route(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Options o = parse(args, {"--model", "--input", "--cost-weight"}, {"--explain"});
  if (o.flags.count("--help")) {
    out << "switchyard route --model MODEL --input QUERIES.jsonl|- [--cost-weight X|recommended] "
           "[--explain]\n";
    return 0;
  }
  for (const char* required : {"--model", "--input"}) {
    if (!o.values.count(required)) o.errors.push_back(std::string("missing ") + required);
  }
  if (!o.errors.empty()) {
    for (const auto& e : o.errors) err << "error: " << e << "\n";
    return 2;
  }
  auto router = RouterModel::load_file(o.get("--model"));
  if (!router) return fail(err, router.error());
  double lambda = 0;
  if (o.values.count("--cost-weight")) {
    if (o.get("--cost-weight") == "recommended") {
      lambda = (*router)->recommended_cost_weight();
    } else if (!to_double(o.get("--cost-weight"), lambda) || lambda < 0) {
      err << "error: --cost-weight must be a number >= 0 or 'recommended'\n";
      return 2;
    }
  }
  std::string text;
  if (o.get("--input") == "-") {
    std::ostringstream buffer;
    buffer << std::cin.rdbuf();
    text = std::move(buffer).str();
  } else {
    auto read = read_whole_file(o.get("--input"));
    if (!read) return fail(err, read.error());
    text = std::move(*read);
  }
  auto queries = parse_queries(text);
  if (!queries) return fail(err, queries.error());
  const bool explain = o.flags.count("--explain") > 0;
  const auto& candidates = (*router)->candidates();
  RouterModel::Decision d;
  size_t line = 0;
  for (const auto& q : *queries) {
    ++line;
    auto ok = (*router)->explain(RouteInput{q.prompt, q.embedding}, lambda, d);
    if (!ok) {
      err << "error: query " << line << ": " << ok.error().message << "\n";
      return 1;
    }
    json::object row{{"model", candidates[d.choice]}};
    if (explain) {
      json::object scores;
      for (size_t i = 0; i < candidates.size(); ++i) {
        scores[candidates[i]] = json::object{
            {"quality", d.quality[i]}, {"cost_usd", d.cost_usd[i]}, {"score", d.score[i]}};
      }
      row["scores"] = std::move(scores);
    }
    out << json::serialize(row) << "\n";
  }
  return 0;
}

// For each budget, the cost weight chosen on the artefact's validation curve and
// the point of `r` (this data's curve) at that cost weight.
void print_validation_budget_points(std::ostream& out, const RouterModel& router,
                                    const EvalResult& r, const std::vector<double>& budgets) {
  const auto& meta = router.metadata();
  const auto* validation = meta.if_contains("validation");
  if (validation == nullptr || !validation->is_object()) return;
  const auto& v = validation->as_object();
  const auto* rows = v.if_contains("rows");
  const auto* curve = v.if_contains("curve");
  if (rows == nullptr || curve == nullptr || !curve->is_array() || !rows->is_number()) return;
  std::vector<CurvePoint> points;
  for (const auto& item : curve->as_array()) {
    if (!item.is_object()) return;
    const auto& o = item.as_object();
    CurvePoint p;
    p.cost_weight = o.at("cost_weight").to_number<double>();
    p.accuracy = o.at("accuracy").to_number<double>();
    p.cost_usd = o.at("cost_usd").to_number<double>();
    points.push_back(p);
  }
  const auto validation_rows = rows->to_number<size_t>();
  for (double b : budgets) {
    out << "  cost weight for <= " << money(b) << " chosen on training validation: ";
    const double lambda = cost_weight_for_budget(points, validation_rows, b, r.rows);
    const CurvePoint* at = nullptr;
    for (const auto& p : r.curve) {
      if (!at || std::abs(std::log1p(p.cost_weight) - std::log1p(lambda)) <
                     std::abs(std::log1p(at->cost_weight) - std::log1p(lambda))) {
        at = &p;
      }
    }
    if (std::isnan(lambda) || at == nullptr) {
      out << "none\n";
      continue;
    }
    out << lambda_text(lambda) << " -> " << number(at->accuracy) << " at " << money(at->cost_usd)
        << (at->cost_usd > b + 1e-12 ? " (over budget)" : "") << "\n";
  }
}

int cmd_eval(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Options o = parse(args, {"--model", "--data", "--svg", "--candidates", "--budgets", "--title"},
                    {"--full"});
  if (o.flags.count("--help")) {
    out << "switchyard eval --model MODEL --data TEST.jsonl [--svg OUT.svg] [--budgets USD,USD] "
           "[--candidates FILE] [--title TEXT] [--full]\n";
    return 0;
  }
  for (const char* required : {"--model", "--data"}) {
    if (!o.values.count(required)) o.errors.push_back(std::string("missing ") + required);
  }
  std::vector<double> budgets;
  if (o.values.count("--budgets")) {
    std::stringstream ss(o.get("--budgets"));
    std::string part;
    while (std::getline(ss, part, ',')) {
      double b = 0;
      if (!to_double(part, b) || b < 0) {
        o.errors.push_back("--budgets must be a comma list of USD amounts");
        break;
      }
      budgets.push_back(b);
    }
  }
  if (!o.errors.empty()) {
    for (const auto& e : o.errors) err << "error: " << e << "\n";
    return 2;
  }
  auto router = RouterModel::load_file(o.get("--model"));
  if (!router) return fail(err, router.error());
  auto data = load_for(o.get("--data"), o.get("--candidates"), err);
  if (!data) return fail(err, data.error());
  auto result = evaluate(**router, *data, default_cost_weights());
  if (!result) return fail(err, result.error());
  for (const auto& w : result->warnings) err << "warning: " << w << "\n";
  const auto& r = *result;
  out << "router " << (*router)->strategy() << " (" << (*router)->version() << ") on " << data->path
      << ": " << r.rows << " rows, " << r.candidates.size() << " candidates\n";
  print_curve(out, r, !o.flags.count("--full"));
  print_references(out, r);
  for (double b : budgets) {
    const CurvePoint* p = best_within_budget(r, b);
    out << "  best at total cost <= " << money(b) << ": ";
    if (p) {
      out << number(p->accuracy) << " at " << money(p->cost_usd) << " (cost_weight "
          << lambda_text(p->cost_weight) << ")\n";
    } else {
      out << "none\n";
    }
  }
  // The same budgets met the way a deployment would: the cost weight is read off
  // the training validation curve (budget scaled to its row count), never off
  // this data's curve.
  if (!budgets.empty()) print_validation_budget_points(out, **router, r, budgets);
  // The operating point a deployment would use without looking at this data.
  const double recommended = (*router)->recommended_cost_weight();
  const CurvePoint* at = nullptr;
  for (const auto& p : r.curve) {
    if (!at || std::abs(std::log1p(p.cost_weight) - std::log1p(recommended)) <
                   std::abs(std::log1p(at->cost_weight) - std::log1p(recommended))) {
      at = &p;
    }
  }
  if (at) {
    out << "  at the recommended cost weight " << lambda_text(recommended) << " (from training "
        << "validation): " << number(at->accuracy) << " at " << money(at->cost_usd) << "\n";
  }
  out << "  curve area (mean accuracy over log cost, cheapest..best single): " << number(r.area)
      << "\n";
  if (o.values.count("--svg")) {
    PlotOptions plot;
    plot.title = o.get("--title", (*router)->strategy() + " router: accuracy vs cost");
    plot.budgets = budgets;
    if (auto ok = write_file_atomically(o.get("--svg"), accuracy_cost_svg(r, plot)); !ok) {
      return fail(err, ok.error());
    }
  }
  return 0;
}

}  // namespace

bool is_learned_command(const std::string& command) {
  return command == "train" || command == "route" || command == "eval";
}

int run_learned_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty()) return 2;
  if (args[0] == "train") return cmd_train(args, out, err);
  if (args[0] == "route") return cmd_route(args, out, err);
  if (args[0] == "eval") return cmd_eval(args, out, err);
  err << "error: unknown command '" << args[0] << "'\n";
  return 2;
}

int run_learned_cli(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::ios::sync_with_stdio(false);
  return run_learned_cli(args, std::cout, std::cerr);
}

}  // namespace switchyard::learned
