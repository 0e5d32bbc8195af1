// The walk over one YAML document: locations (file:line:col) recorded per
// path, the diagnostics cap, the node budget, and typed reads of values
// (scalars, booleans, numbers, addresses, prefixes, MACs, lists, maps whose
// unknown keys get a did-you-mean). The topology's sections (reader.cpp)
// are written in these terms.
//
// Alias bombs cannot blow up the parse (yaml-cpp shares aliased nodes), but
// walking them could, so the walk counts every node it visits against a
// budget.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/load.hpp"

namespace netlab::model {

// `s` in single quotes for a message, control characters masked, cut at 80.
std::string quote(std::string_view s);

class YamlWalk {
public:
    YamlWalk(const std::string& file, Loaded& out) : file_(file), out_(out) {}

protected:
    using Handler = std::function<void(const std::string& key, const YAML::Node& value, const std::string& path)>;

    Location loc(const YAML::Node& n) const {
        auto m = n.Mark();
        if (m.line < 0) return {file_, 0, 0};
        return {file_, m.line + 1, m.column + 1};
    }
    void diag(Severity sev, const Location& at, std::string msg, std::string hint);
    void error(const Location& at, std::string msg, std::string hint = {}) {
        diag(Severity::Error, at, std::move(msg), std::move(hint));
    }
    void warn(const Location& at, std::string msg, std::string hint = {}) {
        diag(Severity::Warning, at, std::move(msg), std::move(hint));
    }
    // Counts a visited node; false once the budget is spent (alias bombs).
    bool tick(const YAML::Node& n);
    void record(const std::string& path, const Location& l) { out_.sources.set(path, l); }

    static std::string kind_of(const YAML::Node& n);

    bool expect_map(const YAML::Node& n, const Location& at, const std::string& what, bool nullOk);

    // Walks a map's keys: duplicates and unknown keys are reported here; each
    // known key goes to `on`, with its path already recorded.
    // `elsewhere` explains keys that are valid only in another context.
    void fields(const YAML::Node& map, const std::string& path, const std::vector<std::string>& allowed,
                const Handler& on, const std::map<std::string, std::string>& elsewhere = {});

    // A named entry's map: `NAME: {..}` or `NAME:` (empty).
    template <class F>
    void named_entries(const YAML::Node& map, const std::string& path, const std::string& what, F&& each) {
        std::map<std::string, Location> seen;
        for (auto it = map.begin(); it != map.end(); ++it) {
            const YAML::Node k = it->first;  // a copy: `it->` hands out a temporary proxy
            if (!tick(k)) return;
            if (!k.IsScalar() || k.Scalar().empty()) {
                error(loc(k), what + " name must be a non-empty plain word, not " + kind_of(k));
                continue;
            }
            std::string name = k.Scalar();
            Location kl = loc(k);
            if (auto [pos, fresh] = seen.emplace(name, kl); !fresh) {
                error(kl, what + " " + quote(name) + " is defined twice in this file (first at " + pos->second.str() + ")",
                      "merge the two definitions into one");
                continue;
            }
            std::string child = path + "." + name;
            record(child, kl);
            const YAML::Node v = it->second;
            each(name, v, child, kl);
        }
    }

    std::optional<std::string> scalar(const YAML::Node& n, const Location& at, const std::string& what);
    std::optional<bool> boolean(const YAML::Node& n, const Location& at, const std::string& what);
    std::optional<std::uint32_t> number(const YAML::Node& n, const Location& at, const std::string& what,
                                        std::uint64_t lo, std::uint64_t hi);
    std::optional<std::string> word(const YAML::Node& n, const Location& at, const std::string& what);
    std::optional<IpAddress> ip(const YAML::Node& n, const Location& at, const std::string& what);
    std::optional<Prefix> prefix_text(const std::string& s, const Location& at, const std::string& what, bool allowBare);
    std::optional<Prefix> prefix(const YAML::Node& n, const Location& at, const std::string& what, bool allowBare);
    // A CIDR whose host bits must be zero (a subnet or a route destination).
    std::optional<Prefix> network_prefix(const YAML::Node& n, const Location& at, const std::string& what);
    std::optional<MacAddress> mac(const std::string& s, const Location& at, const std::string& what);

    // A scalar or a list of scalars, each parsed by `one`; paths PATH[i].
    template <class T, class F>
    std::vector<T> scalar_or_list(const YAML::Node& n, const Location& at, const std::string& path, F&& one) {
        std::vector<T> out;
        if (n.IsScalar()) {
            record(path + "[0]", at);
            if (auto v = one(n, at)) out.push_back(*v);
            return out;
        }
        list(n, at, path, [&](const YAML::Node& e, const Location& el, const std::string&) {
            if (auto v = one(e, el)) out.push_back(*v);
        });
        return out;
    }
    // Entries get paths PATH[base + i].
    template <class F>
    void list(const YAML::Node& n, const Location& at, const std::string& path, F&& each, std::size_t base = 0) {
        if (n.IsNull()) return;
        if (!n.IsSequence()) {
            error(at, path.substr(path.find_last_of('.') + 1) + " must be a list, not " + kind_of(n),
                  n.IsScalar() ? "write [" + n.Scalar() + "] or one '- ' line per entry" : "");
            return;
        }
        std::size_t i = 0;
        for (const auto& e : n) {
            if (!tick(e)) return;
            std::string p = path + "[" + std::to_string(base + i++) + "]";
            Location el = e.IsNull() ? at : loc(e);
            record(p, el);
            each(e, el, p);
        }
    }

    std::string file_;
    Loaded& out_;
    std::size_t visited_ = 0;
    std::size_t count_ = 0;
    bool stopped_ = false;
};

}  // namespace netlab::model
