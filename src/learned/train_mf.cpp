#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <limits>

#include "learned/trainers.h"

namespace switchyard::learned {

namespace json = boost::json;

namespace {

struct MfState {
  uint32_t dim, k, m;
  std::vector<float> W, P, w, b;  // projection, model embeddings, classifier, bias
  std::vector<float> mW, vW, mP, vP, mw, vw, mb, vb;
};

// h = W^T x; z_m = sum_k w_k P_mk h_k + b_m.
void logits(const MfState& s, const SparseMatrix& x, size_t r, std::vector<float>& h,
            std::vector<float>& z) {
  h.assign(s.k, 0.0f);
  auto idx = x.row_index(r);
  auto val = x.row_value(r);
  for (size_t j = 0; j < idx.size(); ++j) {
    const float* row = s.W.data() + static_cast<size_t>(idx[j]) * s.k;
    for (uint32_t f = 0; f < s.k; ++f) h[f] += val[j] * row[f];
  }
  z.assign(s.m, 0.0f);
  for (uint32_t mm = 0; mm < s.m; ++mm) {
    double acc = s.b[mm];
    const float* pm = s.P.data() + static_cast<size_t>(mm) * s.k;
    for (uint32_t f = 0; f < s.k; ++f) acc += s.w[f] * pm[f] * h[f];
    z[mm] = static_cast<float>(acc);
  }
}

// Pairwise logistic loss over every ordered pair with different labels
// (weighted by the label gap) plus a pointwise BCE term. Returns the loss and,
// when dz is given, adds d(loss)/dz scaled by pair_scale / point_scale.
double mf_loss(const TrainingSet& set, size_t r, const std::vector<float>& z, const MfParams& hp,
               std::vector<float>* dz, double pair_scale, double point_scale, size_t& pairs,
               size_t& points) {
  double loss = 0;
  for (size_t a = 0; a < set.models; ++a) {
    const float ya = set.q(r, a);
    if (std::isnan(ya)) continue;
    ++points;
    const double pa = sigmoid(z[a]);
    loss += hp.pointwise_weight * (softplus(z[a]) - ya * z[a]);
    if (dz) (*dz)[a] += static_cast<float>(hp.pointwise_weight * (pa - ya) * point_scale);
    for (size_t bb = 0; bb < set.models; ++bb) {
      const float yb = set.q(r, bb);
      if (std::isnan(yb) || !(ya > yb)) continue;
      ++pairs;
      const double gap = ya - yb;
      const double margin = z[a] - z[bb];
      loss += hp.pairwise_weight * gap * softplus(-margin);
      if (dz) {
        const double g = -hp.pairwise_weight * gap * sigmoid(-margin) * pair_scale;
        (*dz)[a] += static_cast<float>(g);
        (*dz)[bb] -= static_cast<float>(g);
      }
    }
  }
  return loss;
}

double mean_loss(const MfState& s, const TrainingSet& set, const MfParams& hp) {
  std::vector<float> h, z;
  double loss = 0;
  size_t pairs = 0, points = 0;
  for (size_t r = 0; r < set.rows(); ++r) {
    logits(s, set.x, r, h, z);
    loss += mf_loss(set, r, z, hp, nullptr, 0, 0, pairs, points);
  }
  return points ? loss / static_cast<double>(points) : 0;
}

}  // namespace

MfFit train_mf(const TrainingSet& train, const TrainingSet* validation, uint32_t dim,
               const MfParams& hp, uint32_t epochs, uint64_t seed, const ProgressFn& progress) {
  Rng rng(seed);
  MfState s;
  s.dim = dim;
  s.k = hp.factors;
  s.m = static_cast<uint32_t>(train.models);
  s.W.assign(static_cast<size_t>(dim) * s.k, 0.0f);
  std::vector<uint8_t> seen(dim, 0);
  for (uint32_t i : train.x.index) seen[i] = 1;
  for (uint32_t i = 0; i < dim; ++i) {
    if (!seen[i]) continue;  // unseen features stay 0: no noise at inference
    for (uint32_t f = 0; f < s.k; ++f) {
      s.W[static_cast<size_t>(i) * s.k + f] = static_cast<float>(rng.normal() * hp.init_scale);
    }
  }
  s.P.resize(static_cast<size_t>(s.m) * s.k);
  for (float& v : s.P) v = static_cast<float>(rng.normal() * 0.3);
  s.w.assign(s.k, 1.0f);
  s.b.assign(s.m, 0.0f);
  for (uint32_t mm = 0; mm < s.m; ++mm) {
    double sum = 0, n = 0;
    for (size_t r = 0; r < train.rows(); ++r) {
      const float y = train.q(r, mm);
      if (!std::isnan(y)) {
        sum += y;
        n += 1;
      }
    }
    const double mean = std::clamp(n > 0 ? sum / n : 0.5, 0.02, 0.98);
    s.b[mm] = static_cast<float>(std::log(mean / (1 - mean)));
  }
  s.mW.assign(s.W.size(), 0.0f);
  s.vW.assign(s.W.size(), 0.0f);
  s.mP.assign(s.P.size(), 0.0f);
  s.vP.assign(s.P.size(), 0.0f);
  s.mw.assign(s.k, 0.0f);
  s.vw.assign(s.k, 0.0f);
  s.mb.assign(s.m, 0.0f);
  s.vb.assign(s.m, 0.0f);

  Adam adam;
  adam.lr = hp.learning_rate;
  adam.weight_decay = hp.weight_decay;

  std::vector<size_t> order(train.rows());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::vector<int32_t> slot_of(dim, -1);
  std::vector<uint32_t> touched;
  std::vector<float> gW, gP(s.P.size()), gw(s.k), gb(s.m), h, z, dz, dh;
  const uint32_t max_epochs = validation ? hp.max_epochs : epochs;
  MfFit best;
  best.validation_loss = std::numeric_limits<double>::infinity();
  MfState best_state = s;
  uint32_t since_best = 0;

  for (uint32_t epoch = 1; epoch <= max_epochs; ++epoch) {
    rng.shuffle(order);
    for (size_t start = 0; start < order.size(); start += hp.batch_size) {
      const size_t end = std::min(order.size(), start + hp.batch_size);
      size_t pairs = 0, points = 0;
      for (size_t bidx = start; bidx < end; ++bidx) {
        const size_t r = order[bidx];
        for (size_t a = 0; a < train.models; ++a) {
          const float ya = train.q(r, a);
          if (std::isnan(ya)) continue;
          ++points;
          for (size_t bb = 0; bb < train.models; ++bb) {
            const float yb = train.q(r, bb);
            pairs += !std::isnan(yb) && ya > yb;
          }
        }
      }
      if (points == 0) continue;
      const double pair_scale = pairs ? 1.0 / static_cast<double>(pairs) : 0.0;
      const double point_scale = 1.0 / static_cast<double>(points);
      touched.clear();
      gW.clear();
      std::fill(gP.begin(), gP.end(), 0.0f);
      std::fill(gw.begin(), gw.end(), 0.0f);
      std::fill(gb.begin(), gb.end(), 0.0f);
      for (size_t bidx = start; bidx < end; ++bidx) {
        const size_t r = order[bidx];
        logits(s, train.x, r, h, z);
        dz.assign(s.m, 0.0f);
        size_t np = 0, nq = 0;
        mf_loss(train, r, z, hp, &dz, pair_scale, point_scale, np, nq);
        dh.assign(s.k, 0.0f);
        for (uint32_t mm = 0; mm < s.m; ++mm) {
          if (dz[mm] == 0.0f) continue;
          gb[mm] += dz[mm];
          const float* pm = s.P.data() + static_cast<size_t>(mm) * s.k;
          float* gpm = gP.data() + static_cast<size_t>(mm) * s.k;
          for (uint32_t f = 0; f < s.k; ++f) {
            gpm[f] += dz[mm] * s.w[f] * h[f];
            gw[f] += dz[mm] * pm[f] * h[f];
            dh[f] += dz[mm] * s.w[f] * pm[f];
          }
        }
        auto idx = train.x.row_index(r);
        auto val = train.x.row_value(r);
        for (size_t j = 0; j < idx.size(); ++j) {
          int32_t& slot = slot_of[idx[j]];
          if (slot < 0) {
            slot = static_cast<int32_t>(touched.size());
            touched.push_back(idx[j]);
            gW.resize(gW.size() + s.k, 0.0f);
          }
          float* g = gW.data() + static_cast<size_t>(slot) * s.k;
          for (uint32_t f = 0; f < s.k; ++f) g[f] += val[j] * dh[f];
        }
      }
      adam.begin_step();
      for (size_t t = 0; t < touched.size(); ++t) {
        const size_t off = static_cast<size_t>(touched[t]) * s.k;
        adam.update(s.W.data() + off, s.mW.data() + off, s.vW.data() + off, gW.data() + t * s.k,
                    s.k);
        slot_of[touched[t]] = -1;
      }
      adam.update(s.P.data(), s.mP.data(), s.vP.data(), gP.data(), s.P.size());
      adam.update(s.w.data(), s.mw.data(), s.vw.data(), gw.data(), s.k);
      adam.update(s.b.data(), s.mb.data(), s.vb.data(), gb.data(), s.m);
    }
    if (progress) progress("mf", static_cast<double>(epoch) / max_epochs);
    if (validation) {
      const double loss = mean_loss(s, *validation, hp);
      if (loss < best.validation_loss - 1e-5) {
        best.validation_loss = loss;
        best.epochs = epoch;
        best_state = s;
        since_best = 0;
      } else if (++since_best >= hp.patience) {
        break;
      }
    }
  }
  if (!validation) {
    best_state = s;
    best.epochs = max_epochs;
    best.validation_loss = 0;
  }
  best.dim = dim;
  best.factors = s.k;
  best.models = s.m;
  best.projection = std::move(best_state.W);
  best.model_embedding = std::move(best_state.P);
  best.classifier = std::move(best_state.w);
  best.bias = std::move(best_state.b);
  return best;
}

json::object write_mf(const MfFit& fit, ArtefactWriter& writer) {
  writer.add_f32("model.projection", {fit.dim, fit.factors}, fit.projection);
  writer.add_f32("model.model_embedding", {fit.models, fit.factors}, fit.model_embedding);
  writer.add_f32("model.classifier", {fit.factors}, fit.classifier);
  writer.add_f32("model.bias", {fit.models}, fit.bias);
  return json::object{{"type", "mf"}, {"factors", fit.factors}};
}

}  // namespace switchyard::learned
