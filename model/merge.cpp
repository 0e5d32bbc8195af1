// The merge of topology.yaml with its drop-ins: a drop-in may add objects but
// not redefine one another file defined, and a setting given in two files
// must agree. Source locations follow the objects they were read with.
#include "model/merge.hpp"

#include <set>

namespace netlab::model {

namespace {

template <class M>
void merge_map(M& into, M& from, const std::string& section, const char* what, const SourceMap& intoSrc,
               const SourceMap& fromSrc, std::set<std::string>& skip, Diagnostics& diags) {
    for (auto& [name, value] : from) {
        std::string path = section + "." + name;
        if (into.count(name)) {
            diags.push_back({Severity::Error, fromSrc.at(path),
                             std::string(what) + " '" + name + "' is defined in two files: here and at " +
                                 intoSrc.at(path).str(),
                             "define it once; a drop-in may add new objects but not redefine them"});
            skip.insert(path);
            continue;
        }
        into.emplace(name, std::move(value));
    }
}

bool under(const std::string& path, const std::set<std::string>& prefixes) {
    for (const auto& p : prefixes)
        if (path == p || (path.rfind(p, 0) == 0 && (path[p.size()] == '.' || path[p.size()] == '[')))
            return true;
    return false;
}

// A top-level setting may stand in several files if they agree.
template <class T>
void merge_setting(Loaded& out, const Loaded& one, const std::string& key, T Topology::*field) {
    if (!one.sources.has(key)) return;
    if (out.sources.has(key) && out.topology.*field != one.topology.*field)
        out.diagnostics.push_back({Severity::Error, one.sources.at(key),
                                   key + " is set differently in two files: here and at " + out.sources.at(key).str(),
                                   "set `" + key + ":` in one file only"});
    else
        out.topology.*field = one.topology.*field;
}

}  // namespace

void merge_file(Loaded& out, Loaded& one, const std::string& file) {
    out.diagnostics.insert(out.diagnostics.end(), one.diagnostics.begin(), one.diagnostics.end());
    std::set<std::string> skip;
    Topology& t = out.topology;
    merge_map(t.interfaces, one.topology.interfaces, "interfaces", "interface", out.sources, one.sources, skip,
              out.diagnostics);
    merge_map(t.networks, one.topology.networks, "networks", "network", out.sources, one.sources, skip,
              out.diagnostics);
    merge_map(t.containers, one.topology.containers, "containers", "container", out.sources, one.sources, skip,
              out.diagnostics);
    for (auto& r : one.topology.routes) t.routes.push_back(std::move(r));
    merge_setting(out, one, "drift", &Topology::drift);
    merge_setting(out, one, "commit_confirmed", &Topology::commit_confirmed);
    merge_setting(out, one, "commit_confirmed", &Topology::confirm);
    merge_setting(out, one, "probes", &Topology::probes);
    merge_setting(out, one, "announce", &Topology::announce);
    for (const auto& [k, loc] : one.sources.all())
        if (!k.empty() && !under(k, skip) && !out.sources.has(k)) out.sources.set(k, loc);
    if (!out.sources.has("")) out.sources.set("", Location{file, 0, 0});
}

}  // namespace netlab::model
