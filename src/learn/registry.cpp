#include "rtml/learn/registry.h"

#include <algorithm>
#include <cctype>

#include "rtml/core/error.h"
#include "rtml/core/params.h"
#include "rtml/core/target.h"
#include "rtml/learn/anomaly/half_space_trees.h"
#include "rtml/learn/baseline/running_mean.h"
#include "rtml/learn/cluster/clustream.h"
#include "rtml/learn/cluster/dbstream.h"
#include "rtml/learn/cluster/denstream.h"
#include "rtml/learn/cluster/kmeans.h"
#include "rtml/learn/conformal/conformal_regressor.h"
#include "rtml/learn/ensemble/adaptive_random_forest.h"
#include "rtml/learn/ensemble/bagging.h"
#include "rtml/learn/ensemble/oza_boosting.h"
#include "rtml/learn/ensemble/streaming_random_patches.h"
#include "rtml/learn/imblearn/random_sampling.h"
#include "rtml/learn/linear/alma.h"
#include "rtml/learn/linear/glm.h"
#include "rtml/learn/linear/passive_aggressive.h"
#include "rtml/learn/linear/softmax_regression.h"
#include "rtml/learn/model_selection/bandit_select.h"
#include "rtml/learn/model_selection/successive_halving.h"
#include "rtml/learn/naive_bayes/gaussian_nb.h"
#include "rtml/learn/naive_bayes/multinomial_nb.h"
#include "rtml/learn/neighbors/knn.h"
#include "rtml/learn/preprocessing/feature_hasher.h"
#include "rtml/learn/preprocessing/interactions.h"
#include "rtml/learn/preprocessing/one_hot.h"
#include "rtml/learn/preprocessing/scalers.h"
#include "rtml/learn/recommend/factorization_machine.h"
#include "rtml/learn/recommend/matrix_factorization.h"
#include "rtml/learn/time_series/holt_winters.h"
#include "rtml/learn/time_series/snarimax.h"
#include "rtml/learn/tree/hoeffding_adaptive_tree.h"
#include "rtml/learn/tree/hoeffding_adaptive_tree_regressor.h"
#include "rtml/learn/tree/hoeffding_tree.h"
#include "rtml/learn/tree/hoeffding_tree_regressor.h"

namespace rtml {
namespace {

constexpr size_t kMaxNesting = 16;

// The models one expression may build (ensembles of ensembles multiply): past it, an
// expression is refused before it exhausts memory. Counted while a pipeline is built.
constexpr uint64_t kMaxModelsPerExpression = 100000;
thread_local uint64_t* t_models_left = nullptr;

class ExpressionParser {
 public:
  explicit ExpressionParser(std::string_view text) : text_(text) {}

