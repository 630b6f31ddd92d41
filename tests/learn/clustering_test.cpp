// The online clusterers find well-separated blobs, follow a cluster that moves, save and
// load mid-stream; the clustering metrics give the known answers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "../test_util.h"
#include "rtml/core/error.h"
#include "rtml/core/random.h"
#include "rtml/learn/cluster/clusterer.h"
#include "rtml/learn/metrics/cluster_metrics.h"
#include "rtml/learn/pipeline.h"

namespace rtml {
namespace {

// A shuffled stream of Gaussian blobs: blob i's events around centres[i], sigma apart on
// each feature, the centres drawn in [-spread, spread]^d at least min_gap apart.
struct Blobs {
  std::vector<Features> x;
  std::vector<uint32_t> blob;
  std::vector<std::vector<double>> centres;
};

std::vector<uint32_t> features_of(Pipeline& p, int d) {
  std::vector<uint32_t> index;
  for (int j = 0; j < d; ++j) index.push_back(p.schema().intern("x" + std::to_string(j)));
  return index;
}

Blobs blobs(Pipeline& p, int k, int d, int n, double spread, double sigma, double min_gap,
            uint64_t seed) {
  Random rng(seed);
  const auto index = features_of(p, d);
  Blobs b;
  while (static_cast<int>(b.centres.size()) < k) {
    std::vector<double> c(d);
    for (double& v : c) v = rng.uniform(-spread, spread);
    bool apart = true;
    for (const auto& o : b.centres) {
      double d2 = 0;
      for (int j = 0; j < d; ++j) d2 += (c[j] - o[j]) * (c[j] - o[j]);
      apart = apart && std::sqrt(d2) >= min_gap;
    }
    if (apart) b.centres.push_back(c);
  }
  std::vector<uint32_t> order(n);
  for (int i = 0; i < n; ++i) order[i] = static_cast<uint32_t>(i % k);
  for (int i = n - 1; i > 0; --i) std::swap(order[i], order[rng.below(i + 1)]);
  for (uint32_t blob : order) {
    Features x;
    for (int j = 0; j < d; ++j) x.add(index[j], b.centres[blob][j] + sigma * rng.normal());
    b.x.push_back(std::move(x));
    b.blob.push_back(blob);
  }
  return b;
}

// Test-then-train over the stream; the adjusted Rand index of the predictions made after
// warm_up events against the blobs. Every event after the warm-up must get a cluster.
double prequential_ari(Pipeline& p, const Blobs& b, size_t warm_up) {
  ClusteringMetrics m(0);
  Prediction out;
  size_t unassigned = 0;
  for (size_t i = 0; i < b.x.size(); ++i) {
    p.predict_then_learn(b.x[i], Target{}, out);
    if (i < warm_up) continue;
    if (!out.has_label) {
      ++unassigned;
      continue;
    }
    EXPECT_EQ(out.value, static_cast<double>(out.label));
    m.observe(b.x[i], out.label, b.blob[i]);
  }
  EXPECT_EQ(unassigned, 0u);
  return m.adjusted_rand_index();
}

struct Case {
  const char* expr;
  int k, d, n;
  double sigma;
};

// Each clusterer on blobs of the kind it is made for: k-means and CluStream (a number of
// clusters given) in 10 and 5 dimensions; the density-based ones (a radius given) in 2,
// their epsilon / clustering_threshold at about the blobs' spread.
const Case kBlobCases[] = {
    {"kmeans(n_clusters=5)", 5, 10, 4000, 1.0},
    {"standard_scaler | kmeans(n_clusters=4)", 4, 6, 4000, 1.0},
    {"clustream(n_macro_clusters=4)", 4, 5, 4000, 1.0},
    {"denstream(epsilon=0.5, n_samples_init=500)", 3, 2, 4000, 0.3},
    {"dbstream(clustering_threshold=0.5)", 3, 2, 4000, 0.3},
};

TEST(Clustering, EachClustererRecoversSeparatedBlobs) {
  for (const Case& c : kBlobCases) {
    SCOPED_TRACE(c.expr);
    Pipeline p(c.expr);
    ASSERT_FALSE(p.model().needs_target());
    ASSERT_NE(as_clusterer(p.model()), nullptr);
    // Centres at least 10 sigma apart: blobs that do not touch.
    Blobs b = blobs(p, c.k, c.d, c.n, 10 * c.sigma, c.sigma, 10 * c.sigma, 7);
    const double ari = prequential_ari(p, b, 1000);
    EXPECT_GE(ari, 0.95);
    EXPECT_EQ(as_clusterer(p.model())->n_clusters(), static_cast<size_t>(c.k));
  }
}

// River's k-means (centres drawn from N(0, 1), steps of 0.5) on the same blobs moved 20
// away from 0 on every feature, as data that is not centred is: the reason kmeans starts
// otherwise by default. The first centre pulled into the data is then the nearest for
// every blob and wins them all, while the others stay where they were drawn.
TEST(Clustering, RiverKMeansLosesBlobsTheDefaultFinds) {
  for (const char* expr :
       {"kmeans(n_clusters=5, init=random, halflife=0.5)", "kmeans(n_clusters=5)"}) {
    SCOPED_TRACE(expr);
    Pipeline p(expr);
    Blobs b = blobs(p, 5, 10, 4000, 10, 1.0, 10, 7);
    for (Features& x : b.x) {
      for (Feature& f : x.numbers()) f.value += 20;
    }
    const double ari = prequential_ari(p, b, 1000);
    if (std::string(expr).find("random") != std::string::npos) {
      EXPECT_LT(ari, 0.5);
    } else {
      EXPECT_GE(ari, 0.95);
    }
  }
}

// A blob whose centre moves steadily from (0, 0) to (10, 0) over the stream, beside two
// that stay at (0, 10) and (10, 10): the clusterer keeps the moving blob's events
// together (high ARI over the last 1000 events) and the centre of its cluster near where
// the blob is at the end.
struct Drift {
  const char* expr;
  double max_lag;  // how far the cluster's centre may trail the blob's at the end
};

TEST(Clustering, EachClustererFollowsAMovingCluster) {
  const Drift cases[] = {
      {"kmeans(n_clusters=3)", 1.0},
      {"clustream(n_macro_clusters=3)", 1.5},
      {"denstream(epsilon=0.4, n_samples_init=500)", 1.5},
      {"dbstream(clustering_threshold=0.8)", 1.5},
  };
  const int n = 6000;
  for (const Drift& c : cases) {
    SCOPED_TRACE(c.expr);
    Pipeline p(c.expr);
    const auto index = features_of(p, 2);
    Random rng(11);
    ClusteringMetrics late(0);
    Prediction out;
    const double fixed[2][2] = {{0, 10}, {10, 10}};
    auto moving = [&](int i) { return 10.0 * i / n; };
    for (int i = 0; i < n; ++i) {
      const uint32_t blob = static_cast<uint32_t>(rng.below(3));
      const double cx = blob == 0 ? moving(i) : fixed[blob - 1][0];
      const double cy = blob == 0 ? 0.0 : fixed[blob - 1][1];
      Features x;
      x.add(index[0], cx + 0.3 * rng.normal());
      x.add(index[1], cy + 0.3 * rng.normal());
      p.predict_then_learn(x, Target{}, out);
      if (i >= n - 1000) {
        ASSERT_TRUE(out.has_label);
        late.observe(x, out.label, blob);
      }
    }
    EXPECT_GE(late.adjusted_rand_index(), 0.95);
    // The cluster of the blob's final centre, and how far its centre is from it.
    Features at_end;
    at_end.add(index[0], moving(n));
    at_end.add(index[1], 0.0);
    p.predict(at_end, out);
    ASSERT_TRUE(out.has_label);
    std::vector<double> centre;
    ASSERT_TRUE(as_clusterer(p.model())->center(out.label, centre));
    centre.resize(std::max<size_t>(centre.size(), index[1] + 1), 0.0);
    const double lag = std::hypot(centre[index[0]] - moving(n), centre[index[1]]);
    EXPECT_LE(lag, c.max_lag);
  }
}

// Saved and loaded mid-stream (past every warm-up, pruning and reclustering), a pipeline
// predicts and learns on exactly as the original, and both save the same bytes after.
TEST(Clustering, SaveAndLoadMidStreamContinueExactly) {
  test::TempDir dir;
  const char* exprs[] = {
      "kmeans(n_clusters=4, n_samples_init=300)",
      "kmeans(n_clusters=4, init=random, halflife=0.5, p=1)",
      "clustream(n_macro_clusters=4, max_micro_clusters=30, time_window=200, time_gap=50)",
      "clustream(n_macro_clusters=4, init=random)",
      "denstream(epsilon=0.5, n_samples_init=200, stream_speed=20)",
      "dbstream(clustering_threshold=0.5, cleanup_interval=7)",
  };
  for (const char* expr : exprs) {
    SCOPED_TRACE(expr);
    Pipeline original(expr);
    Blobs b = blobs(original, 4, 3, 3000, 3, 0.3, 3, 5);
    Prediction a, c;
    for (int i = 0; i < 2000; ++i) original.learn(b.x[i], Target{});
    original.save(dir.file("m.rtml"));
    Pipeline loaded = Pipeline::load(dir.file("m.rtml"));
    EXPECT_EQ(loaded.description(), original.description());
    for (int i = 2000; i < 3000; ++i) {
      original.predict_then_learn(b.x[i], Target{}, a);
      loaded.predict_then_learn(b.x[i], Target{}, c);
      ASSERT_EQ(a.has_label, c.has_label) << "event " << i;
      ASSERT_EQ(a.label, c.label) << "event " << i;
      ASSERT_EQ(a.value, c.value) << "event " << i;
    }
    EXPECT_TRUE(a.has_label);
    original.save(dir.file("a.rtml"));
    loaded.save(dir.file("b.rtml"));
    std::ifstream fa(dir.file("a.rtml"), std::ios::binary),
        fb(dir.file("b.rtml"), std::ios::binary);
    std::string sa((std::istreambuf_iterator<char>(fa)), {}),
        sb((std::istreambuf_iterator<char>(fb)), {});
    EXPECT_EQ(sa, sb);
  }
}

TEST(Clustering, NoClusterBeforeLearningThenIdsAsValues) {
  for (const char* expr : {"kmeans", "clustream", "denstream(n_samples_init=0, epsilon=1)",
                           "dbstream", "kmeans(init=random)"}) {
    SCOPED_TRACE(expr);
    Pipeline p(expr);
    EXPECT_EQ(p.task(), Task::kMulticlass);
    Features x;
    x.add(p.schema().intern("a"), 1.0);
    Prediction out;
    p.predict(x, out);
    if (std::string(expr) == "kmeans(init=random)") {
      EXPECT_TRUE(out.has_label);  // River's random centres exist from the start
      continue;
    }
    EXPECT_FALSE(out.has_label);
    EXPECT_EQ(out.value, -1.0);
    EXPECT_EQ(as_clusterer(p.model())->n_clusters(), 0u);
  }
}

// A feature index that appears late widens the rows; one never learned is ignored by
// predict (it would add the same distance to every centre).
TEST(Clustering, LateFeaturesWidenTheRows) {
  Pipeline p("kmeans(n_clusters=2, n_samples_init=10)");
  const uint32_t a = p.schema().intern("a"), b = p.schema().intern("b");
  const uint32_t c = p.schema().intern("c");
  Random rng(3);
  for (int i = 0; i < 200; ++i) {
    Features x;
    const double side = i % 2 ? 5.0 : -5.0;
    x.add(a, side + 0.1 * rng.normal());
    if (i >= 100) x.add(b, side + 0.1 * rng.normal());
    p.learn(x, Target{});
  }
  auto cluster_of = [&](double va, double vb, bool with_c) {
    Features x;
    x.add(a, va);
    x.add(b, vb);
    if (with_c) x.add(c, 1000.0);
    Prediction out;
    p.predict(x, out);
    EXPECT_TRUE(out.has_label);
    return out.label;
  };
  EXPECT_NE(cluster_of(5, 5, false), cluster_of(-5, -5, false));
  EXPECT_EQ(cluster_of(5, 5, false), cluster_of(5, 5, true));
  std::vector<double> centre;
  ASSERT_TRUE(as_clusterer(p.model())->center(cluster_of(5, 5, false), centre));
  ASSERT_EQ(centre.size(), size_t{b} + 1);
  EXPECT_NEAR(centre[a], 5.0, 0.2);
  EXPECT_GT(centre[b], 2.0);  // learning it since event 100
}

TEST(Clustering, BadParametersAreRefusedNamingTheStep) {
  for (const char* expr :
       {"kmeans(n_clusters=0)", "kmeans(halflife=1.5)", "kmeans(p=0)", "kmeans(window=0)",
        "kmeans(n_clusters=10, n_samples_init=5)", "kmeans(init=forgy)",
        "clustream(max_micro_clusters=1)", "clustream(time_gap=0)", "clustream(halflife=0)",
        "denstream(beta=1.5)", "denstream(beta=0.5, mu=2)", "denstream(epsilon=0)",
        "denstream(decaying_factor=0)", "denstream(stream_speed=0)",
        "dbstream(clustering_threshold=0)", "dbstream(intersection_factor=0)",
        "dbstream(cleanup_interval=0)", "dbstream(fading_factor=-1)"}) {
    SCOPED_TRACE(expr);
    try {
      Pipeline p(expr);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      const std::string step = std::string(expr).substr(0, std::string(expr).find('('));
      EXPECT_NE(std::string(e.what()).find(step), std::string::npos) << e.what();
    }
  }
}

// ClusteringMetrics on answers worked by hand.

void observe_all(ClusteringMetrics& m, const std::vector<uint32_t>& clusters,
                 const std::vector<uint32_t>& labels) {
  Features x;
  for (size_t i = 0; i < clusters.size(); ++i) m.observe(x, clusters[i], labels[i]);
}

TEST(ClusteringMetrics, AdjustedRandIndexKnownAnswers) {
  {
    ClusteringMetrics m;
    observe_all(m, {0, 0, 1, 1, 2, 2}, {0, 0, 1, 1, 2, 2});
    EXPECT_DOUBLE_EQ(m.adjusted_rand_index(), 1.0);
  }
  {  // the same partition under other ids
    ClusteringMetrics m;
    observe_all(m, {7, 7, 3, 3, 0, 0}, {0, 0, 1, 1, 2, 2});
    EXPECT_DOUBLE_EQ(m.adjusted_rand_index(), 1.0);
  }
  {
    // clusters {0,0,1,1,2,2} against labels {0,0,0,1,1,1}. Contingency (cluster x label):
    // c0: (2, 0), c1: (1, 1), c2: (0, 2). Pairs within cells: C(2,2) + C(2,2) = 2;
    // within clusters (sizes 2, 2, 2): 3; within labels (sizes 3, 3): 3 + 3 = 6; of all
    // 6 events: C(6,2) = 15. Expected = 3 * 6 / 15 = 1.2; max = (3 + 6) / 2 = 4.5.
    // ARI = (2 - 1.2) / (4.5 - 1.2) = 0.8 / 3.3 = 8/33.
    ClusteringMetrics m;
    observe_all(m, {0, 0, 1, 1, 2, 2}, {0, 0, 0, 1, 1, 1});
    EXPECT_NEAR(m.adjusted_rand_index(), 8.0 / 33.0, 1e-12);
  }
  {
    // One cluster for everything against two labels: no pair structure explained.
    // Pairs: cells C(2,2) + C(2,2) = 2, clusters C(4,2) = 6, labels 1 + 1 = 2, all 6:
    // expected = 6 * 2 / 6 = 2, max = (6 + 2) / 2 = 4, ARI = (2 - 2) / (4 - 2) = 0.
    ClusteringMetrics m;
    observe_all(m, {5, 5, 5, 5}, {0, 0, 1, 1});
    EXPECT_NEAR(m.adjusted_rand_index(), 0.0, 1e-12);
  }
  {  // both put everything together: they agree on every pair
    ClusteringMetrics m;
    observe_all(m, {1, 1, 1}, {4, 4, 4});
    EXPECT_DOUBLE_EQ(m.adjusted_rand_index(), 1.0);
  }
  {  // unlabelled events do not count
    ClusteringMetrics m;
    EXPECT_TRUE(std::isnan(m.adjusted_rand_index()));
    Features x;
    m.observe(x, 0);
    EXPECT_TRUE(std::isnan(m.adjusted_rand_index()));
    EXPECT_EQ(m.labelled(), 0u);
    EXPECT_EQ(m.observed(), 1u);
  }
}

TEST(ClusteringMetrics, SilhouetteKnownAnswers) {
  auto point = [](std::initializer_list<double> values) {
    Features x;
    uint32_t i = 0;
    for (double v : values) x.add(i++, v);
    return x;
  };
  // Clusters A = {0, 1} and B = {4, 5} on a line. For 0: a = 1, b = (4 + 5) / 2 = 4.5,
  // s = 3.5 / 4.5 = 7/9; for 1: a = 1, b = (3 + 4) / 2 = 3.5, s = 2.5 / 3.5 = 5/7; B
  // mirrors A. Mean: (7/9 + 5/7) / 2 = 47/63.
  const double expected = 47.0 / 63.0;
  {
    ClusteringMetrics m(4);
    m.observe(point({0}), 0);
    m.observe(point({1}), 0);
    m.observe(point({4}), 1);
    m.observe(point({5}), 1);
    EXPECT_NEAR(m.silhouette(), expected, 1e-12);
    EXPECT_NEAR(m.report().at("silhouette"), expected, 1e-12);
    EXPECT_EQ(m.report().count("ari"), 0u);
  }
  {  // a window of 4 forgets the two events that came first
    ClusteringMetrics m(4);
    m.observe(point({100}), 0);
    m.observe(point({-50}), 1);
    m.observe(point({0}), 0);
    m.observe(point({1}), 0);
    m.observe(point({4}), 1);
    m.observe(point({5}), 1);
    EXPECT_NEAR(m.silhouette(), expected, 1e-12);
  }
  {
    // In the plane, with an absent feature counting as 0 and events out of index order:
    // A = {(0,0), (0,2)}, B = {(3,0)}. For (0,0): a = 2, b = 3, s = 1/3; for (0,2):
    // a = 2, b = sqrt(13), s = 1 - 2/sqrt(13); (3,0) is alone: 0. Mean of the three.
    ClusteringMetrics m(10);
    m.observe(Features(), 0);
    Features x;
    x.add(1, 2.0);
    x.add(0, 0.0);
    m.observe(x, 0);
    m.observe(point({3}), 1);
    EXPECT_NEAR(m.silhouette(), (1.0 / 3 + 1 - 2 / std::sqrt(13.0)) / 3, 1e-12);
  }
  {  // one cluster: undefined
    ClusteringMetrics m(4);
    m.observe(point({0}), 3);
    m.observe(point({1}), 3);
    EXPECT_TRUE(std::isnan(m.silhouette()));
    EXPECT_TRUE(m.report().empty());
  }
}

}  // namespace
}  // namespace rtml
