// `commit_confirmed:` and `probes:` of one document (model/reader_confirm.hpp).
#include "model/reader_confirm.hpp"

#include <tuple>

#include "model/duration.hpp"
#include "model/probe.hpp"

namespace netlab::model {

void ConfirmReader::commit_confirmed(const YAML::Node& n, const Location& at, const std::string& path) {
    const std::string deadlineHint = "the deadline netlabd waits for `netlabctl confirm` before it rolls a change back";
    if (!n.IsMap()) {
        out_.topology.commit_confirmed = duration(n, at, "commit_confirmed", deadlineHint);
        return;
    }
    auto& c = out_.topology.confirm;
    fields(n, path, {"deadline", "mode", "grace", "window"}, [&](const std::string& key, const YAML::Node& v,
                                                                const std::string& p) {
        Location l = out_.sources.at(p);
        if (key == "deadline") {
            out_.topology.commit_confirmed = duration(v, l, "commit_confirmed deadline", deadlineHint);
        } else if (key == "mode") {
            auto s = scalar(v, l, "commit_confirmed mode");
            if (!s) return;
            if (*s == "manual") c.mode = ConfirmMode::Manual;
            else if (*s == "auto") c.mode = ConfirmMode::Auto;
            else error(l, "commit_confirmed mode must be 'manual' or 'auto', not " + quote(*s),
                       "auto: netlabd confirms once every probe has passed for the whole window");
        } else if (key == "grace") {
            if (auto d = duration(v, l, "commit_confirmed grace", "how long a probe may fail before the change is rolled back"))
                c.grace = *d;
        } else if (key == "window") {
            if (auto d = duration(v, l, "commit_confirmed window", "how long every probe must pass before auto mode confirms"))
                c.window = *d;
        }
    });
}

std::optional<std::chrono::seconds> ConfirmReader::duration(const YAML::Node& n, const Location& at, const std::string& what,
                                                     const std::string& hint) {
    auto s = scalar(n, at, what);
    if (!s) return std::nullopt;
    auto d = parse_duration(*s);
    if (!d || d->count() < 1 || *d > kMaxConfirmDeadline) {
        error(at, what + " must be a duration from 1s to 24h such as 60s, 5m or 1m30s, not " + quote(*s), hint);
        return std::nullopt;
    }
    return d;
}

// One `probes:` entry: `tcp: HOST:PORT`, `dns: RESOLVER` (with `name:`) or `icmp: HOST`.
void ConfirmReader::probe(const YAML::Node& n, const Location& at, const std::string& path) {
    if (!expect_map(n, at, "a probe", false)) return;
    Probe p;
    int kinds = 0;
    std::optional<Location> nameAt;
    bool ok = true;
    fields(n, path, {"tcp", "dns", "icmp", "name"}, [&](const std::string& key, const YAML::Node& v, const std::string& q) {
        Location l = out_.sources.at(q);
        if (key == "name") {
            nameAt = l;
            auto s = scalar(v, l, "probe name");
            if (s && valid_dns_name(*s)) p.name = *s;
            else if (s) ok = false, error(l, "probe name " + quote(*s) + " is not a DNS name", "e.g. example.org");
            return;
        }
        ++kinds;
        auto s = scalar(v, l, "probe " + key);
        if (!s) return void(ok = false);
        if (key == "tcp") {
            p.kind = Probe::Kind::Tcp;
            if (auto hp = parse_host_port(*s)) std::tie(p.address, p.port) = *hp;
            else ok = false, error(l, "probe tcp " + quote(*s) + " is not ADDRESS:PORT", "e.g. 203.0.113.2:22 or [2001:db8::2]:22");
            return;
        }
        p.kind = key == "dns" ? Probe::Kind::Dns : Probe::Kind::Icmp;
        p.port = key == "dns" ? 53 : 0;
        if (auto a = ip(v, l, "probe " + key)) p.address = *a;
        else ok = false;
    });
    if (kinds != 1) {
        error(at, "a probe names one target: `tcp:`, `dns:` or `icmp:`" + std::string(kinds ? ", not several" : ""),
              "write one list entry per probe");
        return;
    }
    if (p.kind != Probe::Kind::Dns && nameAt) {
        error(*nameAt, "`name:` is only for a `dns:` probe", "leave it out");
        return;
    }
    if (p.kind == Probe::Kind::Dns && p.name.empty() && ok) p.name = ".";
    if (ok) out_.topology.probes.push_back(p);
}

void ConfirmReader::probes(const YAML::Node& n, const Location& at, const std::string& path) {
    list(n, at, path, [&](const YAML::Node& e, const Location& el, const std::string& p) { probe(e, el, p); });
}

}  // namespace netlab::model
