// YAML -> Topology + SourceMap, and the merge of topology.yaml with its
// drop-ins. Validation of meaning lives in validate.cpp; here we only check
// shape: syntax, keys, types, and the syntax of each value.
//
// Hostile input is refused before yaml-cpp sees it where yaml-cpp itself
// would suffer: files over the size limit, bytes that are not UTF-8, and
// nesting deeper than any topology needs (yaml-cpp recurses per level). Alias
// bombs cannot blow up the parse (yaml-cpp shares aliased nodes), but walking
// them could, so the walk counts every node it visits against a budget.
#include "model/load.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <set>
#include <sstream>
#include <system_error>

#include "model/duration.hpp"
#include "model/load_detail.hpp"

namespace netlab::model {

namespace fs = std::filesystem;

namespace {

std::string quote(std::string_view s) {
    std::string out = "'";
    for (char c : s.substr(0, 80)) out += (static_cast<unsigned char>(c) < 0x20 ? '?' : c);
    if (s.size() > 80) out += "...";
    return out + "'";
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
        }
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

}  // namespace

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
    if (word.size() > 64) return {};
    std::string best;
    std::size_t bestDist = SIZE_MAX;
    for (const auto& c : candidates) {
        std::size_t d = edit_distance(word, c);
        if (d < bestDist) bestDist = d, best = c;
    }
    std::size_t allowed = std::max<std::size_t>(2, best.size() / 3);
    return bestDist <= allowed ? best : std::string();
}

// ---- pre-scan ----------------------------------------------------------------

namespace {

Location offset_location(std::string_view text, std::size_t offset, const std::string& file) {
    int line = 1, col = 1;
    for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        if (c == '\n') ++line, col = 1;
        else if ((c & 0xC0) != 0x80) ++col;  // count characters, not continuation bytes
    }
    return {file, line, col};
}

// Returns the offset of the first byte that is not well-formed UTF-8 (or a
// control character YAML forbids), or npos.
std::size_t first_bad_byte(std::string_view s, std::string* what) {
    std::size_t i = 0;
    if (s.substr(0, 3) == "\xEF\xBB\xBF") i = 3;  // BOM
    while (i < s.size()) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F) {
                char buf[64];
                std::snprintf(buf, sizeof buf, "control character 0x%02X", c);
                *what = buf;
                return i;
            }
            ++i;
            continue;
        }
        std::size_t n = 0;
        std::uint32_t cp = 0;
        if ((c & 0xE0) == 0xC0) n = 1, cp = c & 0x1F;
        else if ((c & 0xF0) == 0xE0) n = 2, cp = c & 0x0F;
        else if ((c & 0xF8) == 0xF0) n = 3, cp = c & 0x07;
        else {
            char buf[64];
            std::snprintf(buf, sizeof buf, "byte 0x%02X is not valid UTF-8", c);
            *what = buf;
            return i;
        }
        bool ok = i + n < s.size();
        for (std::size_t k = 1; ok && k <= n; ++k) {
            unsigned char cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xC0) != 0x80) ok = false;
            else cp = (cp << 6) | (cc & 0x3F);
        }
        static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
        if (ok && (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) ok = false;
        if (!ok) {
            char buf[64];
            std::snprintf(buf, sizeof buf, "byte 0x%02X is not valid UTF-8", c);
            *what = buf;
            return i;
        }
        i += n + 1;
    }
    return std::string_view::npos;
}

// The deepest nesting of the document, approximated from the text: flow
// brackets outside quotes and comments, plus block levels (one per distinct
// indentation on the stack, one per "- " that opens a compact sequence).
// Returns the offset where the limit is passed, or npos.
std::size_t too_deep(std::string_view s, int limit) {
    std::vector<std::size_t> indents;  // block indentation stack
    int flow = 0;
    std::size_t i = 0;
    while (i < s.size()) {
        std::size_t eol = s.find('\n', i);
        if (eol == std::string_view::npos) eol = s.size();
        std::string_view line = s.substr(i, eol - i);
        std::size_t ind = line.find_first_not_of(' ');
        bool blank = ind == std::string_view::npos || line[ind] == '#' || line[ind] == '\r';
        if (!blank && flow == 0) {
            while (!indents.empty() && indents.back() > ind) indents.pop_back();
            if (indents.empty() || indents.back() < ind) indents.push_back(ind);
            std::size_t k = ind;
            int dashes = 0;
            while (k + 1 < line.size() && (line[k] == '-' || line[k] == '?') && line[k + 1] == ' ') {
                ++dashes;
                k = line.find_first_not_of(' ', k + 1);
                if (k == std::string_view::npos) break;
            }
            if (static_cast<int>(indents.size()) + dashes > limit) return i + ind;
        }
        if (!blank) {
            char q = 0;
            for (std::size_t k = ind; k < line.size(); ++k) {
                char c = line[k];
                if (q) {
                    if (c == q) q = 0;
                    else if (c == '\\' && q == '"') ++k;
                    continue;
                }
                if (c == '#' && (k == 0 || line[k - 1] == ' ' || line[k - 1] == '\t')) break;
                if ((c == '"' || c == '\'') && (k == 0 || std::string_view(" \t[{,:-").find(line[k - 1]) != std::string_view::npos))
                    q = c;
                else if (c == '[' || c == '{') {
                    if (++flow + static_cast<int>(indents.size()) > limit) return i + k;
                } else if ((c == ']' || c == '}') && flow > 0)
                    --flow;
            }
        }
        i = eol + 1;
    }
    return std::string_view::npos;
}

