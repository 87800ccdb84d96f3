#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <limits>

#include "learned/trainers.h"

namespace switchyard::learned {

namespace json = boost::json;

namespace {

// L2-regularised hinge-loss SVM by dual coordinate descent (Hsieh et al.,
// ICML 2008), bias as an extra constant feature. Returns w (dim) and b.
void fit_svm(const SparseMatrix& x, uint32_t dim, const std::vector<size_t>& rows,
             const std::vector<int8_t>& y, const SvmParams& params, Rng& rng,
             std::vector<double>& w, double& b) {
  w.assign(dim, 0.0);
  b = 0;
  if (rows.empty()) return;
  size_t positives = 0;
  for (size_t r : rows) positives += y[r] > 0;
  const size_t negatives = rows.size() - positives;
  if (positives == 0 || negatives == 0) {
    // One class only: a constant decision value; Platt scaling then learns
    // the (smoothed) base rate as its intercept.
    return;
  }
  double c_pos = params.c, c_neg = params.c;
  if (params.balanced) {
    c_pos = params.c * static_cast<double>(rows.size()) / (2.0 * positives);
    c_neg = params.c * static_cast<double>(rows.size()) / (2.0 * negatives);
  }
  std::vector<double> alpha(rows.size(), 0.0), qd(rows.size());
  for (size_t k = 0; k < rows.size(); ++k) {
    double s = 1.0;  // the bias feature
    for (float v : x.row_value(rows[k])) s += static_cast<double>(v) * v;
    qd[k] = s;
  }
  std::vector<size_t> order(rows.size());
  for (size_t k = 0; k < order.size(); ++k) order[k] = k;
  for (uint32_t epoch = 0; epoch < params.max_epochs; ++epoch) {
    rng.shuffle(order);
    double max_pg = -std::numeric_limits<double>::infinity();
    double min_pg = std::numeric_limits<double>::infinity();
    for (size_t k : order) {
      const size_t r = rows[k];
      const double yr = y[r];
      const double upper = yr > 0 ? c_pos : c_neg;
      auto idx = x.row_index(r);
      auto val = x.row_value(r);
      double dot = b;
      for (size_t j = 0; j < idx.size(); ++j) dot += w[idx[j]] * val[j];
      const double g = yr * dot - 1.0;
      double pg = g;
      if (alpha[k] == 0)
        pg = std::min(g, 0.0);
      else if (alpha[k] == upper)
        pg = std::max(g, 0.0);
      max_pg = std::max(max_pg, pg);
      min_pg = std::min(min_pg, pg);
      if (std::abs(pg) < 1e-12) continue;
      const double old = alpha[k];
      alpha[k] = std::min(std::max(old - g / qd[k], 0.0), upper);
      const double d = (alpha[k] - old) * yr;
      if (d == 0) continue;
      for (size_t j = 0; j < idx.size(); ++j) w[idx[j]] += d * val[j];
      b += d;
    }
    if (max_pg - min_pg < params.tolerance) break;
  }
}

// Platt scaling: fits p = sigmoid(a f + b) to soft targets by Newton's method
// with a backtracking line search.
void fit_platt(const std::vector<double>& f, const std::vector<double>& t, double& a, double& b) {
  a = 1.0;
  b = 0.0;
  auto loss = [&](double aa, double bb) {
    double s = 0;
    for (size_t i = 0; i < f.size(); ++i) {
      const double z = aa * f[i] + bb;
      // -t log p - (1-t) log(1-p) = softplus(z) - t z
      s += softplus(z) - t[i] * z;
    }
    return s;
  };
  double current = loss(a, b);
  for (int iter = 0; iter < 100; ++iter) {
    double ga = 0, gb = 0, haa = 1e-9, hab = 0, hbb = 1e-9;
    for (size_t i = 0; i < f.size(); ++i) {
      const double p = sigmoid(a * f[i] + b);
      const double r = p - t[i];
      const double h = p * (1 - p);
      ga += r * f[i];
      gb += r;
      haa += h * f[i] * f[i];
      hab += h * f[i];
      hbb += h;
    }
    if (std::abs(ga) < 1e-7 && std::abs(gb) < 1e-7) break;
    const double det = haa * hbb - hab * hab;
    if (det <= 0) break;
    const double da = -(hbb * ga - hab * gb) / det;
    const double db = -(-hab * ga + haa * gb) / det;
    double step = 1.0;
    bool improved = false;
    while (step > 1e-8) {
      const double next = loss(a + step * da, b + step * db);
      if (next < current - 1e-4 * step * std::abs(ga * da + gb * db)) {
        a += step * da;
        b += step * db;
        current = next;
        improved = true;
        break;
      }
      step /= 2;
    }
    if (!improved) break;
  }
}

double decision(const SparseMatrix& x, size_t r, const std::vector<double>& w, double b) {
  auto idx = x.row_index(r);
  auto val = x.row_value(r);
  double s = b;
  for (size_t j = 0; j < idx.size(); ++j) s += w[idx[j]] * val[j];
  return s;
}

}  // namespace

LinearSvm train_linear_svm(const SparseMatrix& x, uint32_t dim,
                           const std::vector<std::vector<float>>& targets, const SvmParams& params,
                           uint64_t seed, const ProgressFn& progress) {
  LinearSvm out = LinearSvm::zeros(dim, static_cast<uint32_t>(targets.size()));
  const size_t n = x.rows();
  const uint32_t folds = std::max<uint32_t>(2, params.platt_folds);
  for (uint32_t o = 0; o < out.outputs; ++o) {
    Rng rng(seed + 7919ULL * (o + 1));
    std::vector<size_t> rows;
    std::vector<int8_t> y(n, 0);
    size_t positives = 0;
    for (size_t r = 0; r < n; ++r) {
      const float t = targets[o][r];
      if (std::isnan(t)) continue;
      rows.push_back(r);
      y[r] = t >= 0.5f ? 1 : -1;
      positives += y[r] > 0;
    }
    // Out-of-fold decision values for Platt scaling: in-sample SVM margins are
    // overconfident, which would make quality estimates useless for cost trade-offs.
    std::vector<size_t> fold_of(rows.size());
    for (size_t k = 0; k < rows.size(); ++k) fold_of[k] = k % folds;
    rng.shuffle(fold_of);
    std::vector<double> f(rows.size()), t(rows.size());
    std::vector<double> w;
    double b = 0;
    for (uint32_t fold = 0; fold < folds; ++fold) {
      std::vector<size_t> fit_rows;
      for (size_t k = 0; k < rows.size(); ++k) {
        if (fold_of[k] != fold) fit_rows.push_back(rows[k]);
      }
      fit_svm(x, dim, fit_rows, y, params, rng, w, b);
      for (size_t k = 0; k < rows.size(); ++k) {
        if (fold_of[k] == fold) f[k] = decision(x, rows[k], w, b);
      }
    }
    const size_t negatives = rows.size() - positives;
    const double hi = (positives + 1.0) / (positives + 2.0);
    const double lo = 1.0 / (negatives + 2.0);
    for (size_t k = 0; k < rows.size(); ++k) {
      const double target = targets[o][rows[k]];
      t[k] = lo + (hi - lo) * std::clamp(target, 0.0, 1.0);
    }
    double a = 1, c = 0;
    if (!rows.empty()) fit_platt(f, t, a, c);
    fit_svm(x, dim, rows, y, params, rng, w, b);
    for (uint32_t i = 0; i < dim; ++i) {
      out.weight[static_cast<size_t>(i) * out.outputs + o] = static_cast<float>(w[i]);
    }
    out.bias[o] = static_cast<float>(b);
    out.platt_a[o] = static_cast<float>(a);
    out.platt_b[o] = static_cast<float>(c);
    if (progress) progress("svm", static_cast<double>(o + 1) / out.outputs);
  }
  return out;
}

json::object write_linear_svm(const LinearSvm& svm, ArtefactWriter& writer) {
  writer.add_f32("model.weight", {svm.dim, svm.outputs}, svm.weight);
  writer.add_f32("model.bias", {svm.outputs}, svm.bias);
  writer.add_f32("model.platt_a", {svm.outputs}, svm.platt_a);
  writer.add_f32("model.platt_b", {svm.outputs}, svm.platt_b);
  return json::object{{"type", "linear_svm"}, {"loss", "hinge"}, {"calibration", "platt"}};
}

}  // namespace switchyard::learned
