// L2-regularised logistic regression per candidate ("svm" strategy with
// --svm-loss logistic): P(good | prompt) = sigmoid(w . x + b), fitted on the soft
// labels themselves (no 0.5 threshold), with the regularisation chosen per
// candidate by k-fold cross-validated log-loss on the training rows. The result
// is stored as a linear_svm model whose Platt map is the identity, so the
// artefact format and the scoring code are unchanged.
#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>

#include "learned/trainers.h"

namespace switchyard::learned {

namespace {

// w . x_r + bias, the bias stored after the `dim` feature weights.
double linear_score(const SparseMatrix& x, size_t r, const std::vector<double>& w, uint32_t dim) {
  auto idx = x.row_index(r);
  auto val = x.row_value(r);
  double z = w[dim];
  for (size_t j = 0; j < idx.size(); ++j) z += w[idx[j]] * val[j];
  return z;
}

// Mean soft-label cross-entropy over `rows` plus (1 / (2 C n)) ||w||^2 (the
// liblinear scaling: C multiplies the summed loss), bias unregularised.
// Parameters: w[0..dim) then b at w[dim].
struct LogisticObjective {
  const SparseMatrix& x;
  const std::vector<size_t>& rows;
  const std::vector<float>& target;
  uint32_t dim;
  double c;