// The 1-based line of the first line indented with a tab, or 0.
int first_tab_indent(std::string_view s) {
    int line = 1;
    bool atStart = true;
    for (char c : s) {
        if (c == '\n') ++line, atStart = true;
        else if (atStart && c == '\t') return line;
        else if (c != ' ') atStart = false;
    }
    return 0;
}

std::string mib(std::uintmax_t bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
    return buf;
}

// ---- the walk ----------------------------------------------------------------

class Reader {
public:
    Reader(const std::string& file, Loaded& out, std::size_t routeBase)
        : file_(file), out_(out), routeBase_(routeBase) {}

    void document(const YAML::Node& root);

private:
    using Handler = std::function<void(const std::string& key, const YAML::Node& value, const std::string& path)>;

    Location loc(const YAML::Node& n) const {
        auto m = n.Mark();
        if (m.line < 0) return {file_, 0, 0};
        return {file_, m.line + 1, m.column + 1};
    }
    void diag(Severity sev, const Location& at, std::string msg, std::string hint) {
        if (stopped_) return;
        if (++count_ > kMaxDiagnostics) {
            stopped_ = true;
            out_.diagnostics.push_back({Severity::Error, at, "too many problems; stopping here",
                                        "fix the ones above and run the check again"});
            return;
        }
        out_.diagnostics.push_back({sev, at, std::move(msg), std::move(hint)});
    }
    void error(const Location& at, std::string msg, std::string hint = {}) {
        diag(Severity::Error, at, std::move(msg), std::move(hint));
    }
    void warn(const Location& at, std::string msg, std::string hint = {}) {
        diag(Severity::Warning, at, std::move(msg), std::move(hint));
    }
    // Counts a visited node; false once the budget is spent (alias bombs).
    bool tick(const YAML::Node& n) {
        if (stopped_) return false;
        if (++visited_ > kMaxNodes) {
            error(loc(n), "the document expands to more than " + std::to_string(kMaxNodes) + " values",
                  "this looks like an alias bomb; write the topology without nested aliases");
            stopped_ = true;
            return false;
        }
        return true;
    }
    void record(const std::string& path, const Location& l) { out_.sources.set(path, l); }

    static std::string kind_of(const YAML::Node& n) {
        switch (n.Type()) {
            case YAML::NodeType::Map: return "a map";
            case YAML::NodeType::Sequence: return "a list";
            case YAML::NodeType::Scalar: return "the scalar " + quote(n.Scalar());
            case YAML::NodeType::Null: return "nothing";
            default: return "nothing";
        }
    }

    bool expect_map(const YAML::Node& n, const Location& at, const std::string& what, bool nullOk) {
        if (n.IsMap()) return true;
        if (n.IsNull() && nullOk) return false;
        error(at, what + " must be a map (key: value lines), not " + kind_of(n),
              n.IsSequence() ? "drop the leading '- ' of its entries" : "");
        return false;
    }

