// netlabd's revisions (docs/daemon.md, "Revisions"): every change it applies
// recorded in the state directory as it ends, before its reply; `history`
// and `diff` answered from them; `rollback --to` put in force as the files,
// then applied like any other change. The revision files are written and
// read on the loop: one small durable write per change that sent netlink
// writes, like the metrics file, and `diff` reads only what it compares.
#include <algorithm>

#include <spdlog/spdlog.h>

#include "model/duration.hpp"
#include "model/emit.hpp"
#include "netlabd/config_files.hpp"
#include "netlabd/daemon.hpp"
#include "netlabd/daemon_reply.hpp"
#include "netlabd/log.hpp"
#include "protocol/control_protocol.hpp"
#include "reconcile/apply/revision.hpp"
#include "reconcile/apply/state_dir.hpp"

namespace netlab::daemon {

namespace {

nlohmann::json ok_reply() { return {{"version", control::kVersion}, {"ok", true}}; }

// "kept: 3 to 52" for the errors that name a revision not kept.
std::string kept_range(const std::vector<std::uint64_t>& kept) {
    if (kept.empty()) return "no revision is kept yet";
    return "the revisions kept are " + std::to_string(kept.front()) + " to " + std::to_string(kept.back());
}

// A revision number in a request: a whole number from 1.
std::optional<std::uint64_t> rev_number(const nlohmann::json& v) {
    if (!v.is_number_integer() || v.get<long long>() < 1) return std::nullopt;
    return v.get<std::uint64_t>();
}

}  // namespace

void Daemon::load_revisions() {
    reconcile::StateDirectory dir(opts_.state_dir);
    for (auto n : dir.revision_numbers()) {
        try {
            if (auto r = dir.revision(n)) history_.push_back(reconcile::revision_summary(*r));
        } catch (const std::exception& e) {
            spdlog::warn("revisions: {}: not readable, left out of the history: {}", n, e.what());
        }
    }
    while (history_.size() > opts_.revisions) history_.pop_front();
    if (!history_.empty())
        spdlog::info("revisions: {} kept, the last is {}", history_.size(), history_.back().value("revision", 0));
}

void Daemon::record_revision(const Job& job, const JobResult& r) {
    using S = reconcile::Outcome::Status;
    const auto& o = r.outcome;
    if (!o.ok()) give_back_files(job, to_string(o.status));
    // A change is what sent netlink writes: not a converged or rejected
    // run, nor one refused because the recovery before it failed.
    if (!r.loaded || (o.status != S::Applied && o.status != S::RolledBack && o.status != S::Failed) ||
        (o.writes == 0 && o.plan.empty()))
        return;
    reconcile::Revision rev;
    rev.time = iso_time(r.finished);
    rev.origin = job.origin;
    rev.by = job.by;
    rev.result = to_string(o.status);
    rev.error = o.error;
    rev.pending = o.pending.has_value();
    rev.files = r.loaded->files;
    rev.topology = model::to_yaml(r.loaded->topology);
    rev.plan = o.plan;
    try {
        rev = reconcile::StateDirectory(opts_.state_dir).add_revision(std::move(rev), opts_.revisions);
    } catch (const std::exception& e) {
        spdlog::error("revisions: this change is not recorded: {}", e.what());
        return;
    }
    spdlog::info("revision {}: {} by {} ({} steps)", rev.number, rev.result, join(rev.by, " + "),
                 rev.plan.steps.size());
    history_.push_back(reconcile::revision_summary(rev));
    while (history_.size() > opts_.revisions) history_.pop_front();
}

void Daemon::settle_revision(const std::string& status, const std::string& by, const std::string& at) {
    // The pending change is the newest revision: nothing else is applied
    // while it is pending (reloads are deferred until it settles).
    if (history_.empty()) return;
    auto& last = history_.back();
    if (!last.value("pending", false) || last.contains("settled")) return;
    const auto n = last.value("revision", std::uint64_t{0});
    try {
        reconcile::StateDirectory dir(opts_.state_dir);
        auto rev = dir.revision(n);
        if (!rev) return;
        rev->settled = status;
        rev->settled_at = at;
        rev->settled_by = by;
        if (!dir.update_revision(*rev)) return;
        last = reconcile::revision_summary(*rev);
        spdlog::info("revision {}: {} ({})", n, status, by);
    } catch (const std::exception& e) {
        spdlog::error("revisions: revision {} is not marked {}: {}", n, status, e.what());
    }
}

void Daemon::give_back_files(const Job& job, const std::string& why) {
    if (!job.replaced) return;
    // The rollback did not take: the files go back to what is in force.
    try {
        restore_config(opts_.config_dir, *job.replaced);
        spdlog::warn("rollback --to: {}: the files it replaced are back in {}", why, opts_.config_dir.string());
    } catch (const std::exception& e) {
        spdlog::critical("rollback --to: {}, and its files could not be put back ({}): they are in {}", why,
                         e.what(), job.replaced->string());
    }
}

void Daemon::history_request(ControlServer::Reply reply) {
    auto out = ok_reply();
    out["format"] = reconcile::kRevisionFormat;
    out["keep"] = opts_.revisions;
    nlohmann::json revs = nlohmann::json::array();
    for (const auto& r : history_) revs.push_back(r);
    out["revisions"] = std::move(revs);
    reply(out);
}

void Daemon::diff_request(const nlohmann::json& req, ControlServer::Reply reply) {
    reconcile::StateDirectory dir(opts_.state_dir);
    const auto kept = dir.revision_numbers();
    std::vector<std::uint64_t> asked;
    if (req.contains("revisions")) {
        const auto& v = req["revisions"];
        if (!v.is_array() || v.size() > 2) {
            reply(error_reply("\"revisions\" must be a list of up to two revision numbers"));
            return;
        }
        for (const auto& x : v) {
            auto n = rev_number(x);
            if (!n) {
                reply(error_reply("a revision is a number from 1, not " + x.dump()));
                return;
            }
            asked.push_back(*n);
        }
    }
    // No revision: the last one; one: what it changed (from the one kept
    // before it); two: from the first to the second.
    if (asked.empty()) {
        if (kept.empty()) {
            reply(error_reply("no revision is kept yet"));
            return;
        }
        asked.push_back(kept.back());
    }
    if (asked.size() == 1) {
        auto it = std::lower_bound(kept.begin(), kept.end(), asked[0]);
        if (it == kept.end() || *it != asked[0]) {
            reply(error_reply("no revision " + std::to_string(asked[0]) + ": " + kept_range(kept)));
            return;
        }
        if (it == kept.begin()) {
            reply(error_reply("revision " + std::to_string(asked[0]) +
                              " is the oldest kept: name two revisions, or one after it"));
            return;
        }
        asked.insert(asked.begin(), *std::prev(it));
    }
    try {
        auto from = dir.revision(asked[0]);
        auto to = dir.revision(asked[1]);
        for (auto [n, r] : {std::pair{asked[0], &from}, std::pair{asked[1], &to}})
            if (!*r) {
                reply(error_reply("no revision " + std::to_string(n) + ": " + kept_range(kept)));
                return;
            }
        const auto [lo, hi] = std::minmax(asked[0], asked[1]);
        std::vector<reconcile::Revision> between;
        for (auto n : kept)
            if (n > lo && n <= hi)
                if (auto r = dir.revision(n)) between.push_back(std::move(*r));
        auto out = reconcile::revision_diff(*from, *to, between);
        out["version"] = control::kVersion;
        out["ok"] = true;
        reply(out);
    } catch (const std::exception& e) {
        reply(error_reply(std::string("revisions: ") + e.what()));
    }
}

void Daemon::rollback_to_request(const nlohmann::json& req, const Peer& peer, ControlServer::Reply reply) {
    auto n = rev_number(req["to"]);
    if (!n) {
        reply(error_reply("rollback: \"to\" must be a revision number from 1"));
        return;
    }
    std::optional<std::chrono::seconds> confirm;
    if (std::string bad; !confirm_of(req, confirm, bad)) {
        reply(error_reply(bad));
        return;
    }
    if (pending_) {
        reply(error_reply("a commit-confirmed change is pending until " + iso_time(pending_->change.deadline) +
                          ": `netlabctl confirm` or `netlabctl rollback` first; nothing was changed"));
        return;
    }
    // One at a time: a second would keep the first's files as "the admin's"
    // and, were both to fail, put those back instead of the admin's own.
    const bool busy = (running_ && running_->replaced) ||
                      std::any_of(queue_.begin(), queue_.end(), [](const Job& j) { return j.replaced.has_value(); });
    if (busy) {
        reply(error_reply("another `rollback --to` is being applied: wait for its result; nothing was changed"));
        return;
    }
    reconcile::StateDirectory dir(opts_.state_dir);
    std::optional<reconcile::Revision> rev;
    try {
        rev = dir.revision(*n);
    } catch (const std::exception& e) {
        reply(error_reply("revision " + std::to_string(*n) + ": " + e.what() + "; nothing was changed"));
        return;
    }
    if (!rev) {
        reply(error_reply("no revision " + std::to_string(*n) + ": " + kept_range(dir.revision_numbers()) +
                          "; nothing was changed"));
        return;
    }
    if (rev->result != "applied" || (!rev->settled.empty() && rev->settled != "confirmed")) {
        const std::string how = rev->result != "applied" ? rev->result : "applied pending, then " + rev->settled;
        reply(error_reply("revision " + std::to_string(*n) + " was " + how +
                          ", never in force: there is nothing of it to return to; nothing was changed"));
        return;
    }
    const std::string trigger = "netlabctl rollback --to " + std::to_string(*n);
    const std::filesystem::path saved = opts_.config_dir / "replaced" / (iso_time(WallClock::now()) + "-rollback-to-" + std::to_string(*n));
    const std::string header = "# Revision " + std::to_string(*n) + " (" + rev->time + ", " + rev->origin +
                               "), put back by `" + trigger + "`.\n# The files it replaced are in " +
                               saved.string() + ".\n";
    try {
        replace_config(opts_.config_dir, header + rev->topology, saved);
    } catch (const std::exception& e) {
        reply(error_reply("rollback --to " + std::to_string(*n) + ": the files could not be written: " + e.what() +
                          "; nothing was changed"));
        return;
    }
    spdlog::info("{}: {}: revision {} written as {}; the files it replaced are in {}", trigger, peer.str(), *n,
                 (opts_.config_dir / model::kMainFile).string(), saved.string());
    const std::string client = req.contains("client") && req["client"].is_string() ? req["client"].get<std::string>() : "";
    Job job;
    job.mode = JobResult::Mode::Apply;
    job.triggers.push_back(trigger);
    job.waiters.push_back(std::move(reply));
    job.reload = true;  // asked for explicitly: it goes on after a hold, like `netlabctl reload`
    job.confirm = confirm;
    job.full = true;
    job.origin = "rollback";
    job.by.push_back(trigger + ": " + peer.str() + (client.empty() ? "" : " (" + client + ")"));
    job.replaced = saved;
    notifier_.reloading("reloading (" + trigger + ")");
    queue_.push_back(std::move(job));
    start_next();
}

}  // namespace netlab::daemon
