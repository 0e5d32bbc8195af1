// The merge of one file's topology into the topology read so far.
#pragma once

#include <string>

#include "model/load.hpp"

namespace netlab::model {

// Moves what `one` (read from `file`) holds into `out`: its diagnostics, its
// objects (an object defined in both is an error and keeps the first), its
// routes (appended), drift, commit_confirmed and probes (an error where
// they disagree) and the source locations of what was taken.
void merge_file(Loaded& out, Loaded& one, const std::string& file);

}  // namespace netlab::model
