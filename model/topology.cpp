// The topology's small vocabulary: enum names, target and location text,
// source positions and diagnostics (topology.hpp).
#include "model/topology.hpp"

#include <algorithm>

namespace netlab::model {

const char* to_string(MacvlanMode m) {
    switch (m) {
        case MacvlanMode::Bridge: return "bridge";
        case MacvlanMode::Private: return "private";
        case MacvlanMode::Vepa: return "vepa";
        case MacvlanMode::Passthru: return "passthru";
    }
    return "?";
}

bool valid_docker_network_name(std::string_view s) {
    auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
    if (s.empty() || s.size() > 255 || !alnum(s.front())) return false;
    for (char c : s)
        if (!alnum(c) && c != '_' && c != '.' && c != '-') return false;
    return true;
}

std::optional<MacvlanMode> parse_macvlan_mode(std::string_view s) {
    if (s == "bridge") return MacvlanMode::Bridge;
    if (s == "private") return MacvlanMode::Private;
    if (s == "vepa") return MacvlanMode::Vepa;
    if (s == "passthru") return MacvlanMode::Passthru;
    return std::nullopt;
}

const char* to_string(InterfaceKind k) {
    switch (k) {
        case InterfaceKind::Adopted: return "adopted";
        case InterfaceKind::Bridge: return "bridge";
        case InterfaceKind::Macvlan: return "macvlan";
    }
    return "?";
}

std::optional<NetnsTarget> NetnsTarget::parse(std::string_view text) {
    auto colon = text.find(':');
    if (colon == std::string_view::npos || colon + 1 >= text.size()) return std::nullopt;
    auto kind = text.substr(0, colon);
    NetnsTarget t;
    t.value = std::string(text.substr(colon + 1));
    if (kind == "docker") t.kind = Kind::Docker;
    else if (kind == "netns") t.kind = Kind::Netns;
    else if (kind == "pid") {
        t.kind = Kind::Pid;
        if (!std::all_of(t.value.begin(), t.value.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
            t.value.size() > 10)
            return std::nullopt;
    } else if (kind == "path") {
        t.kind = Kind::Path;
        if (t.value.front() != '/') return std::nullopt;
    } else
        return std::nullopt;
    return t;
}

std::string NetnsTarget::str() const {
    switch (kind) {
        case Kind::Docker: return "docker:" + value;
        case Kind::Netns: return "netns:" + value;
        case Kind::Pid: return "pid:" + value;
        case Kind::Path: return "path:" + value;
    }
    return value;
}

std::string Location::str() const {
    std::string s = file.empty() ? std::string("<input>") : file;
    if (line > 0) s += ":" + std::to_string(line) + ":" + std::to_string(col);
    return s;
}

Location SourceMap::at(const std::string& path) const {
    std::string p = path;
    while (true) {
        if (auto it = locs_.find(p); it != locs_.end()) return it->second;
        auto cut = p.find_last_of(".[");
        if (cut == std::string::npos || cut == 0) break;
        p.resize(cut);
    }
    if (auto it = locs_.find(""); it != locs_.end()) return it->second;
    return {};
}

void SourceMap::merge(const SourceMap& other) {
    for (const auto& [k, v] : other.locs_) locs_.emplace(k, v);
}

std::string Diagnostic::str() const {
    std::string s = where.str() + (severity == Severity::Error ? ": error: " : ": warning: ") + message;
    if (!hint.empty()) s += " (hint: " + hint + ")";
    return s;
}

bool has_errors(const Diagnostics& d) {
    return std::any_of(d.begin(), d.end(), [](const Diagnostic& x) { return x.severity == Severity::Error; });
}

}  // namespace netlab::model
