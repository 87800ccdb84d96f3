#pragma once
// A small feed-forward network evaluated on a sparse input: the inference
// engine behind the mlp, mf, svm and custom strategies (mf and svm fold their
// factors into plain layers at load time). Immutable after construction;
// forward() keeps all per-call memory in NetScratch.
//
// Weights are stored input-major: weight[i * out + j] connects input i to
// output j, so a sparse input row gathers contiguous memory.
#include <boost/json/object.hpp>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/error.h"
#include "learned/artefact.h"
#include "learned/sparse.h"

namespace switchyard::learned {

enum class Activation { kIdentity, kRelu, kTanh, kSigmoid };
const char* activation_name(Activation a);
bool parse_activation(std::string_view name, Activation& out);
inline float activate(Activation a, float x);

struct DenseLayer {
  uint32_t in = 0;
  uint32_t out = 0;
  std::vector<float> weight;  // in x out, input-major
  std::vector<float> bias;    // out
  Activation activation = Activation::kIdentity;
};

struct NetScratch {
  std::vector<float> a;
  std::vector<float> b;
};

class FeedForwardNet {
 public:
  FeedForwardNet() = default;
  explicit FeedForwardNet(std::vector<DenseLayer> layers);

  const std::vector<DenseLayer>& layers() const { return layers_; }
  uint32_t input_dim() const { return layers_.empty() ? 0 : layers_.front().in; }
  uint32_t output_dim() const { return layers_.empty() ? 0 : layers_.back().out; }

  // `out` must hold output_dim() values.
  void forward(const SparseVector& x, NetScratch& scratch, std::span<double> out) const;
  // The same by the plain loops over layers(), for tests: forward() must give
  // bit-identical outputs (each output is summed in the same order).
  void forward_reference(const SparseVector& x, NetScratch& scratch, std::span<double> out) const;

  // Writes {"type":"feedforward","layers":[{weight,bias,activation}]} and the
  // tensors "<prefix>.layerN.weight|bias".
  boost::json::object save(ArtefactWriter& writer, const std::string& prefix) const;
  // Reads what save() wrote (or what an external tool wrote to the same spec),
  // checking that layer shapes chain from `input_dim` to `output_dim`.
  static Result<FeedForwardNet> load(const Artefact& artefact, const boost::json::object& spec,
                                     uint32_t input_dim, uint32_t output_dim);

 private:
  // Finishes the layers after the first (shared by both forward paths).
  void forward_rest(NetScratch& s, std::span<double> out) const;

  std::vector<DenseLayer> layers_;
  // The first layer's weights again, each input's row padded with zero columns
  // to first_stride_ floats (1-2 outputs: unpadded; else 4, 8, 16 or a multiple
  // of 16) and the rows 64-byte
  // aligned from first_offset_: a sparse input's row is then whole vectors, and
  // a 16-wide row (e.g. an 11-candidate svm) is exactly one cache line.
  std::vector<float> first_padded_;
  size_t first_offset_ = 0;
  uint32_t first_stride_ = 0;
};

inline float activate(Activation a, float x) {
  switch (a) {
    case Activation::kIdentity:
      return x;
    case Activation::kRelu:
      return x > 0 ? x : 0;
    case Activation::kTanh:
      return std::tanh(x);
    case Activation::kSigmoid:
      return 1.0f / (1.0f + std::exp(-x));
  }
  return x;
}

}  // namespace switchyard::learned