    // Walks a map's keys: duplicates and unknown keys are reported here; each
    // known key goes to `on`, with its path already recorded.
    // `elsewhere` explains keys that are valid only in another context.
    void fields(const YAML::Node& map, const std::string& path, const std::vector<std::string>& allowed,
                const Handler& on, const std::map<std::string, std::string>& elsewhere = {}) {
        std::map<std::string, Location> seen;
        for (auto it = map.begin(); it != map.end(); ++it) {
            // Copies: `it->` hands out a proxy that dies with the expression.
            const YAML::Node k = it->first;
            const YAML::Node v = it->second;
            if (!tick(k)) return;
            if (!k.IsScalar()) {
                error(loc(k), "a key must be a plain word, not " + kind_of(k));
                continue;
            }
            std::string key = k.Scalar();
            Location kl = loc(k);
            if (auto [pos, fresh] = seen.emplace(key, kl); !fresh) {
                error(kl, "key " + quote(key) + " is given twice in this map (first at " + pos->second.str() + ")",
                      "keep one; YAML would silently keep only the last");
                continue;
            }
            if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
                if (auto e = elsewhere.find(key); e != elsewhere.end()) {
                    error(kl, "key " + quote(key) + " " + e->second);
                    continue;
                }
                std::string msg = "unknown key " + quote(key);
                std::string near = did_you_mean(key, allowed);
                if (!near.empty()) msg += " (did you mean '" + near + "'?)";
                std::string hint = "allowed here: ";
                for (std::size_t i = 0; i < allowed.size(); ++i) hint += (i ? ", " : "") + allowed[i];
                error(kl, msg, hint);
                continue;
            }
            std::string child = path.empty() ? key : path + "." + key;
            record(child, v.IsNull() ? kl : loc(v));
            on(key, v, child);
        }
    }

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

    std::optional<std::string> scalar(const YAML::Node& n, const Location& at, const std::string& what) {
        if (n.IsScalar()) return n.Scalar();
        error(at, what + " must be a single value, not " + kind_of(n));
        return std::nullopt;
    }
    std::optional<bool> boolean(const YAML::Node& n, const Location& at, const std::string& what) {
        auto s = scalar(n, at, what);
        if (!s) return std::nullopt;
        static const std::set<std::string> yes{"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"};
        static const std::set<std::string> no{"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"};
        if (yes.count(*s)) return true;
        if (no.count(*s)) return false;
        error(at, what + " must be true or false, not " + quote(*s));
        return std::nullopt;
    }
    std::optional<std::uint32_t> number(const YAML::Node& n, const Location& at, const std::string& what,
                                        std::uint64_t lo, std::uint64_t hi) {
        auto s = scalar(n, at, what);
        if (!s) return std::nullopt;
        std::uint64_t v = 0;
        auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
        std::string range = "between " + std::to_string(lo) + " and " + std::to_string(hi);
        if (s->empty() || ec != std::errc{} || end != s->data() + s->size()) {
            error(at, what + " must be a number " + range + ", not " + quote(*s));
            return std::nullopt;
        }
        if (v < lo || v > hi) {
            error(at, what + " " + *s + " is out of range: it must be " + range);
            return std::nullopt;
        }
        return static_cast<std::uint32_t>(v);
    }
    std::optional<std::string> word(const YAML::Node& n, const Location& at, const std::string& what) {
        auto s = scalar(n, at, what);
        if (s && s->empty()) {
            error(at, what + " must not be empty");
            return std::nullopt;
        }
        return s;
    }
    std::optional<IpAddress> ip(const YAML::Node& n, const Location& at, const std::string& what) {
        auto s = scalar(n, at, what);
        if (!s) return std::nullopt;
        auto v = IpAddress::parse(*s);
        if (!v) {
            std::string hint = s->find('/') != std::string::npos ? "write the address without the /LEN"
                                                                 : "write an IPv4 address like 198.51.100.1 or an IPv6 one like 2001:db8::1";
            error(at, what + " " + quote(*s) + " is not an IP address", hint);
        }
        return v;
    }
    std::optional<Prefix> prefix_text(const std::string& s, const Location& at, const std::string& what, bool allowBare) {
        auto v = Prefix::parse(s, allowBare);
        if (v) return v;
        std::string hint = "write ADDRESS/LENGTH, e.g. 198.51.100.10/24 or 2001:db8::10/64";
        if (!allowBare && s.find('/') == std::string::npos && IpAddress::parse(s)) {
            error(at, what + " " + quote(s) + " has no prefix length", "add /LEN, e.g. " + s + "/24");
            return std::nullopt;
        }
        auto slash = s.find('/');
        if (slash != std::string::npos && IpAddress::parse(s.substr(0, slash)))
            error(at, what + " " + quote(s) + " has a bad prefix length", "IPv4 takes /0 to /32, IPv6 /0 to /128");
        else
            error(at, what + " " + quote(s) + " is not an address with a prefix length", hint);
        return std::nullopt;
    }
    std::optional<Prefix> prefix(const YAML::Node& n, const Location& at, const std::string& what, bool allowBare) {
        auto s = scalar(n, at, what);
        if (!s) return std::nullopt;
        return prefix_text(*s, at, what, allowBare);
    }
    // A CIDR whose host bits must be zero (a subnet or a route destination).
    std::optional<Prefix> network_prefix(const YAML::Node& n, const Location& at, const std::string& what) {
        auto p = prefix(n, at, what, false);
        if (p && p->network() != *p) {
            error(at, what + " " + quote(p->str()) + " has host bits set",
                  "did you mean " + p->network().str() + "?");
            return std::nullopt;
        }
        return p;
    }
    std::optional<MacAddress> mac(const std::string& s, const Location& at, const std::string& what) {
        auto m = MacAddress::parse(s);
        if (!m) error(at, what + " " + quote(s) + " is not a MAC address", "write six hex pairs, e.g. 02:42:c6:33:64:0b");
        return m;
    }
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

    void interface(const std::string& name, const YAML::Node& n, const std::string& path, const Location& kl);
    std::optional<Route> route(const YAML::Node& n, const Location& at, const std::string& path, bool inContainer);
    void network(const std::string& name, const YAML::Node& n, const std::string& path, const Location& kl);
    void container(const std::string& name, const YAML::Node& n, const std::string& path, const Location& kl);
    void container_interface(ContainerInterface& ci, const YAML::Node& n, const std::string& path, const Location& kl);

    std::string file_;
    Loaded& out_;
    std::size_t routeBase_;
    std::size_t visited_ = 0;
    std::size_t count_ = 0;
    bool stopped_ = false;
};

