// `switchyard train | route | eval` end to end on tiny files: the exact route
// output format scripts depend on, eval's report and SVG, and argument errors.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "learned/cli.h"
#include "learned_test_util.h"

using namespace switchyard::learned;
using namespace switchyard::learned::testing;
namespace fs = std::filesystem;

namespace {

class LearnedCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("switchyard_learned_cli_" +
            std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    write("train.jsonl", synthetic_jsonl(15, 1));
    write("test.jsonl", synthetic_jsonl(5, 2));
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path(name), std::ios::binary) << text;
  }
  std::string read(const std::string& name) const {
    std::ifstream in(path(name), std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  int run(std::vector<std::string> args) {
    out_.str("");
    err_.str("");
    return run_learned_cli(args, out_, err_);
  }
  int train(const std::string& strategy, const std::string& model) {
    return run({"train", "--strategy", strategy, "--data", path("train.jsonl"), "--out",
                path(model), "--hash-bits", "10", "--char-ngrams", "off", "--k", "5", "--quiet"});
  }

  fs::path dir_;
  std::ostringstream out_, err_;
};

}  // namespace

TEST_F(LearnedCli, RouteWritesOneModelLinePerQueryInOrder) {
  ASSERT_EQ(train("knn", "m.syr"), 0) << err_.str();
  write("queries.jsonl",
        "{\"query\": \"write a python function that sorts the list and returns code\"}\n"
        "{\"prompt\": \"hi alice, how was your weekend? tell me about the dinner please\"}\n"
        "\n"
        "{\"messages\": [{\"role\": \"user\", \"content\": \"compute the integral of 3 x squared "
        "plus 4 dx and simplify the sum\"}]}\n");
  ASSERT_EQ(run({"route", "--model", path("m.syr"), "--input", path("queries.jsonl"),
                 "--cost-weight", "1"}),
            0)
      << err_.str();
  EXPECT_EQ(out_.str(),
            "{\"model\":\"coder\"}\n"
            "{\"model\":\"cheap\"}\n"
            "{\"model\":\"big\"}\n");
  // Default cost weight 0; a huge one routes everything to the cheapest.
  ASSERT_EQ(run({"route", "--model", path("m.syr"), "--input", path("queries.jsonl"),
                 "--cost-weight=1e9"}),
            0);
  EXPECT_EQ(out_.str(), "{\"model\":\"cheap\"}\n{\"model\":\"cheap\"}\n{\"model\":\"cheap\"}\n");
}

TEST_F(LearnedCli, RouteExplainAndErrors) {
  ASSERT_EQ(train("svm", "m.syr"), 0) << err_.str();
  write("q.jsonl", "{\"query\": \"hello there\"}\n");
  ASSERT_EQ(run({"route", "--model", path("m.syr"), "--input", path("q.jsonl"), "--explain"}), 0);
  auto line = boost::json::parse(out_.str()).as_object();
  ASSERT_TRUE(line.contains("model"));
  const auto& scores = line.at("scores").as_object();
  EXPECT_EQ(scores.size(), 3u);
  EXPECT_TRUE(scores.at("big").as_object().contains("quality"));
  EXPECT_TRUE(scores.at("big").as_object().contains("cost_usd"));

  write("bad.jsonl", "{\"query\": \"fine\"}\n{\"text\": \"no query field\"}\n");
  EXPECT_EQ(run({"route", "--model", path("m.syr"), "--input", path("bad.jsonl")}), 1);
  EXPECT_NE(err_.str().find("input line 2"), std::string::npos) << err_.str();

  EXPECT_EQ(run({"route", "--model", path("missing.syr"), "--input", path("q.jsonl")}), 1);
  EXPECT_NE(err_.str().find("missing.syr"), std::string::npos);
  EXPECT_EQ(run({"route", "--input", path("q.jsonl")}), 2);
  EXPECT_NE(err_.str().find("missing --model"), std::string::npos);
  EXPECT_EQ(
      run({"route", "--model", path("m.syr"), "--input", path("q.jsonl"), "--cost-weight", "-1"}),
      2);
}

