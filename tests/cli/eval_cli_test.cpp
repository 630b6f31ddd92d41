// rtml eval end to end on the real data sets: River's published figures are the floor,
// and the JSON contract holds.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../test_util.h"
#include "rtml/core/random.h"

namespace rtml {
namespace {

using nlohmann::json;

std::string q(const std::string& s) { return "'" + s + "'"; }

json eval_json(const std::string& file, const std::string& target, const std::string& model,
               const std::string& extra = "") {
  std::string cmd =
      std::string(RTML_BINARY) + " eval --json --data " +
      q(file.rfind("synth:", 0) == 0 || file.rfind("/", 0) == 0 ? file
                                                                : test::data_dir() + "/" + file) +
      " --target " + target + " --model " + q(model) + " " + extra;
  auto r = test::run(cmd);
  EXPECT_EQ(r.exit_code, 0) << cmd << "\n" << r.out;
  return json::parse(test::last_line(r.out));
}

struct RiverFigure {
  const char* file;
  const char* target;
  const char* model;
  const char* metric;
  double river;      // River's published figure
  double tolerance;  // accuracy: absolute; mae: relative
};

// ../shared/reference/river-benchmarks.md, with River's configurations.
const RiverFigure kFigures[] = {
    {"elec2.csv.gz", "class", "standard_scaler | logistic_regression(optimizer=sgd, lr=0.005)",
     "accuracy", 0.8221, 0.005},
    {"elec2.csv.gz", "class", "gaussian_nb", "accuracy", 0.7287, 0.005},
    {"phishing.csv.gz", "is_phishing",
     "standard_scaler | logistic_regression(optimizer=sgd, lr=0.005)", "accuracy", 0.8872, 0.005},
    {"phishing.csv.gz", "is_phishing", "gaussian_nb", "accuracy", 0.8847, 0.005},
    {"image_segments.csv.gz", "category", "gaussian_nb", "accuracy", 0.7319, 0.005},
    {"elec2.csv.gz", "class", "hoeffding_tree", "accuracy", 0.7956, 0.005},
    {"elec2.csv.gz", "class", "hoeffding_adaptive_tree(seed=42)", "accuracy", 0.8213, 0.005},
    {"image_segments.csv.gz", "category", "hoeffding_adaptive_tree(seed=42)", "accuracy", 0.7744,
     0.005},
    {"phishing.csv.gz", "is_phishing", "hoeffding_tree", "accuracy", 0.8799, 0.005},
    {"image_segments.csv.gz", "category", "hoeffding_tree", "accuracy", 0.7761, 0.005},
    {"elec2.csv.gz", "class", "standard_scaler | knn(window_size=100)", "accuracy", 0.8531, 0.005},
    // The reference labels River's kNN rows "window 100", but River's benchmark pages
    // (online-ml/river docs/benchmarks/*/index.md, run on river 0.19.0) print the model
    // behind these very figures: KNNClassifier(n_neighbors=5, weighted=True,
    // engine=SWINN(maxlen=1000, warm_up=500)), a 1000-event window searched exactly for
    // the first 500 events and approximately after. Our exact search over the same
    // window, our default too, is the like-for-like run; window 100 is above for Elec2.
    {"elec2.csv.gz", "class", "standard_scaler | knn", "accuracy", 0.8531, 0.005},
    {"phishing.csv.gz", "is_phishing", "standard_scaler | knn", "accuracy", 0.8815, 0.005},
    {"image_segments.csv.gz", "category", "standard_scaler | knn", "accuracy", 0.8735, 0.005},
    {"chick_weights.csv.gz", "weight", "standard_scaler | hoeffding_tree_regressor", "mae", 23.1619,
     0.02},
    {"trump_approval.csv.gz", "five_thirty_eight", "standard_scaler | hoeffding_tree_regressor",
     "mae", 0.9561, 0.05},
    {"chick_weights.csv.gz", "weight", "standard_scaler | knn_regressor(window_size=100)", "mae",
     24.8406, 0.02},
    {"trump_approval.csv.gz", "five_thirty_eight",
     "standard_scaler | knn_regressor(window_size=100)", "mae", 0.6417, 0.05},
    // River's regression page prints KNNRegressor(engine=SWINN(maxlen=1000)) too.
    {"chick_weights.csv.gz", "weight", "standard_scaler | knn_regressor", "mae", 24.8406, 0.02},
    {"trump_approval.csv.gz", "five_thirty_eight", "standard_scaler | knn_regressor", "mae", 0.6417,
     0.05},
    {"chick_weights.csv.gz", "weight", "standard_scaler | linear_regression", "mae", 23.7587, 0.02},
    {"chick_weights.csv.gz", "weight", "standard_scaler | linear_regression(l1=1)", "mae", 23.7577,
     0.02},
    {"chick_weights.csv.gz", "weight", "standard_scaler | linear_regression(l2=1)", "mae", 25.2738,
     0.02},
    {"chick_weights.csv.gz", "weight", "standard_scaler | pa_regressor(mode=1)", "mae", 24.3423,
     0.02},
    {"trump_approval.csv.gz", "five_thirty_eight", "standard_scaler | linear_regression", "mae",
     1.3146, 0.05},
    {"trump_approval.csv.gz", "five_thirty_eight", "standard_scaler | linear_regression(l1=1)",
     "mae", 1.1538, 0.05},
    {"trump_approval.csv.gz", "five_thirty_eight", "standard_scaler | linear_regression(l2=1)",
     "mae", 1.8715, 0.05},
    {"trump_approval.csv.gz", "five_thirty_eight", "standard_scaler | pa_regressor(mode=1)", "mae",
     4.9840, 0.05},
};

TEST(EvalCli, MeetsRiversPublishedFigures) {
  for (const auto& f : kFigures) {
    if (!test::have_data(f.file)) GTEST_SKIP() << "data sets not found";
    SCOPED_TRACE(std::string(f.file) + " " + f.model);
    json j = eval_json(f.file, f.target, f.model);
    double v = j["metrics"][f.metric].get<double>();
    if (std::string(f.metric) == "accuracy") {
      EXPECT_GE(v, f.river - f.tolerance);
    } else {
      EXPECT_LE(v, f.river * (1 + f.tolerance));
    }
  }
}

// Randomised models: River's figure is one seed of its generator, which ours cannot
// replay, so the floor applies to our median over seeds 1 to `seeds`.
struct SeededFigure {
  RiverFigure figure;
  int seeds;
};

const SeededFigure kSeededFigures[] = {
    {{"elec2.csv.gz", "class", "hoeffding_adaptive_tree", "accuracy", 0.8213, 0.005}, 5},
    {{"phishing.csv.gz", "is_phishing", "hoeffding_adaptive_tree", "accuracy", 0.8743, 0.005}, 5},
    {{"image_segments.csv.gz", "category", "hoeffding_adaptive_tree", "accuracy", 0.7744, 0.005},
     5},
    {{"elec2.csv.gz", "class", "adaptive_random_forest", "accuracy", 0.8766, 0.005}, 5},
    // On the two small sets the forest's accuracy spreads over about 2 points (Phishing)
    // and 8 points (ImageSegments) from seed to seed; one Phishing event is 0.08 points.
    // A median of 5 seeds has a standard error of about 0.3 points on Phishing and 0.9 on
    // ImageSegments, too coarse for a 0.5-point band, so these two take the median of 30
    // seeds (about 0.13 and 0.44: bootstrap over seeds 1-30).
    {{"phishing.csv.gz", "is_phishing", "adaptive_random_forest", "accuracy", 0.9079, 0.005}, 30},
    {{"image_segments.csv.gz", "category", "adaptive_random_forest", "accuracy", 0.8185, 0.005},
     30},
    {{"chick_weights.csv.gz", "weight", "standard_scaler | hoeffding_adaptive_tree_regressor",
      "mae", 23.3739, 0.02},
     5},
    {{"trump_approval.csv.gz", "five_thirty_eight",
      "standard_scaler | hoeffding_adaptive_tree_regressor", "mae", 0.9213, 0.05},
     5},
    {{"chick_weights.csv.gz", "weight", "standard_scaler | adaptive_random_forest_regressor", "mae",
      26.1016, 0.02},
     5},
    {{"trump_approval.csv.gz", "five_thirty_eight",
      "standard_scaler | adaptive_random_forest_regressor", "mae", 0.8004, 0.05},
     5},
};

TEST(EvalCli, SeededModelsMeetRiversFiguresAtTheMedianSeed) {
  for (const auto& [f, seeds] : kSeededFigures) {
    if (!test::have_data(f.file)) GTEST_SKIP() << "data sets not found";
    SCOPED_TRACE(std::string(f.file) + " " + f.model);
    json j = eval_json(f.file, f.target, f.model, "--seeds 1-" + std::to_string(seeds));
    ASSERT_EQ(j["runs"].size(), static_cast<size_t>(seeds));
    double median = j["summary"][f.metric]["median"].get<double>();
    if (std::string(f.metric) == "accuracy") {
      EXPECT_GE(median, f.river - f.tolerance);
    } else {
      EXPECT_LE(median, f.river * (1 + f.tolerance));
    }
  }
}

// The rest of the catalogue (bagging, boosting, patches, ALMA): River's figures for
// binary classification, one test each so that ctest runs them side by side. The
// randomised ones at the median of seeds 1-30 (`seeds` 0: deterministic, one run).
const SeededFigure kCatalogueFigures[] = {
    {{"phishing.csv.gz", "is_phishing", "leveraging_bagging", "accuracy", 0.8943, 0.005}, 30},
    {{"bananas.csv.gz", "label", "leveraging_bagging", "accuracy", 0.8283, 0.005}, 30},
    {{"elec2.csv.gz", "class", "leveraging_bagging", "accuracy", 0.8927, 0.005}, 30},
    {{"phishing.csv.gz", "is_phishing", "streaming_random_patches", "accuracy", 0.9135, 0.005}, 30},
    {{"bananas.csv.gz", "label", "streaming_random_patches", "accuracy", 0.8717, 0.005}, 30},
    {{"elec2.csv.gz", "class", "streaming_random_patches", "accuracy", 0.8689, 0.005}, 30},
    {{"phishing.csv.gz", "is_phishing", "standard_scaler | alma", "accuracy", 0.8256, 0.005}, 0},
    {{"bananas.csv.gz", "label", "standard_scaler | alma", "accuracy", 0.5064, 0.005}, 0},
    {{"elec2.csv.gz", "class", "standard_scaler | alma", "accuracy", 0.9064, 0.005}, 0},
};

// How ctest lists a figure (the name gtest gives it is followed by this).
void PrintTo(const SeededFigure& f, std::ostream* os) {
  *os << f.figure.model << " on " << f.figure.file;
}

class CatalogueFigure : public ::testing::TestWithParam<SeededFigure> {};

TEST_P(CatalogueFigure, MeetsRiversFigure) {
  const auto& [f, seeds] = GetParam();
  if (!test::have_data(f.file)) GTEST_SKIP() << "data sets not found";
  json j =
      eval_json(f.file, f.target, f.model, seeds > 0 ? "--seeds 1-" + std::to_string(seeds) : "");
  double v = seeds > 0 ? j["summary"][f.metric]["median"].get<double>()
                       : j["metrics"][f.metric].get<double>();
  EXPECT_GE(v, f.river - f.tolerance) << f.file << " " << f.model;
}

INSTANTIATE_TEST_SUITE_P(EvalCli, CatalogueFigure, ::testing::ValuesIn(kCatalogueFigures),
                         [](const auto& info) {
                           std::string name =
                               std::string(info.param.figure.model) + "_" + info.param.figure.file;
                           for (auto& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

// Conformal intervals at 90 % nominal hold within 2 points of it on both regression sets.
TEST(EvalCli, ConformalIntervalsCoverTheirNominalShare) {
  for (const char* file : {"chick_weights.csv.gz", "trump_approval.csv.gz"}) {
    if (!test::have_data(file)) GTEST_SKIP() << "data sets not found";
    const char* target = std::string(file).rfind("chick", 0) == 0 ? "weight" : "five_thirty_eight";
    for (const char* model : {"standard_scaler | conformal(confidence=0.9)",
                              "standard_scaler | conformal(model=knn_regressor, confidence=0.9)"}) {
      SCOPED_TRACE(std::string(file) + " " + model);
      json j = eval_json(file, target, model);
      EXPECT_NEAR(j["metrics"]["coverage"].get<double>(), 0.9, 0.02);
      EXPECT_GT(j["metrics"]["interval_width"].get<double>(), 0.0);
    }
  }
}

// A clusterer: the silhouette without a target, the adjusted Rand index with a label column.
TEST(EvalCli, ClusterersReportTheSilhouetteAndTheRandIndex) {
  test::TempDir tmp;
  std::string data = tmp.file("blobs.csv");
  {
    std::ofstream f(data);
    f << "x,y,blob\n";
    Random rng(5);
    const double centers[3][2] = {{0, 0}, {4, 4}, {0, 5}};
    for (int i = 0; i < 3000; ++i) {
      int k = static_cast<int>(rng.below(3));
      f << centers[k][0] + 0.3 * rng.normal() << "," << centers[k][1] + 0.3 * rng.normal() << ",b"
        << k << "\n";
    }
  }
  for (const char* model : {"kmeans(n_clusters=3)", "clustream(n_macro_clusters=3)",
                            "denstream(epsilon=0.5, n_samples_init=500)"}) {
    SCOPED_TRACE(model);
    json labelled = eval_json(data, "blob", model);
    EXPECT_GE(labelled["metrics"]["ari"].get<double>(), 0.95);
    EXPECT_FALSE(labelled["metrics"].contains("accuracy"));  // an id is no class
    std::string cmd = std::string(RTML_BINARY) + " eval --json --data " + q(data) +
                      " --drop blob --model " + q(model);
    auto r = test::run(cmd);
    ASSERT_EQ(r.exit_code, 0) << r.out;
    json unlabelled = json::parse(test::last_line(r.out));
    EXPECT_GT(unlabelled["metrics"]["silhouette"].get<double>(), 0.7);
    EXPECT_FALSE(unlabelled["metrics"].contains("ari"));
  }
}

// --horizon: a forecaster's error at each step ahead; one step ahead is its prediction.
TEST(EvalCli, HorizonScoresEveryStepAheadOfAForecaster) {
  test::TempDir tmp;
  std::string data = tmp.file("season.csv");
  {
    std::ofstream f(data);
    f << "t,y\n";
    for (int t = 0; t < 600; ++t)
      f << t << "," << 10 + 3 * std::sin(2 * 3.14159265 * t / 12) << "\n";
  }
  const std::string model = "holt_winters(alpha=0.3, gamma=0.3, seasonality=12)";
  json j = eval_json(data, "y", model, "--drop t --horizon 12");
  ASSERT_EQ(j["horizon"]["mae"].size(), 12u);
  ASSERT_EQ(j["horizon"]["rmse"].size(), 12u);
  EXPECT_EQ(j["horizon"]["steps"], 12);
  EXPECT_DOUBLE_EQ(j["horizon"]["mae"][0].get<double>(), j["metrics"]["mae"].get<double>());
  for (const auto& v : j["horizon"]["mae"]) EXPECT_LT(v.get<double>(), 0.2);
  auto fails_with = [&](const std::string& args, const std::string& words) {
    std::string cmd = std::string(RTML_BINARY) + " eval --data " + q(data) + " --target y " + args;
    auto r = test::run(cmd);
    EXPECT_NE(r.exit_code, 0) << cmd;
    EXPECT_NE(r.out.find(words), std::string::npos) << cmd << "\n" << r.out;
  };
  fails_with("--model linear_regression --horizon 3", "does not forecast");
  fails_with("--model " + q(model) + " --horizon 3 --delay 5", "not with --delay");
  fails_with("--model " + q(model) + " --horizon 5000", "at most 1000");
}

// --seeds runs the model once per seed: each run is the run `seed=` gives, and the
// summary is their median, min and max.
TEST(EvalCli, SeedsReportEveryRunAndTheirMedian) {
  test::TempDir tmp;
  std::string data = test::synthetic_csv(tmp.file("d.csv"), 1250);
  json j = eval_json(data, "class", "one_hot | adaptive_random_forest(n_models=3)", "--seeds 4-7");
  ASSERT_EQ(j["runs"].size(), 4u);
  std::vector<double> accuracies;
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(j["runs"][i]["seed"], 4 + i);
    json one = eval_json(
        data, "class",
        "one_hot | adaptive_random_forest(n_models=3, seed=" + std::to_string(4 + i) + ")");
    EXPECT_EQ(j["runs"][i]["metrics"], one["metrics"]);
    accuracies.push_back(one["metrics"]["accuracy"].get<double>());
  }
  std::sort(accuracies.begin(), accuracies.end());
  EXPECT_NE(accuracies.front(), accuracies.back());  // the seeds do draw other forests
  const json& s = j["summary"]["accuracy"];
  EXPECT_DOUBLE_EQ(s["median"].get<double>(), (accuracies[1] + accuracies[2]) / 2);
  EXPECT_DOUBLE_EQ(s["min"].get<double>(), accuracies.front());
  EXPECT_DOUBLE_EQ(s["max"].get<double>(), accuracies.back());
  EXPECT_EQ(j["events"], 1250);
}

TEST(EvalCli, SeedsRefuseWhatTheyCannotVary) {
  test::TempDir tmp;
  std::string data = q(test::synthetic_csv(tmp.file("d.csv"), 500));
  auto fails_with = [&](const std::string& args, const std::string& words) {
    std::string cmd =
        std::string(RTML_BINARY) + " eval --data " + data + " --target class --drop colour " + args;
    auto r = test::run(cmd);
    EXPECT_NE(r.exit_code, 0) << cmd;
    EXPECT_NE(r.out.find(words), std::string::npos) << cmd << "\n" << r.out;
  };
  fails_with("--model hoeffding_adaptive_tree --seeds 5-1", "FIRST <= LAST");
  fails_with("--model hoeffding_adaptive_tree --seeds 1-x", "FIRST-LAST");
  fails_with("--model 'hoeffding_adaptive_tree(seed=3)' --seeds 1-2", "drop seed=");
  fails_with("--model gaussian_nb --seeds 1-2", "seed");
  fails_with("--model hoeffding_adaptive_tree --seeds 1-2 --output /nonexistent-dir/out.txt",
             "--output");
}

// The CTR set's columns are all ids: a tree splits on them as categories, no encoder.
TEST(EvalCli, TreesSplitOnTheCtrSetsCategoriesNatively) {
  if (!test::have_data("ctr_kdd2012_small.csv.gz")) GTEST_SKIP() << "data sets not found";
  json j = eval_json("ctr_kdd2012_small.csv.gz", "click", "hoeffding_tree",
                     "--categorical impression,url_hash,ad_id,advertiser_id,depth,position,"
                     "query_id,keyword_id,title_id,description_id,user_id");
  EXPECT_EQ(j["events"], 39948);
  // The best constant predictor scores 0.4534 (reference/peers.md) and AUC 0.5.
  EXPECT_LT(j["metrics"]["logloss"].get<double>(), 0.45);
  EXPECT_GT(j["metrics"]["roc_auc"].get<double>(), 0.6);
}

TEST(EvalCli, RunsOnEveryStoredDataSet) {
  struct Case {
    const char *file, *target, *model, *extra;
    int events;
    double floor;  // accuracy above the majority class
  } cases[] = {
      {"bananas.csv.gz", "label", "gaussian_nb", "", 5300, 0.56},
      {"weather.csv.gz", "rain", "standard_scaler | logistic_regression", "", 18159, 0.70},
      {"ctr_kdd2012_small.csv.gz", "click",
       "feature_hasher(bits=20) | logistic_regression(optimizer=ftrl)",
       "--categorical impression,url_hash,ad_id,advertiser_id,depth,position,query_id,keyword_id,"
       "title_id,description_id,user_id",
       39948, 0.82},
  };
  for (const auto& c : cases) {
    if (!test::have_data(c.file)) GTEST_SKIP() << "data sets not found";
    SCOPED_TRACE(c.file);
    json j = eval_json(c.file, c.target, c.model, c.extra);
    EXPECT_EQ(j["events"], c.events);
    EXPECT_EQ(j["skipped"], 0);
    EXPECT_GE(j["metrics"]["accuracy"].get<double>(), c.floor);
    if (std::string(c.target) == "click") {
      // Better than the best constant predictor's log loss (0.4534, reference/peers.md).
      EXPECT_LT(j["metrics"]["logloss"].get<double>(), 0.44);
    }
  }
}

TEST(EvalCli, JsonContract) {
  test::TempDir tmp;
  json j = eval_json(test::synthetic_csv(tmp.file("b.csv"), 3000), "class",
                     "one_hot | standard_scaler | logistic_regression");
  for (const char* key :
       {"model", "events", "skipped", "metrics", "seconds", "events_per_second", "peak_rss_mb"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["events"], 3000);
  EXPECT_EQ(j["skipped"], 0);
  for (const char* m : {"accuracy", "f1", "logloss", "roc_auc"})
    EXPECT_TRUE(j["metrics"].contains(m)) << m;

  json multi =
      eval_json(test::synthetic_csv(tmp.file("m.csv"), 3000, 3), "class", "one_hot | gaussian_nb");
  EXPECT_TRUE(multi["metrics"].contains("macro_f1"));
  json reg = eval_json(test::synthetic_csv(tmp.file("r.csv"), 3000, 0), "y",
                       "one_hot | standard_scaler | linear_regression");
  for (const char* m : {"mae", "rmse", "r2"}) EXPECT_TRUE(reg["metrics"].contains(m)) << m;
}

TEST(EvalCli, PositiveClassDefaultsToTheGreaterValueAndCanBeChosen) {
  RTML_REQUIRE_DATA("elec2.csv.gz");
  json up = eval_json("elec2.csv.gz", "class", "gaussian_nb");
  json down = eval_json("elec2.csv.gz", "class", "gaussian_nb", "--positive DOWN");
  EXPECT_NEAR(up["metrics"]["f1"].get<double>(), 0.6038, 0.001);  // UP is positive
  EXPECT_NE(up["metrics"]["f1"], down["metrics"]["f1"]);
  EXPECT_EQ(up["metrics"]["accuracy"], down["metrics"]["accuracy"]);
}

// Nothing reads the stream ahead for its classes: a class first met after 12,000 rows
// (past the 10,000 rows once read ahead) is learned by a multiclass model and refused,
// row by row, by a binary one, the same from a pipe as from a file.
TEST(EvalCli, ClassesAreLearnedAsTheyCome) {
  test::TempDir tmp;
  std::string csv = "x,y\n";
  int late = 0;
  for (int i = 0; i < 15000; ++i) {
    const char* y = i >= 12000 && i % 5 == 0 ? "c" : (i % 2 ? "b" : "a");
    late += y[0] == 'c';
    csv += std::to_string(i % 2 + (y[0] == 'c' ? 5 : 0) + (i % 7) * 0.01) + "," + y + "\n";
  }
  auto file = tmp.write("late.csv", csv);
  std::string bin = RTML_BINARY;
  for (bool piped : {false, true}) {
    SCOPED_TRACE(piped ? "from a pipe" : "from a file");
    std::string data = piped ? "cat " + q(file) + " | " + bin + " eval --data - "
                             : bin + " eval --data " + q(file) + " ";
    auto multi = test::run(data + "--json --quiet --target y --model gaussian_nb");
    ASSERT_EQ(multi.exit_code, 0) << multi.out;
    json m = json::parse(test::last_line(multi.out));
    EXPECT_EQ(m["events"], 15000);
    EXPECT_EQ(m["skipped"], 0);
    EXPECT_TRUE(m["metrics"].contains("macro_f1")) << m.dump();
    EXPECT_GT(m["metrics"]["accuracy"].get<double>(), 0.99);
    auto binary = test::run(data + "--json --quiet --target y --model logistic_regression");
    ASSERT_EQ(binary.exit_code, 0) << binary.out;
    json b = json::parse(test::last_line(binary.out));
    EXPECT_EQ(b["skipped"], late);
    EXPECT_EQ(b["events"], 15000 - late);
    EXPECT_TRUE(b["metrics"].contains("f1")) << b.dump();
  }
}

// An anomaly detector scored against a target that has shown one class so far writes
// its scores (and no class it cannot name) for every event.
TEST(EvalCli, ADetectorWithAOneClassTargetWritesEveryScore) {
  test::TempDir tmp;
  std::string csv = "a,b,y\n";
  for (int i = 0; i < 600; ++i) {
    bool odd = i % 50 == 49 && i > 300;
    csv += odd ? "0.99,0.99,n\n"
               : std::to_string((i * 37 % 100) / 1000.0) + "," +
                     std::to_string((i * 53 % 100) / 1000.0) + ",n\n";
  }
  auto data = tmp.write("one.csv", csv);
  auto r = test::run(std::string(RTML_BINARY) + " eval --quiet --data " + data +
                     " --target y --model 'half_space_trees(seed=1, window_size=100)' --output " +
                     tmp.file("o.txt"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::ifstream f(tmp.file("o.txt"));
  std::string line;
  int lines = 0;
  while (std::getline(f, line)) ++lines;
  EXPECT_EQ(lines, 600);
}

// The positive class of two is the greater value (numerically: "10" over "9", where
// text would say the opposite) whichever of the two comes first.
TEST(EvalCli, PositiveClassDoesNotDependOnWhichComesFirst) {
  test::TempDir tmp;
  std::string rows;
  for (int i = 0; i < 2000; ++i) {
    int x = (i * 7919) % 13;
    // Class "10" above 7, with noise, so that the F1 of "10" and of "9" differ.
    rows += std::to_string(x) + "," + ((x > 7) != (i % 11 == 0) ? "10" : "9") + "\n";
  }
  ASSERT_EQ(rows.substr(0, 5), "0,10\n");
  const std::string model = "standard_scaler | logistic_regression";
  for (const auto& [name, text] : {std::pair{"ten-first.csv", "x,y\n" + rows},
                                   std::pair{"nine-first.csv", "x,y\n3,9\n" + rows}}) {
    SCOPED_TRACE(name);
    std::string file = tmp.write(name, text);
    double by_default = eval_json(file, "y", model)["metrics"]["f1"].get<double>();
    double ten = eval_json(file, "y", model, "--positive 10")["metrics"]["f1"].get<double>();
    double nine = eval_json(file, "y", model, "--positive 9")["metrics"]["f1"].get<double>();
    EXPECT_NEAR(by_default, ten, 1e-3);
    EXPECT_GT(std::abs(ten - nine), 0.02) << ten << " " << nine;
  }
}

TEST(EvalCli, SyntheticStreamsDelayAndSingleThread) {
  json sea =
      eval_json("synth:sea?n=20000&seed=3", "class", "standard_scaler | logistic_regression");
  EXPECT_EQ(sea["events"], 20000);
  EXPECT_GT(sea["metrics"]["accuracy"].get<double>(), 0.75);
  json one = eval_json("synth:sea?n=20000&seed=3", "class", "standard_scaler | logistic_regression",
                       "--threads 1");
  EXPECT_EQ(sea["metrics"], one["metrics"]);
  json delayed =
      eval_json("synth:agrawal?n=20000", "class", "gaussian_nb", "--delay 500 --window 1000");
  EXPECT_EQ(delayed["events"], 20000);
  EXPECT_TRUE(delayed["rolling_metrics"].contains("accuracy"));
  json hyper = eval_json("synth:hyperplane?n=20000", "class",
                         "standard_scaler | logistic_regression(optimizer=adam)");
  EXPECT_GT(hyper["metrics"]["accuracy"].get<double>(), 0.8);
}

TEST(EvalCli, DriftDetectorWatchesTheErrorStream) {
  // SEA changes its concept every 25,000 events; the first change raises the error rate.
  json j = eval_json("synth:sea?n=100000&seed=1", "class", "standard_scaler | logistic_regression",
                     "--drift 'adwin(delta=0.002)'");
  ASSERT_FALSE(j["drifts"].empty());
  auto first = j["drifts"][0].get<uint64_t>();
  EXPECT_GT(first, 25000u);
  EXPECT_LT(first, 27000u);
}

TEST(EvalCli, SaveThenLoadOverTheSecondHalfEqualsOneRun) {
  test::TempDir dir;
  std::string src = test::synthetic_csv(dir.file("all.csv"), 45312);
  ASSERT_EQ(test::run("head -n 22657 " + q(src) + " > " + dir.file("first.csv")).exit_code, 0);
  ASSERT_EQ(test::run("(head -n 1 " + q(src) + "; tail -n +22658 " + q(src) + ") > " +
                      dir.file("second.csv"))
                .exit_code,
            0);
  for (std::string model :
       {"one_hot | standard_scaler | logistic_regression(optimizer=adam)", "one_hot | gaussian_nb",
        "one_hot | standard_scaler | softmax_regression"}) {
    SCOPED_TRACE(model);
    std::string bin = RTML_BINARY;
    std::string base = " eval --quiet --target class ";
    auto whole = test::run(bin + base + "--data " + q(src) + " --model " + q(model) + " --save " +
                           dir.file("whole.rtml") + " --output " + dir.file("whole.out"));
    ASSERT_EQ(whole.exit_code, 0) << whole.out;
    auto first = test::run(bin + base + "--data " + dir.file("first.csv") + " --model " + q(model) +
                           " --save " + dir.file("half.rtml"));
    ASSERT_EQ(first.exit_code, 0) << first.out;
    auto second = test::run(bin + base + "--data " + dir.file("second.csv") + " --load " +
                            dir.file("half.rtml") + " --save " + dir.file("resumed.rtml") +
                            " --output " + dir.file("second.out"));
    ASSERT_EQ(second.exit_code, 0) << second.out;
    auto slurp = [](const std::string& p) {
      std::ifstream f(p, std::ios::binary);
      return std::string((std::istreambuf_iterator<char>(f)), {});
    };
    EXPECT_EQ(slurp(dir.file("whole.rtml")), slurp(dir.file("resumed.rtml")))
        << "the final models differ";
    std::string w = slurp(dir.file("whole.out"));
    size_t pos = 0;
    for (int i = 0; i < 22656; ++i) pos = w.find('\n', pos) + 1;
    EXPECT_EQ(w.substr(pos), slurp(dir.file("second.out"))) << "the second-half predictions differ";
  }
}

// Tree models saved by a build that wrote format version 1 (before nominal splits; in
// tests/data/format_v1, trained on the first 2,000 Elec2 or 500 TrumpApproval events)
// load and go on exactly as a model trained now over the same events: on numeric data
// the trees learn as they did.
TEST(EvalCli, LoadsTreeModelsSavedInFormatVersion1) {
  RTML_REQUIRE_DATA("elec2.csv.gz");
  RTML_REQUIRE_DATA("trump_approval.csv.gz");
  test::TempDir dir;
  struct Case {
    const char *file, *target, *model, *fixture;
    int trained, rest;
    // Version 1 numbered the two classes with the positive (the greater) as 1; classes now
    // come numbered as they come unless the positive class is named.
    const char* positive;
  } cases[] = {
      {"elec2.csv.gz", "class", "hoeffding_tree", "hoeffding_tree.rtml", 2000, 8000, "UP"},
      {"elec2.csv.gz", "class", "hoeffding_adaptive_tree(seed=42)", "hoeffding_adaptive_tree.rtml",
       2000, 8000, "UP"},
      {"trump_approval.csv.gz", "five_thirty_eight", "standard_scaler | hoeffding_tree_regressor",
       "hoeffding_tree_regressor.rtml", 500, 501, nullptr},
  };
  std::string bin = RTML_BINARY;
  auto slurp = [](const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(f)), {});
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.model);
    std::string fixture = std::string(RTML_SOURCE_DIR) + "/tests/data/format_v1/" + c.fixture;
    ASSERT_EQ(slurp(fixture).substr(8, 4), std::string("\x01\0\0\0", 4)) << "not a version 1 file";
    std::string src = test::data_dir() + "/" + c.file;
    int total = c.trained + c.rest;
    ASSERT_EQ(test::run("zcat " + q(src) + " | head -n " + std::to_string(total + 1) + " > " +
                        dir.file("both.csv"))
                  .exit_code,
              0);
    ASSERT_EQ(test::run("(zcat " + q(src) + " | head -n 1; zcat " + q(src) + " | head -n " +
                        std::to_string(total + 1) + " | tail -n +" + std::to_string(c.trained + 2) +
                        ") > " + dir.file("rest.csv"))
                  .exit_code,
              0);
    std::string base = " eval --quiet --target " + std::string(c.target) + " " +
                       (c.positive ? "--positive " + std::string(c.positive) + " " : "");
    auto loaded = test::run(bin + base + "--data " + dir.file("rest.csv") + " --load " +
                            q(fixture) + " --output " + dir.file("loaded.out"));
    ASSERT_EQ(loaded.exit_code, 0) << loaded.out;
    auto now = test::run(bin + base + "--data " + dir.file("both.csv") + " --model " + q(c.model) +
                         " --output " + dir.file("now.out"));
    ASSERT_EQ(now.exit_code, 0) << now.out;
    std::string w = slurp(dir.file("now.out"));
    size_t pos = 0;
    for (int i = 0; i < c.trained; ++i) pos = w.find('\n', pos) + 1;
    std::string tail = w.substr(pos);
    EXPECT_EQ(std::count(tail.begin(), tail.end(), '\n'), c.rest);
    EXPECT_EQ(tail, slurp(dir.file("loaded.out"))) << "the loaded model predicts differently";
  }
}

// A feature_hasher saved by a build that wrote format version 2 (tests/data/format_v2,
// trained on the first 2,000 ctr_kdd2012_small rows) hashed categories as
// "column=value"; loaded now it keeps doing so, also once saved again in today's format:
// learning on rows 2,001-2,300 and predicting rows 2,301-2,600 writes exactly what that
// build wrote (feature_hasher.out). Hashing the new way would read untrained slots.
TEST(EvalCli, LoadsAFeatureHasherSavedInFormatVersion2) {
  RTML_REQUIRE_DATA("ctr_kdd2012_small.csv.gz");
  test::TempDir dir;
  std::string fixture = std::string(RTML_SOURCE_DIR) + "/tests/data/format_v2/feature_hasher";
  auto slurp = [](const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(f)), {});
  };
  ASSERT_EQ(slurp(fixture + ".rtml").substr(8, 4), std::string("\x02\0\0\0", 4))
      << "not a version 2 file";
  std::string src = q(test::data_dir() + "/ctr_kdd2012_small.csv.gz");
  ASSERT_EQ(test::run("(zcat " + src + " | head -n 1; zcat " + src + " | sed -n 2002,2301p) > " +
                      dir.file("m.csv") + " && (zcat " + src + " | head -n 1; zcat " + src +
                      " | sed -n 2302,2601p) > " + dir.file("n.csv"))
                .exit_code,
            0);
  std::string bin = RTML_BINARY;
  std::string base =
      " eval --quiet --target click --categorical url_hash,ad_id,advertiser_id,query_id,"
      "keyword_id,title_id,description_id,user_id,depth,position,impression ";
  auto learned = test::run(bin + base + "--data " + dir.file("m.csv") + " --load " +
                           q(fixture + ".rtml") + " --save " + dir.file("mid.rtml"));
  ASSERT_EQ(learned.exit_code, 0) << learned.out;
  EXPECT_EQ(slurp(dir.file("mid.rtml")).substr(8, 1), std::string(1, '\x05'));
  auto predicted = test::run(bin + base + "--data " + dir.file("n.csv") + " --load " +
                             dir.file("mid.rtml") + " --output " + dir.file("n.out"));
  ASSERT_EQ(predicted.exit_code, 0) << predicted.out;
  std::string want = slurp(fixture + ".out");
  EXPECT_EQ(std::count(want.begin(), want.end(), '\n'), 300);
  EXPECT_EQ(slurp(dir.file("n.out")), want) << "the loaded hasher reads other slots";
}

TEST(EvalCli, ClearErrorsForBadInvocations) {
  test::TempDir tmp;
  std::string bin = RTML_BINARY;
  std::string data = " --data " + q(test::synthetic_csv(tmp.file("d.csv"), 200));
  auto r = test::run(bin + " eval" + data + " --target nope --model gaussian_nb");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("no column named 'nope'"), std::string::npos) << r.out;
  r = test::run(bin + " eval" + data +
                " --target class --drop colour --model 'logistic_regression(colour=1)'");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("unknown parameter 'colour'"), std::string::npos) << r.out;
  r = test::run(bin + " eval --data /nonexistent.csv --target class --model gaussian_nb");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("/nonexistent.csv: cannot open"), std::string::npos) << r.out;
  r = test::run(bin + " eval" + data + " --target class --model logistic_regression");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("add one_hot or feature_hasher"), std::string::npos) << r.out;
  // Classes are learned as they come: a binary classifier refuses the rows of a third
  // class, each reported with the reason, and learns from the rest.
  r = test::run(bin + " eval --data " + q(test::synthetic_csv(tmp.file("m.csv"), 200, 3)) +
                " --target class --drop colour --model logistic_regression");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("beyond its two classes"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("the model is a binary classifier (softmax_regression"), std::string::npos)
      << r.out;
}

