#include "learned/network.h"

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "learned/simd.h"

namespace switchyard::learned {

namespace json = boost::json;

namespace {
std::atomic<bool> g_force_baseline{false};
}  // namespace

bool use_avx2() {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool has = __builtin_cpu_supports("avx2") != 0;
  return has && !g_force_baseline.load(std::memory_order_relaxed);
#else
  return false;
#endif
}

void force_baseline_simd(bool on) { g_force_baseline.store(on, std::memory_order_relaxed); }

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::kIdentity:
      return "identity";
    case Activation::kRelu:
      return "relu";
    case Activation::kTanh:
      return "tanh";
    case Activation::kSigmoid:
      return "sigmoid";
  }
  return "?";
}

bool parse_activation(std::string_view name, Activation& out) {
  if (name == "identity" || name == "linear" || name == "none")
    out = Activation::kIdentity;
  else if (name == "relu")
    out = Activation::kRelu;
  else if (name == "tanh")
    out = Activation::kTanh;
  else if (name == "sigmoid")
    out = Activation::kSigmoid;
  else
    return false;
  return true;
}

FeedForwardNet::FeedForwardNet(std::vector<DenseLayer> layers) : layers_(std::move(layers)) {
  if (layers_.empty()) return;
  const DenseLayer& first = layers_.front();
  const uint32_t width = first.out;
  // 1-2 outputs (hybrid's classifier) are not padded, only specialised.
  uint32_t stride = width <= 2 ? width : 4;
  while (stride < width && stride < 16) stride *= 2;
  if (stride < width) stride = (width + 15) / 16 * 16;
  first_stride_ = stride;
  constexpr size_t kAlignFloats = 16;  // 64 bytes
  first_padded_.assign(static_cast<size_t>(first.in) * stride + kAlignFloats, 0.0f);
  const auto address = reinterpret_cast<uintptr_t>(first_padded_.data());
  first_offset_ = ((64 - address % 64) % 64) / sizeof(float);
  for (size_t i = 0; i < first.in; ++i) {
    std::copy_n(first.weight.data() + i * width, width,
                first_padded_.data() + first_offset_ + i * stride);
  }
}

namespace {

// acc[0..W) += v * row[0..W) for every input, W a compile-time constant so the
// compiler emits whole vectors and no remainder loop. Per output the adds come
// in input order, as in the plain loop.
template <uint32_t W>
void gather_rows(const SparseVector& x, uint32_t in, const float* weights, size_t stride,
                 float* __restrict acc) {
  float local[W];
  std::copy_n(acc, W, local);
  for (size_t k = 0; k < x.size(); ++k) {
    const uint32_t i = x.index[k];
    if (i >= in) continue;
    const float v = x.value[k];
    const float* __restrict row = weights + static_cast<size_t>(i) * stride;
    for (uint32_t j = 0; j < W; ++j) local[j] += v * row[j];
  }
  std::copy_n(local, W, acc);
}

#if defined(__x86_64__) && defined(__GNUC__)
using Float8 = float __attribute__((vector_size(32)));

// gather_rows<W> with 8-float registers: the same adds per output, in input order.
template <uint32_t W>
[[gnu::target("avx2")]] void gather_rows_avx2(const SparseVector& x, uint32_t in,
                                              const float* weights, size_t stride,
                                              float* __restrict acc) {
  static_assert(W % 8 == 0);
  Float8 local[W / 8];
  std::memcpy(local, acc, sizeof(local));
  for (size_t k = 0; k < x.size(); ++k) {
    const uint32_t i = x.index[k];
    if (i >= in) continue;
    const float v = x.value[k];
    const float* __restrict row = weights + static_cast<size_t>(i) * stride;
    for (uint32_t j = 0; j < W / 8; ++j) {
      Float8 w;
      std::memcpy(&w, row + size_t{8} * j, sizeof(w));
      local[j] += v * w;
    }
  }
  std::memcpy(acc, local, sizeof(local));
}
#define SWITCHYARD_GATHER_AVX2(W) gather_rows_avx2<W>
#else
#define SWITCHYARD_GATHER_AVX2(W) gather_rows<W>
#endif

}  // namespace

