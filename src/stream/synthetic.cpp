#include "rtml/stream/synthetic.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <string>
#include <vector>

#include "rtml/core/error.h"
#include "rtml/core/params.h"
#include "rtml/core/random.h"
#include "rtml/stream/shop_world.h"

namespace rtml {
namespace {

constexpr std::string_view kClassText[2] = {"0", "1"};

// The shared part of every generator: numeric feature columns then "class".
class Generator : public RowSource {
 public:
  Generator(const std::string& name, std::vector<std::string> features, uint64_t n, uint64_t seed)
      : RowSource("synth:" + name, {}), n_(n), rng_(seed) {
    for (auto& f : features) columns_.push_back(Column{std::move(f), ColumnType::kNumeric});
    columns_.push_back(Column{"class", ColumnType::kCategorical});
  }
  const std::vector<Column>& columns() const override { return columns_; }
  bool next(Row& row) override {
    if (t_ >= n_) return false;
    row.values.resize(columns_.size());
    for (auto& v : row.values) v.kind = ValueKind::kNumber;
    int label = generate(row);
    Value& c = row.values.back();
    c.kind = ValueKind::kText;
    c.text = kClassText[label];
    row.line = ++t_;
    ++stats_.rows;
    return true;
  }

 protected:
  // Fills the feature values of row and returns the class (0 or 1).
  virtual int generate(Row& row) = 0;
  uint64_t n_;
  uint64_t t_ = 0;  // events generated so far
  Random rng_;
  std::vector<Column> columns_;
};

class Sea final : public Generator {
 public:
  Sea(uint64_t n, uint64_t seed, double noise, uint64_t drift_every)
      : Generator("sea", {"x1", "x2", "x3"}, n, seed), noise_(noise), every_(drift_every) {}

 private:
  int generate(Row& row) override {
    static constexpr double kTheta[4] = {8.0, 9.0, 7.0, 9.5};
    double x[3];
    for (int i = 0; i < 3; ++i) row.values[i].number = x[i] = rng_.uniform(0.0, 10.0);
    int label = (x[0] + x[1] <= kTheta[(t_ / every_) % 4]) ? 1 : 0;
    if (rng_.uniform() < noise_) label = 1 - label;
    return label;
  }
  double noise_;
  uint64_t every_;
};

class Hyperplane final : public Generator {
 public:
  Hyperplane(uint64_t n, uint64_t seed, int features, int drift_features, double mag_change,
             double sigma, double noise)
      : Generator("hyperplane", names(features), n, seed),
        drift_features_(drift_features),
        mag_change_(mag_change),
        sigma_(sigma),
        noise_(noise),
        weights_(features),
        direction_(features, 0.0) {
    for (auto& w : weights_) w = rng_.uniform();
    for (int i = 0; i < drift_features; ++i) direction_[i] = 1.0;
  }

 private:
  static std::vector<std::string> names(int n) {
    std::vector<std::string> v;
    for (int i = 0; i < n; ++i) v.push_back("x" + std::to_string(i + 1));
    return v;
  }
  int generate(Row& row) override {
    double dot = 0, total = 0;
    for (size_t i = 0; i < weights_.size(); ++i) {
      double x = rng_.uniform();
      row.values[i].number = x;
      dot += weights_[i] * x;
      total += weights_[i];
    }
    int label = dot >= 0.5 * total ? 1 : 0;
    if (rng_.uniform() < noise_) label = 1 - label;
    for (int i = 0; i < drift_features_; ++i) {
      weights_[i] += direction_[i] * mag_change_;
      if (rng_.uniform() < sigma_) direction_[i] = -direction_[i];
    }
    return label;
  }
  int drift_features_;
  double mag_change_, sigma_, noise_;
  std::vector<double> weights_, direction_;
};

class Agrawal final : public Generator {
 public:
  Agrawal(uint64_t n, uint64_t seed, int function, uint64_t drift_every, double perturbation)
      : Generator(
            "agrawal",
            {"salary", "commission", "age", "elevel", "car", "zipcode", "hvalue", "hyears", "loan"},
            n, seed),
        function_(function),
        every_(drift_every),
        perturbation_(perturbation) {}

 private:
  static bool in(double v, double lo, double hi) { return lo <= v && v <= hi; }