TEST_F(LearnedCli, EvalPrintsCurveReferencesAndWritesSvg) {
  ASSERT_EQ(train("knn", "m.syr"), 0) << err_.str();
  ASSERT_EQ(run({"eval", "--model", path("m.syr"), "--data", path("test.jsonl"), "--svg",
                 path("plot.svg"), "--budgets", "0.4,0.1"}),
            0)
      << err_.str();
  const std::string report = out_.str();
  EXPECT_NE(report.find("15 rows, 3 candidates"), std::string::npos) << report;
  EXPECT_NE(report.find("best single: big 1.000 at $0.750"), std::string::npos) << report;
  EXPECT_NE(report.find("oracle:      1.000 at $0.305"), std::string::npos) << report;
  EXPECT_NE(report.find("best at total cost <= $0.400: 1.000"), std::string::npos) << report;
  const std::string svg = read("plot.svg");
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_NE(svg.find("oracle 1.000"), std::string::npos);
}

TEST_F(LearnedCli, TrainArgumentErrors) {
  EXPECT_EQ(run({"train", "--strategy", "knn", "--data", path("train.jsonl")}), 2);
  EXPECT_NE(err_.str().find("missing --out"), std::string::npos);
  EXPECT_EQ(run({"train", "--strategy", "knn", "--data", path("train.jsonl"), "--out",
                 path("m.syr"), "--frobnicate", "3"}),
            2);
  EXPECT_NE(err_.str().find("unknown option --frobnicate"), std::string::npos);
  EXPECT_EQ(
      run({"train", "--strategy", "tree", "--data", path("train.jsonl"), "--out", path("m.syr")}),
      2);
  EXPECT_EQ(run({"train", "--strategy", "knn", "--data", path("train.jsonl"), "--out",
                 path("m.syr"), "--k", "zero"}),
            2);
  EXPECT_NE(err_.str().find("--k must be an integer"), std::string::npos);
  EXPECT_EQ(
      run({"train", "--strategy", "knn", "--data", path("nope.jsonl"), "--out", path("m.syr")}), 1);
  EXPECT_FALSE(fs::exists(path("m.syr")));
  EXPECT_EQ(run({"train", "--help"}), 0);
  EXPECT_NE(out_.str().find("--large-share"), std::string::npos);
}

TEST_F(LearnedCli, TrainsOnLlmRouterLongFormatWithCandidatesFile) {
  // One row per (query, model); prices come from an llm_data file.
  std::string rows;
  Rng rng(1);
  for (int i = 0; i < 30; ++i) {
    const Topic t = static_cast<Topic>(i % 3);
    const std::string q = synthetic_prompt(t, rng);
    const auto quality = synthetic_quality(t);
    for (size_t m = 0; m < 3; ++m) {
      rows += "{\"task_name\": \"t\", \"query\": \"" + q + "\", \"model_name\": \"" +
              synthetic_models()[m] + "\", \"performance\": " + std::to_string(quality[m]) +
              ", \"input_tokens\": 100, \"output_tokens\": 50}\n";
    }
  }
  write("long.jsonl", rows);
  write("llm_data.json",
        R"({"cheap": {"input_price": 1, "output_price": 2},
            "coder": {"input_price": 10, "output_price": 20},
            "big": {"input_price": 100, "output_price": 200},
            "unused": {"input_price": 0.1, "output_price": 0.1}})");
  ASSERT_EQ(run({"train", "--strategy", "svm", "--data", path("long.jsonl"), "--candidates",
                 path("llm_data.json"), "--out", path("m.syr"), "--hash-bits", "10", "--quiet"}),
            0)
      << err_.str();
  write("q.jsonl",
        "{\"query\": \"write a python function that sorts the tree and returns code\"}\n");
  ASSERT_EQ(run({"route", "--model", path("m.syr"), "--input", path("q.jsonl"), "--explain"}), 0);
  auto line = boost::json::parse(out_.str()).as_object();
  // Cost = 100 x price_in + 50 x price_out per million tokens, fitted exactly.
  EXPECT_NEAR(line.at("scores").at("coder").at("cost_usd").to_number<double>(),
              (100 * 10 + 50 * 20) / 1e6, 1e-9);
  EXPECT_EQ(line.at("model").as_string(), "big");  // cost weight 0: best quality, big >= coder
}
