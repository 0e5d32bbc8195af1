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
    // A directory holding neither topology.yaml nor topology.d/*.yaml, read
    // with EmptyDir::NoTopology: valid, and nothing is to be managed.
    bool no_topology = false;
    bool ok() const { return !has_errors(diagnostics); }
};

// What a directory with no topology file means. netlabd reads its config
// directory with NoTopology (a fresh install starts and manages nothing);
// netlabctl check/plan/apply keep Error: they were asked about a topology.
enum class EmptyDir { Error, NoTopology };

// A configuration directory's files: DIR/topology.yaml, then the drop-ins of
// DIR/topology.d/, whose names end in .yaml or .yml and are not hidden. The
// loader reads exactly these and netlabd's watch reacts to exactly these.
inline constexpr const char* kMainFile = "topology.yaml";
inline constexpr const char* kDropinDir = "topology.d";
bool is_dropin_name(std::string_view name);

// Parse one document. `file` names it in diagnostics.
Loaded load_string(std::string_view yaml, const std::string& file);

// One file's text, as load_config has read it.
struct Document {
    std::string file;
    std::string text;
    bool drop_in = false;
};

// Parses, merges (in the order given) and validates documents already read:
// load_config without the file system, for tests and the fuzzer.
Loaded load_documents(const std::vector<Document>& docs);

// `path` is a directory (reads DIR/topology.yaml, then its drop-ins in
// name order, and merges them) or a single file. Validation runs too: the
// result's diagnostics hold everything found, loading and validation alike.
Loaded load_config(const std::filesystem::path& path, EmptyDir empty = EmptyDir::Error);

// Semantic checks on a merged topology; appends to `out`.
void validate(const Topology& topo, const SourceMap& sources, Diagnostics& out);

}  // namespace netlab::model
