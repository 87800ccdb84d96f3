#pragma once
// Shared pieces of the in-process trainers: a portable seeded RNG (the standard
// distributions are implementation-defined, which would make artefacts differ
// between standard libraries), the labelled design matrix, and Adam.
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "learned/sparse.h"

namespace switchyard::learned {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed ^ 0x9e3779b97f4a7c15ULL) {}
  uint64_t next() {  // SplitMix64
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  size_t below(size_t n) { return static_cast<size_t>(next() % n); }
  double normal() {
    double u = uniform(), v = uniform();
    if (u < 1e-300) u = 1e-300;
    return std::sqrt(-2.0 * std::log(u)) * std::cos(6.283185307179586 * v);
  }
  template <typename T>
  void shuffle(std::vector<T>& items) {
    for (size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[below(i)]);
  }

 private:
  uint64_t state_;
};

// Features of the training rows plus their per-candidate labels.
struct TrainingSet {
  SparseMatrix x;
  std::vector<float> quality;  // rows x models, NaN = missing
  size_t models = 0;

  size_t rows() const { return x.rows(); }
  float q(size_t r, size_t m) const { return quality[r * models + m]; }
};

// Progress callback: stage name, fraction done in [0, 1].
using ProgressFn = std::function<void(std::string_view, double)>;

// Adam over one flat parameter block; `update_rows` supports lazy (sparse)
// updates of row-major blocks where only some rows received gradient.
struct Adam {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  long step = 0;

  void begin_step() { ++step; }
  // p -= lr * mhat / (sqrt(vhat) + eps) + lr * wd * p (decoupled decay).
  void update(float* p, float* m, float* v, const float* g, size_t n) const {
    const double c1 = 1.0 - std::pow(beta1, static_cast<double>(step));
    const double c2 = 1.0 - std::pow(beta2, static_cast<double>(step));
    const auto b1 = static_cast<float>(beta1), b2 = static_cast<float>(beta2);
    const auto a = static_cast<float>(lr / c1);
    const auto s2 = static_cast<float>(1.0 / c2);
    const auto e = static_cast<float>(eps);
    const auto decay = static_cast<float>(lr * weight_decay);
    for (size_t i = 0; i < n; ++i) {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      p[i] -= a * m[i] / (std::sqrt(v[i] * s2) + e) + decay * p[i];
    }
  }
};

inline double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }
// log(1 + e^z) without overflow.
inline double softplus(double z) { return z > 30 ? z : std::log1p(std::exp(z)); }

}  // namespace switchyard::learned
