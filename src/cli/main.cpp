// rtml: the command line of the real-time machine learning engine.
#include <cstdio>
#include <utility>
#include <vector>

#include "commands.h"
#include "rtml/core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"rtml: real-time machine learning: models that predict and learn on every event"};
  app.require_subcommand(1);
  // One command a line.
  // clang-format off
  std::vector<std::pair<std::string, std::function<int()>>> actions = {
      {"eval", rtml::cli::add_eval_command(app)},
      {"bench", rtml::cli::add_bench_command(app)},
      {"drift", rtml::cli::add_drift_command(app)},
      {"models", rtml::cli::add_models_command(app)},
      {"store", rtml::cli::add_store_command(app)},
      {"run", rtml::cli::add_run_command(app)},
      {"demo", rtml::cli::add_demo_command(app)},
      {"serve", rtml::cli::add_serve_command(app)},
  };
  // clang-format on
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (auto& [name, action] : actions) {
      if (app.got_subcommand(name)) return action();
    }
  } catch (const rtml::Error& e) {
    std::fprintf(stderr, "rtml: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rtml: error: %s\n", e.what());
    return 2;
  }
  return 0;
}
