// The state directory (STATE_DIR, default /run/netlab): the only code that
// names, reads or writes its files. Every write is durable (temp file, fsync,
// rename, directory fsync), so a crash leaves either the old file or the new
// one, never half of one.
//
//   lock          flock: one transaction at a time per state directory
//   ledger.json   adopted originals (Ledger)
//   journal.json  the transaction in flight: snapshot, plan, ledger before
//   pending.json  a commit-confirmed change: the journal's content + deadline
//   held          netlabd's hold after a commit-confirmed rollback
//   revisions/N.json  the changes netlabd applied, the last --revisions of
//                 them (revision.hpp), N zero-padded so names sort
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "reconcile/plan/ledger.hpp"
#include "reconcile/apply/revision.hpp"
#include "reconcile/unique_fd.hpp"

namespace netlab::reconcile {

class StateDirectory {
public:
    // The two records a rollback restores from: a transaction's journal
    // (recovery after a crash) and a pending commit-confirmed change.
    enum class Record { Journal, Pending };

    explicit StateDirectory(std::filesystem::path dir);
    const std::filesystem::path& path() const { return dir_; }
    // Creates the directory (and its parents) when missing.
    std::error_code make() const;
    std::filesystem::path file(Record r) const;

    // One transaction at a time per state directory (netlabd and a netlabctl
    // apply side by side would otherwise share one journal): flock on
    // STATE_DIR/lock, held while the Lock lives. Throws when another process
    // holds it or the directory cannot be made.
    class Lock {
    public:
        explicit Lock(const std::filesystem::path& dir);

    private:
        UniqueFd fd_;
    };
    Lock lock() const { return Lock(dir_); }

    // The ledger: empty when there is none; throws when it cannot be read.
    Ledger ledger() const;
    void save_ledger(const Ledger& l) const;
    // The ledger file as it is on disk (nullopt when absent): part of what
    // netlabd compares to know a reconcile would see the same input.
    std::optional<std::string> ledger_text() const;

    bool has(Record r) const;
    // The record's JSON; throws when it cannot be read or parsed.
    nlohmann::json read(Record r) const;
    void write(Record r, const nlohmann::json& j) const;
    // Removes the record durably (no error when it is already gone).
    void remove(Record r) const;
    // Moves an unreadable record to NAME.unreadable for the admin. Returns
    // "" on success, else why it could not be moved.
    std::string set_aside(Record r) const;
    std::filesystem::path aside_path(Record r) const;
    // A temporary file left by a kill in the middle of a durable write is
    // never read (the rename is what publishes a file): recovery drops them.
    void remove_temporaries() const;

    // netlabd's hold: one line, why. nullopt when not held.
    std::optional<std::string> held() const;
    std::filesystem::path held_path() const;
    void store_held(const std::string& why) const;  // throws std::system_error
    void drop_held() const;                          // throws std::system_error

    // Revisions. The numbers kept, ascending (names that are not a
    // revision's are ignored).
    std::vector<std::uint64_t> revision_numbers() const;
    // nullopt when revision n is not kept; throws when it cannot be read.
    std::optional<Revision> revision(std::uint64_t n) const;
    // Stores `r` as the next revision (one past the highest kept, 1 in an
    // empty directory), then drops the oldest until `keep` remain. Returns
    // it with its number. Throws std::system_error.
    Revision add_revision(Revision r, std::size_t keep) const;
    // Writes `r` again over the kept revision of its number (a pending
    // change that has settled); false when that revision is no longer kept.
    bool update_revision(const Revision& r) const;

private:
    std::filesystem::path dir_;
};

// Write `text` to `path` atomically and durably: temp file in the same
// directory, fsync, rename over `path`, fsync the directory. `mode`: set on
// the temp file before the rename (the umask does not apply), so a reader
// never sees the file with other permissions; nullopt: 0644 less the umask.
// Throws std::system_error on failure.
void write_file_durably(const std::filesystem::path& path, const std::string& text,
                        std::optional<unsigned> mode = std::nullopt);

// A rename or unlink in `dir` is durable once `dir` is fsync'ed. False when
// `dir` cannot be opened (it does not exist, say); the caller decides
// whether that matters.
bool fsync_directory(const std::filesystem::path& dir);

// The whole file. Throws std::system_error naming the path when it cannot
// be read.
std::string read_file_or_throw(const std::filesystem::path& path);

}  // namespace netlab::reconcile
