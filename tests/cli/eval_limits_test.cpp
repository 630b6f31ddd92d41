// rtml eval at the edges: absurd option values, hostile headers, runs that evaluate
// nothing, and outputs that cannot be written.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../test_util.h"

namespace rtml {
namespace {

using nlohmann::json;

std::string eval_cmd(const std::string& args) {
  return std::string(RTML_BINARY) + " eval --quiet " + args;
}

// A 10 MB header, a 10 MB value: an error or a skipped line quotes a couple of hundred
// bytes of it, never all of it.
TEST(EvalLimits, ErrorMessagesQuoteAtMostAFewHundredBytesOfTheInput) {
  test::TempDir dir;
  const std::string huge(10 << 20, 'h');
  std::string header = "x," + huge + ",y\n";
  std::string rows;
  for (int i = 0; i < 5; ++i) rows += std::to_string(i) + ",a" + std::to_string(i) + ",p\n";
  auto wide = dir.write("wide.csv", header + rows);
  struct Case {
    std::string args, words;
  } cases[] = {
      // The header, listed as the columns there are.
      {"--data " + wide + " --target nope --model gaussian_nb", "no column named 'nope'"},
      // A categorical column named by a 10 MB header field.
      {"--data " + wide + " --target y --model logistic_regression", "is categorical"},
      // A 10 MB value where a number was expected.
      {"--data " + dir.write("value.csv", "x,y\n1,p\n" + huge + ",q\n2,q\n") +
           " --target y --numeric x --model gaussian_nb",
       "expected a number, got 'hhhh"},
      // A 10 MB third class for a binary classifier.
      {"--data " + dir.write("third.csv", "x,y\n1,p\n2,q\n3," + huge + "\n") +
           " --target y --model logistic_regression",
       "beyond its two classes 'p' and 'q'"},
      // A 10 MB key in JSON Lines.
      {"--data " +
           dir.write("key.jsonl", "{\"y\": \"p\", \"x\": 1}\n{\"" + huge +
                                      "\": [1], \"y\": \"q\"}\n{\"y\": \"q\", \"x\": 2}\n") +
           " --target y --model gaussian_nb",
       "nested objects and arrays are not supported"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.words);
    auto r = test::run(eval_cmd(c.args));
    EXPECT_NE(r.out.find(c.words), std::string::npos) << r.out.substr(0, 1000);
    EXPECT_LT(r.out.size(), 2000u) << r.out.substr(0, 1000);
  }
}

json last_json(const test::CommandResult& r) {
  std::string line = test::last_line(r.out);
  if (line.empty() || line[0] != '{') return json();
  return json::parse(line);
}

// A delay longer than the stream holds the stream, not the delay: --delay 20,000,000 on
// Elec2 (45,312 events) used to allocate 20 million slots up front (1.3 GB; 100 million
// took 6.1 GB). Every label then arrives after the end, as with a delay of exactly the
// stream's length, so the two runs agree to the last digit. The window likewise.
TEST(EvalLimits, DelayAndWindowCostWhatIsHeldNotWhatIsAsked) {
  test::TempDir tmp;
  std::string base = "--json --data " + test::synthetic_csv(tmp.file("d.csv"), 45312) +
                     " --target class --drop colour --model 'standard_scaler | "
                     "logistic_regression' ";
  auto huge = test::run(eval_cmd(base + "--delay 20000000 --window 20000000"));
  ASSERT_EQ(huge.exit_code, 0) << huge.out.substr(0, 1000);
  auto exact = test::run(eval_cmd(base + "--delay 45312 --window 45312"));
  ASSERT_EQ(exact.exit_code, 0) << exact.out.substr(0, 1000);
  json h = last_json(huge), e = last_json(exact);
  EXPECT_EQ(h["metrics"], e["metrics"]);
  EXPECT_EQ(h["rolling_metrics"], e["rolling_metrics"]);
  EXPECT_EQ(h["metrics"], h["rolling_metrics"]);  // the window holds the whole stream
  // 20 million slots up front took 1.3 GB; the stream's 45,312 waiting events take a few
  // MB (AddressSanitizer's redzones and quarantine add to every one of them).
#ifdef __SANITIZE_ADDRESS__
  EXPECT_LT(h["peak_rss_mb"].get<double>(), 250.0);
#else
  EXPECT_LT(h["peak_rss_mb"].get<double>(), 100.0);
#endif
}

TEST(EvalLimits, DelayAndWindowOutOfRangeSayTheRange) {
  test::TempDir tmp;
  std::string base = "--data " + test::synthetic_csv(tmp.file("d.csv"), 100) +
                     " --target class --model 'one_hot | gaussian_nb' ";
  for (std::string arg : {"--delay 1000000001", "--delay -1", "--delay 18446744073709551616",
                          "--delay 1e9", "--window 4000000000", "--window -5", "--window x"}) {
    SCOPED_TRACE(arg);
    auto r = test::run(eval_cmd(base + arg));
    EXPECT_EQ(r.exit_code, 2) << r.out.substr(0, 1000);
    std::string option = arg.substr(0, arg.find(' '));
    EXPECT_NE(r.out.find(option + ": expected a whole number of events from 0 to 1000000000"),
              std::string::npos)
        << r.out.substr(0, 1000);
  }
}

// A run that evaluates nothing used to exit 0 with metrics of 0.0, which read like a
// result. It is an error that says why.
TEST(EvalLimits, EveryRowSkippedIsAnErrorThatSaysWhy) {
  test::TempDir dir;
  // A regression model on a text target.
  auto text = dir.write("text.csv", "x,y\n1,a\n2,b\n3,c\n");
  auto r = test::run(eval_cmd("--data " + text + " --target y --model linear_regression"));
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("no event evaluated: all 3 rows were skipped; the first, line 2: column "
                       "'y': expected a number, got 'a'"),
            std::string::npos)
      << r.out;
  // A binary classifier loaded for other data: classes 0 and 1, and this target says UP
  // or DOWN.
  ASSERT_EQ(test::run(eval_cmd("--data 'synth:sea?n=500' --target class --model "
                               "logistic_regression --save " +
                               dir.file("sea.rtml")))
                .exit_code,
            0);
  auto other = dir.write("other.csv", "x1,x2,x3,class\n1,2,3,UP\n4,5,6,DOWN\n");
  r = test::run(eval_cmd("--data " + other + " --target class --load " + dir.file("sea.rtml")));
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("no event evaluated: all 2 rows were skipped; the first, line 2: target "
                       "'class' has the value 'UP' beyond its two classes '0' and '1'"),
            std::string::npos)
      << r.out;
  // Nothing at all.
  r = test::run(
      eval_cmd("--data " + dir.write("empty.csv", "x,y\n") + " --target y --model gaussian_nb"));
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("empty.csv: no rows to evaluate"), std::string::npos) << r.out;
}