TEST(EvalCli, BadLinesAreSkippedAndCountedOrFatalWithStrict) {
  test::TempDir dir;
  auto path = dir.write("bad.csv", "x,y\n1,a\n2,b\n1,2,3\nzz,a\n3,\n4,b\n");
  std::string bin = RTML_BINARY;
  auto r = test::run(bin + " eval --json --numeric x --data " + path +
                     " --target y --model gaussian_nb");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  json j = json::parse(test::last_line(r.out));
  EXPECT_EQ(j["events"], 3);
  EXPECT_EQ(j["skipped"], 3);
  EXPECT_NE(r.out.find("bad.csv:4: skipped: expected 2 fields, found 3"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("bad.csv:6: skipped: missing target 'y'"), std::string::npos) << r.out;
  r = test::run(bin + " eval --strict --numeric x --data " + path +
                " --target y --model gaussian_nb");
  EXPECT_NE(r.exit_code, 0);
}

TEST(DriftCli, FindsTheChangeInANumberStream) {
  test::TempDir dir;
  std::string numbers;
  for (int i = 0; i < 3000; ++i)
    numbers += (i < 1500 ? (i % 5 == 0 ? "1\n" : "0\n") : (i % 5 == 0 ? "0\n" : "1\n"));
  auto path = dir.write("n.txt", numbers);
  auto r = test::run(std::string(RTML_BINARY) + " drift --json --detector 'adwin(delta=0.002)' < " +
                     path);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  json j = json::parse(test::last_line(r.out));
  ASSERT_GE(j["drifts"].size(), 1u);
  EXPECT_GT(j["drifts"][0].get<int>(), 1500);
  EXPECT_LT(j["drifts"][0].get<int>(), 1700);
}

}  // namespace
}  // namespace rtml

namespace rtml {
namespace {

TEST(EvalCli, AnAnomalyDetectorScoresWithoutATarget) {
  test::TempDir dir;
  std::string bin = RTML_BINARY;
  auto r = test::run(bin + " eval --json --data 'synth:sea?n=3000' --drop class --model " +
                     q("min_max_scaler | half_space_trees") + " --output " + dir.file("s.txt"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  json j = json::parse(test::last_line(r.out));
  EXPECT_EQ(j["events"], 3000);
  EXPECT_TRUE(j["metrics"].empty());  // nothing to score the scores against
  std::ifstream in(dir.file("s.txt"));
  std::string line;
  int n = 0, zeros = 0;
  while (std::getline(in, line)) {
    double s = std::stod(line);
    EXPECT_GE(s, 0.0);
    EXPECT_LE(s, 1.0);
    zeros += s == 0.0;
    ++n;
  }
  EXPECT_EQ(n, 3000);
  EXPECT_EQ(zeros, 250);  // the first window has no reference yet
  // A model that learns from labels still needs one.
  r = test::run(bin + " eval --data 'synth:sea?n=100' --model hoeffding_tree");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("--target is required: hoeffding_tree"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace rtml
