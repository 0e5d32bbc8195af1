// Loading: YAML files -> Topology + SourceMap, then validation.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "model/topology.hpp"

namespace netlab::model {

struct Loaded {
    Topology topology;
    SourceMap sources;
    std::vector<std::string> files;  // the files read, in merge order
    Diagnostics diagnostics;         // errors and warnings, loading and validation
    bool ok() const { return !has_errors(diagnostics); }
};

// Parse one document. `file` names it in diagnostics.
Loaded load_string(std::string_view yaml, const std::string& file);

// `path` is a directory (reads DIR/topology.yaml, then DIR/topology.d/*.yaml in
// name order, and merges them) or a single file. Validation runs too: the
// result's diagnostics hold everything found, loading and validation alike.
Loaded load_config(const std::filesystem::path& path);

// Semantic checks on a merged topology; appends to `out`.
void validate(const Topology& topo, const SourceMap& sources, Diagnostics& out);

}  // namespace netlab::model
