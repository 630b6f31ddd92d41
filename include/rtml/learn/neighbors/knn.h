// k-nearest neighbours over a sliding window of recent events.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "rtml/learn/model.h"

namespace rtml {

class ParamSet;

// Keeps the last window_size events (features and target) and predicts from the
// n_neighbors nearest by Euclidean distance over sparse rows (absent features count as
// 0, and a row costs the features it holds, whatever their indices). The
// classifier votes with weight 1/distance (an exact match decides alone); the regressor
// averages its neighbours' targets. Defaults as River's KNNClassifier and KNNRegressor:
// n_neighbors 5, window_size 1000, weighted votes, mean aggregation. Brute force:
// O(window_size * features per event) per prediction. Rows with the common set of
// feature indices (tabular data) are also kept column by column, so that a query with
// that set measures many rows at once; the distances are bit for bit the sparse ones.
// Not thread-safe.
class KNearestNeighbors final : public Model {
 public:
  static std::unique_ptr<Model> classifier(ParamSet& params);
  static std::unique_ptr<Model> regressor(ParamSet& params);
  KNearestNeighbors(bool regression, int n_neighbors, size_t window_size, bool weighted);

  std::string_view kind() const override { return regression_ ? "knn_regressor" : "knn"; }
  Task task() const override { return regression_ ? Task::kRegression : Task::kMulticlass; }
  using Model::predict;
  void predict(const Features& x, Prediction& out, Workspace& workspace) const override;
  void learn(const Features& x, const Target& y, double weight) override;
  void save(BinaryWriter& out) const override;
  void load(BinaryReader& in) override;

 private:
  // x's numbers sorted by index, one per index.
  static void sorted_copy(const Features& x, std::vector<Feature>& out);
  // Whether row's indices are those of the columnar layout (shape_).
  bool fits_columns(const std::vector<Feature>& row) const;
  // Stores ring slot r's row in the columns if it fits them (adopting its indices when
  // no row in the window uses them), else marks it sparse-only.
  void place_in_columns(size_t r);
  // Fills dist[r] with the squared distance of every row to query.
  void measure_all(const std::vector<Feature>& query, std::vector<double>& dist) const;
  bool regression_;
  int k_;
  size_t window_;
  bool weighted_;
  std::vector<std::vector<Feature>> rows_;  // a ring of window_ sparse rows
  std::vector<double> targets_;             // class index or value, by row
  size_t count_ = 0, next_ = 0;
  // The columnar layout: the feature indices it holds, their values (column f of slot r
  // at cols_[f * window_ + r]), whether each slot's row is there, and how many are.
  std::vector<uint32_t> shape_;
  std::vector<double> cols_;
  std::vector<uint8_t> in_columns_;
  size_t columnar_rows_ = 0;
  // predict()'s scratch, in its caller's workspace.
  struct Scratch {
    std::vector<Feature> query;
    std::vector<double> dist;
    std::vector<std::pair<double, size_t>> nearest;
  };
};

}  // namespace rtml