void Reader::document(const YAML::Node& root) {
    Location top{file_, 1, 1};
    if (!root.IsMap()) {
        error(loc(root).line ? loc(root) : top, "the topology must be a map with `version: 1` at the top, not " + kind_of(root),
              "start the file with `version: 1`");
        return;
    }
    bool sawVersion = false;
    Topology& t = out_.topology;
    fields(root, "", {"version", "interfaces", "routes", "networks", "containers", "drift", "commit_confirmed"},
           [&](const std::string& key, const YAML::Node& v, const std::string& path) {
               Location at = out_.sources.at(path);
               if (key == "version") {
                   sawVersion = true;
                   auto s = scalar(v, at, "version");
                   if (s && *s != "1")
                       error(at, "unsupported version " + quote(*s) + ": this netlab reads version 1",
                             "write `version: 1`");
               } else if (key == "interfaces") {
                   if (!expect_map(v, at, "interfaces", true)) return;
                   named_entries(v, path, "interface", [&](const std::string& name, const YAML::Node& e,
                                                           const std::string& p, const Location& kl) {
                       interface(name, e, p, kl);
                   });
               } else if (key == "routes") {
                   list(
                       v, at, path,
                       [&](const YAML::Node& e, const Location& el, const std::string& p) {
                           if (auto r = route(e, el, p, false)) t.routes.push_back(*r);
                           else t.routes.push_back(Route{});  // keeps indices aligned with the source paths
                       },
                       routeBase_);
               } else if (key == "networks") {
                   if (!expect_map(v, at, "networks", true)) return;
                   named_entries(v, path, "network", [&](const std::string& name, const YAML::Node& e,
                                                         const std::string& p, const Location& kl) {
                       network(name, e, p, kl);
                   });
               } else if (key == "containers") {
                   if (!expect_map(v, at, "containers", true)) return;
                   named_entries(v, path, "container", [&](const std::string& name, const YAML::Node& e,
                                                           const std::string& p, const Location& kl) {
                       container(name, e, p, kl);
                   });
               } else if (key == "drift") {
                   auto s = scalar(v, at, "drift");
                   if (!s) return;
                   if (*s == "repair") t.drift = DriftPolicy::Repair;
                   else if (*s == "report") t.drift = DriftPolicy::Report;
                   else error(at, "drift must be 'repair' or 'report', not " + quote(*s));
               } else if (key == "commit_confirmed") {
                   auto s = scalar(v, at, "commit_confirmed");
                   if (!s) return;
                   auto d = parse_duration(*s);
                   if (!d || d->count() < 1 || *d > kMaxConfirmDeadline)
                       error(at, "commit_confirmed must be a duration from 1s to 24h such as 60s, 5m or 1m30s, not " +
                                     quote(*s),
                             "the deadline netlabd waits for `netlabctl confirm` before it rolls a change back");
                   else
                       t.commit_confirmed = *d;
               }
           });
    if (!sawVersion && !stopped_)
        error(loc(root), "missing `version: 1`", "every topology file starts with `version: 1`");
}

