// The configuration directory written back for `rollback --to` (see
// config_files.hpp).
#include "netlabd/config_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <optional>
#include <sstream>
#include <system_error>
#include <vector>

#include "model/load.hpp"
#include "reconcile/apply/state_dir.hpp"

namespace netlab::daemon {

namespace fs = std::filesystem;

namespace {

// Configuration written back must be durable: a directory that cannot be
// opened is an error here.
void sync_dir(const fs::path& dir) {
    if (!reconcile::fsync_directory(dir))
        throw std::system_error(errno, std::generic_category(), "cannot open " + dir.string());
}

std::string read_file(const fs::path& p) { return reconcile::read_file_or_throw(p); }

std::vector<std::string> dropins(const fs::path& d) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(d, ec))
        if (model::is_dropin_name(e.path().filename().string()) && !e.is_directory())
            out.push_back(e.path().filename().string());
    return out;
}

// topology.yaml as written back. It may be a symlink (configuration
// management often links it into a checkout): then its target is written, so
// the link stays a link, and the file keeps the mode and owner it had. A file
// that did not exist is made 0644, owned by netlabd.
struct MainFile {
    fs::path path;
    std::optional<unsigned> mode;
    std::optional<std::pair<uid_t, gid_t>> owner;
};

MainFile main_file(const fs::path& main) {
    MainFile m{main, std::nullopt, std::nullopt};
    std::error_code ec;
    // Each link followed by hand: weakly_canonical stops at the first name
    // that does not exist, which for a link to a missing file is the link
    // itself (writing there would replace the link with a file).
    for (int hops = 0; fs::is_symlink(fs::symlink_status(m.path, ec)); ++hops) {
        if (hops == 40) throw std::system_error(ELOOP, std::generic_category(), main.string());
        const fs::path to = fs::read_symlink(m.path);
        m.path = to.is_absolute() ? to : m.path.parent_path() / to;
    }
    m.path = fs::weakly_canonical(m.path);
    struct stat st {};
    if (::stat(m.path.c_str(), &st) == 0) {
        m.mode = static_cast<unsigned>(st.st_mode & 07777);
        m.owner = std::pair{st.st_uid, st.st_gid};
    }
    return m;
}

void write_main(const fs::path& main, const std::string& text) {
    const MainFile m = main_file(main);
    reconcile::write_file_durably(m.path, text, m.mode);
    if (m.owner && (m.owner->first != ::geteuid() || m.owner->second != ::getegid()) &&
        ::chown(m.path.c_str(), m.owner->first, m.owner->second) != 0)
        throw std::system_error(errno, std::generic_category(), "cannot give back the owner of " + m.path.string());
}

void put_dropins_back(const fs::path& dir, const fs::path& saved) {
    const fs::path dropin_dir = dir / model::kDropinDir;
    const auto moved = dropins(saved / model::kDropinDir);
    if (moved.empty()) return;
    fs::create_directories(dropin_dir);
    for (const auto& name : moved) fs::rename(saved / model::kDropinDir / name, dropin_dir / name);
    sync_dir(dropin_dir);
}

}  // namespace

void replace_config(const fs::path& dir, const std::string& text, const fs::path& saved) {
    const fs::path main = dir / model::kMainFile;
    const fs::path dropin_dir = dir / model::kDropinDir;
    fs::create_directories(saved / model::kDropinDir);
    try {
        if (fs::exists(main))
            reconcile::write_file_durably(saved / model::kMainFile, read_file(main));
        for (const auto& name : dropins(dropin_dir))
            fs::rename(dropin_dir / name, saved / model::kDropinDir / name);
        sync_dir(saved / model::kDropinDir);
        if (fs::exists(dropin_dir)) sync_dir(dropin_dir);
        write_main(main, text);
    } catch (...) {
        // topology.yaml is replaced last, in one rename: it is still the old one.
        std::error_code ec;
        try {
            put_dropins_back(dir, saved);
            fs::remove_all(saved, ec);
        } catch (...) {
        }
        throw;
    }
}

void restore_config(const fs::path& dir, const fs::path& saved) {
    const fs::path main = dir / model::kMainFile;
    put_dropins_back(dir, saved);
    if (fs::exists(saved / model::kMainFile)) {
        write_main(main, read_file(saved / model::kMainFile));
    } else {
        // There was no topology.yaml to read: either no file at all, or a
        // link to a target that did not exist. write_main made the file the
        // link points to; removing that (not the link) leaves both cases as
        // they were.
        std::error_code ec;
        const fs::path made = fs::is_symlink(fs::symlink_status(main, ec)) ? main_file(main).path : main;
        fs::remove(made);
        sync_dir(made.parent_path());
    }
    fs::remove_all(saved);
}

}  // namespace netlab::daemon
