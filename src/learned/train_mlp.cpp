#include <algorithm>
#include <cmath>
#include <limits>

#include "learned/trainers.h"

namespace switchyard::learned {

namespace {

// Parameters of an L-layer network plus their Adam moments and gradients.
// Layer 0 is sparse-input and updated lazily (only rows seen in the batch).
struct Params {
  std::vector<DenseLayer> layers;
  std::vector<std::vector<float>> mw, vw, mb, vb, gw, gb;
};

struct Workspace {
  std::vector<std::vector<float>> act;   // post-activation per layer (act[l] = output of layer l)
  std::vector<std::vector<float>> mask;  // dropout multipliers per hidden layer
  std::vector<std::vector<float>> delta;
  std::vector<int32_t> slot_of;  // feature -> gradient slot of layer 0, -1 if none
  std::vector<uint32_t> touched;
};

void forward(const Params& p, const SparseMatrix& x, size_t r, Workspace& ws, double dropout,
             Rng* rng) {
  const size_t layers = p.layers.size();
  for (size_t l = 0; l < layers; ++l) {
    const DenseLayer& L = p.layers[l];
    std::vector<float>& out = ws.act[l];
    out.assign(L.bias.begin(), L.bias.end());
    if (l == 0) {
      auto idx = x.row_index(r);
      auto val = x.row_value(r);
      for (size_t k = 0; k < idx.size(); ++k) {
        const float* row = L.weight.data() + static_cast<size_t>(idx[k]) * L.out;
        const float v = val[k];
        for (uint32_t j = 0; j < L.out; ++j) out[j] += v * row[j];
      }
    } else {
      const std::vector<float>& in = ws.act[l - 1];
      for (uint32_t i = 0; i < L.in; ++i) {
        const float v = in[i];
        if (v == 0.0f) continue;
        const float* row = L.weight.data() + static_cast<size_t>(i) * L.out;
        for (uint32_t j = 0; j < L.out; ++j) out[j] += v * row[j];
      }
    }
    const bool last = l + 1 == layers;
    if (last) break;  // logits; the loss applies the sigmoid
    for (float& v : out) v = v > 0 ? v : 0;
    std::vector<float>& mask = ws.mask[l];
    mask.assign(out.size(), 1.0f);
    if (rng != nullptr && dropout > 0) {
      const auto keep = static_cast<float>(1.0 / (1.0 - dropout));
      for (size_t j = 0; j < out.size(); ++j) {
        mask[j] = rng->uniform() < dropout ? 0.0f : keep;
        out[j] *= mask[j];
      }
    }
  }
}

// Mean masked BCE of the logits in ws.act.back() against row r's labels;
// writes d(loss)/d(logit) scaled by `scale` into `dlogit` when non-null.
double row_loss(const TrainingSet& set, size_t r, const std::vector<float>& logits,
                std::vector<float>* dlogit, double scale, size_t& labelled) {
  double loss = 0;
  for (size_t m = 0; m < set.models; ++m) {
    const float y = set.q(r, m);
    if (std::isnan(y)) {
      if (dlogit) (*dlogit)[m] = 0;
      continue;
    }
    const double z = logits[m];
    loss += softplus(z) - y * z;
    ++labelled;
    if (dlogit) (*dlogit)[m] = static_cast<float>((sigmoid(z) - y) * scale);
  }
  return loss;
}

double mean_loss(const Params& p, const TrainingSet& set, Workspace& ws) {
  double loss = 0;
  size_t labelled = 0;
  for (size_t r = 0; r < set.rows(); ++r) {
    forward(p, set.x, r, ws, 0, nullptr);
    loss += row_loss(set, r, ws.act.back(), nullptr, 0, labelled);
  }
  return labelled ? loss / static_cast<double>(labelled) : 0;
}

}  // namespace

NetFit train_mlp(const TrainingSet& train, const TrainingSet* validation, uint32_t dim,
                 const MlpParams& hp, uint32_t epochs, uint64_t seed, const ProgressFn& progress) {
  Rng rng(seed);
  Params p;
  std::vector<uint32_t> widths{dim};
  for (uint32_t h : hp.hidden) widths.push_back(h);
  widths.push_back(static_cast<uint32_t>(train.models));
  // Features never seen in training keep zero weights, so an unseen n-gram at
  // inference adds nothing instead of random noise.
  std::vector<uint8_t> seen(dim, 0);
  for (uint32_t i : train.x.index) seen[i] = 1;
  for (size_t l = 0; l + 1 < widths.size(); ++l) {
    DenseLayer L;
    L.in = widths[l];
    L.out = widths[l + 1];
    L.weight.assign(static_cast<size_t>(L.in) * L.out, 0.0f);
    L.bias.assign(L.out, 0.0f);
    const double scale = l == 0 ? hp.init_scale : std::sqrt(2.0 / L.in);
    for (uint32_t i = 0; i < L.in; ++i) {
      if (l == 0 && !seen[i]) continue;
      for (uint32_t j = 0; j < L.out; ++j) {
        L.weight[static_cast<size_t>(i) * L.out + j] = static_cast<float>(rng.normal() * scale);
      }
    }
    L.activation = l + 2 == widths.size() ? Activation::kSigmoid : Activation::kRelu;
    p.mw.emplace_back(L.weight.size(), 0.0f);
    p.vw.emplace_back(L.weight.size(), 0.0f);
    p.mb.emplace_back(L.out, 0.0f);
    p.vb.emplace_back(L.out, 0.0f);
    p.gw.emplace_back(l == 0 ? 0 : L.weight.size(), 0.0f);
    p.gb.emplace_back(L.out, 0.0f);
    p.layers.push_back(std::move(L));
  }
  // Start the output biases at the label log-odds: early epochs then learn
  // per-query differences instead of the base rates.
  {
    DenseLayer& out = p.layers.back();
    for (size_t m = 0; m < train.models; ++m) {
      double sum = 0, n = 0;
      for (size_t r = 0; r < train.rows(); ++r) {
        const float y = train.q(r, m);
        if (!std::isnan(y)) {
          sum += y;
          n += 1;
        }
      }
      const double mean = std::clamp(n > 0 ? sum / n : 0.5, 0.02, 0.98);
      out.bias[m] = static_cast<float>(std::log(mean / (1 - mean)));
    }
  }
  const size_t layers = p.layers.size();
  const uint32_t h0 = p.layers[0].out;
  Workspace ws;
  ws.act.resize(layers);
  ws.mask.resize(layers);
  ws.delta.resize(layers);
  ws.slot_of.assign(dim, -1);
  std::vector<float> g0;  // touched rows x h0

  Adam adam;
  adam.lr = hp.learning_rate;
  adam.weight_decay = hp.weight_decay;

  std::vector<size_t> order(train.rows());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  const uint32_t max_epochs = validation ? hp.max_epochs : epochs;
  NetFit best;
  best.validation_loss = std::numeric_limits<double>::infinity();
  std::vector<DenseLayer> best_layers = p.layers;
  uint32_t since_best = 0;

  for (uint32_t epoch = 1; epoch <= max_epochs; ++epoch) {
    rng.shuffle(order);
    for (size_t start = 0; start < order.size(); start += hp.batch_size) {
      const size_t end = std::min(order.size(), start + hp.batch_size);
      // Label count of the batch, so the loss is a mean per labelled cell.
      size_t batch_labels = 0;
      for (size_t b = start; b < end; ++b) {
        for (size_t m = 0; m < train.models; ++m) batch_labels += !std::isnan(train.q(order[b], m));
      }
      if (batch_labels == 0) continue;
      const double scale = 1.0 / static_cast<double>(batch_labels);
      ws.touched.clear();
      g0.clear();
      for (size_t l = 1; l < layers; ++l) std::fill(p.gw[l].begin(), p.gw[l].end(), 0.0f);
      for (size_t l = 0; l < layers; ++l) std::fill(p.gb[l].begin(), p.gb[l].end(), 0.0f);

      for (size_t b = start; b < end; ++b) {
        const size_t r = order[b];
        forward(p, train.x, r, ws, hp.dropout, &rng);
        size_t labelled = 0;
        ws.delta[layers - 1].resize(train.models);
        row_loss(train, r, ws.act.back(), &ws.delta[layers - 1], scale, labelled);
        for (size_t l = layers; l-- > 0;) {
          const DenseLayer& L = p.layers[l];
          const std::vector<float>& d = ws.delta[l];
          for (uint32_t j = 0; j < L.out; ++j) p.gb[l][j] += d[j];
          if (l == 0) {
            auto idx = train.x.row_index(r);
            auto val = train.x.row_value(r);
            for (size_t k = 0; k < idx.size(); ++k) {
              int32_t& slot = ws.slot_of[idx[k]];
              if (slot < 0) {
                slot = static_cast<int32_t>(ws.touched.size());
                ws.touched.push_back(idx[k]);
                g0.resize(g0.size() + h0, 0.0f);
              }
              float* g = g0.data() + static_cast<size_t>(slot) * h0;
              const float v = val[k];
              for (uint32_t j = 0; j < h0; ++j) g[j] += v * d[j];
            }
            break;
          }
          const std::vector<float>& in = ws.act[l - 1];
          std::vector<float>& prev = ws.delta[l - 1];
          prev.assign(L.in, 0.0f);
          for (uint32_t i = 0; i < L.in; ++i) {
            const float* row = L.weight.data() + static_cast<size_t>(i) * L.out;
            float* g = p.gw[l].data() + static_cast<size_t>(i) * L.out;
            const float a = in[i];
            float s = 0;
            for (uint32_t j = 0; j < L.out; ++j) {
              g[j] += a * d[j];
              s += row[j] * d[j];
            }
            // ReLU and dropout: the mask is 0 where the unit was dropped or inactive.
            prev[i] = a > 0 ? s * ws.mask[l - 1][i] : 0.0f;
          }
        }
      }
      adam.begin_step();
      for (size_t l = 0; l < layers; ++l) {
        DenseLayer& L = p.layers[l];
        adam.update(L.bias.data(), p.mb[l].data(), p.vb[l].data(), p.gb[l].data(), L.out);
        if (l == 0) {
          for (size_t s = 0; s < ws.touched.size(); ++s) {
            const size_t off = static_cast<size_t>(ws.touched[s]) * h0;
            adam.update(L.weight.data() + off, p.mw[0].data() + off, p.vw[0].data() + off,
                        g0.data() + s * h0, h0);
            ws.slot_of[ws.touched[s]] = -1;
          }
        } else {
          adam.update(L.weight.data(), p.mw[l].data(), p.vw[l].data(), p.gw[l].data(),
                      L.weight.size());
        }
      }
    }
    if (progress) progress("mlp", static_cast<double>(epoch) / max_epochs);
    if (validation) {
      const double loss = mean_loss(p, *validation, ws);
      if (loss < best.validation_loss - 1e-5) {
        best.validation_loss = loss;
        best.epochs = epoch;
        best_layers = p.layers;
        since_best = 0;
      } else if (++since_best >= hp.patience) {
        break;
      }
    }
  }
  if (!validation) {
    best_layers = p.layers;
    best.epochs = max_epochs;
    best.validation_loss = 0;
  }
  best.net = FeedForwardNet(std::move(best_layers));
  return best;
}

}  // namespace switchyard::learned