void Reader::interface(const std::string& name, const YAML::Node& n, const std::string& path, const Location& kl) {
    Interface itf;
    itf.name = name;
    if (!expect_map(n, kl, "interface " + quote(name), true)) {
        if (n.IsNull()) out_.topology.interfaces[name] = itf;
        return;
    }
    // kind first: which other keys are allowed depends on it
    std::optional<std::string> kind;
    for (const auto& kv : n)
        if (kv.first.IsScalar() && kv.first.Scalar() == "kind" && kv.second.IsScalar()) kind = kv.second.Scalar();
    std::vector<std::string> allowed{"kind", "up", "promisc", "mtu", "mac", "addresses"};
    if (kind == "bridge") allowed.insert(allowed.end(), {"ports", "stp"});
    if (kind == "macvlan") allowed.insert(allowed.end(), {"parent", "mode"});
    bool sawParent = false;
    fields(n, path, allowed, [&](const std::string& key, const YAML::Node& v, const std::string& p) {
        Location at = out_.sources.at(p);
        std::string what = name + ": " + key;
        if (key == "kind") {
            auto s = scalar(v, at, what);
            if (!s) return;
            if (*s == "bridge") itf.kind = InterfaceKind::Bridge;
            else if (*s == "macvlan") itf.kind = InterfaceKind::Macvlan;
            else
                error(at, "unknown interface kind " + quote(*s),
                      "netlab creates kind: bridge or kind: macvlan; leave kind out to adopt an existing NIC");
        } else if (key == "up") {
            itf.up = boolean(v, at, what);
        } else if (key == "promisc") {
            itf.promisc = boolean(v, at, what);
        } else if (key == "stp") {
            itf.stp = boolean(v, at, what);
        } else if (key == "mtu") {
            itf.mtu = number(v, at, what, 68, 65535);
        } else if (key == "mac") {
            auto s = word(v, at, what);
            if (!s) return;
            // An interface name cannot contain ':' or '-'-separated hex pairs
            // of MAC length, so anything MAC-shaped is meant as a MAC.
            if (s->find(':') != std::string::npos || (s->size() == 17 && s->find('-') != std::string::npos))
                itf.mac = mac(*s, at, what);
            else
                itf.mac_from = *s;
        } else if (key == "addresses") {
            std::vector<Prefix> addrs;
            list(v, at, p, [&](const YAML::Node& e, const Location& el, const std::string&) {
                if (auto a = prefix(e, el, what, false)) addrs.push_back(*a);
            });
            itf.addresses = addrs;
        } else if (key == "ports") {
            list(v, at, p, [&](const YAML::Node& e, const Location& el, const std::string&) {
                if (auto s = word(e, el, name + ": port")) itf.ports.push_back(*s);
            });
        } else if (key == "parent") {
            sawParent = true;
            if (auto s = word(v, at, what)) itf.parent = *s;
        } else if (key == "mode") {
            auto s = scalar(v, at, what);
            if (!s) return;
            if (auto m = parse_macvlan_mode(*s)) itf.mode = *m;
            else error(at, "unknown macvlan mode " + quote(*s), "use bridge, private, vepa or passthru");
        }
    }, {{"ports", "is only for `kind: bridge`"}, {"stp", "is only for `kind: bridge`"},
        {"parent", "is only for `kind: macvlan`"}, {"mode", "is only for `kind: macvlan`"}});
    if (itf.kind == InterfaceKind::Macvlan && !sawParent)
        error(kl, "macvlan interface " + quote(name) + " has no parent", "add `parent: NIC` (the link it sits on)");
    out_.topology.interfaces[name] = itf;
}

std::optional<Route> Reader::route(const YAML::Node& n, const Location& at, const std::string& path, bool inContainer) {
    if (!expect_map(n, at, "a route", false)) return std::nullopt;
    Route r;
    bool ok = true, sawTo = false, isDefault = false;
    std::optional<Prefix> to;
    std::vector<std::string> allowed{"to", "via", "metric"};
    if (!inContainer) allowed.push_back("dev");
    fields(n, path, allowed, [&](const std::string& key, const YAML::Node& v, const std::string& p) {
        Location l = out_.sources.at(p);
        if (key == "to") {
            sawTo = true;
            auto s = scalar(v, l, "route to");
            if (!s) return void(ok = false);
            if (*s == "default") isDefault = true;
            else if (!(to = network_prefix(v, l, "route destination"))) ok = false;
        } else if (key == "via") {
            if (!(r.via = ip(v, l, "route via"))) ok = false;
        } else if (key == "dev") {
            if (auto s = word(v, l, "route dev")) r.dev = *s;
            else ok = false;
        } else if (key == "metric") {
            if (!(r.metric = number(v, l, "route metric", 0, 4294967295u))) ok = false;
        }
    });
    if (!sawTo) {
        error(at, "route has no `to`", "write `to: default` or `to: 203.0.113.0/24`");
        return std::nullopt;
    }
    if (!ok) return std::nullopt;
    if (isDefault) r.to = Prefix::default_route(r.via ? r.via->family : 4);
    else r.to = *to;
    if (r.via && r.via->family != r.to.addr.family) {
        error(out_.sources.at(path + ".via"),
              "route to " + (isDefault ? std::string("default") : r.to.str()) + " is IPv" + std::to_string(r.to.addr.family) +
                  " but its via " + r.via->str() + " is IPv" + std::to_string(r.via->family),
              "use a gateway of the same family");
        return std::nullopt;
    }
    if (!inContainer && !r.via && r.dev.empty()) {
        error(at, "route needs `via`, `dev` or both", "e.g. `via: 198.51.100.1` or `dev: br0`");
        return std::nullopt;
    }
    return r;
}

