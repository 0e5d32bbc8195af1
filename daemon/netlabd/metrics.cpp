// Metrics → Prometheus text exposition format.
#include "netlabd/metrics.hpp"

#include <cstdio>
#include <cstdlib>

namespace netlab::daemon {

namespace {

// Floats as Go's strconv does it for Prometheus: shortest form that reads
// back the same (%.17g would print 0.10000000000000001).
std::string number(double v) {
    char buf[32];
    for (int precision = 6; precision <= 17; ++precision) {
        std::snprintf(buf, sizeof(buf), "%.*g", precision, v);
        if (std::strtod(buf, nullptr) == v) break;
    }
    return buf;
}

void family(std::string& out, const char* name, const char* type, const char* help) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

void sample(std::string& out, const std::string& name, const std::string& labels, const std::string& value) {
    out += name;
    if (!labels.empty()) out += "{" + labels + "}";
    out += ' ';
    out += value;
    out += '\n';
}

}  // namespace

void Metrics::count_apply(const std::string& result, double seconds, std::size_t steps, double finished_unix) {
    ++reconciles[result];
    last_apply_seconds = seconds;
    last_apply_steps = steps;
    last_apply_timestamp = finished_unix;
}

std::string metrics_text(const Metrics& m) {
    std::string out;
    family(out, "netlab_reconciles_total", "counter", "Applies netlabd ran, by result.");
    // Label values are netlab's own words ([a-z_]): nothing to escape.
    for (const auto& [result, n] : m.reconciles)
        sample(out, "netlab_reconciles_total", "result=\"" + result + "\"", std::to_string(n));
    if (m.last_apply_seconds) {
        family(out, "netlab_last_apply_duration_seconds", "gauge", "How long the last apply took.");
        sample(out, "netlab_last_apply_duration_seconds", "", number(*m.last_apply_seconds));
    }
    if (m.last_apply_steps) {
        family(out, "netlab_last_apply_steps", "gauge", "Steps in the plan of the last apply.");
        sample(out, "netlab_last_apply_steps", "", std::to_string(*m.last_apply_steps));
    }
    if (m.last_apply_timestamp) {
        family(out, "netlab_last_apply_timestamp_seconds", "gauge", "When the last apply ended, in Unix time.");
        sample(out, "netlab_last_apply_timestamp_seconds", "", number(*m.last_apply_timestamp));
    }
    family(out, "netlab_drift_repairs_total", "counter", "Reconciles that repaired drift made from outside.");
    sample(out, "netlab_drift_repairs_total", "", std::to_string(m.drift_repairs));
    family(out, "netlab_container_reattaches_total", "counter",
           "Containers attached again after their namespace came back.");
    sample(out, "netlab_container_reattaches_total", "", std::to_string(m.reattaches));
    family(out, "netlab_commit_confirmed_pending", "gauge",
           "1 while a commit-confirmed change waits for netlabctl confirm.");
    sample(out, "netlab_commit_confirmed_pending", "", m.commit_pending ? "1" : "0");
    if (!m.owned.empty()) {
        family(out, "netlab_owned_objects", "gauge", "Objects carrying netlab's mark in netlabd's namespace.");
        for (const auto& [kind, n] : m.owned)
            sample(out, "netlab_owned_objects", "kind=\"" + kind + "\"", std::to_string(n));
    }
    return out;
}

}  // namespace netlab::daemon
