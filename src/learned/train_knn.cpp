#include <algorithm>
#include <boost/json.hpp>
#include <cmath>

#include "learned/trainers.h"

namespace switchyard::learned {

namespace json = boost::json;

namespace {

// Modified Gram-Schmidt on the columns of m (rows x cols, row-major).
void orthonormalise(std::vector<double>& m, size_t rows, size_t cols) {
  for (size_t j = 0; j < cols; ++j) {
    for (size_t k = 0; k < j; ++k) {
      double dot = 0;
      for (size_t i = 0; i < rows; ++i) dot += m[i * cols + j] * m[i * cols + k];
      for (size_t i = 0; i < rows; ++i) m[i * cols + j] -= dot * m[i * cols + k];
    }
    double norm = 0;
    for (size_t i = 0; i < rows; ++i) norm += m[i * cols + j] * m[i * cols + j];
    norm = std::sqrt(norm);
    for (size_t i = 0; i < rows; ++i) m[i * cols + j] = norm > 1e-12 ? m[i * cols + j] / norm : 0.0;
  }
}

// Cyclic Jacobi eigen-decomposition of the symmetric n x n matrix a (destroyed):
// eigenvalues in `values`, eigenvectors as the columns of `vectors`.
void jacobi_eigen(std::vector<double>& a, size_t n, std::vector<double>& values,
                  std::vector<double>& vectors) {
  vectors.assign(n * n, 0.0);
  for (size_t i = 0; i < n; ++i) vectors[i * n + i] = 1.0;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (size_t p = 0; p < n; ++p) {
      for (size_t q = p + 1; q < n; ++q) off += a[p * n + q] * a[p * n + q];
    }
    if (off < 1e-22) break;
    for (size_t p = 0; p < n; ++p) {
      for (size_t q = p + 1; q < n; ++q) {
        const double apq = a[p * n + q];
        if (std::abs(apq) < 1e-300) continue;
        const double theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const double t =
            (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), sn = t * c;
        for (size_t k = 0; k < n; ++k) {  // rotate columns p, q
          const double akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - sn * akq;
          a[k * n + q] = sn * akp + c * akq;
        }
        for (size_t k = 0; k < n; ++k) {  // rotate rows p, q
          const double apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - sn * aqk;
          a[q * n + k] = sn * apk + c * aqk;
        }
        for (size_t k = 0; k < n; ++k) {
          const double vkp = vectors[k * n + p], vkq = vectors[k * n + q];
          vectors[k * n + p] = c * vkp - sn * vkq;
          vectors[k * n + q] = sn * vkp + c * vkq;
        }
      }
    }
  }
  values.resize(n);
  for (size_t i = 0; i < n; ++i) values[i] = a[i * n + i];
}

// Rank-r factorisation A ~= F V^T of the rows x features block of frequent
// features by randomized SVD (Halko, Martinsson & Tropp, 2011) with two power
// iterations. `cols[k]` maps a feature to its column, or -1.
void factorise_common(const SparseMatrix& x, const std::vector<int32_t>& cols, size_t ncols,
                      uint32_t rank, std::vector<float>& row_factors,
                      std::vector<float>& projection) {
  const size_t n = x.rows();
  const size_t l = std::min({static_cast<size_t>(rank) + 10, n, ncols});
  row_factors.assign(n * rank, 0.0f);
  projection.assign(ncols * rank, 0.0f);
  if (l == 0) return;
  auto a_times = [&](const std::vector<double>& z, std::vector<double>& y) {  // y = A z
    y.assign(n * l, 0.0);
    for (size_t r = 0; r < n; ++r) {
      auto idx = x.row_index(r);
      auto val = x.row_value(r);
      for (size_t k = 0; k < idx.size(); ++k) {
        const int32_t c = cols[idx[k]];
        if (c < 0) continue;
        for (size_t j = 0; j < l; ++j) y[r * l + j] += val[k] * z[static_cast<size_t>(c) * l + j];
      }
    }
  };
  auto at_times = [&](const std::vector<double>& y, std::vector<double>& z) {  // z = A^T y
    z.assign(ncols * l, 0.0);
    for (size_t r = 0; r < n; ++r) {
      auto idx = x.row_index(r);
      auto val = x.row_value(r);
      for (size_t k = 0; k < idx.size(); ++k) {
        const int32_t c = cols[idx[k]];
        if (c < 0) continue;
        for (size_t j = 0; j < l; ++j) z[static_cast<size_t>(c) * l + j] += val[k] * y[r * l + j];
      }
    }
  };
  Rng rng(0x5eed);
  std::vector<double> omega(ncols * l), y, z;
  for (double& v : omega) v = rng.normal();
  a_times(omega, y);
  orthonormalise(y, n, l);
  for (int power = 0; power < 2; ++power) {
    at_times(y, z);
    orthonormalise(z, ncols, l);
    a_times(z, y);
    orthonormalise(y, n, l);
  }
  at_times(y, z);  // z = B^T, ncols x l, with B = Y^T A
  std::vector<double> s(l * l, 0.0);
  for (size_t c = 0; c < ncols; ++c) {
    for (size_t i = 0; i < l; ++i) {
      for (size_t j = 0; j < l; ++j) s[i * l + j] += z[c * l + i] * z[c * l + j];
    }
  }
  std::vector<double> values, vectors;
  jacobi_eigen(s, l, values, vectors);
  std::vector<size_t> order(l);
  for (size_t i = 0; i < l; ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return values[a] != values[b] ? values[a] > values[b] : a < b;
  });
  for (uint32_t k = 0; k < rank && k < l; ++k) {
    const size_t e = order[k];
    const double sigma = std::sqrt(std::max(0.0, values[e]));
    if (sigma < 1e-9) break;
    // F[:,k] = Y w sigma; V[:,k] = B^T w / sigma.
    for (size_t r = 0; r < n; ++r) {
      double acc = 0;
      for (size_t j = 0; j < l; ++j) acc += y[r * l + j] * vectors[j * l + e];
      row_factors[r * rank + k] = static_cast<float>(acc * sigma);
    }
    for (size_t c = 0; c < ncols; ++c) {
      double acc = 0;
      for (size_t j = 0; j < l; ++j) acc += z[c * l + j] * vectors[j * l + e];
      projection[c * rank + k] = static_cast<float>(acc / sigma);
    }
  }
}

}  // namespace