void Reader::network(const std::string& name, const YAML::Node& n, const std::string& path, const Location& kl) {
    Network net;
    net.name = name;
    if (!expect_map(n, kl, "network " + quote(name), false)) return;
    bool sawParent = false;
    fields(n, path, {"driver", "parent", "mode", "subnet", "gateway", "host_access"},
           [&](const std::string& key, const YAML::Node& v, const std::string& p) {
               Location at = out_.sources.at(p);
               std::string what = name + ": " + key;
               if (key == "driver") {
                   auto s = scalar(v, at, what);
                   if (s && *s != "macvlan")
                       error(at, "unsupported network driver " + quote(*s), "netlab networks use `driver: macvlan`");
               } else if (key == "parent") {
                   sawParent = true;
                   if (auto s = word(v, at, what)) net.parent = *s;
               } else if (key == "mode") {
                   auto s = scalar(v, at, what);
                   if (!s) return;
                   if (auto m = parse_macvlan_mode(*s)) net.mode = *m;
                   else error(at, "unknown macvlan mode " + quote(*s), "use bridge, private, vepa or passthru");
               } else if (key == "subnet") {
                   net.subnets = scalar_or_list<Prefix>(v, at, p, [&](const YAML::Node& e, const Location& el) {
                       return network_prefix(e, el, "subnet");
                   });
               } else if (key == "gateway") {
                   net.gateways = scalar_or_list<IpAddress>(v, at, p, [&](const YAML::Node& e, const Location& el) {
                       return ip(e, el, "gateway");
                   });
               } else if (key == "host_access") {
                   net.host_access = prefix(v, at, "host_access", true);
               }
           });
    if (!sawParent) error(kl, "network " + quote(name) + " has no parent", "add `parent: NIC` (e.g. ens33)");
    out_.topology.networks[name] = net;
}

void Reader::container(const std::string& name, const YAML::Node& n, const std::string& path, const Location& kl) {
    Container c;
    c.name = name;
    if (!expect_map(n, kl, "container " + quote(name), false)) return;
    bool sawNetns = false;
    fields(n, path, {"netns", "interfaces"}, [&](const std::string& key, const YAML::Node& v, const std::string& p) {
        Location at = out_.sources.at(p);
        if (key == "netns") {
            sawNetns = true;
            auto s = scalar(v, at, name + ": netns");
            if (!s) return;
            if (auto t = NetnsTarget::parse(*s)) c.netns = *t;
            else
                error(at, "netns " + quote(*s) + " is not a namespace target",
                      "write docker:NAME, netns:NAME, pid:N or path:/proc/N/ns/net");
        } else if (key == "interfaces") {
            if (!expect_map(v, at, name + ": interfaces", true)) return;
            named_entries(v, p, "interface", [&](const std::string& ifname, const YAML::Node& e,
                                                 const std::string& ip_, const Location& ikl) {
                ContainerInterface ci;
                ci.name = ifname;
                container_interface(ci, e, ip_, ikl);
                c.interfaces[ifname] = ci;
            });
        }
    });
    if (!sawNetns)
        error(kl, "container " + quote(name) + " has no netns",
              "add e.g. `netns: docker:" + name + "` (or netns:NAME, pid:N, path:P)");
    out_.topology.containers[name] = c;
}

void Reader::container_interface(ContainerInterface& ci, const YAML::Node& n, const std::string& path,
                                 const Location& kl) {
    if (!expect_map(n, kl, "interface " + quote(ci.name), false)) return;
    std::optional<Location> addressAt, addressesAt, gatewayAt, atGw;
    fields(n, path, {"network", "bridge", "address", "addresses", "mac", "mtu", "gateway", "default_route", "routes"},
           [&](const std::string& key, const YAML::Node& v, const std::string& p) {
               Location at = out_.sources.at(p);
               std::string what = ci.name + ": " + key;
               if (key == "network") {
                   ci.network = word(v, at, what);
               } else if (key == "bridge") {
                   ci.bridge = word(v, at, what);
               } else if (key == "address") {
                   addressAt = at;
                   auto s = scalar(v, at, what);
                   if (!s) return;
                   record(path + ".addresses[0]", at);
                   std::string text = *s;
                   // pipework's ADDR/LEN@GW: the gateway replaces the default route
                   if (auto atPos = text.find('@'); atPos != std::string::npos) {
                       std::string gw = text.substr(atPos + 1);
                       text.resize(atPos);
                       auto g = IpAddress::parse(gw);
                       if (!g) error(at, "gateway " + quote(gw) + " after '@' is not an IP address",
                                     "pipework form: 198.51.100.11/24@198.51.100.1");
                       else {
                           ci.gateway = g;
                           atGw = at;
                           record(path + ".gateway", at);
                       }
                   }
                   if (auto a = prefix_text(text, at, "address", false)) ci.addresses.push_back(*a);
               } else if (key == "addresses") {
                   addressesAt = at;
                   list(v, at, p, [&](const YAML::Node& e, const Location& el, const std::string&) {
                       if (auto a = prefix(e, el, "address", false)) ci.addresses.push_back(*a);
                   });
               } else if (key == "mac") {
                   auto s = scalar(v, at, what);
                   if (s) ci.mac = mac(*s, at, what);
               } else if (key == "mtu") {
                   ci.mtu = number(v, at, what, 68, 65535);
               } else if (key == "gateway") {
                   gatewayAt = at;
                   if (auto g = ip(v, at, what)) ci.gateway = g;
               } else if (key == "default_route") {
                   if (auto b = boolean(v, at, what)) ci.default_route = *b;
               } else if (key == "routes") {
                   list(v, at, p, [&](const YAML::Node& e, const Location& el, const std::string& rp) {
                       if (auto r = route(e, el, rp, true)) {
                           r->dev = ci.name;
                           ci.routes.push_back(*r);
                       } else
                           ci.routes.push_back(Route{});  // keep indices aligned with the source paths
                   });
               }
           });
    if (addressAt && addressesAt)
        error(*addressesAt, "interface " + quote(ci.name) + " has both `address` and `addresses`",
              "use `address` for one address or `addresses` for a list, not both");
    if (atGw && gatewayAt) {
        error(*gatewayAt, "interface " + quote(ci.name) + " has a gateway twice: in `address` after '@' and in `gateway`",
              "keep one of them");
        record(path + ".gateway", *gatewayAt);
    }
    if (ci.network && ci.bridge)
        error(kl, "interface " + quote(ci.name) + " has both `network` and `bridge`",
              "attach it to a macvlan network or to a bridge, not both");
    else if (!ci.network && !ci.bridge && !n.IsNull())
        error(kl, "interface " + quote(ci.name) + " is attached to nothing",
              "add `network: NAME` (macvlan) or `bridge: NAME` (veth pair)");
}

}  // namespace

