// The probing window's verdict (commit_confirmed.hpp): failed after a grace
// period of failures, passed after a whole window of passes; when a manual
// confirm is refused; the JSON kept in pending.json.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "reconcile/apply/commit_confirmed.hpp"

using namespace netlab::reconcile;
using std::chrono::milliseconds;

TEST_CASE("probe window: a probe failing for its grace period fails the window") {
    ProbeWindow w({"gateway 198.51.100.1 on br0", "tcp 203.0.113.2:22"}, milliseconds(3000), milliseconds(10000));
    w.record(0, false, "no reply", 0, 0, 1000);
    w.record(1, true, "connected", 0.3, 1000, 1001);
    CHECK(w.verdict(1001) == "running");
    w.record(0, false, "no reply", 0, 1500, 2500);
    CHECK(w.verdict(2999) == "running");
    w.record(0, false, "no reply", 0, 3000, 4000);
    CHECK(w.verdict(4000) == "failed");
    auto r = w.result(4000);
    CHECK(r.failed == "gateway 198.51.100.1 on br0");
    CHECK(!r.ok);
    CHECK(r.checks[0].failures == 3);
    CHECK(r.checks[0].since_ms == 0);
}

TEST_CASE("probe window: a pass in between starts the grace period again") {
    ProbeWindow w({"icmp 203.0.113.2"}, milliseconds(3000), milliseconds(10000));
    w.record(0, false, "no reply", 0, 0, 1000);
    w.record(0, false, "no reply", 0, 1500, 2500);
    w.record(0, true, "answered", 0.2, 2600, 2700);
    w.record(0, false, "no reply", 0, 3000, 4000);
    w.record(0, false, "no reply", 0, 4500, 5500);
    CHECK(w.verdict(5500) == "running");
    w.record(0, false, "no reply", 0, 5600, 6600);
    CHECK(w.verdict(6600) == "failed");
}

TEST_CASE("probe window: passed once every probe has passed for the whole window") {
    ProbeWindow w({"a", "b"}, milliseconds(3000), milliseconds(5000));
    w.record(0, true, "ok", 1, 0, 10);
    CHECK(w.verdict(6000) == "running");  // b has not been probed
    w.record(1, false, "down", 0, 10, 1000);
    w.record(1, true, "ok", 1, 1500, 1600);
    CHECK(w.verdict(6000) == "running");  // b passes since 1.6 s only
    w.record(0, true, "ok", 1, 6500, 6510);
    w.record(1, true, "ok", 1, 6510, 6600);
    CHECK(w.verdict(6600) == "passed");
    CHECK(w.result(6600).ok);
}

TEST_CASE("probe window: nothing to probe passes at once, with a text that says so") {
    ProbeWindow w({}, milliseconds(3000), milliseconds(10000));
    CHECK(w.verdict(0) == "passed");
    CHECK(w.result(0).checks.empty());
    CHECK(w.result(0).text.find("nothing to probe") != std::string::npos);
}

TEST_CASE("may_confirm: refused while a probe fails or before all passed; kept once they pass") {
    PendingChange c;
    CHECK(may_confirm(c, true, false) == ConfirmVerdict::ProbeRunning);
    CHECK(may_confirm(c, false, false) == ConfirmVerdict::Keep);
    ProbeWindow w({"a", "b"}, milliseconds(3000), milliseconds(10000));
    w.record(0, true, "ok", 1, 0, 10);
    c.probe = w.result(10);
    CHECK(may_confirm(c, true, false) == ConfirmVerdict::ProbeRunning);  // b not yet
    w.record(1, false, "down", 0, 10, 1000);
    c.probe = w.result(1000);
    CHECK(may_confirm(c, true, false) == ConfirmVerdict::ProbeFailed);  // b fails, within its grace
    CHECK(may_confirm(c, true, true) == ConfirmVerdict::Keep);
    w.record(1, true, "ok", 1, 1500, 1600);
    c.probe = w.result(1600);
    CHECK(may_confirm(c, true, false) == ConfirmVerdict::Keep);
}

TEST_CASE("probe result and settings: JSON round trip; an old result without a verdict was final") {
    ProbeWindow w({"tcp 203.0.113.2:22"}, milliseconds(3000), milliseconds(10000));
    w.record(0, false, "refused", 0, 0, 5);
    const auto r = w.result(3005);
    CHECK(probe_from_json(probe_json(r)) == r);
    CHECK(probe_from_json(nlohmann::json{{"ok", false}, {"text", "x"}}).verdict == "failed");
    ProbeSettings s;
    s.mode = netlab::model::ConfirmMode::Auto;
    s.grace = std::chrono::seconds(5);
    netlab::model::Probe p;
    p.kind = netlab::model::Probe::Kind::Dns;
    p.address = *netlab::model::IpAddress::parse("203.0.113.53");
    p.port = 53;
    p.name = "example.org";
    s.probes.push_back(p);
    CHECK(settings_from_json(settings_json(s)) == s);
}
