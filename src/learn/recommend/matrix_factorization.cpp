#include "rtml/learn/recommend/matrix_factorization.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "rtml/core/error.h"
#include "rtml/core/params.h"
#include "rtml/core/schema.h"

namespace rtml {
namespace {

MatrixFactorization::Config read(ParamSet& p, bool biased) {
  MatrixFactorization::Config c;
  c.biased = biased;
  c.user = p.text("user", "user");
  c.item = p.text("item", "item");
  c.n_factors = static_cast<int>(p.integer("n_factors", 10));
  c.lr = p.number("lr", 0.01);
  if (biased) c.l2_bias = p.number("l2_bias", 0);
  c.l2_latent = p.number("l2_latent", 0);
  c.init_std = p.number("init_std", 0.1);
  c.clip_gradient = p.number("clip_gradient", 1e12);
  c.seed = static_cast<uint64_t>(p.integer("seed", 42));
  if (c.n_factors < 1 || c.n_factors > 1024 || !(c.lr > 0) || c.l2_bias < 0 || c.l2_latent < 0 ||
      !(c.init_std >= 0) || !(c.clip_gradient > 0) || c.user.empty() || c.item.empty() ||
      c.user == c.item) {
    throw Error(p.component() +
                ": n_factors in [1, 1024], lr > 0, l2_bias, l2_latent, init_std >= 0, "
                "clip_gradient > 0, and user and item two different column names");
  }
  return c;
}

}  // namespace

std::unique_ptr<Model> MatrixFactorization::funk(ParamSet& p) {
  return std::make_unique<MatrixFactorization>(read(p, false));
}

std::unique_ptr<Model> MatrixFactorization::biased(ParamSet& p) {
  return std::make_unique<MatrixFactorization>(read(p, true));
}

MatrixFactorization::MatrixFactorization(Config config) : config_(config), rng_(config.seed) {}

void MatrixFactorization::bind(Schema& schema) {
  user_column_ = schema.intern(config_.user);
  item_column_ = schema.intern(config_.item);
}

int64_t MatrixFactorization::slot(const EntityIndex& index, const Features& x,
                                  uint32_t column) const {
  uint64_t key;
  if (!EntityKey::of(x, column, key)) return -1;
  auto s = index.find(key);
  return s ? static_cast<int64_t>(*s) : -1;
}

double MatrixFactorization::score(int64_t u, int64_t i) const {
  double s = config_.biased ? mean_ : 0.0;
  if (config_.biased && u >= 0) s += user_bias_[u];
  if (config_.biased && i >= 0) s += item_bias_[i];
  if (u >= 0 && i >= 0) {
    const size_t f = config_.n_factors;
    const double* p = &user_latent_[u * f];
    const double* q = &item_latent_[i * f];
    for (size_t k = 0; k < f; ++k) s += p[k] * q[k];
  }
  return s;
}

void MatrixFactorization::predict(const Features& x, Prediction& out, Workspace&) const {
  out.value = score(slot(users_, x, user_column_), slot(items_, x, item_column_));
  out.has_label = false;
}

uint32_t MatrixFactorization::add(EntityIndex& index, std::vector<double>& bias,
                                  std::vector<double>& latent, uint64_t key) {
  bool added = false;
  uint32_t s = index.find_or_add(key, added);
  if (added) {
    bias.push_back(0.0);
    for (int k = 0; k < config_.n_factors; ++k) latent.push_back(rng_.normal() * config_.init_std);
  }
  return s;
}

void MatrixFactorization::learn(const Features& x, const Target& y, double weight) {
  uint64_t user_key, item_key;
  // An event without both columns has nothing to teach a factorisation.
  if (!EntityKey::of(x, user_column_, user_key) || !EntityKey::of(x, item_column_, item_key)) {
    return;
  }
  uint32_t u = add(users_, user_bias_, user_latent_, user_key);
  uint32_t i = add(items_, item_bias_, item_latent_, item_key);
  if (config_.biased) {
    // As River: the mean learns first, then the step uses the updated prediction.
    seen_ += weight;
    mean_ += weight / seen_ * (y.value - mean_);
  }
  double g = 2.0 * (score(u, i) - y.value) * weight;
  g = std::clamp(g, -config_.clip_gradient, config_.clip_gradient);
  const double lr = config_.lr;
  if (config_.biased) {
    user_bias_[u] -= lr * (g + config_.l2_bias * user_bias_[u]);
    item_bias_[i] -= lr * (g + config_.l2_bias * item_bias_[i]);
  }
  const size_t f = config_.n_factors;
  double* p = &user_latent_[u * f];
  double* q = &item_latent_[i * f];
  for (size_t k = 0; k < f; ++k) {
    double pk = p[k], qk = q[k];
    p[k] -= lr * (g * qk + config_.l2_latent * pk);
    q[k] -= lr * (g * pk + config_.l2_latent * qk);
  }
}

void MatrixFactorization::top_k(const Features& x, size_t k, std::vector<ScoredItem>& out,
                                Workspace&) const {
  out.clear();
  int64_t u = slot(users_, x, user_column_);
  for (uint32_t i = 0; i < items_.size(); ++i) out.push_back({items_.key(i), score(u, i)});
  k = std::min(k, out.size());
  std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(k), out.end(),
                    [](const ScoredItem& a, const ScoredItem& b) { return a.score > b.score; });
  out.resize(k);
}

