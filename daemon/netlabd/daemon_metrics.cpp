// --metrics-file: the counters netlabd keeps, gathered after every job and
// written durably (temp file, fsync, rename) so the node_exporter textfile
// collector never reads half a file.
#include <system_error>

#include <spdlog/spdlog.h>

#include "netlabd/daemon.hpp"
#include "reconcile/apply/state_dir.hpp"

namespace netlab::daemon {

void Daemon::publish_metrics() {
    if (opts_.metrics_file.empty()) return;
    metrics_.drift_repairs = drift_.repairs();
    metrics_.reattaches = container_watch_.reattaches();
    metrics_.commit_pending = pending_.has_value();
    if (owned_) metrics_.owned = {{"link", owned_->links}, {"route", owned_->routes}};
    try {
        // 0644 whatever the unit's UMask=0077: node_exporter reads it as
        // another user; counts of links and routes are no secret.
        reconcile::write_file_durably(opts_.metrics_file, metrics_text(metrics_), 0644);
        if (!metrics_error_.empty()) spdlog::info("metrics: {} written again", opts_.metrics_file.string());
        metrics_error_.clear();
    } catch (const std::system_error& e) {
        // Once per distinct failure: a full disk would otherwise log after
        // every job.
        if (metrics_error_ != e.what()) spdlog::warn("metrics: {}", e.what());
        metrics_error_ = e.what();
    }
}

}  // namespace netlab::daemon
