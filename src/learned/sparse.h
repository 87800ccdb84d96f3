#pragma once
// Sparse feature vectors and row-major sparse matrices shared by the featurizers,
// router models and trainers. Plain data: no ownership rules beyond the vectors.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace switchyard::learned {

// A feature vector as parallel (index, value) arrays. Indices are unique but NOT
// sorted: every model consumes features by scatter/gather, so sorting would only
// cost time on the request path.
struct SparseVector {
  std::vector<uint32_t> index;
  std::vector<float> value;

  void clear() {
    index.clear();
    value.clear();
  }
  size_t size() const { return index.size(); }
  void push(uint32_t i, float v) {
    index.push_back(i);
    value.push_back(v);
  }
};

// Compressed sparse rows: row r holds entries [row_start[r], row_start[r+1]).
struct SparseMatrix {
  uint32_t columns = 0;
  std::vector<uint64_t> row_start{0};
  std::vector<uint32_t> index;
  std::vector<float> value;

  size_t rows() const { return row_start.size() - 1; }
  void append(const SparseVector& v) {
    index.insert(index.end(), v.index.begin(), v.index.end());
    value.insert(value.end(), v.value.begin(), v.value.end());
    row_start.push_back(index.size());
  }
  std::span<const uint32_t> row_index(size_t r) const {
    return {index.data() + row_start[r], static_cast<size_t>(row_start[r + 1] - row_start[r])};
  }
  std::span<const float> row_value(size_t r) const {
    return {value.data() + row_start[r], static_cast<size_t>(row_start[r + 1] - row_start[r])};
  }
};

// Dot product of a sparse row with a dense vector.
inline double sparse_dot(std::span<const uint32_t> index, std::span<const float> value,
                         const float* dense) {
  double sum = 0;
  for (size_t k = 0; k < index.size(); ++k) sum += static_cast<double>(value[k]) * dense[index[k]];
  return sum;
}

}  // namespace switchyard::learned
