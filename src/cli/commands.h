// The subcommands of the rtml command line.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace rtml::cli {

// Each adds its subcommand to app and returns the action to run when it is chosen;
// the action returns the process exit code.
std::function<int()> add_eval_command(CLI::App& app);
std::function<int()> add_bench_command(CLI::App& app);
std::function<int()> add_drift_command(CLI::App& app);
std::function<int()> add_models_command(CLI::App& app);
std::function<int()> add_store_command(CLI::App& app);
std::function<int()> add_run_command(CLI::App& app);
std::function<int()> add_demo_command(CLI::App& app);
std::function<int()> add_serve_command(CLI::App& app);

}  // namespace rtml::cli
