// The probing window of a pending change (commit_confirmed.hpp): each
// probe's runs of passes and failures, the verdict they give, and their
// JSON in pending.json and `status`.
#include <algorithm>

#include <nlohmann/json.hpp>

#include "model/net.hpp"
#include "reconcile/apply/commit_confirmed.hpp"

namespace netlab::reconcile {

using nlohmann::json;

ProbeWindow::ProbeWindow(std::vector<std::string> names, std::chrono::milliseconds grace,
                         std::chrono::milliseconds window)
    : grace_(grace.count()), window_(window.count()) {
    for (auto& n : names) {
        ProbeCheck c;
        c.name = std::move(n);
        checks_.push_back(std::move(c));
    }
}

void ProbeWindow::record(std::size_t i, bool ok, std::string text, double rtt_ms, std::int64_t begun,
                         std::int64_t now) {
    auto& c = checks_.at(i);
    if (c.last_ms < 0 || c.ok != ok) c.since_ms = ok ? now : begun;
    c.ok = ok;
    c.text = std::move(text);
    c.last_ms = now;
    if (ok) {
        ++c.passes;
        c.rtt_ms = rtt_ms;
    } else {
        ++c.failures;
    }
}

std::string ProbeWindow::verdict(std::int64_t now) const {
    for (const auto& c : checks_)
        if (c.last_ms >= 0 && !c.ok && now - c.since_ms >= grace_) return "failed";
    for (const auto& c : checks_)
        if (c.last_ms < 0 || !c.ok || now - c.since_ms < window_) return "running";
    return "passed";
}

ProbeResult ProbeWindow::result(std::int64_t now) const {
    ProbeResult r;
    r.verdict = verdict(now);
    r.elapsed_ms = now;
    r.grace_ms = grace_;
    r.window_ms = window_;
    r.checks = checks_;
    r.ok = std::all_of(checks_.begin(), checks_.end(), [](const auto& c) { return c.last_ms >= 0 && c.ok; });
    if (r.verdict == "failed") {
        r.ok = false;
        for (const auto& c : checks_)
            if (c.last_ms >= 0 && !c.ok && now - c.since_ms >= grace_) {
                r.failed = c.name;
                break;
            }
    }
    for (const auto& c : checks_)
        if (c.last_ms >= 0) r.text += (r.text.empty() ? "" : "; ") + c.name + ": " + c.text;
    if (checks_.empty()) r.text = "nothing to probe: the host has no default route via a gateway and no `probes:`";
    return r;
}

json probe_json(const ProbeResult& r) {
    json checks = json::array();
    for (const auto& c : r.checks)
        checks.push_back({{"name", c.name},
                          {"ok", c.ok},
                          {"text", c.text},
                          {"passes", c.passes},
                          {"failures", c.failures},
                          {"rtt_ms", c.rtt_ms},
                          {"last_ms", c.last_ms},
                          {"since_ms", c.since_ms}});
    return {{"ok", r.ok},           {"text", r.text},           {"verdict", r.verdict},
            {"failed", r.failed},   {"elapsed_ms", r.elapsed_ms}, {"grace_ms", r.grace_ms},
            {"window_ms", r.window_ms}, {"checks", checks}};
}

ProbeResult probe_from_json(const json& j) {
    ProbeResult r;
    r.ok = j.value("ok", false);
    r.text = j.value("text", "");
    // A result written before verdicts existed was final.
    r.verdict = j.value("verdict", r.ok ? "passed" : "failed");
    r.failed = j.value("failed", "");
    r.elapsed_ms = j.value("elapsed_ms", std::int64_t{0});
    r.grace_ms = j.value("grace_ms", std::int64_t{0});
    r.window_ms = j.value("window_ms", std::int64_t{0});
    if (j.contains("checks") && j.at("checks").is_array())
        for (const auto& c : j.at("checks"))
            r.checks.push_back(ProbeCheck{c.value("name", ""), c.value("ok", false), c.value("text", ""),
                                          c.value("passes", 0), c.value("failures", 0), c.value("rtt_ms", 0.0),
                                          c.value("last_ms", std::int64_t{-1}), c.value("since_ms", std::int64_t{0})});
    return r;
}

json settings_json(const ProbeSettings& s) {
    json probes = json::array();
    for (const auto& p : s.probes) {
        const char* kind = p.kind == model::Probe::Kind::Tcp ? "tcp" : p.kind == model::Probe::Kind::Dns ? "dns" : "icmp";
        probes.push_back({{"kind", kind}, {"address", p.address.str()}, {"port", p.port}, {"name", p.name}});
    }
    return {{"mode", s.mode == model::ConfirmMode::Auto ? "auto" : "manual"},
            {"grace_s", s.grace.count()},
            {"window_s", s.window.count()},
            {"probes", probes}};
}

ProbeSettings settings_from_json(const json& j) {
    ProbeSettings s;
    s.mode = j.value("mode", "manual") == "auto" ? model::ConfirmMode::Auto : model::ConfirmMode::Manual;
    s.grace = std::chrono::seconds(j.value("grace_s", s.grace.count()));
    s.window = std::chrono::seconds(j.value("window_s", s.window.count()));
    if (j.contains("probes") && j.at("probes").is_array())
        for (const auto& e : j.at("probes")) {
            model::Probe p;
            const std::string kind = e.value("kind", "icmp");
            p.kind = kind == "tcp" ? model::Probe::Kind::Tcp : kind == "dns" ? model::Probe::Kind::Dns : model::Probe::Kind::Icmp;
            auto a = model::IpAddress::parse(e.value("address", ""));
            if (!a) continue;  // not written by netlab: skipped rather than probed wrongly
            p.address = *a;
            p.port = e.value("port", std::uint16_t{0});
            p.name = e.value("name", "");
            s.probes.push_back(p);
        }
    return s;
}

}  // namespace netlab::reconcile
