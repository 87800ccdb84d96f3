#include "core/data_dir.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "config/config.h"

using namespace switchyard;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("switchyard-datadir-" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

}  // namespace

TEST(DataDir, DefaultIsAppData) {
  EXPECT_STREQ(kDefaultDataDir, "/app/data");
  EXPECT_EQ(ServerSettings{}.data_dir, "/app/data");
}

TEST(DataDir, CreatesMissingDirectoriesAndLeavesNothingBehind) {
  TempDir tmp;
  const fs::path dir = tmp.path / "a" / "b";
  auto ready = prepare_data_dir(dir.string(), "the SQLite store");
  ASSERT_TRUE(ready) << ready.error().message;
  EXPECT_TRUE(fs::is_directory(dir));
  EXPECT_TRUE(fs::is_empty(dir));
}

TEST(DataDir, ErrorsNameWhatNeedsItAndBothSettings) {
  TempDir tmp;
  std::ofstream(tmp.path / "file") << "x";
  const std::string below_file = (tmp.path / "file" / "data").string();
  auto blocked = prepare_data_dir(below_file, "the SQLite store (switchyard.db)");
  ASSERT_FALSE(blocked);
  EXPECT_EQ(blocked.error().message,
            "data dir " + below_file +
                " cannot be created: Not a directory; it holds the SQLite store (switchyard.db). "
                "Set SWITCHYARD_DATA_DIR or switchyard_settings.data_dir to a writable directory "
                "(in a container: a volume mounted there; outside one, e.g. ./data)");

  auto file = prepare_data_dir((tmp.path / "file").string(), "x");
  ASSERT_FALSE(file);
  EXPECT_NE(file.error().message.find("is not a directory"), std::string::npos);

  // A directory nobody may create files in, not even root: procfs.
  auto readonly = prepare_data_dir("/proc/self", "x");
  ASSERT_FALSE(readonly);
  EXPECT_NE(readonly.error().message.find("/proc/self cannot be written: "), std::string::npos)
      << readonly.error().message;
}