// ---- entry points ---------------------------------------------------------------

namespace {

// Parses one file's text into `out` (its topology starts empty); route paths
// start at routeBase so merged files keep distinct "routes[N]" paths.
void parse_into(std::string_view text, const std::string& file, std::size_t routeBase, Loaded& out, bool dropIn) {
    out.sources.set("", Location{file, 0, 0});
    if (text.size() > kMaxFileBytes) {
        out.diagnostics.push_back({Severity::Error, {file, 0, 0},
                                   "file is " + mib(text.size()) + ", larger than the " + mib(kMaxFileBytes) + " limit",
                                   "a topology is a few kilobytes; is this the right file?"});
        return;
    }
    std::string what;
    if (auto bad = first_bad_byte(text, &what); bad != std::string_view::npos) {
        out.diagnostics.push_back({Severity::Error, offset_location(text, bad, file),
                                   "file is not UTF-8 text: " + what + " at byte offset " + std::to_string(bad),
                                   "save the file as UTF-8 (is it binary or UTF-16?)"});
        return;
    }
    if (auto deep = too_deep(text, kMaxDepth); deep != std::string_view::npos) {
        out.diagnostics.push_back({Severity::Error, offset_location(text, deep, file),
                                   "nesting is deeper than " + std::to_string(kMaxDepth) + " levels",
                                   "a topology needs about 6 levels; this is not a netlab topology"});
        return;
    }
    YAML::Node root;
    try {
        root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
        Location l{file, e.mark.line >= 0 ? e.mark.line + 1 : 0, e.mark.column >= 0 ? e.mark.column + 1 : 0};
        std::string hint = "check the indentation and the quoting around this place";
        if (int tabLine = first_tab_indent(text); tabLine > 0 && (l.line == 0 || tabLine <= l.line))
            hint = "line " + std::to_string(tabLine) + " is indented with a tab; YAML indents with spaces only";
        out.diagnostics.push_back({Severity::Error, l, "YAML syntax error: " + e.msg, hint});
        return;
    }
    if (root.IsNull()) {
        if (dropIn)
            out.diagnostics.push_back({Severity::Warning, {file, 0, 0}, "empty drop-in file: ignored",
                                       "delete it, or give it `version: 1` and content"});
        else
            out.diagnostics.push_back({Severity::Error, {file, 0, 0}, "empty file: expected `version: 1`",
                                       "start the topology with `version: 1`"});
        return;
    }
    try {
        Reader(file, out, routeBase).document(root);
    } catch (const std::exception& e) {  // yaml-cpp's own, or out of memory: never escape as a crash
        out.diagnostics.push_back({Severity::Error, {file, 0, 0}, std::string("cannot read the document: ") + e.what(),
                                   "report this file to the netlab developers"});
    }
}

// Reads a file, refusing what is not a readable regular file of sane size.
std::optional<std::string> read_file(const fs::path& p, Diagnostics& diags) {
    std::error_code ec;
    auto st = fs::status(p, ec);
    std::string file = p.string();
    if (ec || !fs::exists(st)) {
        diags.push_back({Severity::Error, {file, 0, 0}, "cannot read: no such file", "check the path"});
        return std::nullopt;
    }
    if (fs::is_directory(st)) {
        diags.push_back({Severity::Error, {file, 0, 0}, "is a directory, expected a topology file",
                         "give the file itself, or the directory holding topology.yaml"});
        return std::nullopt;
    }
    if (!fs::is_regular_file(st)) {
        diags.push_back({Severity::Error, {file, 0, 0}, "is not a regular file", "give a topology .yaml file"});
        return std::nullopt;
    }
    auto size = fs::file_size(p, ec);
    if (!ec && size > kMaxFileBytes) {
        diags.push_back({Severity::Error, {file, 0, 0},
                         "file is " + mib(size) + ", larger than the " + mib(kMaxFileBytes) + " limit",
                         "a topology is a few kilobytes; is this the right file?"});
        return std::nullopt;
    }
    std::FILE* f = std::fopen(file.c_str(), "rb");
    if (!f) {
        int err = errno;
        diags.push_back({Severity::Error, {file, 0, 0}, std::string("cannot read: ") + std::strerror(err),
                         err == EACCES ? "run as a user that may read it (root), or fix its permissions" : ""});
        return std::nullopt;
    }
    std::string text;
    char buf[65536];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
        text.append(buf, n);
        if (text.size() > kMaxFileBytes) break;  // it grew while we read
    }
    bool err = std::ferror(f);
    std::fclose(f);
    if (err) {
        diags.push_back({Severity::Error, {file, 0, 0}, "cannot read: I/O error", ""});
        return std::nullopt;
    }
    return text;
}

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

}  // namespace

