#include "rtml/learn/registry.h"

#include <algorithm>
#include <cctype>

#include "rtml/core/error.h"
#include "rtml/core/params.h"
#include "rtml/learn/anomaly/half_space_trees.h"
#include "rtml/learn/baseline/running_mean.h"
#include "rtml/learn/ensemble/adaptive_random_forest.h"
#include "rtml/learn/linear/glm.h"
#include "rtml/learn/linear/passive_aggressive.h"
#include "rtml/learn/linear/softmax_regression.h"
#include "rtml/learn/naive_bayes/gaussian_nb.h"
#include "rtml/learn/naive_bayes/multinomial_nb.h"
#include "rtml/learn/neighbors/knn.h"
#include "rtml/learn/preprocessing/feature_hasher.h"
#include "rtml/learn/preprocessing/interactions.h"
#include "rtml/learn/preprocessing/one_hot.h"
#include "rtml/learn/preprocessing/scalers.h"
#include "rtml/learn/recommend/factorization_machine.h"
#include "rtml/learn/recommend/matrix_factorization.h"
#include "rtml/learn/tree/hoeffding_adaptive_tree.h"
#include "rtml/learn/tree/hoeffding_adaptive_tree_regressor.h"
#include "rtml/learn/tree/hoeffding_tree.h"
#include "rtml/learn/tree/hoeffding_tree_regressor.h"

namespace rtml {
namespace {

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
    size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != ')' &&
           !std::isspace(static_cast<unsigned char>(text_[pos_]))) {
      ++pos_;
    }
    if (start == pos_) fail("expected a value");
    return std::string(text_.substr(start, pos_ - start));
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
  std::sort(r.begin(), r.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return r;
}

}  // namespace

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
