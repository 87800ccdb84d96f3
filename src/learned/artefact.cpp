#include "learned/artefact.h"

#include <openssl/sha.h>
#include <unistd.h>

#include <bit>
#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

namespace switchyard::learned {

static_assert(std::endian::native == std::endian::little,
              "the artefact format stores little-endian tensors and is read by memcpy");

namespace json = boost::json;

Error artefact_error(const char* code, std::string message) {
  return Error::make(ErrorKind::kInvalidRequest, std::move(message), std::string(code));
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return "f32";
    case DType::kU32:
      return "u32";
    case DType::kU64:
      return "u64";
  }
  return "?";
}

size_t dtype_size(DType dtype) { return dtype == DType::kU64 ? 8 : 4; }

namespace {

void put_u32(std::string& out, uint32_t v) {
  char b[4];
  std::memcpy(b, &v, 4);
  out.append(b, 4);
}
void put_u64(std::string& out, uint64_t v) {
  char b[8];
  std::memcpy(b, &v, 8);
  out.append(b, 8);
}
uint32_t get_u32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint64_t get_u64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

std::string hex(const unsigned char* digest, size_t n) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[digest[i] >> 4]);
    out.push_back(kDigits[digest[i] & 15]);
  }
  return out;
}

std::string shape_text(const std::vector<uint64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ",";
    out += shape[i] == 0 ? std::string("*") : std::to_string(shape[i]);
  }
  return out + "]";
}

}  // namespace

std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  return hex(digest, sizeof digest);
}

void ArtefactWriter::add(const std::string& name, DType dtype, std::vector<uint64_t> shape,
                         const void* data, size_t bytes) {
  Tensor t{dtype, std::move(shape), std::string(static_cast<const char*>(data), bytes)};
  tensors_[name] = std::move(t);
}

void ArtefactWriter::add_f32(const std::string& name, std::vector<uint64_t> shape,
                             std::span<const float> data) {
  add(name, DType::kF32, std::move(shape), data.data(), data.size_bytes());
}
void ArtefactWriter::add_u32(const std::string& name, std::vector<uint64_t> shape,
                             std::span<const uint32_t> data) {
  add(name, DType::kU32, std::move(shape), data.data(), data.size_bytes());
}
void ArtefactWriter::add_u64(const std::string& name, std::vector<uint64_t> shape,
                             std::span<const uint64_t> data) {
  add(name, DType::kU64, std::move(shape), data.data(), data.size_bytes());
}

std::string ArtefactWriter::serialize(std::string* checksum_hex) const {
  json::object header = header_;
  json::object directory;
  std::string data;
  for (const auto& [name, tensor] : tensors_) {
    while (data.size() % 8 != 0) data.push_back('\0');
    json::array shape;
    for (uint64_t d : tensor.shape) shape.push_back(d);
    directory[name] = json::object{{"dtype", dtype_name(tensor.dtype)},
                                   {"shape", std::move(shape)},
                                   {"offset", data.size()},
                                   {"bytes", tensor.bytes.size()}};
    data += tensor.bytes;
  }
  header["tensors"] = std::move(directory);
  std::string header_text = json::serialize(header);
  while (header_text.size() % 8 != 0) header_text.push_back(' ');

  std::string payload = header_text + data;
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), digest);
  if (checksum_hex != nullptr) *checksum_hex = hex(digest, sizeof digest);

  std::string out;
  out.reserve(kArtefactPreludeBytes + payload.size());
  out.append(kArtefactMagic);
  put_u32(out, kArtefactFormatVersion);
  put_u32(out, 0);
  put_u64(out, header_text.size());
  put_u64(out, data.size());
  out.append(reinterpret_cast<const char*>(digest), sizeof digest);
  out += payload;
  return out;
}

Result<bool> write_file_atomically(const std::string& path, std::string_view bytes) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) {
      return artefact_error(kErrArtefactIo, "cannot write " + tmp + ": " + std::strerror(errno));
    }
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      return artefact_error(kErrArtefactIo, "short write to " + tmp);
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    return artefact_error(kErrArtefactIo, "cannot rename " + tmp + " to " + path + ": " + why);
  }
  return true;
}

Result<Artefact> Artefact::read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return artefact_error(kErrArtefactIo,
                          "cannot open router model " + path + ": " + std::strerror(errno));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return artefact_error(kErrArtefactIo, "cannot read router model " + path);
  auto parsed = parse(std::move(buffer).str());
  if (!parsed) {
    Error e = parsed.error();
    e.message = path + ": " + e.message;
    return e;
  }
  return parsed;
}