void FeedForwardNet::forward(const SparseVector& x, NetScratch& s, std::span<double> out) const {
  if (first_stride_ == 0) {
    forward_reference(x, s, out);
    return;
  }
  const DenseLayer& first = layers_.front();
  const uint32_t width = first.out;
  const uint32_t stride = first_stride_;
  // Padding columns have zero bias and zero weights, so they stay 0 and are
  // never read back.
  if (s.a.size() < stride) s.a.resize(stride);
  std::fill(s.a.begin() + width, s.a.begin() + stride, 0.0f);
  std::copy(first.bias.begin(), first.bias.end(), s.a.begin());
  float* acc = s.a.data();
  const float* weights = first_padded_.data() + first_offset_;
  const bool wide = use_avx2();
  switch (stride) {
    case 1:
      gather_rows<1>(x, first.in, weights, stride, acc);
      break;
    case 2:
      gather_rows<2>(x, first.in, weights, stride, acc);
      break;
    case 4:
      gather_rows<4>(x, first.in, weights, stride, acc);
      break;
    case 8:
      if (wide)
        SWITCHYARD_GATHER_AVX2(8)(x, first.in, weights, stride, acc);
      else
        gather_rows<8>(x, first.in, weights, stride, acc);
      break;
    case 16:
      if (wide)
        SWITCHYARD_GATHER_AVX2(16)(x, first.in, weights, stride, acc);
      else
        gather_rows<16>(x, first.in, weights, stride, acc);
      break;
    case 32:
      if (wide)
        SWITCHYARD_GATHER_AVX2(32)(x, first.in, weights, stride, acc);
      else
        gather_rows<32>(x, first.in, weights, stride, acc);
      break;
    default:
      for (size_t k = 0; k < x.size(); ++k) {
        const uint32_t i = x.index[k];
        if (i >= first.in) continue;
        const float v = x.value[k];
        const float* __restrict row = weights + static_cast<size_t>(i) * stride;
        for (uint32_t j = 0; j < stride; ++j) acc[j] += v * row[j];
      }
  }
  s.a.resize(width);
  for (uint32_t j = 0; j < width; ++j) acc[j] = activate(first.activation, acc[j]);
  forward_rest(s, out);
}

void FeedForwardNet::forward_reference(const SparseVector& x, NetScratch& s,
                                       std::span<double> out) const {
  const DenseLayer& first = layers_.front();
  s.a.assign(first.bias.begin(), first.bias.end());
  float* acc = s.a.data();
  const uint32_t width = first.out;
  for (size_t k = 0; k < x.size(); ++k) {
    const uint32_t i = x.index[k];
    if (i >= first.in) continue;  // featurizer/model mismatch is rejected at load; be safe anyway
    const float v = x.value[k];
    const float* row = first.weight.data() + static_cast<size_t>(i) * width;
    for (uint32_t j = 0; j < width; ++j) acc[j] += v * row[j];
  }
  for (uint32_t j = 0; j < width; ++j) acc[j] = activate(first.activation, acc[j]);
  forward_rest(s, out);
}

void FeedForwardNet::forward_rest(NetScratch& s, std::span<double> out) const {
  for (size_t l = 1; l < layers_.size(); ++l) {
    const DenseLayer& layer = layers_[l];
    s.b.assign(layer.bias.begin(), layer.bias.end());
    float* next = s.b.data();
    for (uint32_t i = 0; i < layer.in; ++i) {
      const float v = s.a[i];
      if (v == 0.0f) continue;  // ReLU zeros are common
      const float* row = layer.weight.data() + static_cast<size_t>(i) * layer.out;
      for (uint32_t j = 0; j < layer.out; ++j) next[j] += v * row[j];
    }
    for (uint32_t j = 0; j < layer.out; ++j) next[j] = activate(layer.activation, next[j]);
    s.a.swap(s.b);
  }
  for (size_t j = 0; j < out.size() && j < s.a.size(); ++j) out[j] = s.a[j];
}