  // The ten functions of Agrawal, Imielinski and Swami (1993), table 2.
  static int classify(int f, double salary, double commission, double age, double elevel,
                      double hvalue, double hyears, double loan) {
    switch (f) {
      case 0:
        return age < 40 || age >= 60;
      case 1:
        if (age < 40) return in(salary, 50000, 100000);
        if (age < 60) return in(salary, 75000, 125000);
        return in(salary, 25000, 75000);
      case 2:
        if (age < 40) return elevel <= 1;
        if (age < 60) return in(elevel, 1, 3);
        return in(elevel, 2, 4);
      case 3:
        if (age < 40) return elevel <= 1 ? in(salary, 25000, 75000) : in(salary, 50000, 100000);
        if (age < 60) {
          return in(elevel, 1, 3) ? in(salary, 50000, 100000) : in(salary, 75000, 125000);
        }
        return in(elevel, 2, 4) ? in(salary, 50000, 100000) : in(salary, 25000, 75000);
      case 4:
        if (age < 40) {
          return in(salary, 50000, 100000) ? in(loan, 100000, 300000) : in(loan, 200000, 400000);
        }
        if (age < 60) {
          return in(salary, 75000, 125000) ? in(loan, 200000, 400000) : in(loan, 300000, 500000);
        }
        return in(salary, 25000, 75000) ? in(loan, 300000, 500000) : in(loan, 100000, 300000);
      case 5: {
        double total = salary + commission;
        if (age < 40) return in(total, 50000, 100000);
        if (age < 60) return in(total, 75000, 125000);
        return in(total, 25000, 75000);
      }
      case 6:
        return 2.0 * (salary + commission) / 3.0 - loan / 5.0 - 20000 <= 0;
      case 7:
        return 2.0 * (salary + commission) / 3.0 - 5000 * elevel - 20000 <= 0;
      case 8:
        return 2.0 * (salary + commission) / 3.0 - 5000 * elevel - loan / 5.0 - 10000 <= 0;
      default: {
        double equity = hyears >= 20 ? hvalue * (hyears - 20) / 10.0 : 0.0;
        return 2.0 * (salary + commission) / 3.0 - 5000 * elevel + equity / 5.0 - 10000 <= 0;
      }
    }
  }

  double perturb(double v, double lo, double hi, double range) {
    v += range * (2.0 * (rng_.uniform() - 0.5)) * perturbation_;
    return std::clamp(v, lo, hi);
  }

  int generate(Row& row) override {
    double salary = rng_.uniform(20000, 150000);
    double commission = salary >= 75000 ? 0.0 : rng_.uniform(10000, 75000);
    double age = 20 + static_cast<double>(rng_.below(61));
    double elevel = static_cast<double>(rng_.below(5));
    double car = 1 + static_cast<double>(rng_.below(20));
    double zipcode = static_cast<double>(rng_.below(9));
    double hvalue = (9 - zipcode) * 100000 * rng_.uniform(0.5, 1.5);
    double hyears = 1 + static_cast<double>(rng_.below(30));
    double loan = rng_.uniform(0, 500000);
    int f = static_cast<int>((function_ + t_ / every_) % 10);
    int label = classify(f, salary, commission, age, elevel, hvalue, hyears, loan);
    if (perturbation_ > 0) {
      salary = perturb(salary, 20000, 150000, 130000);
      if (commission > 0) commission = perturb(commission, 10000, 75000, 65000);
      age = std::round(perturb(age, 20, 80, 60));
      hvalue = perturb(hvalue, 0, (9 - zipcode) * 150000, (9 - zipcode) * 100000);
      hyears = std::round(perturb(hyears, 1, 30, 29));
      loan = perturb(loan, 0, 500000, 500000);
    }
    const double v[9] = {salary, commission, age, elevel, car, zipcode, hvalue, hyears, loan};
    for (int i = 0; i < 9; ++i) row.values[i].number = v[i];
    return label;
  }
  uint64_t function_;
  uint64_t every_;
  double perturbation_;
};

// Gaussian blobs for clustering: k centres drawn uniformly in [-spread/2, spread/2]^d,
// each event from one of them (uniformly) with standard deviation sd per dimension;
// columns x1..xd and "blob" (b0, b1, ...). With move > 0 blob 0's centre walks along the
// first axis by `move` per event, a cluster that moves.
class Blobs final : public RowSource {
 public:
  Blobs(uint64_t n, uint64_t seed, int k, int d, double sd, double spread, double move)
      : RowSource("synth:blobs", {}), n_(n), rng_(seed), k_(k), d_(d), sd_(sd), move_(move) {
    for (int j = 0; j < d; ++j) {
      columns_.push_back(Column{"x" + std::to_string(j + 1), ColumnType::kNumeric});
    }
    columns_.push_back(Column{"blob", ColumnType::kCategorical});
    centres_.resize(static_cast<size_t>(k) * d);
    for (auto& c : centres_) c = rng_.uniform(-spread / 2, spread / 2);
    for (int b = 0; b < k; ++b) names_.push_back("b" + std::to_string(b));
  }
  const std::vector<Column>& columns() const override { return columns_; }
  bool next(Row& row) override {
    if (t_ >= n_) return false;
    const auto b = static_cast<size_t>(rng_.below(k_));
    row.values.resize(columns_.size());
    for (int j = 0; j < d_; ++j) {
      double c = centres_[b * d_ + j] + (b == 0 && j == 0 ? move_ * static_cast<double>(t_) : 0);
      row.values[j].kind = ValueKind::kNumber;
      row.values[j].number = c + sd_ * rng_.normal();
    }
    row.values[d_].kind = ValueKind::kText;
    row.values[d_].text = names_[b];
    row.line = ++t_;
    ++stats_.rows;
    return true;
  }