Result<Artefact> Artefact::parse(std::string bytes) {
  if (bytes.size() < kArtefactPreludeBytes) {
    if (bytes.size() >= kArtefactMagic.size() &&
        std::string_view(bytes).substr(0, kArtefactMagic.size()) != kArtefactMagic) {
      return artefact_error(kErrArtefactCorrupt,
                            "not a Switchyard router artefact (bad magic bytes)");
    }
    return artefact_error(kErrArtefactTruncated,
                          "truncated router artefact: " + std::to_string(bytes.size()) +
                              " bytes, the fixed prelude alone is 64");
  }
  if (std::string_view(bytes).substr(0, kArtefactMagic.size()) != kArtefactMagic) {
    return artefact_error(kErrArtefactCorrupt,
                          "not a Switchyard router artefact (bad magic bytes)");
  }
  const uint32_t version = get_u32(bytes.data() + 8);
  if (version != kArtefactFormatVersion) {
    return artefact_error(kErrArtefactVersion, "unsupported router artefact format version " +
                                                   std::to_string(version) +
                                                   " (this build reads version " +
                                                   std::to_string(kArtefactFormatVersion) + ")");
  }
  const uint64_t header_bytes = get_u64(bytes.data() + 16);
  const uint64_t data_bytes = get_u64(bytes.data() + 24);
  const uint64_t available = bytes.size() - kArtefactPreludeBytes;
  if (header_bytes > available || data_bytes > available - header_bytes) {
    return artefact_error(kErrArtefactTruncated,
                          "truncated router artefact: prelude announces " +
                              std::to_string(kArtefactPreludeBytes + header_bytes + data_bytes) +
                              " bytes, file has " + std::to_string(bytes.size()));
  }
  if (header_bytes + data_bytes != available) {
    return artefact_error(kErrArtefactCorrupt,
                          "router artefact has " +
                              std::to_string(available - header_bytes - data_bytes) +
                              " trailing bytes after the announced payload");
  }
  Artefact a;
  a.checksum_ = sha256_hex(std::string_view(bytes).substr(kArtefactPreludeBytes));
  const std::string stored = hex(reinterpret_cast<const unsigned char*>(bytes.data() + 32), 32);
  if (stored != a.checksum_) {
    return artefact_error(kErrArtefactCorrupt, "router artefact checksum mismatch (stored " +
                                                   stored.substr(0, 12) + "..., computed " +
                                                   a.checksum_.substr(0, 12) +
                                                   "...): the file is corrupt or was edited");
  }
  boost::system::error_code ec;
  json::value header =
      json::parse(std::string_view(bytes).substr(kArtefactPreludeBytes, header_bytes), ec);
  if (ec || !header.is_object()) {
    return artefact_error(kErrArtefactCorrupt, "router artefact header is not a JSON object" +
                                                   (ec ? ": " + ec.message() : std::string()));
  }
  a.header_ = std::move(header.as_object());
  auto format_version = json_int_at(a.header_, "format_version", "header");
  if (!format_version) return format_version.error();
  if (*format_version != static_cast<int64_t>(kArtefactFormatVersion)) {
    return artefact_error(kErrArtefactVersion, "router artefact header format_version " +
                                                   std::to_string(*format_version) +
                                                   " does not match the prelude (" +
                                                   std::to_string(kArtefactFormatVersion) + ")");
  }
  auto directory = json_object_at(a.header_, "tensors", "header");
  if (!directory) return directory.error();
  const uint64_t data_start = kArtefactPreludeBytes + header_bytes;
  for (const auto& [key, value] : **directory) {
    const std::string name(key);
    const std::string path = "tensors." + name;
    if (!value.is_object()) {
      return artefact_error(kErrArtefactCorrupt, path + " is not an object");
    }
    const auto& t = value.as_object();
    auto dtype_text = json_string_at(t, "dtype", path);
    if (!dtype_text) return dtype_text.error();
    TensorEntry entry{};
    if (*dtype_text == "f32")
      entry.dtype = DType::kF32;
    else if (*dtype_text == "u32")
      entry.dtype = DType::kU32;
    else if (*dtype_text == "u64")
      entry.dtype = DType::kU64;
    else
      return artefact_error(kErrArtefactCorrupt, path + ".dtype '" + *dtype_text + "' unknown");
    const json::value* shape = t.if_contains("shape");
    if (shape == nullptr || !shape->is_array()) {
      return artefact_error(kErrArtefactCorrupt, path + ".shape missing or not an array");
    }
    uint64_t elements = 1;
    for (const auto& d : shape->as_array()) {
      if (!d.is_int64() && !d.is_uint64()) {
        return artefact_error(kErrArtefactCorrupt, path + ".shape holds a non-integer");
      }
      const int64_t extent = d.is_int64() ? d.as_int64() : static_cast<int64_t>(d.as_uint64());
      if (extent < 0 || (extent > 0 && elements > std::numeric_limits<uint64_t>::max() /
                                                      static_cast<uint64_t>(extent))) {
        return artefact_error(kErrArtefactCorrupt, path + ".shape is out of range");
      }
      entry.shape.push_back(static_cast<uint64_t>(extent));
      elements *= static_cast<uint64_t>(extent);
    }
    auto offset = json_int_at(t, "offset", path);
    if (!offset) return offset.error();
    auto size = json_int_at(t, "bytes", path);
    if (!size) return size.error();
    if (*offset < 0 || *size < 0 || static_cast<uint64_t>(*offset) > data_bytes ||
        static_cast<uint64_t>(*size) > data_bytes - static_cast<uint64_t>(*offset)) {
      return artefact_error(kErrArtefactCorrupt, path + " lies outside the data section");
    }
    if (elements > std::numeric_limits<uint64_t>::max() / 8 ||
        elements * dtype_size(entry.dtype) != static_cast<uint64_t>(*size)) {
      return artefact_error(kErrArtefactCorrupt,
                            path + ": " + std::to_string(*size) + " bytes do not hold shape " +
                                shape_text(entry.shape) + " of " + *dtype_text);
    }
    entry.offset = data_start + static_cast<uint64_t>(*offset);
    entry.size = static_cast<uint64_t>(*size);
    a.tensors_[name] = std::move(entry);
  }
  a.bytes_ = std::move(bytes);
  return a;
}

