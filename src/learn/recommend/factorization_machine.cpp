#include "rtml/learn/recommend/factorization_machine.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "rtml/core/error.h"
#include "rtml/core/params.h"
#include "rtml/core/schema.h"

namespace rtml {

std::unique_ptr<Model> FactorizationMachine::make(ParamSet& p) {
  Config c;
  c.log_loss = p.choice("loss", "squared", {"squared", "log"}) == "log";
  c.user = p.text("user", "user");
  c.item = p.text("item", "item");
  c.n_factors = static_cast<int>(p.integer("n_factors", 10));
  c.lr = p.number("lr", 0.01);
  c.intercept_lr = p.number("intercept_lr", 0.01);
  c.l2_weight = p.number("l2_weight", 0);
  c.l2_latent = p.number("l2_latent", 0);
  c.init_std = p.number("init_std", 0.1);
  c.clip_gradient = p.number("clip_gradient", 1e12);
  c.seed = static_cast<uint64_t>(p.integer("seed", 42));
  if (c.n_factors < 1 || c.n_factors > 1024 || !(c.lr > 0) || c.intercept_lr < 0 ||
      c.l2_weight < 0 || c.l2_latent < 0 || !(c.init_std >= 0) || !(c.clip_gradient > 0) ||
      c.user.empty() || c.item.empty() || c.user == c.item) {
    throw Error(
        "fm: n_factors in [1, 1024], lr > 0, intercept_lr, l2_weight, l2_latent, init_std >= 0, "
        "clip_gradient > 0, and user and item two different column names");
  }
  return std::make_unique<FactorizationMachine>(c);
}

FactorizationMachine::FactorizationMachine(Config config) : config_(config), rng_(config.seed) {}

void FactorizationMachine::bind(Schema& schema) {
  user_column_ = schema.intern(config_.user);
  item_column_ = schema.intern(config_.item);
}

template <typename Self>
void FactorizationMachine::gather(Self& self, const Features& x, bool skip_item, Terms& out) {
  // Self is const for predict() and top_k(), which find inputs; learn() adds unknown ones.
  constexpr bool kAdd = !std::is_const_v<Self>;
  out.active.clear();
  auto visit = [&](uint8_t table, uint64_t key, double value) {
    auto& t = self.table(table);
    if constexpr (kAdd) {
      bool added = false;
      uint32_t s = t.index.find_or_add(key, added);
      if (added) {
        t.w.push_back(0.0);
        for (int k = 0; k < self.config_.n_factors; ++k) {
          t.v.push_back(self.rng_.normal() * self.config_.init_std);
        }
      }
      out.active.push_back({table, s, value});
    } else if (auto s = t.index.find(key)) {
      out.active.push_back({table, *s, value});
    }
  };
  for (const auto& c : x.categories()) {
    if (c.column == self.user_column_) {
      visit(kUsers, EntityKey::kCategoryTag | c.id, 1.0);
    } else if (c.column == self.item_column_) {
      if (!skip_item) visit(kItems, EntityKey::kCategoryTag | c.id, 1.0);
    } else {
      visit(kOthers, EntityKey::kCategoryTag | (uint64_t{c.column} << 32) | c.id, 1.0);
    }
  }
  for (const auto& f : x.numbers()) {
    if (f.index == self.user_column_ || f.index == self.item_column_) {
      if (f.index == self.item_column_ && skip_item) continue;
      uint64_t key = 0;
      if (f.index == self.user_column_) {
        EntityKey::of(x, self.user_column_, key);
        visit(kUsers, key, 1.0);
      } else {
        EntityKey::of(x, self.item_column_, key);
        visit(kItems, key, 1.0);
      }
    } else {
      visit(kOthers, f.index, f.value);
    }
  }
}

double FactorizationMachine::raw_score(Terms& terms) const {
  const size_t nf = config_.n_factors;
  terms.sums.assign(nf, 0.0);
  double y = w0_, squares = 0;
  for (const auto& a : terms.active) {
    const Table& t = table(a.table);
    y += t.w[a.slot] * a.x;
    const double* v = &t.v[a.slot * nf];
    for (size_t k = 0; k < nf; ++k) {
      terms.sums[k] += v[k] * a.x;
      squares += v[k] * v[k] * a.x * a.x;
    }
  }
  double pairs = 0;
  for (double s : terms.sums) pairs += s * s;
  return y + 0.5 * (pairs - squares);
}

double FactorizationMachine::output(double raw) const {
  return config_.log_loss ? 1.0 / (1.0 + std::exp(-std::clamp(raw, -35.0, 35.0))) : raw;
}

void FactorizationMachine::predict(const Features& x, Prediction& out, Workspace& workspace) const {
  auto& terms = workspace.scratch<Terms>();
  gather(*this, x, false, terms);
  double v = output(raw_score(terms));
  if (config_.log_loss) {
    set_binary_prediction(v, out);
  } else {
    out.value = v;
    out.has_label = false;
  }
}

void FactorizationMachine::learn(const Features& x, const Target& y, double weight) {
  gather(*this, x, false, terms_);
  double p = output(raw_score(terms_));
  // Squared loss: d/dy (y - t)^2; log loss: d/draw of the cross-entropy.
  double g = config_.log_loss ? (p - (y.label == 1 ? 1.0 : 0.0)) : 2.0 * (p - y.value);
  g = std::clamp(g * weight, -config_.clip_gradient, config_.clip_gradient);
  w0_ -= config_.intercept_lr * g;
  const size_t nf = config_.n_factors;
  for (const auto& a : terms_.active) {
    Table& t = table(a.table);
    double& w = t.w[a.slot];
    w -= config_.lr * (g * a.x + config_.l2_weight * w);
    double* v = &t.v[a.slot * nf];
    for (size_t k = 0; k < nf; ++k) {
      double grad = g * a.x * (terms_.sums[k] - v[k] * a.x) + config_.l2_latent * v[k];
      v[k] -= config_.lr * grad;
    }
  }
}

void FactorizationMachine::top_k(const Features& x, size_t k, std::vector<ScoredItem>& out,
                                 Workspace& workspace) const {
  out.clear();
  auto& terms = workspace.scratch<Terms>();
  gather(*this, x, true, terms);
  // Adding item i (x_i = 1) to the context adds w_i + <v_i, sum of context factors>.
  double base = raw_score(terms);
  const size_t nf = config_.n_factors;
  for (uint32_t i = 0; i < items_.index.size(); ++i) {
    const double* v = &items_.v[i * nf];
    double s = base + items_.w[i];
    for (size_t f = 0; f < nf; ++f) s += v[f] * terms.sums[f];
    out.push_back({items_.index.key(i), output(s)});
  }
  k = std::min(k, out.size());
  std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(k), out.end(),
                    [](const ScoredItem& a, const ScoredItem& b) { return a.score > b.score; });
  out.resize(k);
}

void FactorizationMachine::save(BinaryWriter& out) const {
  for (const Table* t : {&users_, &items_, &others_}) {
    t->index.save(out);
    out.put_vector(t->w);
    out.put_vector(t->v);
  }
  out.put(w0_);
  out.put(rng_.state());
}

void FactorizationMachine::load(BinaryReader& in) {
  for (Table* t : {&users_, &items_, &others_}) {
    t->index.load(in);
    t->w = in.get_vector<double>();
    t->v = in.get_vector<double>();
    if (t->w.size() != t->index.size() || t->v.size() != t->index.size() * config_.n_factors) {
      in.fail("factorisation machine sizes");
    }
  }
  w0_ = in.get<double>();
  rng_.set_state(in.get<std::array<uint64_t, 4>>());
}

}  // namespace rtml