 private:
  uint64_t n_, t_ = 0;
  Random rng_;
  int k_, d_;
  double sd_, move_;
  std::vector<double> centres_;
  std::vector<std::string> names_;
  std::vector<Column> columns_;
};

// A seasonal series for forecasters: y_t = level + trend t + amplitude sin(2 pi t / period)
// + noise N(0, noise), columns t and y.
class Seasonal final : public RowSource {
 public:
  Seasonal(uint64_t n, uint64_t seed, double period, double level, double trend, double amplitude,
           double noise)
      : RowSource("synth:seasonal", {}),
        n_(n),
        rng_(seed),
        period_(period),
        level_(level),
        trend_(trend),
        amplitude_(amplitude),
        noise_(noise) {
    columns_ = {Column{"t", ColumnType::kNumeric}, Column{"y", ColumnType::kNumeric}};
  }
  const std::vector<Column>& columns() const override { return columns_; }
  bool next(Row& row) override {
    if (t_ >= n_) return false;
    const double t = static_cast<double>(t_);
    row.values.resize(2);
    row.values[0].kind = ValueKind::kNumber;
    row.values[0].number = t;
    row.values[1].kind = ValueKind::kNumber;
    row.values[1].number = level_ + trend_ * t +
                           amplitude_ * std::sin(2 * 3.14159265358979323846 * t / period_) +
                           noise_ * rng_.normal();
    row.line = ++t_;
    ++stats_.rows;
    return true;
  }

 private:
  uint64_t n_, t_ = 0;
  Random rng_;
  double period_, level_, trend_, amplitude_, noise_;
  std::vector<Column> columns_;
};

// Ratings of items by users from known latent factors: rating = mean + b_u + b_i +
// <p_u, q_i> + noise. At change_at every user's taste vector p_u is drawn afresh.
class Ratings final : public RowSource {
 public:
  Ratings(uint64_t n, uint64_t seed, int users, int items, int factors, double noise,
          uint64_t change_at)
      : RowSource("synth:ratings", {}),
        n_(n),
        rng_(seed),
        users_(users),
        items_(items),
        factors_(factors),
        noise_(noise),
        change_at_(change_at) {
    columns_ = {Column{"user", ColumnType::kCategorical}, Column{"item", ColumnType::kCategorical},
                Column{"rating", ColumnType::kNumeric}};
    // Factors with spread s give <p, q> a variance of factors * s^4: 0.8^2 here, the
    // same order as the biases, so that tastes matter.
    scale_ = std::pow(0.64 / factors, 0.25);
    user_bias_.resize(users);
    item_bias_.resize(items);
    for (auto& b : user_bias_) b = rng_.normal() * 0.4;
    for (auto& b : item_bias_) b = rng_.normal() * 0.4;
    item_factors_.resize(static_cast<size_t>(items) * factors);
    for (auto& v : item_factors_) v = rng_.normal() * scale_;
    draw_tastes();
  }
  const std::vector<Column>& columns() const override { return columns_; }
  bool next(Row& row) override {
    if (t_ >= n_) return false;
    if (t_ == change_at_) draw_tastes();
    auto u = static_cast<size_t>(rng_.below(users_));
    auto i = static_cast<size_t>(rng_.below(items_));
    double r = 3.5 + user_bias_[u] + item_bias_[i] + rng_.normal() * noise_;
    for (int k = 0; k < factors_; ++k) {
      r += user_factors_[u * factors_ + k] * item_factors_[i * factors_ + k];
    }
    user_text_ = "u" + std::to_string(u);
    item_text_ = "i" + std::to_string(i);
    row.values.resize(3);
    row.values[0].kind = ValueKind::kText;
    row.values[0].text = user_text_;
    row.values[1].kind = ValueKind::kText;
    row.values[1].text = item_text_;
    row.values[2].kind = ValueKind::kNumber;
    row.values[2].number = r;
    row.line = ++t_;
    ++stats_.rows;
    return true;
  }

