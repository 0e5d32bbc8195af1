// The walk over one YAML document: the parts of YamlWalk that are not
// templates (see yaml_walk.hpp).
#include "model/yaml_walk.hpp"

#include <algorithm>
#include <charconv>
#include <set>
#include <system_error>

#include "model/load_detail.hpp"
#include "model/suggest.hpp"

namespace netlab::model {

std::string quote(std::string_view s) {
    std::string out = "'";
    for (char c : s.substr(0, 80)) out += (static_cast<unsigned char>(c) < 0x20 ? '?' : c);
    if (s.size() > 80) out += "...";
    return out + "'";
}

void YamlWalk::diag(Severity sev, const Location& at, std::string msg, std::string hint) {
    if (stopped_) return;
    if (++count_ > kMaxDiagnostics) {
        stopped_ = true;
        out_.diagnostics.push_back({Severity::Error, at, "too many problems; stopping here",
                                    "fix the ones above and run the check again"});
        return;
    }
    out_.diagnostics.push_back({sev, at, std::move(msg), std::move(hint)});
}

bool YamlWalk::tick(const YAML::Node& n) {
    if (stopped_) return false;
    if (++visited_ > kMaxNodes) {
        error(loc(n), "the document expands to more than " + std::to_string(kMaxNodes) + " values",
              std::string("this looks like an alias bomb; write the topology without nested aliases. ") + kSplitHint);
        stopped_ = true;
        return false;
    }
    return true;
}

std::string YamlWalk::kind_of(const YAML::Node& n) {
    switch (n.Type()) {
        case YAML::NodeType::Map: return "a map";
        case YAML::NodeType::Sequence: return "a list";
        case YAML::NodeType::Scalar: return "the scalar " + quote(n.Scalar());
        case YAML::NodeType::Null: return "nothing";
        default: return "nothing";
    }
}

bool YamlWalk::expect_map(const YAML::Node& n, const Location& at, const std::string& what, bool nullOk) {
    if (n.IsMap()) return true;
    if (n.IsNull() && nullOk) return false;
    error(at, what + " must be a map (key: value lines), not " + kind_of(n),
          n.IsSequence() ? "drop the leading '- ' of its entries" : "");
    return false;
}

void YamlWalk::fields(const YAML::Node& map, const std::string& path, const std::vector<std::string>& allowed,
                      const Handler& on, const std::map<std::string, std::string>& elsewhere) {
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

std::optional<std::string> YamlWalk::scalar(const YAML::Node& n, const Location& at, const std::string& what) {
    if (n.IsScalar()) return n.Scalar();
    error(at, what + " must be a single value, not " + kind_of(n));
    return std::nullopt;
}

std::optional<bool> YamlWalk::boolean(const YAML::Node& n, const Location& at, const std::string& what) {
    auto s = scalar(n, at, what);
    if (!s) return std::nullopt;
    static const std::set<std::string> yes{"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"};
    static const std::set<std::string> no{"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"};
    if (yes.count(*s)) return true;
    if (no.count(*s)) return false;
    error(at, what + " must be true or false, not " + quote(*s));
    return std::nullopt;
}

std::optional<std::uint32_t> YamlWalk::number(const YAML::Node& n, const Location& at, const std::string& what,
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

std::optional<std::string> YamlWalk::word(const YAML::Node& n, const Location& at, const std::string& what) {
    auto s = scalar(n, at, what);
    if (s && s->empty()) {
        error(at, what + " must not be empty");
        return std::nullopt;
    }
    return s;
}

std::optional<IpAddress> YamlWalk::ip(const YAML::Node& n, const Location& at, const std::string& what) {
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

std::optional<Prefix> YamlWalk::prefix_text(const std::string& s, const Location& at, const std::string& what,
                                             bool allowBare) {
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

std::optional<Prefix> YamlWalk::prefix(const YAML::Node& n, const Location& at, const std::string& what,
                                        bool allowBare) {
    auto s = scalar(n, at, what);
    if (!s) return std::nullopt;
    return prefix_text(*s, at, what, allowBare);
}

std::optional<Prefix> YamlWalk::network_prefix(const YAML::Node& n, const Location& at, const std::string& what) {
    auto p = prefix(n, at, what, false);
    if (p && p->network() != *p) {
        error(at, what + " " + quote(p->str()) + " has host bits set",
              "did you mean " + p->network().str() + "?");
        return std::nullopt;
    }
    return p;
}

std::optional<MacAddress> YamlWalk::mac(const std::string& s, const Location& at, const std::string& what) {
    auto m = MacAddress::parse(s);
    if (!m) error(at, what + " " + quote(s) + " is not a MAC address", "write six hex pairs, e.g. 02:42:c6:33:64:0b");
    return m;
}

}  // namespace netlab::model