// --save to a path that cannot be written fails before the run (no prediction is written
// to --output), not after a run whose model is then lost.
TEST(EvalLimits, SaveToAPathThatCannotBeWrittenFailsBeforeTheRun) {
  test::TempDir dir;
  std::string data = test::synthetic_csv(dir.file("d.csv"), 100);
  std::filesystem::create_directory(dir.file("folder"));
  struct Case {
    std::string save, words;
  } cases[] = {{dir.file("missing/model.rtml"), "model.rtml: cannot create: No such file"},
               {dir.file("folder"), "folder: cannot write: it is a folder"}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.save);
    std::string out = dir.file("predictions.txt");
    auto r = test::run(eval_cmd("--data " + data +
                                " --target class --model 'one_hot | gaussian_nb' --output " + out +
                                " --save " + c.save));
    EXPECT_EQ(r.exit_code, 2) << r.out;
    EXPECT_NE(r.out.find(c.words), std::string::npos) << r.out;
    std::error_code ec;
    EXPECT_FALSE(std::filesystem::exists(out)) << "the run went ahead";
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.file("folder")));
}

// A column of ids that never repeat, 1.2 million of them. Every category used to be kept
// as text before it was hashed or encoded: feature_hasher(bits=18) grew 45 MB/s, one_hot
// for ever, and a Hoeffding tree with max_size=100 reached 270 MB. Now a hashed space
// costs its 2^bits, and one_hot and the trees keep at most 100,000 categories a column.
TEST(EvalLimits, NeverRepeatingIdsKeepMemoryBounded) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "peak memory means nothing under AddressSanitizer";
#endif
  test::TempDir dir;
  std::string csv = "x,id,y\n";
  csv.reserve(size_t{30} << 20);
  for (uint64_t i = 0; i < 1200000; ++i) {
    uint64_t h = (i * 0x9E3779B97F4A7C15ull) >> 40;
    csv += std::to_string(h % 100) + ",u" + std::to_string(i * 7919 + 13) + "," +
           (h % 100 + (h >> 7) % 30 > 60 ? "1" : "0") + "\n";
  }
  auto path = dir.write("ids.csv", csv);
  csv = std::string();
  for (std::string model : {"feature_hasher(bits=18) | logistic_regression",
                            "one_hot | logistic_regression", "hoeffding_tree(max_size=100)"}) {
    SCOPED_TRACE(model);
    auto r = test::run(
        eval_cmd("--json --data " + path + " --target y --categorical id --model '" + model + "'"));
    ASSERT_EQ(r.exit_code, 0) << r.out.substr(0, 1000);
    json j = last_json(r);
    EXPECT_EQ(j["events"], 1200000);
    EXPECT_LT(j["peak_rss_mb"].get<double>(), 64.0) << test::last_line(r.out);
    // Hashed: nothing left out; the others keep the first 100,000 ids.
    EXPECT_EQ(j["dropped_categories"], model[0] == 'f' ? 0 : 1100000) << test::last_line(r.out);
  }
}

}  // namespace
}  // namespace rtml