 private:
  void draw_tastes() {
    user_factors_.resize(static_cast<size_t>(users_) * factors_);
    for (auto& v : user_factors_) v = rng_.normal() * scale_;
  }
  uint64_t n_, t_ = 0;
  Random rng_;
  int users_, items_, factors_;
  double noise_, scale_ = 1;
  uint64_t change_at_;
  std::vector<Column> columns_;
  std::vector<double> user_bias_, item_bias_, user_factors_, item_factors_;
  std::string user_text_, item_text_;
};

// The shop of ShopWorld as a logged stream: in each session one candidate, chosen
// uniformly (a logging policy with known propensity 1/candidates), is shown, and the row
// says whether it was clicked.
class Shop final : public RowSource {
 public:
  explicit Shop(const ShopWorld::Params& p)
      : RowSource("synth:shop", {}), world_(p), rng_(p.seed ^ 0x5eed) {
    columns_ = {
        Column{"session", ColumnType::kNumeric},      Column{"time", ColumnType::kNumeric},
        Column{"user", ColumnType::kCategorical},     Column{"item", ColumnType::kCategorical},
        Column{"category", ColumnType::kCategorical}, Column{"price", ColumnType::kNumeric},
        Column{"class", ColumnType::kCategorical}};
  }
  const std::vector<Column>& columns() const override { return columns_; }
  bool next(Row& row) override {
    ShopWorld::Session s;
    if (!world_.next(s)) return false;
    uint32_t item = s.items[rng_.below(s.candidates)];
    user_ = ShopWorld::user_name(s.user);
    item_ = ShopWorld::item_name(item);
    category_ = ShopWorld::category_name(world_.category(item));
    row.values.resize(7);
    auto number = [&](size_t i, double v) {
      row.values[i].kind = ValueKind::kNumber;
      row.values[i].number = v;
    };
    auto text = [&](size_t i, std::string_view v) {
      row.values[i].kind = ValueKind::kText;
      row.values[i].text = v;
    };
    number(0, static_cast<double>(s.index + 1));
    number(1, s.time);
    text(2, user_);
    text(3, item_);
    text(4, category_);
    number(5, world_.price(item));
    text(6, kClassText[world_.clicked(s, item) ? 1 : 0]);
    row.line = s.index + 1;
    ++stats_.rows;
    return true;
  }

