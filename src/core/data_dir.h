#pragma once
// The data dir: the one directory the gateway writes to besides /tmp (the
// embedded SQLite store, router artefacts downloaded from S3). Chosen by
// switchyard_settings.data_dir, overridden by SWITCHYARD_DATA_DIR; the
// default, /app/data, lets a container run with a read-only root filesystem
// and one writable volume mounted there.
#include <string>
#include <string_view>

#include "core/error.h"

namespace switchyard {

inline constexpr const char* kDefaultDataDir = "/app/data";

// Creates `dir` when it is missing and checks that a file can be created in
// it (the file is removed again). `needed_for` names what needs the
// directory; the error says it and names the two settings that choose it.
Result<bool> prepare_data_dir(const std::string& dir, std::string_view needed_for);

}  // namespace switchyard