void MatrixFactorization::save(BinaryWriter& out) const {
  users_.save(out);
  items_.save(out);
  out.put_vector(user_bias_);
  out.put_vector(item_bias_);
  out.put_vector(user_latent_);
  out.put_vector(item_latent_);
  out.put(mean_);
  out.put(seen_);
  out.put(rng_.state());
}

void MatrixFactorization::load(BinaryReader& in) {
  users_.load(in);
  items_.load(in);
  user_bias_ = in.get_vector<double>();
  item_bias_ = in.get_vector<double>();
  user_latent_ = in.get_vector<double>();
  item_latent_ = in.get_vector<double>();
  const size_t f = config_.n_factors;
  if (user_bias_.size() != users_.size() || item_bias_.size() != items_.size() ||
      user_latent_.size() != users_.size() * f || item_latent_.size() != items_.size() * f) {
    in.fail("factorisation sizes");
  }
  mean_ = in.get<double>();
  seen_ = in.get<double>();
  rng_.set_state(in.get<std::array<uint64_t, 4>>());
}

bool MatrixFactorization::average(double own_weight, const std::vector<Replica<Model>>& others) {
  for (const auto& r : others) {
    const auto* o = dynamic_cast<const MatrixFactorization*>(r.step);
    if (!o || o->config_.n_factors != config_.n_factors || !r.schema || !r.own_schema) return false;
  }
  const size_t k = static_cast<size_t>(config_.n_factors);
  // This replica's key for an entity of `column`, in replica r's terms (nullopt: unknown).
  auto key_in = [&](const Replica<Model>& r, uint32_t own_column, uint32_t column,
                    uint64_t key) -> std::optional<uint64_t> {
    if (!EntityKey::is_category(key)) return key;
    const std::string& name = r.own_schema->category_name(own_column, EntityKey::category(key));
    auto id = r.schema->find_category(column, name);
    if (!id) return std::nullopt;
    return EntityKey::kCategoryTag | *id;
  };
  auto side = [&](const EntityIndex& own, uint32_t own_column, std::vector<double>& bias,
                  std::vector<double>& latent, bool users) {
    std::vector<double> v(k);
    for (uint32_t slot = 0; slot < own.size(); ++slot) {
      double w = own_weight, b = own_weight * bias[slot];
      for (size_t f = 0; f < k; ++f) v[f] = own_weight * latent[slot * k + f];
      for (const auto& r : others) {
        const auto& o = static_cast<const MatrixFactorization&>(*r.step);
        const uint32_t column = users ? o.user_column_ : o.item_column_;
        auto key = key_in(r, own_column, column, own.key(slot));
        if (!key) continue;
        const EntityIndex& theirs = users ? o.users_ : o.items_;
        auto j = theirs.find(*key);
        if (!j) continue;
        const auto& ob = users ? o.user_bias_ : o.item_bias_;
        const auto& ol = users ? o.user_latent_ : o.item_latent_;
        b += r.weight * ob[*j];
        for (size_t f = 0; f < k; ++f) v[f] += r.weight * ol[*j * k + f];
        w += r.weight;
      }
      if (w <= 0) continue;
      bias[slot] = b / w;
      for (size_t f = 0; f < k; ++f) latent[slot * k + f] = v[f] / w;
    }
  };
  side(users_, user_column_, user_bias_, user_latent_, true);
  side(items_, item_column_, item_bias_, item_latent_, false);
  mean_ = replica_mean(mean_, own_weight, others, [](const Model& m) {
    return static_cast<const MatrixFactorization&>(m).mean_;
  });
  return true;
}

}  // namespace rtml
