#pragma once
// The router artefact container: one file holding a JSON header (metadata,
// featurizer spec, model spec, candidate costs, training figures) and raw
// little-endian tensors, protected by a SHA-256 over everything after the fixed
// prelude. Layout (all integers little-endian):
//
//   offset  size  field
//   0       8     magic "SYROUTER"
//   8       4     u32 format version (kArtefactFormatVersion)
//   12      4     u32 reserved, 0
//   16      8     u64 header length H (UTF-8 JSON, space-padded to a multiple of 8)
//   24      8     u64 data length D
//   32      32    SHA-256 of bytes [64, 64 + H + D)
//   64      H     header JSON; header["tensors"][name] = {dtype, shape, offset, bytes}
//   64 + H  D     tensor data; offsets are relative to 64 + H and 8-byte aligned
//
// Loading never executes anything from the file: it checks sizes, the checksum,
// parses JSON and copies tensors out after validating dtype, shape and bounds.
// docs/routing.md documents the format for people writing artefacts elsewhere.
#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace switchyard::learned {

inline constexpr uint32_t kArtefactFormatVersion = 1;
inline constexpr std::string_view kArtefactMagic = "SYROUTER";
inline constexpr size_t kArtefactPreludeBytes = 64;

// Error codes carried in Error::code by everything that loads an artefact.
inline constexpr const char* kErrArtefactIo = "artefact_io";
inline constexpr const char* kErrArtefactTruncated = "artefact_truncated";
inline constexpr const char* kErrArtefactCorrupt = "artefact_corrupt";
inline constexpr const char* kErrArtefactVersion = "artefact_version";
inline constexpr const char* kErrArtefactMismatch = "artefact_mismatch";

Error artefact_error(const char* code, std::string message);

enum class DType { kF32, kU32, kU64 };
const char* dtype_name(DType dtype);
size_t dtype_size(DType dtype);

// Builds an artefact in memory. Used by the trainer (and by tests that forge
// artefacts); the gateway only reads.
class ArtefactWriter {
 public:
  boost::json::object& header() { return header_; }

  void add_f32(const std::string& name, std::vector<uint64_t> shape, std::span<const float> data);
  void add_u32(const std::string& name, std::vector<uint64_t> shape,
               std::span<const uint32_t> data);
  void add_u64(const std::string& name, std::vector<uint64_t> shape,
               std::span<const uint64_t> data);

  // The complete file image. `checksum_hex`, when given, receives the payload SHA-256.
  std::string serialize(std::string* checksum_hex = nullptr) const;

 private:
  struct Tensor {
    DType dtype;
    std::vector<uint64_t> shape;
    std::string bytes;
  };
  void add(const std::string& name, DType dtype, std::vector<uint64_t> shape, const void* data,
           size_t bytes);

  boost::json::object header_;
  std::map<std::string, Tensor> tensors_;  // sorted by name: deterministic layout
};

// Writes `bytes` to `path` atomically (temporary file + rename) so a gateway
// hot-reloading the path never sees half a file.
Result<bool> write_file_atomically(const std::string& path, std::string_view bytes);

// A parsed, verified artefact. Immutable.
class Artefact {
 public:
  static Result<Artefact> parse(std::string bytes);
  static Result<Artefact> read_file(const std::string& path);

  const boost::json::object& header() const { return header_; }
  const std::string& checksum() const { return checksum_; }
  size_t file_bytes() const { return bytes_.size(); }

  bool has_tensor(const std::string& name) const { return tensors_.count(name) != 0; }
  // Copies a tensor out after checking its dtype and shape. A 0 in `shape`
  // matches any extent; `actual_shape`, when given, receives the stored shape.
  Result<std::vector<float>> f32(const std::string& name, const std::vector<uint64_t>& shape,
                                 std::vector<uint64_t>* actual_shape = nullptr) const;
  Result<std::vector<uint32_t>> u32(const std::string& name, const std::vector<uint64_t>& shape,
                                    std::vector<uint64_t>* actual_shape = nullptr) const;
  Result<std::vector<uint64_t>> u64(const std::string& name, const std::vector<uint64_t>& shape,
                                    std::vector<uint64_t>* actual_shape = nullptr) const;

 private:
  struct TensorEntry {
    DType dtype;
    std::vector<uint64_t> shape;
    uint64_t offset;  // absolute, into bytes_
    uint64_t size;
  };
  Result<const TensorEntry*> find(const std::string& name, DType dtype,
                                  const std::vector<uint64_t>& shape,
                                  std::vector<uint64_t>* actual_shape) const;

  std::string bytes_;
  boost::json::object header_;
  std::string checksum_;
  std::map<std::string, TensorEntry> tensors_;
};

// Lower-case hex SHA-256 of `bytes`.
std::string sha256_hex(std::string_view bytes);

// Small typed accessors for header JSON that turn a missing or mistyped field
// into an artefact_mismatch error naming the field path.
Result<const boost::json::object*> json_object_at(const boost::json::object& obj,
                                                  std::string_view key, std::string_view path);
Result<std::string> json_string_at(const boost::json::object& obj, std::string_view key,
                                   std::string_view path);
Result<double> json_number_at(const boost::json::object& obj, std::string_view key,
                              std::string_view path);
Result<int64_t> json_int_at(const boost::json::object& obj, std::string_view key,
                            std::string_view path);
double json_number_or(const boost::json::object& obj, std::string_view key, double fallback);
std::string json_string_or(const boost::json::object& obj, std::string_view key,
                           std::string fallback);

}  // namespace switchyard::learned