  double operator()(const std::vector<double>& w, std::vector<double>& grad) const {
    std::fill(grad.begin(), grad.end(), 0.0);
    const double n = static_cast<double>(rows.size());
    double loss = 0;
    for (size_t r : rows) {
      auto idx = x.row_index(r);
      auto val = x.row_value(r);
      const double z = linear_score(x, r, w, dim);
      const double t = target[r];
      loss += softplus(z) - t * z;
      const double g = (sigmoid(z) - t) / n;
      for (size_t j = 0; j < idx.size(); ++j) grad[idx[j]] += g * val[j];
      grad[dim] += g;
    }
    loss /= n;
    const double lambda = 1.0 / (c * n);
    double norm = 0;
    for (uint32_t i = 0; i < dim; ++i) {
      norm += w[i] * w[i];
      grad[i] += lambda * w[i];
    }
    return loss + 0.5 * lambda * norm;
  }
};

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Limited-memory BFGS (10 pairs) with a backtracking Armijo line search.
// Deterministic; `w` is the starting point and the result.
void minimise(const LogisticObjective& f, std::vector<double>& w, uint32_t max_iterations) {
  constexpr size_t kMemory = 10;
  std::vector<double> g(w.size()), g_new(w.size()), d(w.size()), w_new(w.size());
  double value = f(w, g);
  std::deque<std::vector<double>> s_hist, y_hist;
  std::deque<double> rho_hist;
  for (uint32_t iter = 0; iter < max_iterations; ++iter) {
    double gmax = 0;
    for (double v : g) gmax = std::max(gmax, std::abs(v));
    if (gmax < 1e-6) break;
    // Two-loop recursion: d = -H g.
    d = g;
    std::vector<double> alpha(s_hist.size());
    for (size_t k = s_hist.size(); k-- > 0;) {
      alpha[k] = rho_hist[k] * dot(s_hist[k], d);
      for (size_t i = 0; i < d.size(); ++i) d[i] -= alpha[k] * y_hist[k][i];
    }
    double scale = 1.0;
    if (!s_hist.empty())
      scale = dot(s_hist.back(), y_hist.back()) / dot(y_hist.back(), y_hist.back());
    for (double& v : d) v *= scale;
    for (size_t k = 0; k < s_hist.size(); ++k) {
      const double beta = rho_hist[k] * dot(y_hist[k], d);
      for (size_t i = 0; i < d.size(); ++i) d[i] += (alpha[k] - beta) * s_hist[k][i];
    }
    for (double& v : d) v = -v;
    double slope = dot(g, d);
    if (slope >= 0) {  // not a descent direction: restart from steepest descent
      s_hist.clear();
      y_hist.clear();
      rho_hist.clear();
      for (size_t i = 0; i < d.size(); ++i) d[i] = -g[i];
      slope = dot(g, d);
    }
    double step = 1.0;
    double next = 0;
    bool accepted = false;
    for (int tries = 0; tries < 40; ++tries) {
      for (size_t i = 0; i < w.size(); ++i) w_new[i] = w[i] + step * d[i];
      next = f(w_new, g_new);
      if (next <= value + 1e-4 * step * slope) {
        accepted = true;
        break;
      }
      step *= 0.5;
    }
    if (!accepted) break;
    std::vector<double> s(w.size()), y(w.size());
    for (size_t i = 0; i < w.size(); ++i) {
      s[i] = w_new[i] - w[i];
      y[i] = g_new[i] - g[i];
    }
    const double sy = dot(s, y);
    const double decrease = value - next;
    w.swap(w_new);
    g.swap(g_new);
    value = next;
    if (sy > 1e-12) {
      s_hist.push_back(std::move(s));
      y_hist.push_back(std::move(y));
      rho_hist.push_back(1.0 / sy);
      if (s_hist.size() > kMemory) {
        s_hist.pop_front();
        y_hist.pop_front();
        rho_hist.pop_front();
      }
    }
    if (decrease < 1e-9 * std::max(1.0, std::abs(value))) break;
  }
}

double mean_log_loss(const SparseMatrix& x, const std::vector<size_t>& rows,
                     const std::vector<float>& target, const std::vector<double>& w, uint32_t dim) {
  double loss = 0;
  for (size_t r : rows) {
    const double z = linear_score(x, r, w, dim);
    loss += softplus(z) - target[r] * z;
  }
  return rows.empty() ? 0.0 : loss / static_cast<double>(rows.size());
}

}  // namespace

LinearSvm train_logistic(const SparseMatrix& x, uint32_t dim,
                         const std::vector<std::vector<float>>& targets,
                         const LogisticParams& params, uint64_t seed, const ProgressFn& progress,
                         std::vector<double>* chosen_c) {
  LinearSvm out = LinearSvm::zeros(dim, static_cast<uint32_t>(targets.size()));
  if (chosen_c) chosen_c->assign(out.outputs, 0.0);
  std::vector<double> grid = params.c_grid;
  std::sort(grid.begin(), grid.end());  // small C first: warm starts go from simple to complex
  if (grid.empty()) grid.push_back(1.0);
  const uint32_t folds = std::max<uint32_t>(2, params.folds);
  const size_t n = x.rows();
  for (uint32_t o = 0; o < out.outputs; ++o) {
    Rng rng(seed + 104729ULL * (o + 1));
    std::vector<size_t> rows;
    std::vector<float> t(n, 0.0f);
    for (size_t r = 0; r < n; ++r) {
      const float v = targets[o][r];
      if (std::isnan(v)) continue;
      rows.push_back(r);
      t[r] = std::clamp(v, 0.0f, 1.0f);
    }
    double best_c = grid.front();
    if (grid.size() > 1 && rows.size() >= 2 * static_cast<size_t>(folds)) {
      std::vector<size_t> fold_of(rows.size());
      for (size_t k = 0; k < rows.size(); ++k) fold_of[k] = k % folds;
      rng.shuffle(fold_of);
      std::vector<std::vector<size_t>> fit_rows(folds), held_rows(folds);
      for (size_t k = 0; k < rows.size(); ++k) {
        for (uint32_t fold = 0; fold < folds; ++fold) {
          (fold_of[k] == fold ? held_rows : fit_rows)[fold].push_back(rows[k]);
        }
      }
      // Grid outer, folds inner, each fold warm-started from its previous C. The
      // held-out loss is U-shaped in log C in practice, so the sweep stops once
      // two grid points in a row have not improved on the best.
      std::vector<std::vector<double>> w(folds, std::vector<double>(dim + 1, 0.0));
      size_t best = 0;
      double best_loss = std::numeric_limits<double>::infinity();
      int rises = 0;
      for (size_t gi = 0; gi < grid.size() && rises < 2; ++gi) {
        double loss = 0;
        for (uint32_t fold = 0; fold < folds; ++fold) {
          minimise(LogisticObjective{x, fit_rows[fold], t, dim, grid[gi]}, w[fold],
                   params.max_iterations);
          loss += mean_log_loss(x, held_rows[fold], t, w[fold], dim);
        }
        if (loss < best_loss - 1e-12) {
          best = gi;
          best_loss = loss;
          rises = 0;
        } else {
          ++rises;
        }
      }
      best_c = grid[best];
    }
    std::vector<double> w(dim + 1, 0.0);
    minimise(LogisticObjective{x, rows, t, dim, best_c}, w, params.max_iterations);
    for (uint32_t i = 0; i < dim; ++i) {
      out.weight[static_cast<size_t>(i) * out.outputs + o] = static_cast<float>(w[i]);
    }
    out.bias[o] = static_cast<float>(w[dim]);
    if (chosen_c) (*chosen_c)[o] = best_c;
    if (progress) progress("logistic", static_cast<double>(o + 1) / out.outputs);
  }
  return out;
}

}  // namespace switchyard::learned