 private:
  ShopWorld world_;
  Random rng_;
  std::vector<Column> columns_;
  std::string user_, item_, category_;
};

uint64_t positive(double v, const std::string& what) {
  if (!(v >= 1) || v != std::floor(v)) throw Error(what + " must be a whole number >= 1");
  return static_cast<uint64_t>(v);
}

}  // namespace

ShopWorld::Params shop_params(ParamSet& p, uint64_t n, uint64_t seed) {
  ShopWorld::Params s;
  s.sessions = n;
  s.seed = seed;
  s.users = static_cast<uint32_t>(positive(p.number("users", s.users), "synth:shop: users"));
  s.items = static_cast<uint32_t>(positive(p.number("items", s.items), "synth:shop: items"));
  s.categories = static_cast<uint32_t>(
      positive(p.number("categories", s.categories), "synth:shop: categories"));
  s.candidates = static_cast<uint32_t>(
      positive(p.number("candidates", s.candidates), "synth:shop: candidates"));
  s.shift_at = static_cast<uint64_t>(p.number("shift_at", std::floor(n / 2.0)));
  s.shift_share = p.number("shift_share", s.shift_share);
  s.rate = p.number("rate", s.rate);
  s.click_delay = p.number("click_delay", s.click_delay);
  ShopWorld check(s);  // refuses out-of-range values, naming them
  return s;
}

std::unique_ptr<RowSource> make_generator(const std::string& name, const GeneratorParams& params) {
  ParamSet p("synth:" + name, std::map<std::string, std::string>(params.begin(), params.end()));
  auto n = positive(p.number("n", 100000), "synth:" + name + ": n");
  auto seed = static_cast<uint64_t>(p.number("seed", 1));
  std::unique_ptr<RowSource> g;
  if (name == "sea") {
    double noise = p.number("noise", 0.1);
    auto every = positive(p.number("drift_every", std::max<double>(1, n / 4)), "drift_every");
    g = std::make_unique<Sea>(n, seed, noise, every);
  } else if (name == "hyperplane") {
    int features = static_cast<int>(positive(p.number("n_features", 10), "n_features"));
    int drift = static_cast<int>(p.number("n_drift_features", 2));
    if (drift < 0 || drift > features)
      throw Error("synth:hyperplane: n_drift_features must be in [0, n_features]");
    g = std::make_unique<Hyperplane>(n, seed, features, drift, p.number("mag_change", 0.001),
                                     p.number("sigma", 0.1), p.number("noise", 0.05));
  } else if (name == "agrawal") {
    double f = p.number("function", 0);
    if (f < 0 || f > 9 || f != std::floor(f)) throw Error("synth:agrawal: function must be 0 to 9");
    auto every = positive(p.number("drift_every", std::max<double>(1, n / 2)), "drift_every");
    g = std::make_unique<Agrawal>(n, seed, static_cast<int>(f), every,
                                  p.number("perturbation", 0.05));
  } else if (name == "ratings") {
    auto users = positive(p.number("users", 1000), "synth:ratings: users");
    auto items = positive(p.number("items", 500), "synth:ratings: items");
    auto factors = positive(p.number("factors", 5), "synth:ratings: factors");
    double noise = p.number("noise", 0.3);
    auto change = static_cast<uint64_t>(p.number("change_at", std::floor(n / 2.0)));
    if (users > (1u << 24) || items > (1u << 24) || factors > 256 || !(noise >= 0)) {
      throw Error("synth:ratings: users and items up to 16777216, factors up to 256, noise >= 0");
    }
    g = std::make_unique<Ratings>(n, seed, static_cast<int>(users), static_cast<int>(items),
                                  static_cast<int>(factors), noise, change);
  } else if (name == "shop") {
    g = std::make_unique<Shop>(shop_params(p, n, seed));
  } else if (name == "blobs") {
    double k = p.number("k", 3), d = p.number("d", 2), sd = p.number("sd", 0.5);
    double spread = p.number("spread", 20), move = p.number("move", 0);
    if (!(k >= 1 && k <= 1000 && k == std::floor(k)) ||
        !(d >= 1 && d <= 1000 && d == std::floor(d)) || !(sd >= 0) || !(spread >= 0) ||
        !std::isfinite(move)) {
      throw Error("synth:blobs: k and d whole numbers from 1 to 1000, sd >= 0, spread >= 0");
    }
    g = std::make_unique<Blobs>(n, seed, static_cast<int>(k), static_cast<int>(d), sd, spread,
                                move);
  } else if (name == "seasonal") {
    double period = p.number("period", 12);
    if (!(period > 0)) throw Error("synth:seasonal: period must be > 0");
    g = std::make_unique<Seasonal>(n, seed, period, p.number("level", 10), p.number("trend", 0.01),
                                   p.number("amplitude", 3), p.number("noise", 0.3));
  } else {
    throw Error("unknown generator 'synth:" + name +
                "' (valid: synth:sea, synth:hyperplane, synth:agrawal, synth:ratings, "
                "synth:shop, synth:blobs, synth:seasonal)");
  }
  p.finish();
  return g;
}

}  // namespace rtml
