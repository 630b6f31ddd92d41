// Facts about the running process that the CLI reports.
#pragma once

#include <string>

namespace rtml::cli {

// Peak resident set size of this process so far, in MiB.
double peak_rss_mb();
// True when standard error is a terminal (progress lines are shown only then).
bool stderr_is_terminal();
// The data-set folder: $RTML_DATA, else the first "shared/datasets" found walking up
// from the working directory and then from the executable's folder; empty if none.
std::string find_data_dir();

}  // namespace rtml::cli
