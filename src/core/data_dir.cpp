#include "core/data_dir.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace switchyard {

namespace {

Error unusable(const std::string& dir, std::string_view needed_for, const std::string& why) {
  std::string message = "data dir ";
  message.append(dir).append(" ").append(why).append("; it holds ").append(needed_for);
  message.append(
      ". Set SWITCHYARD_DATA_DIR or switchyard_settings.data_dir to a writable directory (in a "
      "container: a volume mounted there; outside one, e.g. ./data)");
  return Error::make(ErrorKind::kUnavailable, message, "data_dir_unusable");
}

}  // namespace

Result<bool> prepare_data_dir(const std::string& dir, std::string_view needed_for) {
  namespace fs = std::filesystem;
  if (dir.empty()) return unusable("\"\"", needed_for, "is empty");
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) {
    return unusable(dir, needed_for, "is not a directory");
  }
  fs::create_directories(dir, ec);
  if (ec) return unusable(dir, needed_for, "cannot be created: " + ec.message());
  const std::string probe =
      (fs::path(dir) / (".switchyard-write-check-" + std::to_string(::getpid()))).string();
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return unusable(dir, needed_for, std::string("cannot be written: ") + std::strerror(errno));
  }
  ::close(fd);
  ::unlink(probe.c_str());
  return true;
}

}  // namespace switchyard
