// Putting back a snapshot recorded in the state directory: the journal of an
// interrupted transaction (recover) and a pending commit-confirmed change
// (roll_back_pending) take one path, since both records hold the same
// snapshot, plan, ledger and namespace targets.
#include <nlohmann/json.hpp>

#include "reconcile/containers/docker_calls.hpp"
#include "reconcile/engine.hpp"
#include "reconcile/apply/serialize.hpp"
#include "reconcile/apply/state_dir.hpp"
#include "reconcile/apply/transaction.hpp"

namespace netlab::reconcile {

using nlohmann::json;
using Record = StateDirectory::Record;

namespace {

// What differs between the two records: how they are named in messages.
struct RecordWords {
    const char* busy;        // "cannot recover now: "
    const char* not_v1;      // "not a version 1 journal"
    const char* unreadable;  // "the journal of an interrupted transaction"
};

RecordWords words(Record r) {
    if (r == Record::Journal)
        return {"cannot recover now: ", "not a version 1 journal", "the journal of an interrupted transaction"};
    return {"cannot roll back now: ", "not a version 1 pending file", "the pending commit-confirmed change"};
}

}  // namespace

std::optional<Outcome> Engine::restore(Record which) {
    detail::Transaction tx(kernel_, opts_, resolve_);
    const StateDirectory& dir = tx.dir();
    const RecordWords say = words(which);
    if (!dir.has(which)) return std::nullopt;
    detail::Clock clock;
    Outcome out;
    std::optional<StateDirectory::Lock> lock;
    try {
        lock.emplace(dir.path());
    } catch (const std::exception& e) {
        out.status = Outcome::Status::Failed;
        out.error = std::string(say.busy) + e.what();
        return out;
    }
    if (!dir.has(which)) return std::nullopt;  // the holder of the lock finished it
    if (which == Record::Journal) dir.remove_temporaries();
    const auto w0 = kernel_.writes();
    Observed snapshot;
    std::optional<Ledger> ledger_before;
    std::string started, id;
    try {
        json j = dir.read(which);
        if (j.value("version", 0) != 1) throw std::runtime_error(say.not_v1);
        if (which == Record::Pending) out.pending = detail::pending_from(j);
        snapshot = serial::observed_from(j.at("snapshot"));
        out.plan = serial::plan_from(j.at("plan"));
        if (j.contains("ledger")) ledger_before = serial::ledger_from(j.at("ledger"));
        started = j.value("started", "");
        id = j.value("id", "");
        std::vector<std::string> skipped;
        if (j.contains("targets")) tx.attach_targets(j.at("targets"), skipped);
        // Only the host and the container namespaces proven to be the same
        // ones are restored.
        std::erase_if(snapshot, [&](const auto& kv) { return !kv.first.empty() && !tx.has_target(kv.first); });
        out.restored.insert(out.restored.end(), skipped.begin(), skipped.end());
    } catch (const std::exception& e) {
        // Unreadable (a rename publishes it whole, so this is a damaged disk,
        // a hand edit or a foreign file): keep it aside for the admin and
        // change nothing; guessing could make things worse. Moving it aside
        // also means the next start does not fail on it again.
        const std::string not_moved = dir.set_aside(which);
        out.plan = {};
        out.status = Outcome::Status::Failed;
        out.error = std::string(say.unreadable) + " is unreadable (" + e.what() + "); nothing was changed; " +
                    (!not_moved.empty() ? "it could not be moved aside: " + not_moved
                                        : "it was moved to " + dir.aside_path(which).string()) +
                    "; check the network by hand";
        out.seconds = clock.seconds();
        return out;
    }
    // Docker's steps are undone from what Docker shows: without Docker the
    // record is kept whole for a later try (the kernel is not restored
    // alone either: Docker's network must go before its parent changes).
    if (which == Record::Journal && !out.plan.docker.empty()) {
        const docker::Client client(opts_.resolver.docker_socket, opts_.resolver.docker_timeout);
        auto seen = docker::observe(client);
        if (auto* e = std::get_if<docker::Error>(&seen)) {
            out.status = Outcome::Status::Failed;
            out.retry_later = true;
            out.error = "Docker does not answer (" + e->message + "); the interrupted transaction" +
                        (started.empty() ? std::string() : " started " + started) +
                        " has Docker steps to undo: nothing was changed, its journal is kept and recovery is "
                        "tried again";
            out.seconds = clock.seconds();
            return out;
        }
    }
    // A kill from here on leaves the record: the next start rolls back again
    // from wherever this stopped (make_plan starts from what it sees).
    const bool restored = tx.roll_back(snapshot, out.plan, out);
    out.status = restored ? Outcome::Status::RolledBack : Outcome::Status::Failed;
    if (which == Record::Journal)
        out.error = restored ? "an interrupted transaction" + (started.empty() ? std::string() : " started " + started) +
                                   " was rolled back"
                             : "an interrupted transaction could not be fully rolled back";
    else
        out.error = restored ? "the change was rolled back" : "the change could not be fully rolled back";
    if (ledger_before) {
        try {
            dir.save_ledger(*ledger_before);
        } catch (const std::exception& e) {
            out.restored.push_back(std::string("cannot restore the ledger: ") + e.what());
        }
    }
    dir.remove(which);
    // The interrupted transaction was a commit-confirmed change that never
    // completed: nothing of it is left to confirm or roll back.
    if (which == Record::Journal) {
        try {
            if (!id.empty() && dir.has(Record::Pending) && dir.read(Record::Pending).value("id", "") == id) {
                dir.remove(Record::Pending);
                out.restored.push_back("the commit-confirmed change it was is no longer pending");
            }
        } catch (const std::exception&) {
            // an unreadable pending file is pending()'s to report
        }
    }
    out.writes = kernel_.writes() - w0;
    out.seconds = clock.seconds();
    return out;
}

std::optional<Outcome> Engine::recover() { return restore(Record::Journal); }

std::optional<Outcome> Engine::roll_back_pending() { return restore(Record::Pending); }

}  // namespace netlab::reconcile
