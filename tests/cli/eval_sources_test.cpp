// One rule for every source: a file, a gzip file, standard input, a FIFO and a pipe
// give rtml eval the same classes, so the same metrics, and each is read once.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "../test_util.h"

namespace rtml {
namespace {

using nlohmann::json;

// s as one shell word.
std::string q(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Runs `rtml eval --json <args>` with its input given by `data` (a shell word after
// --data, with any redirection after it), under bash, with a time limit: reading a FIFO
// twice used to hang.
json eval_via(const std::string& data, const std::string& args, const std::string& before = "") {
  std::string script = before + "timeout 60 " + std::string(RTML_BINARY) +
                       " eval --json --quiet --data " + data + " " + args;
  auto r = test::run("bash -c " + q(script));
  EXPECT_EQ(r.exit_code, 0) << script << "\n" << r.out.substr(0, 2000);
  std::string line = test::last_line(r.out);
  return line.empty() || line[0] != '{' ? json() : json::parse(line);
}

// Elec2's first class is UP, the greater value: by order of appearance standard input
// took UP as the negative class (F1 0.852 against 0.777), and the trees switched to
// multiclass metrics there; a FIFO lost its header to a first reading.
TEST(EvalSources, EverySourceGivesTheSameMetrics) {
  test::TempDir dir;
  std::string plain = test::synthetic_csv(dir.file("data.csv"), 45312);
  std::string gz = dir.file("data.csv.gz");
  ASSERT_EQ(test::run("gzip -c " + q(plain) + " > " + q(gz)).exit_code, 0);
  std::string fifo = dir.file("fifo");
  for (std::string model : {"one_hot | standard_scaler | logistic_regression", "hoeffding_tree"}) {
    SCOPED_TRACE(model);
    std::string args = "--target class --model " + q(model);
    json file = eval_via(q(gz), args);
    ASSERT_TRUE(file.contains("metrics"));
    EXPECT_EQ(file["events"], 45312);
    for (const char* m : {"accuracy", "f1", "logloss", "roc_auc"}) {
      EXPECT_TRUE(file["metrics"].contains(m)) << m;
    }
    struct Source {
      const char* what;
      std::string data, before;
    } sources[] = {
        {"plain file", q(plain), ""},
        {"stdin from a file", "- < " + q(plain), ""},
        {"stdin from a pipe", "-", "zcat " + q(gz) + " | "},
        {"gzip on stdin", "- < " + q(gz), ""},
        {"FIFO", q(fifo),
         "rm -f " + q(fifo) + "; mkfifo " + q(fifo) + "; (zcat " + q(gz) + " > " + q(fifo) +
             " &); "},
        {"process substitution", "<(zcat " + q(gz) + ")", ""},
    };
    for (const auto& s : sources) {
      SCOPED_TRACE(s.what);
      json j = eval_via(s.data, args, s.before);
      EXPECT_EQ(j["events"], 45312);
      EXPECT_EQ(j["metrics"], file["metrics"]);
    }
  }
}

// The positive class is the greater value (numerically when both are numbers) wherever
// it first appears, as long as it does within the rows read ahead: the same through
// standard input as from the file, and the same as naming it with --positive.
TEST(EvalSources, ThePositiveClassIsTheGreaterValueWhicheverComesFirst) {
  test::TempDir dir;
  struct Case {
    const char *first, *second;  // the value of the first row, and the other one
    int second_from;             // the row where the other one first appears
    const char* positive;        // the greater of the two
  } cases[] = {{"10", "9", 1, "10"},
               {"9", "10", 3000, "10"},
               {"false", "true", 1, "true"},
               {"DOWN", "UP", 9000, "UP"}};
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.first) + " then " + c.second);
    std::string csv = "x,y\n";
    for (int i = 0; i < 12000; ++i) {
      bool second = i >= c.second_from && (i * 7919) % 5 < 2;
      csv += std::to_string((i * 31) % 17) + "," + (second ? c.second : c.first) + "\n";
    }
    auto path = dir.write("y.csv", csv);
    std::string args = "--target y --model gaussian_nb";
    json file = eval_via(q(path), args);
    json in = eval_via("- < " + q(path), args);
    json named = eval_via(q(path), args + " --positive " + c.positive);
    EXPECT_EQ(file["metrics"], in["metrics"]);
    EXPECT_EQ(file["metrics"], named["metrics"]);
    EXPECT_TRUE(file["metrics"].contains("f1"));
  }
}

}  // namespace
}  // namespace rtml
