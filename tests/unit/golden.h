#pragma once
// Golden-file plumbing shared by the translation tests: where the files are,
// reading them, listing the cases of a directory, naming parameterised tests
// after them, and writing NAME.actual.* for review when
// SWITCHYARD_GOLDEN_ACTUAL=1 (expected files are never written by a test).
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace golden {

namespace fs = std::filesystem;

// tests/golden/<provider>
inline fs::path root(std::string_view provider) {
  return fs::path(SWITCHYARD_SOURCE_DIR) / "tests" / "golden" / provider;
}

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << p;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline boost::json::value read_json(const fs::path& p) {
  boost::json::error_code ec;
  auto v = boost::json::parse(read_file(p), ec);
  EXPECT_FALSE(ec) << p << ": " << ec.message();
  return v;
}

// NAME for every NAME<in_suffix> in `dir`, sorted.
inline std::vector<std::string> case_names(const fs::path& dir, std::string_view in_suffix) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string file = entry.path().filename().string();
    if (file.size() > in_suffix.size() &&
        file.compare(file.size() - in_suffix.size(), in_suffix.size(), in_suffix) == 0) {
      names.push_back(file.substr(0, file.size() - in_suffix.size()));
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

// gtest parameter names allow only [A-Za-z0-9_].
inline std::string param_name(const testing::TestParamInfo<std::string>& info) {
  std::string s = info.param;
  for (auto& c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return s;
}

inline void maybe_write_actual(const fs::path& p, std::string_view text) {
  const char* flag = std::getenv("SWITCHYARD_GOLDEN_ACTUAL");
  if (flag == nullptr || std::string_view(flag) != "1") return;
  std::ofstream(p, std::ios::binary) << text;
}

}  // namespace golden