Result<const Artefact::TensorEntry*> Artefact::find(const std::string& name, DType dtype,
                                                    const std::vector<uint64_t>& shape,
                                                    std::vector<uint64_t>* actual_shape) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) {
    return artefact_error(kErrArtefactMismatch, "router artefact lacks tensor '" + name + "'");
  }
  const TensorEntry& t = it->second;
  if (t.dtype != dtype) {
    return artefact_error(kErrArtefactMismatch, "tensor '" + name + "' is " + dtype_name(t.dtype) +
                                                    ", expected " + dtype_name(dtype));
  }
  bool ok = t.shape.size() == shape.size();
  for (size_t i = 0; ok && i < shape.size(); ++i) ok = shape[i] == 0 || shape[i] == t.shape[i];
  if (!ok) {
    return artefact_error(kErrArtefactMismatch, "tensor '" + name + "' has shape " +
                                                    shape_text(t.shape) + ", expected " +
                                                    shape_text(shape));
  }
  if (actual_shape != nullptr) *actual_shape = t.shape;
  return &t;
}

template <typename T>
static std::vector<T> copy_out(const std::string& bytes, uint64_t offset, uint64_t size) {
  std::vector<T> out(size / sizeof(T));
  if (size != 0) std::memcpy(out.data(), bytes.data() + offset, size);
  return out;
}

Result<std::vector<float>> Artefact::f32(const std::string& name,
                                         const std::vector<uint64_t>& shape,
                                         std::vector<uint64_t>* actual_shape) const {
  auto t = find(name, DType::kF32, shape, actual_shape);
  if (!t) return t.error();
  return copy_out<float>(bytes_, (*t)->offset, (*t)->size);
}
Result<std::vector<uint32_t>> Artefact::u32(const std::string& name,
                                            const std::vector<uint64_t>& shape,
                                            std::vector<uint64_t>* actual_shape) const {
  auto t = find(name, DType::kU32, shape, actual_shape);
  if (!t) return t.error();
  return copy_out<uint32_t>(bytes_, (*t)->offset, (*t)->size);
}
Result<std::vector<uint64_t>> Artefact::u64(const std::string& name,
                                            const std::vector<uint64_t>& shape,
                                            std::vector<uint64_t>* actual_shape) const {
  auto t = find(name, DType::kU64, shape, actual_shape);
  if (!t) return t.error();
  return copy_out<uint64_t>(bytes_, (*t)->offset, (*t)->size);
}

Result<const json::object*> json_object_at(const json::object& obj, std::string_view key,
                                           std::string_view path) {
  const json::value* v = obj.if_contains(key);
  if (v == nullptr || !v->is_object()) {
    return artefact_error(kErrArtefactMismatch,
                          std::string(path) + "." + std::string(key) + " missing or not an object");
  }
  return &v->as_object();
}

Result<std::string> json_string_at(const json::object& obj, std::string_view key,
                                   std::string_view path) {
  const json::value* v = obj.if_contains(key);
  if (v == nullptr || !v->is_string()) {
    return artefact_error(kErrArtefactMismatch,
                          std::string(path) + "." + std::string(key) + " missing or not a string");
  }
  return std::string(v->as_string());
}

Result<double> json_number_at(const json::object& obj, std::string_view key,
                              std::string_view path) {
  const json::value* v = obj.if_contains(key);
  if (v == nullptr || !v->is_number()) {
    return artefact_error(kErrArtefactMismatch,
                          std::string(path) + "." + std::string(key) + " missing or not a number");
  }
  return v->to_number<double>();
}

Result<int64_t> json_int_at(const json::object& obj, std::string_view key, std::string_view path) {
  const json::value* v = obj.if_contains(key);
  if (v != nullptr && v->is_int64()) return v->as_int64();
  if (v != nullptr && v->is_uint64() && v->as_uint64() <= INT64_MAX) {
    return static_cast<int64_t>(v->as_uint64());
  }
  return artefact_error(kErrArtefactMismatch,
                        std::string(path) + "." + std::string(key) + " missing or not an integer");
}

double json_number_or(const json::object& obj, std::string_view key, double fallback) {
  const json::value* v = obj.if_contains(key);
  return (v != nullptr && v->is_number()) ? v->to_number<double>() : fallback;
}

std::string json_string_or(const json::object& obj, std::string_view key, std::string fallback) {
  const json::value* v = obj.if_contains(key);
  return (v != nullptr && v->is_string()) ? std::string(v->as_string()) : fallback;
}

}  // namespace switchyard::learned
