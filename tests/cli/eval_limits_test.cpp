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
       "more than two values"},
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

}  // namespace
}  // namespace rtml
