// The YAML reader: one file's text -> Topology + SourceMap + diagnostics.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "model/load.hpp"

namespace netlab::model {

// Parses one file's text into `out` (its topology starts empty), after the
// input guards admit it. Route paths start at `routeBase` so merged files keep
// distinct "routes[N]" paths. An empty drop-in is a warning, an empty main
// file an error.
void read_document(std::string_view text, const std::string& file, std::size_t routeBase, Loaded& out, bool dropIn);

}  // namespace netlab::model