  std::vector<StepSpec> parse() {
    std::vector<StepSpec> steps;
    for (;;) {
      steps.push_back(step());
      skip_space();
      if (pos_ == text_.size()) break;
      expect('|');
    }
    return steps;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error("model expression, column " + std::to_string(pos_ + 1) + ": " + what + "\n  " +
                std::string(text_) + "\n  " + std::string(pos_, ' ') + "^");
  }
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  void expect(char c) {
    skip_space();
    if (pos_ >= text_.size() || text_[pos_] != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string identifier() {
    skip_space();
    size_t start = pos_;
    while (pos_ < text_.size() &&
           (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_')) {
      ++pos_;
    }
    if (start == pos_) fail("expected a name");
    return std::string(text_.substr(start, pos_ - start));
  }
  std::string value() {
    skip_space();
    if (pos_ < text_.size() && (text_[pos_] == '"' || text_[pos_] == '\'')) {
      char quote = text_[pos_++];
      size_t end = text_.find(quote, pos_);
      if (end == std::string_view::npos) fail("unterminated string");
      std::string v(text_.substr(pos_, end - pos_));
      pos_ = end + 1;
      return v;
    }
    // A bare value ends at a comma, a closing parenthesis or a space at its own level; a
    // value may itself be an expression with parameters or a list of them
    // (model=hoeffding_tree(grace_period=100), models=[a, b(x=1)]), kept as its text with
    // the spaces that separate nothing dropped.
    size_t start = pos_;
    std::string v;
    std::vector<char> open;  // the closers awaited
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (open.empty() && (c == ',' || c == ')' || std::isspace(static_cast<unsigned char>(c)))) {
        break;
      }
      if (c == '(' || c == '[') {
        // Each level is a model built inside another: a bound keeps a hostile expression
        // (from the HTTP API too) from recursing the stack away.
        if (open.size() >= kMaxNesting) {
          fail("nested more than " + std::to_string(kMaxNesting) + " levels deep");
        }
        open.push_back(c == '(' ? ')' : ']');
      } else if (c == ')' || c == ']') {
        if (open.empty() || open.back() != c) fail(std::string("unbalanced '") + c + "'");
        open.pop_back();
      } else if (c == '"' || c == '\'') {
        size_t end = text_.find(c, pos_ + 1);
        if (end == std::string_view::npos) fail("unterminated string");
        v.append(text_.substr(pos_, end + 1 - pos_));
        pos_ = end + 1;
        continue;
      }
      if (std::isspace(static_cast<unsigned char>(c))) {
        ++pos_;
        continue;
      }
      v.push_back(c);
      if (c == ',') v.push_back(' ');
      ++pos_;
    }
    if (!open.empty()) fail(std::string("expected '") + open.back() + "'");
    if (start == pos_) fail("expected a value");
    return v;
  }
  StepSpec step() {
    StepSpec s;
    s.name = identifier();
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == '(') {
      ++pos_;
      skip_space();
      if (pos_ < text_.size() && text_[pos_] == ')') {
        ++pos_;
        return s;
      }
      for (;;) {
        std::string key = identifier();
        expect('=');
        if (s.params.count(key)) fail("parameter '" + key + "' given twice");
        s.params[key] = value();
        skip_space();
        if (pos_ < text_.size() && text_[pos_] == ',') {
          ++pos_;
          continue;
        }
        expect(')');
        break;
      }
    }
    return s;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

std::vector<ComponentInfo> build_registry() {
  std::vector<ComponentInfo> r;
  auto transformer = [&](std::string name, std::string summary, auto make) {
    r.push_back(ComponentInfo{std::move(name), std::move(summary), make, nullptr});
  };
  auto model = [&](std::string name, std::string summary, auto make) {
    r.push_back(ComponentInfo{std::move(name), std::move(summary), nullptr, make});
  };
  transformer("standard_scaler", "standardise numbers with running mean and variance",
              &StandardScaler::make);
  transformer("min_max_scaler", "scale numbers to [0, 1] with running min and max",
              &MinMaxScaler::make);
  transformer("one_hot", "one numeric feature per category", &OneHotEncoder::make);
  transformer("feature_hasher", "hashing trick into 2^bits slots", &FeatureHasher::make);
  transformer("pairwise_interactions", "products of every pair of numeric features",
              &PairwiseInteractions::make);
  model("logistic_regression", "binary classifier, log loss", &Glm::logistic_regression);
  model("linear_regression", "regressor, squared loss", &Glm::linear_regression);
  model("perceptron", "binary classifier, hinge loss at 0", &Glm::perceptron);
  model("softmax_regression", "multiclass classifier, cross-entropy", &SoftmaxRegression::make);
  model("pa_classifier", "passive-aggressive binary classifier", &PassiveAggressive::classifier);
  model("pa_regressor", "passive-aggressive regressor", &PassiveAggressive::regressor);
  model("gaussian_nb", "Gaussian naive Bayes, any number of classes", &GaussianNB::make);
  model("multinomial_nb", "multinomial naive Bayes for counts", &MultinomialNB::make);
  model("knn", "k nearest neighbours over a window, classifier", &KNearestNeighbors::classifier);
  model("knn_regressor", "k nearest neighbours over a window, regressor",
        &KNearestNeighbors::regressor);
  model("hoeffding_tree_regressor", "Hoeffding tree regressor, variance reduction, model leaves",
        &HoeffdingTreeRegressor::make);
  model("hoeffding_tree", "Hoeffding tree classifier (VFDT), any number of classes",
        &HoeffdingTreeClassifier::make);
  model("adaptive_random_forest", "adaptive random forest classifier: bagged random-subspace trees",
        &AdaptiveRandomForest::classifier);
  model("adaptive_random_forest_regressor", "adaptive random forest regressor, median of trees",
        &AdaptiveRandomForest::regressor);
  model("funk_mf", "matrix factorisation recommender, <p_u, q_i>", &MatrixFactorization::funk);
  model("biased_mf", "matrix factorisation recommender with mean and user/item biases",
        &MatrixFactorization::biased);
  model("fm", "factorisation machine: ratings (loss=squared) or clicks (loss=log)",
        &FactorizationMachine::make);
  model("half_space_trees", "streaming anomaly detector; the score is P(anomaly)",
        &HalfSpaceTrees::make);
  model("running_mean", "baseline regressor: the running mean of the target", &RunningMean::make);
  model("hoeffding_adaptive_tree", "Hoeffding adaptive tree: ADWIN per branch, alternate subtrees",
        &HoeffdingAdaptiveTreeClassifier::make);
  model("hoeffding_adaptive_tree_regressor",
        "Hoeffding adaptive tree regressor: ADWIN per branch, alternate subtrees",
        &HoeffdingAdaptiveTreeRegressor::make);
  model("oza_bagging", "online bagging (Poisson(1) resampling) of any model=", &OnlineBagging::oza);
  model("adwin_bagging", "online bagging of model=, the worst member replaced on an ADWIN change",
        &OnlineBagging::adwin);
  model("leveraging_bagging", "leveraging bagging of model=: Poisson(w) resampling, ADWIN resets",
        &OnlineBagging::leveraging);
  model("streaming_random_patches",
        "streaming random patches: bagging over random feature subsets, drift resets",
        &StreamingRandomPatches::make);
  model("oza_boosting", "online AdaBoost of model= (Oza): Poisson weights along a chain",
        &OzaBoosting::make);
  model("alma", "approximate large margin algorithm (ALMA), binary linear classifier", &Alma::make);
  model("holt_winters", "Holt-Winters forecaster: level, trend, additive or multiplicative season",
        &HoltWinters::make);
  model("snarimax", "seasonal ARIMA forecaster learned online by a regressor over lags and errors",
        &Snarimax::make);
  model("successive_halving", "model selection: models=[...] learn side by side, the worse halved",
        &SuccessiveHalving::make);
  model("bandit_select", "model selection: models=[...] as bandit arms, epsilon-greedy or UCB",
        &BanditSelect::make);
  model("conformal", "prediction intervals for a regressor from a window of its residuals",
        &ConformalRegressor::make);
  model("random_under_sampler",
        "learns model= on a class distribution thinned to desired=", &RandomSampling::under);
  model("random_over_sampler",
        "learns model= on a class distribution repeated up to desired=", &RandomSampling::over);
  model("kmeans", "online k-means clusterer: k-means++ start, then sequential updates",
        &KMeans::make);
  model("clustream", "CluStream clusterer: micro-clusters online, k-means over them",
        &CluStream::make);
  model("denstream", "DenStream clusterer: fading density-connected micro-clusters",
        &DenStream::make);
  model("dbstream", "DBSTREAM clusterer: micro-clusters joined by shared density", &DBStream::make);
  std::sort(r.begin(), r.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return r;
}

}  // namespace

ModelRecipe::ModelRecipe(std::string_view text, const std::string& owner) {
  try {
    auto steps = parse_expression(text);
    if (steps.size() != 1) {
      throw Error("expected one model step, got a pipeline of " + std::to_string(steps.size()) +
                  " (put transforms before the " + owner + ", not inside it)");
    }
    spec_ = std::move(steps.front());
    const auto& info = find_component(spec_.name);
    if (!info.make_model) throw Error("'" + info.name + "' is a transform, not a model");
    ParamSet params(info.name, spec_.params);
    auto model = info.make_model(params);
    params.finish();
    canonical_ = params.canonical();
    task_ = model->task();
    needs_target_ = model->needs_target();
    members_ = model->members();
  } catch (const Error& e) {
    throw Error(owner + ": model '" + std::string(text) + "': " + e.what());
  }
}

void ModelRecipe::check_members(const std::string& owner, uint64_t n) const {
  if (n > kMaxModelsPerExpression || n * members_ > kMaxModelsPerExpression) {
    throw Error(owner + ": " + std::to_string(n) + " x '" + canonical_ + "' would hold more than " +
                std::to_string(kMaxModelsPerExpression) + " models");
  }
}

void ModelRecipe::require_labels(const std::string& owner) const {
  if (!needs_target_) {
    throw Error(owner + ": model '" + canonical_ +
                "' learns without labels (a clusterer or an anomaly detector); " + owner +
                " needs a classifier or a regressor");
  }
}

ModelBudget::ModelBudget() : outer_(t_models_left == nullptr) {
  if (outer_) {
    left_ = kMaxModelsPerExpression;
    t_models_left = &left_;
  }
}

ModelBudget::~ModelBudget() {
  if (outer_) t_models_left = nullptr;
}

std::unique_ptr<Model> ModelRecipe::make() const {
  if (t_models_left != nullptr) {
    if (*t_models_left == 0) {
      throw Error("the expression builds more than " + std::to_string(kMaxModelsPerExpression) +
                  " models (ensembles of ensembles multiply their n_models)");
    }
    --*t_models_left;
  }
  ParamSet params(spec_.name, spec_.params);
  return find_component(spec_.name).make_model(params);
}

ModelRecipe ModelRecipe::from_param(ParamSet& params, const std::string& name,
                                    const std::string& fallback) {
  ModelRecipe r(params.expression(name, fallback), params.component());
  r.require_labels(params.component());
  params.set_canonical(name, r.canonical());
  return r;
}

std::vector<ModelRecipe> ModelRecipe::list_from_param(ParamSet& params, const std::string& name) {
  std::string text = params.expression(name, "");
  const std::string& owner = params.component();
  if (text.size() < 2 || text.front() != '[' || text.back() != ']') {
    throw Error(owner + ": parameter '" + name +
                "' expects a list of models, e.g. [logistic_regression(l2=0.01), gaussian_nb]");
  }
  std::vector<ModelRecipe> out;
  std::string canonical = "[";
  auto add = [&](size_t begin, size_t end) {
    std::string_view item = std::string_view(text).substr(begin, end - begin);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    // An item may be quoted, as a single model may: models=['a(x=1)', b].
    if (item.size() >= 2 && (item.front() == '\'' || item.front() == '"') &&
        item.back() == item.front()) {
      item = item.substr(1, item.size() - 2);
    }
    if (item.empty()) throw Error(owner + ": parameter '" + name + "': an empty model in " + text);
    out.emplace_back(item, owner);
    out.back().require_labels(owner);
    canonical += (out.size() > 1 ? ", " : "") + out.back().canonical();
  };
  // The parser has checked that brackets balance; split at the commas of the list itself.
  int depth = 0;
  size_t start = 1;
  const size_t last = text.size() - 1;
  for (size_t i = 1; i < last; ++i) {
    char c = text[i];
    if (c == '(' || c == '[') ++depth;
    if (c == ')' || c == ']') --depth;
    if (c == ',' && depth == 0) {
      add(start, i);
      start = i + 1;
    }
  }
  add(start, last);
  if (out.size() < 2) {
    throw Error(owner + ": parameter '" + name + "' needs at least two models, got " + text);
  }
  for (const auto& r : out) {
    if ((r.task() == Task::kRegression) != (out.front().task() == Task::kRegression)) {
      throw Error(owner + ": the models of '" + name + "' must share a task: " +
                  out.front().canonical() + " is " + std::string(task_name(out.front().task())) +
                  ", " + r.canonical() + " is " + std::string(task_name(r.task())));
    }
  }
  params.set_canonical(name, canonical + "]");
  return out;
}

std::vector<StepSpec> parse_expression(std::string_view expression) {
  return ExpressionParser(expression).parse();
}

const std::vector<ComponentInfo>& components() {
  static const std::vector<ComponentInfo> registry = build_registry();
  return registry;
}

const ComponentInfo& find_component(std::string_view name) {
  for (const auto& c : components()) {
    if (c.name == name) return c;
  }
  std::string valid;
  for (const auto& c : components()) valid += (valid.empty() ? "" : ", ") + c.name;
  throw Error("unknown model or transform '" + std::string(name) + "' (valid: " + valid + ")");
}

}  // namespace rtml
