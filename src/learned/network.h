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
  explicit FeedForwardNet(std::vector<DenseLayer> layers) : layers_(std::move(layers)) {}

  const std::vector<DenseLayer>& layers() const { return layers_; }
  uint32_t input_dim() const { return layers_.empty() ? 0 : layers_.front().in; }
  uint32_t output_dim() const { return layers_.empty() ? 0 : layers_.back().out; }

  // `out` must hold output_dim() values.
  void forward(const SparseVector& x, NetScratch& scratch, std::span<double> out) const;

  // Writes {"type":"feedforward","layers":[{weight,bias,activation}]} and the
  // tensors "<prefix>.layerN.weight|bias".
  boost::json::object save(ArtefactWriter& writer, const std::string& prefix) const;
  // Reads what save() wrote (or what an external tool wrote to the same spec),
  // checking that layer shapes chain from `input_dim` to `output_dim`.
  static Result<FeedForwardNet> load(const Artefact& artefact, const boost::json::object& spec,
                                     uint32_t input_dim, uint32_t output_dim);

 private:
  std::vector<DenseLayer> layers_;
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
