#include "rtml/learn/time_series/snarimax.h"

#include <algorithm>

#include "rtml/core/error.h"
#include "rtml/core/params.h"

namespace rtml {
namespace {

// forecast()'s scratch: copies of the histories that the forecasts extend.
struct Scratch {
  Snarimax::History original, diffs, errors;
  Features x;
  Prediction prediction;
};

std::string quoted(const std::string& v) {
  char quote = v.find('\'') == std::string::npos ? '\'' : '"';
  return quote + v + quote;
}

}  // namespace

std::unique_ptr<Model> Snarimax::make(ParamSet& p) {
  Config c;
  c.p = static_cast<int>(p.integer("p", 1));
  c.d = static_cast<int>(p.integer("d", 0));
  c.q = static_cast<int>(p.integer("q", 0));
  c.m = static_cast<int>(p.integer("m", 1));
  c.sp = static_cast<int>(p.integer("sp", 0));
  c.sd = static_cast<int>(p.integer("sd", 0));
  c.sq = static_cast<int>(p.integer("sq", 0));
  c.regressor = p.text("regressor", c.regressor);
  for (int v : {c.p, c.d, c.q, c.sp, c.sd, c.sq}) {
    if (v < 0 || v > 1000) throw Error("snarimax: p, d, q, sp, sd and sq in [0, 1000]");
  }
  if (c.m < 1 || c.m > 100000) throw Error("snarimax: m (the season's length) in [1, 100000]");
  auto model = std::make_unique<Snarimax>(c);
  p.set_canonical("regressor", quoted(model->regressor_description()));
  return model;
}

Snarimax::Snarimax(Config config)
    : config_(std::move(config)), regressor_([&]() -> Pipeline {
        try {
          return Pipeline(config_.regressor);
        } catch (const Error& e) {
          throw Error("snarimax: regressor '" + config_.regressor + "': " + e.what());
        }
      }()) {
  if (regressor_.task() != Task::kRegression) {
    throw Error("snarimax: regressor '" + regressor_.description() + "' is not a regressor");
  }
  // (1 - B)^d (1 - B^m)^sd as coefficients of B^0..B^L.
  std::vector<double> poly{1.0};
  auto times = [&](size_t lag) {
    std::vector<double> next(poly.size() + lag, 0.0);
    for (size_t i = 0; i < poly.size(); ++i) {
      next[i] += poly[i];
      next[i + lag] -= poly[i];
    }
    poly = std::move(next);
  };
  for (int i = 0; i < config_.d; ++i) times(1);
  for (int i = 0; i < config_.sd; ++i) times(static_cast<size_t>(config_.m));
  coef_.assign(poly.begin() + 1, poly.end());
  const size_t m = static_cast<size_t>(config_.m);
  original_ = History(std::max<size_t>(coef_.size(), 1));
  diffs_ = History(std::max<size_t>({static_cast<size_t>(config_.p), m * config_.sp, 1}));
  errors_ = History(std::max<size_t>({static_cast<size_t>(config_.q), m * config_.sq, 1}));
  Schema& schema = regressor_.schema();
  auto name = [&](std::vector<uint32_t>& out, const char* prefix, int n) {
    for (int i = 1; i <= n; ++i) out.push_back(schema.intern(prefix + std::to_string(i)));
  };
  name(ar_, "y-", config_.p);
  name(sar_, "sy-", config_.sp);
  name(ma_, "e-", config_.q);
  name(sma_, "se-", config_.sq);
}

Snarimax::~Snarimax() = default;

void Snarimax::features(const History& diffs, const History& errors, Features& x) const {
  x.clear();
  const size_t m = static_cast<size_t>(config_.m);
  for (size_t i = 0; i < ar_.size() && i < diffs.count; ++i) x.add(ar_[i], diffs.at(i));
  for (size_t i = 0; i < sar_.size() && (i + 1) * m <= diffs.count; ++i) {
    x.add(sar_[i], diffs.at((i + 1) * m - 1));
  }
  for (size_t i = 0; i < ma_.size() && i < errors.count; ++i) x.add(ma_[i], errors.at(i));
  for (size_t i = 0; i < sma_.size() && (i + 1) * m <= errors.count; ++i) {
    x.add(sma_[i], errors.at((i + 1) * m - 1));
  }
}

double Snarimax::difference(double v, const History& original) const {
  for (size_t k = 0; k < coef_.size(); ++k) v += coef_[k] * original.at(k);
  return v;
}

void Snarimax::predict(const Features&, Prediction& out, Workspace& workspace) const {
  // One step needs no copies of the histories: it extends nothing.
  out.has_label = false;
  if (original_.count < coef_.size()) {
    out.value = original_.count > 0 ? original_.at(0) : 0.0;
    return;
  }
  auto& s = workspace.member(0).scratch<Scratch>();
  features(diffs_, errors_, s.x);
  regressor_.predict(s.x, s.prediction, workspace.member(1));
  // y_t = y'_t - sum_k c_k y_{t-k}
  double y = s.prediction.value;
  for (size_t k = 0; k < coef_.size(); ++k) y -= coef_[k] * original_.at(k);
  out.value = y;
}

bool Snarimax::forecast(size_t horizon, std::vector<double>& out, Workspace& workspace) const {
  out.resize(horizon);
  if (original_.count < coef_.size()) {
    std::fill(out.begin(), out.end(), original_.count > 0 ? original_.at(0) : 0.0);
    return true;
  }
  auto& s = workspace.member(0).scratch<Scratch>();
  s.original = original_;  // assignment reuses the copies' storage once grown
  s.diffs = diffs_;
  s.errors = errors_;
  for (size_t h = 0; h < horizon; ++h) {
    features(s.diffs, s.errors, s.x);
    regressor_.predict(s.x, s.prediction, workspace.member(1));
    double diff = s.prediction.value, y = diff;
    for (size_t k = 0; k < coef_.size(); ++k) y -= coef_[k] * s.original.at(k);
    out[h] = y;
    s.original.push(y);
    s.diffs.push(diff);
    s.errors.push(0.0);
  }
  return true;
}

void Snarimax::learn(const Features&, const Target& y, double) {
  if (original_.count < coef_.size()) {
    original_.push(y.value);
    return;
  }
  const double diff = difference(y.value, original_);
  original_.push(y.value);
  features(diffs_, errors_, x_);
  regressor_.predict(x_, prediction_);
  regressor_.learn(x_, Target::of_value(diff));
  diffs_.push(diff);
  errors_.push(diff - prediction_.value);
}

namespace {

void save_history(const Snarimax::History& h, BinaryWriter& out) {
  out.put<uint64_t>(h.values.size());
  for (double v : h.values) out.put(v);
  out.put<uint64_t>(h.head);
  out.put<uint64_t>(h.count);
}

void load_history(Snarimax::History& h, BinaryReader& in, const char* what) {
  if (in.get<uint64_t>() != h.values.size()) in.fail(std::string("snarimax: ") + what);
  for (double& v : h.values) v = in.get<double>();
  h.head = in.get<uint64_t>();
  h.count = in.get<uint64_t>();
  if (h.head >= h.values.size() || h.count > h.values.size()) {
    in.fail(std::string("snarimax: ") + what);
  }
}

}  // namespace

void Snarimax::save(BinaryWriter& out) const {
  save_history(original_, out);
  save_history(diffs_, out);
  save_history(errors_, out);
  out.put_string(regressor_.to_bytes());
}

void Snarimax::load(BinaryReader& in) {
  load_history(original_, in, "values");
  load_history(diffs_, in, "differenced values");
  load_history(errors_, in, "errors");
  regressor_ = Pipeline::from_bytes(in.get_string(), "snarimax's regressor");
  if (regressor_.description() != Pipeline(config_.regressor).description()) {
    in.fail("snarimax: regressor");
  }
}

}  // namespace rtml