Loaded load_string(std::string_view yaml, const std::string& file) {
    Loaded out;
    out.files.push_back(file);
    parse_into(yaml, file, 0, out, false);
    return out;
}

Loaded load_config(const fs::path& path, EmptyDir empty) {
    Loaded out;
    std::error_code ec;
    std::vector<std::pair<fs::path, bool>> files;  // (path, is drop-in)
    if (fs::is_directory(path, ec)) {
        fs::path main = path / "topology.yaml";
        fs::path dropDir = path / "topology.d";
        std::vector<fs::path> drops;
        if (fs::is_directory(dropDir, ec)) {
            for (fs::directory_iterator it(dropDir, ec), end; !ec && it != end; it.increment(ec)) {
                std::string fname = it->path().filename().string();
                if (fname.empty() || fname[0] == '.' || it->path().extension() != ".yaml") continue;
                drops.push_back(it->path());
            }
            if (ec)
                out.diagnostics.push_back({Severity::Error, {dropDir.string(), 0, 0},
                                           "cannot list the drop-in directory: " + ec.message(), ""});
            std::sort(drops.begin(), drops.end());
        }
        bool haveMain = fs::exists(main, ec);
        if (!haveMain && drops.empty() && !has_errors(out.diagnostics)) {
            if (empty == EmptyDir::NoTopology) {
                out.no_topology = true;
                return out;
            }
            out.diagnostics.push_back({Severity::Error, {path.string(), 0, 0},
                                       "is a directory, but holds neither topology.yaml nor topology.d/*.yaml",
                                       "create " + main.string() + " starting with `version: 1`"});
            return out;
        }
        if (haveMain) files.emplace_back(main, false);
        for (auto& d : drops) files.emplace_back(d, true);
    } else {
        files.emplace_back(path, false);
    }

    for (const auto& [p, dropIn] : files) {
        std::string file = p.string();
        out.files.push_back(file);
        auto text = read_file(p, out.diagnostics);
        if (!text) continue;
        Loaded one;
        parse_into(*text, file, out.topology.routes.size(), one, dropIn);
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
        if (one.sources.has("drift")) {
            if (out.sources.has("drift") && t.drift != one.topology.drift)
                out.diagnostics.push_back({Severity::Error, one.sources.at("drift"),
                                           "drift is set differently in two files: here and at " +
                                               out.sources.at("drift").str(),
                                           "set `drift:` in one file only"});
            else
                t.drift = one.topology.drift;
        }
        if (one.sources.has("commit_confirmed")) {
            if (out.sources.has("commit_confirmed") && t.commit_confirmed != one.topology.commit_confirmed)
                out.diagnostics.push_back({Severity::Error, one.sources.at("commit_confirmed"),
                                           "commit_confirmed is set differently in two files: here and at " +
                                               out.sources.at("commit_confirmed").str(),
                                           "set `commit_confirmed:` in one file only"});
            else
                t.commit_confirmed = one.topology.commit_confirmed;
        }
        for (const auto& [k, loc] : one.sources.all())
            if (!k.empty() && !under(k, skip) && !out.sources.has(k)) out.sources.set(k, loc);
        if (!out.sources.has("")) out.sources.set("", Location{file, 0, 0});
    }
    // Validation runs even after loading errors, so every problem is reported
    // at once; values that failed to load are left out (routes stay as
    // placeholders of family 0, which validate() skips).
    validate(out.topology, out.sources, out.diagnostics);
    if (out.diagnostics.size() > kMaxDiagnostics) {
        std::size_t more = out.diagnostics.size() - kMaxDiagnostics;
        out.diagnostics.resize(kMaxDiagnostics);
        out.diagnostics.push_back({Severity::Error, {path.string(), 0, 0},
                                   std::to_string(more) + " more problems not shown",
                                   "fix the ones above and run the check again"});
    }
    return out;
}

}  // namespace netlab::model