json::object write_knn(const TrainingSet& set, uint32_t input_dim, const KnnParams& params,
                       ArtefactWriter& writer) {
  const size_t n = set.rows();
  std::vector<uint32_t> df(input_dim, 0);
  for (uint32_t i : set.x.index) ++df[i];
  const double limit = params.max_df * static_cast<double>(n);
  std::vector<uint64_t> start(static_cast<size_t>(input_dim) + 1, 0);
  for (uint32_t i = 0; i < input_dim; ++i) {
    const bool keep = df[i] > 0 && static_cast<double>(df[i]) <= limit;
    start[i + 1] = start[i] + (keep ? df[i] : 0);
  }
  std::vector<uint32_t> rows(start.back());
  std::vector<float> values(start.back());
  std::vector<uint64_t> fill(start.begin(), start.end() - 1);
  for (size_t r = 0; r < n; ++r) {
    auto idx = set.x.row_index(r);
    auto val = set.x.row_value(r);
    for (size_t k = 0; k < idx.size(); ++k) {
      const uint32_t i = idx[k];
      if (start[i + 1] == start[i]) continue;
      rows[fill[i]] = static_cast<uint32_t>(r);
      values[fill[i]] = val[k];
      ++fill[i];
    }
  }
  if (params.max_postings > 0) {
    // Keep each feature's heaviest rows (ties: lower row), in row order.
    std::vector<uint64_t> kept_start(start.size(), 0);
    std::vector<uint32_t> kept_rows;
    std::vector<float> kept_values;
    std::vector<uint64_t> order;
    for (uint32_t i = 0; i < input_dim; ++i) {
      order.clear();
      for (uint64_t p = start[i]; p < start[i + 1]; ++p) order.push_back(p);
      if (order.size() > params.max_postings) {
        std::nth_element(order.begin(), order.begin() + params.max_postings, order.end(),
                         [&](uint64_t a, uint64_t b) {
                           if (values[a] != values[b]) return values[a] > values[b];
                           return rows[a] < rows[b];
                         });
        order.resize(params.max_postings);
        std::sort(order.begin(), order.end(),
                  [&](uint64_t a, uint64_t b) { return rows[a] < rows[b]; });
      }
      for (uint64_t p : order) {
        kept_rows.push_back(rows[p]);
        kept_values.push_back(values[p]);
      }
      kept_start[i + 1] = kept_rows.size();
    }
    start = std::move(kept_start);
    rows = std::move(kept_rows);
    values = std::move(kept_values);
  }
  if (params.common_rank > 0) {
    std::vector<uint32_t> common;
    std::vector<int32_t> cols(input_dim, -1);
    for (uint32_t i = 0; i < input_dim; ++i) {
      if (df[i] > 0 && static_cast<double>(df[i]) > limit) {
        cols[i] = static_cast<int32_t>(common.size());
        common.push_back(i);
      }
    }
    std::vector<float> row_factors, projection;
    factorise_common(set.x, cols, common.size(), params.common_rank, row_factors, projection);
    writer.add_u32("model.common_features", {common.size()}, common);
    writer.add_f32("model.common_projection", {common.size(), params.common_rank}, projection);
    writer.add_f32("model.common_rows", {n, params.common_rank}, row_factors);
  }
  writer.add_u64("model.postings_start", {start.size()}, start);
  writer.add_u32("model.postings_row", {rows.size()}, rows);
  writer.add_f32("model.postings_value", {values.size()}, values);
  writer.add_f32("model.labels", {n, set.models}, set.quality);
  return json::object{{"type", "knn"},
                      {"k", params.k},
                      {"power", params.power},
                      {"prior_weight", params.prior_weight},
                      {"max_df", params.max_df},
                      {"query_terms", params.query_terms},
                      {"max_postings", params.max_postings},
                      {"common_rank", params.common_rank},
                      {"rows", n},
                      {"similarity", "cosine"}};
}

}  // namespace switchyard::learned
