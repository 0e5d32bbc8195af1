// netlabd's Prometheus metrics and their text exposition format (the
// node_exporter textfile collector reads it: --metrics-file). Pure: the
// daemon fills a Metrics after every job and writes metrics_text() durably.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace netlab::daemon {

struct Metrics {
    // Applies by result (converged, applied, rejected, rolled_back, failed);
    // every result is present from the start, so a rate() sees the first one.
    std::map<std::string, std::uint64_t> reconciles = {
        {"applied", 0}, {"converged", 0}, {"failed", 0}, {"rejected", 0}, {"rolled_back", 0}};
    // The last apply that ran (none yet: not exported).
    std::optional<double> last_apply_seconds;
    std::optional<std::size_t> last_apply_steps;
    std::optional<double> last_apply_timestamp;  // Unix time it finished
    std::uint64_t drift_repairs = 0;
    std::uint64_t reattaches = 0;
    bool commit_pending = false;
    // Objects carrying netlab's mark in netlabd's namespace, by kind (link,
    // route); empty before the first apply.
    std::map<std::string, std::size_t> owned;

    void count_apply(const std::string& result, double seconds, std::size_t steps, double finished_unix);
};

// The text exposition format 0.0.4: HELP and TYPE before each family,
// names prefixed netlab_, counters ending _total.
std::string metrics_text(const Metrics& m);

}  // namespace netlab::daemon
