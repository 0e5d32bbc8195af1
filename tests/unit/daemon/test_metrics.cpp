// metrics_text: the Prometheus text exposition of netlabd's metrics.
#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

#include "netlabd/metrics.hpp"

using netlab::daemon::Metrics;
using netlab::daemon::metrics_text;

namespace {

std::vector<std::string> lines(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
}

bool has_line(const std::string& text, const std::string& line) {
    for (const auto& l : lines(text))
        if (l == line) return true;
    return false;
}

}  // namespace

TEST_CASE("before any apply: every result counted 0, no last apply, no owned objects") {
    const std::string t = metrics_text(Metrics{});
    CHECK(has_line(t, "# HELP netlab_reconciles_total Applies netlabd ran, by result."));
    CHECK(has_line(t, "# TYPE netlab_reconciles_total counter"));
    for (const char* r : {"applied", "converged", "failed", "rejected", "rolled_back"})
        CHECK(has_line(t, std::string("netlab_reconciles_total{result=\"") + r + "\"} 0"));
    CHECK(has_line(t, "netlab_drift_repairs_total 0"));
    CHECK(has_line(t, "netlab_container_reattaches_total 0"));
    CHECK(has_line(t, "netlab_commit_confirmed_pending 0"));
    CHECK(t.find("netlab_last_apply") == std::string::npos);
    CHECK(t.find("netlab_owned_objects") == std::string::npos);
    CHECK(t.back() == '\n');
}

TEST_CASE("applies move the counters and the last apply's gauges") {
    Metrics m;
    m.count_apply("applied", 0.25, 7, 1764000000.5);
    m.count_apply("applied", 0.1, 3, 1764000001.0);
    m.count_apply("rejected", 0.002, 0, 1764000002.0);
    m.drift_repairs = 2;
    m.reattaches = 5;
    m.commit_pending = true;
    m.owned = {{"link", 4}, {"route", 2}};
    const std::string t = metrics_text(m);
    CHECK(has_line(t, "netlab_reconciles_total{result=\"applied\"} 2"));
    CHECK(has_line(t, "netlab_reconciles_total{result=\"rejected\"} 1"));
    CHECK(has_line(t, "# TYPE netlab_last_apply_duration_seconds gauge"));
    CHECK(has_line(t, "netlab_last_apply_duration_seconds 0.002"));  // shortest form, not 0.002000000000000000041
    CHECK(has_line(t, "netlab_last_apply_steps 0"));
    CHECK(has_line(t, "netlab_last_apply_timestamp_seconds 1764000002"));
    CHECK(has_line(t, "netlab_drift_repairs_total 2"));
    CHECK(has_line(t, "netlab_container_reattaches_total 5"));
    CHECK(has_line(t, "netlab_commit_confirmed_pending 1"));
    CHECK(has_line(t, "# TYPE netlab_owned_objects gauge"));
    CHECK(has_line(t, "netlab_owned_objects{kind=\"link\"} 4"));
    CHECK(has_line(t, "netlab_owned_objects{kind=\"route\"} 2"));
}

TEST_CASE("each family: HELP then TYPE, once, before its samples; counters end _total") {
    Metrics m;
    m.count_apply("converged", 1.5, 0, 1.0);
    m.owned = {{"link", 1}};
    std::string family;
    std::vector<std::string> seen;
    for (const auto& l : lines(metrics_text(m))) {
        if (l.rfind("# HELP ", 0) == 0) {
            family = l.substr(7, l.find(' ', 7) - 7);
            for (const auto& s : seen) CHECK(s != family);
            seen.push_back(family);
            continue;
        }
        if (l.rfind("# TYPE ", 0) == 0) {
            CHECK(l.rfind("# TYPE " + family + " ", 0) == 0);
            if (l.ends_with(" counter")) CHECK(family.ends_with("_total"));
            continue;
        }
        CAPTURE(l);
        CHECK(l.rfind("netlab_", 0) == 0);
        CHECK(l.rfind(family, 0) == 0);
    }
    CHECK(seen.size() == 8);
}