namespace rtml {
namespace {

// Finite inputs that overflow a linear model make it predict NaN: the run goes on and
// reports its metrics (a NaN cast to an AUC bin read outside the bins: exit 139).
TEST(EvalLimits, AModelThatPredictsNaNDoesNotStopTheRun) {
  test::TempDir dir;
  auto data = dir.write("nan.csv", "x1,x2,y\n1e308,0,1\n0,-1e308,1\n1e308,1e308,0\n1,1,0\n1,2,1\n");
  auto r = test::run(eval_cmd("--json --data " + data + " --target y --model logistic_regression"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = json::parse(r.out.substr(r.out.rfind("{\"model\"")));
  EXPECT_EQ(j["events"], 5);
  EXPECT_TRUE(j["metrics"]["roc_auc"].is_number()) << r.out;
  EXPECT_TRUE(j["metrics"]["logloss"].is_number()) << r.out;
}

// Optimizer settings that make every weight NaN are refused, naming the parameter.
TEST(EvalLimits, OptimizerSettingsOutOfRangeAreRefused) {
  test::TempDir dir;
  auto data = dir.write("d.csv", "x,y\n1,0\n2,1\n");
  for (auto [model, words] :
       {std::pair{"logistic_regression(optimizer=adam, beta2=1.5)",
                  "beta1 and beta2 must be in [0, 1)"},
        {"logistic_regression(optimizer=adam, beta1=-0.1)", "beta1 and beta2 must be in [0, 1)"},
        {"logistic_regression(optimizer=adagrad, eps=-1)", "eps must be > 0"},
        {"logistic_regression(optimizer=ftrl, ftrl_beta=-1)", "ftrl_beta must be >= 0"}}) {
    auto r = test::run(eval_cmd("--data " + data + " --target y --model '" + model + "'"));
    EXPECT_NE(r.exit_code, 0) << model;
    EXPECT_NE(r.out.find(words), std::string::npos) << model << ": " << r.out;
  }
}

// --strict stops at the first bad line after evaluating the rows before it, on one
// thread or two (two used to drop the batch being filled).
TEST(EvalLimits, StrictEvaluatesTheRowsBeforeTheBadLineOnEitherThreading) {
  test::TempDir dir;
  std::string rows = "x,y\n";
  for (int i = 0; i < 5; ++i) rows += std::to_string(i) + "," + std::to_string(i % 2) + "\n";
  auto data = dir.write("bad.csv", rows + "1,2,3\n7,1\n");
  for (const char* threads : {"1", "2"}) {
    SCOPED_TRACE(threads);
    std::string out = dir.file(std::string("out") + threads);
    auto r = test::run(eval_cmd("--strict --threads " + std::string(threads) + " --data " + data +
                                " --target y --model logistic_regression --output " + out));
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.out.find("bad.csv:7: expected 2 fields"), std::string::npos) << r.out;
    std::ifstream f(out);
    std::string all((std::istreambuf_iterator<char>(f)), {});
    EXPECT_EQ(std::count(all.begin(), all.end(), '\n'), 5) << all;
  }
}

// A header of 100,000 columns is read at once and a duplicate name at its end found.
TEST(EvalLimits, AWideHeaderIsCheckedForDuplicatesAtOnce) {
  test::TempDir dir;
  std::string header;
  for (int i = 0; i < 100000; ++i) header += "c" + std::to_string(i) + ",";
  auto data = dir.write("wide.csv", header + "y,c5\n");
  auto r = test::run(eval_cmd("--data " + data + " --target y --model logistic_regression"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("duplicate column name 'c5'"), std::string::npos) << r.out.substr(0, 300);
}

}  // namespace
}  // namespace rtml