json::object FeedForwardNet::save(ArtefactWriter& writer, const std::string& prefix) const {
  json::array layers;
  for (size_t l = 0; l < layers_.size(); ++l) {
    const DenseLayer& layer = layers_[l];
    const std::string w = prefix + ".layer" + std::to_string(l) + ".weight";
    const std::string b = prefix + ".layer" + std::to_string(l) + ".bias";
    writer.add_f32(w, {layer.in, layer.out}, layer.weight);
    writer.add_f32(b, {layer.out}, layer.bias);
    layers.push_back(json::object{
        {"weight", w}, {"bias", b}, {"activation", activation_name(layer.activation)}});
  }
  return json::object{{"type", "feedforward"}, {"layers", std::move(layers)}};
}

Result<FeedForwardNet> FeedForwardNet::load(const Artefact& artefact, const json::object& spec,
                                            uint32_t input_dim, uint32_t output_dim) {
  const json::value* layers = spec.if_contains("layers");
  if (layers == nullptr || !layers->is_array() || layers->as_array().empty()) {
    return artefact_error(kErrArtefactMismatch, "model.layers missing or empty");
  }
  if (layers->as_array().size() > 16) {
    return artefact_error(kErrArtefactMismatch, "model.layers: more than 16 layers");
  }
  std::vector<DenseLayer> out;
  uint32_t expected_in = input_dim;
  size_t index = 0;
  for (const auto& v : layers->as_array()) {
    const std::string path = "model.layers[" + std::to_string(index++) + "]";
    if (!v.is_object()) return artefact_error(kErrArtefactMismatch, path + " is not an object");
    const auto& o = v.as_object();
    auto weight_name = json_string_at(o, "weight", path);
    if (!weight_name) return weight_name.error();
    auto bias_name = json_string_at(o, "bias", path);
    if (!bias_name) return bias_name.error();
    DenseLayer layer;
    const std::string act = json_string_or(o, "activation", "identity");
    if (!parse_activation(act, layer.activation)) {
      return artefact_error(kErrArtefactMismatch, path + ".activation '" + act + "' unknown");
    }
    std::vector<uint64_t> shape;
    auto weight = artefact.f32(*weight_name, {expected_in, 0}, &shape);
    if (!weight) {
      Error e = weight.error();
      e.message = path + ": " + e.message;
      return e;
    }
    if (shape[1] == 0 || shape[1] > (1u << 16)) {
      return artefact_error(kErrArtefactMismatch, path + ": layer width out of range");
    }
    layer.in = expected_in;
    layer.out = static_cast<uint32_t>(shape[1]);
    layer.weight = std::move(*weight);
    auto bias = artefact.f32(*bias_name, {layer.out});
    if (!bias) {
      Error e = bias.error();
      e.message = path + ": " + e.message;
      return e;
    }
    layer.bias = std::move(*bias);
    for (float w : layer.weight) {
      if (!std::isfinite(w))
        return artefact_error(kErrArtefactMismatch, path + ": non-finite weight");
    }
    for (float w : layer.bias) {
      if (!std::isfinite(w))
        return artefact_error(kErrArtefactMismatch, path + ": non-finite bias");
    }
    expected_in = layer.out;
    out.push_back(std::move(layer));
  }
  if (expected_in != output_dim) {
    return artefact_error(kErrArtefactMismatch,
                          "model output width " + std::to_string(expected_in) +
                              " does not match the " + std::to_string(output_dim) + " candidates");
  }
  return FeedForwardNet(std::move(out));
}

}  // namespace switchyard::learned
