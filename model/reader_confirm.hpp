// The reader of `commit_confirmed:` and `probes:` (model/probe.hpp): how a
// pending change is decided. Shape only, like model/reader.cpp, which hands
// these two keys over.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "model/yaml_walk.hpp"

namespace netlab::model {

class ConfirmReader : public YamlWalk {
public:
    using YamlWalk::YamlWalk;
    // `commit_confirmed: 60s`, or a map with the deadline and how probes decide.
    void commit_confirmed(const YAML::Node& n, const Location& at, const std::string& path);
    // `probes:`, a list of targets.
    void probes(const YAML::Node& n, const Location& at, const std::string& path);

private:
    std::optional<std::chrono::seconds> duration(const YAML::Node& n, const Location& at, const std::string& what,
                                                 const std::string& hint);
    void probe(const YAML::Node& n, const Location& at, const std::string& path);
};

}  // namespace netlab::model
