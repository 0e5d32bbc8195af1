// The state directory's files: names, durable writes, the lock (see
// state_dir.hpp for the layout).
#include "reconcile/apply/state_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include <nlohmann/json.hpp>

#include "reconcile/apply/serialize.hpp"

namespace netlab::reconcile {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kLedger = "ledger.json";
constexpr const char* kJournal = "journal.json";
constexpr const char* kPending = "pending.json";
constexpr const char* kHeld = "held";
constexpr const char* kLock = "lock";
constexpr const char* kRevisions = "revisions";

std::optional<std::string> read_text(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// "0000000042.json" -> 42; nullopt for any other name (temporaries included).
std::optional<std::uint64_t> revision_number(const std::string& name) {
    constexpr std::size_t kDigits = 10;
    if (name.size() != kDigits + 5 || !name.ends_with(".json")) return std::nullopt;
    std::uint64_t n = 0;
    for (std::size_t i = 0; i < kDigits; ++i) {
        if (name[i] < '0' || name[i] > '9') return std::nullopt;
        n = n * 10 + static_cast<std::uint64_t>(name[i] - '0');
    }
    return n;
}

std::string revision_name(std::uint64_t n) {
    std::string digits = std::to_string(n);
    return std::string(digits.size() < 10 ? 10 - digits.size() : 0, '0') + digits + ".json";
}

// The state directory's own files: a directory that is gone has nothing
// left to make durable.
void sync_dir(const fs::path& dir) { (void)fsync_directory(dir); }

}  // namespace

bool fsync_directory(const fs::path& dir) {
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return false;
    ::fsync(dfd);
    ::close(dfd);
    return true;
}

std::string read_file_or_throw(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw std::system_error(errno, std::generic_category(), "cannot read " + p.string());
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

StateDirectory::StateDirectory(fs::path dir) : dir_(std::move(dir)) {}

std::error_code StateDirectory::make() const {
    std::error_code ec;
    fs::create_directories(dir_, ec);
    return ec;
}

fs::path StateDirectory::file(Record r) const { return dir_ / (r == Record::Journal ? kJournal : kPending); }

StateDirectory::Lock::Lock(const fs::path& dir) {
    fs::create_directories(dir);
    const fs::path path = dir / kLock;
    fd_ = UniqueFd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (fd_.get() < 0) throw std::system_error(errno, std::generic_category(), "cannot open " + path.string());
    if (::flock(fd_.get(), LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        fd_.reset();
        if (e == EWOULDBLOCK) throw std::runtime_error("another netlab transaction is running on " + dir.string());
        throw std::system_error(e, std::generic_category(), "cannot lock " + path.string());
    }
}

Ledger StateDirectory::ledger() const {
    const fs::path path = dir_ / kLedger;
    if (!fs::exists(path)) return {};
    return serial::ledger_from(json::parse(read_file_or_throw(path)));
}

void StateDirectory::save_ledger(const Ledger& l) const {
    fs::create_directories(dir_);
    write_file_durably(dir_ / kLedger, serial::ledger(l).dump(2) + "\n");
}

std::optional<std::string> StateDirectory::ledger_text() const { return read_text(dir_ / kLedger); }

bool StateDirectory::has(Record r) const { return fs::exists(file(r)); }

json StateDirectory::read(Record r) const { return json::parse(read_file_or_throw(file(r))); }

void StateDirectory::write(Record r, const json& j) const {
    // The journal must outlive a crash: a state directory made here is
    // durable once its parent is fsync'ed.
    if (fs::create_directories(dir_)) sync_dir(dir_.has_parent_path() ? dir_.parent_path() : fs::path("."));
    write_file_durably(file(r), j.dump() + "\n");
}

void StateDirectory::remove(Record r) const {
    std::error_code ec;
    fs::remove(file(r), ec);
    sync_dir(dir_);
}

fs::path StateDirectory::aside_path(Record r) const { return fs::path(file(r)).concat(".unreadable"); }

std::string StateDirectory::set_aside(Record r) const {
    std::error_code ec;
    fs::rename(file(r), aside_path(r), ec);
    sync_dir(dir_);
    return ec ? ec.message() : std::string();
}

void StateDirectory::remove_temporaries() const {
    const std::string journal_tmp = std::string(kJournal) + ".tmp.";
    const std::string ledger_tmp = std::string(kLedger) + ".tmp.";
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir_, ec)) {
        const std::string name = e.path().filename().string();
        if (name.starts_with(journal_tmp) || name.starts_with(ledger_tmp)) fs::remove(e.path(), ec);
    }
    for (const auto& e : fs::directory_iterator(dir_ / kRevisions, ec))
        if (e.path().filename().string().find(".tmp.") != std::string::npos) fs::remove(e.path(), ec);
}

std::vector<std::uint64_t> StateDirectory::revision_numbers() const {
    std::vector<std::uint64_t> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir_ / kRevisions, ec))
        if (auto n = revision_number(e.path().filename().string())) out.push_back(*n);
    std::sort(out.begin(), out.end());
    return out;
}

std::optional<Revision> StateDirectory::revision(std::uint64_t n) const {
    const fs::path path = dir_ / kRevisions / revision_name(n);
    if (!fs::exists(path)) return std::nullopt;
    Revision r = revision_from(json::parse(read_file_or_throw(path)));
    if (r.number != n) throw std::runtime_error(path.string() + ": holds revision " + std::to_string(r.number));
    return r;
}

Revision StateDirectory::add_revision(Revision r, std::size_t keep) const {
    const fs::path dir = dir_ / kRevisions;
    // A directory made here is durable once its parent is fsync'ed: else a
    // crash could lose the directory and the revision written into it.
    if (fs::create_directories(dir)) sync_dir(dir_);
    auto numbers = revision_numbers();
    r.number = numbers.empty() ? 1 : numbers.back() + 1;
    write_file_durably(dir / revision_name(r.number), revision_json(r).dump() + "\n");
    numbers.push_back(r.number);
    const auto drop = revisions_to_drop(std::move(numbers), keep);
    for (auto n : drop) {
        std::error_code ec;
        fs::remove(dir / revision_name(n), ec);
    }
    if (!drop.empty()) sync_dir(dir);
    return r;
}

bool StateDirectory::update_revision(const Revision& r) const {
    const fs::path file = dir_ / kRevisions / revision_name(r.number);
    if (!fs::exists(file)) return false;
    write_file_durably(file, revision_json(r).dump() + "\n");
    return true;
}

fs::path StateDirectory::held_path() const { return dir_ / kHeld; }

std::optional<std::string> StateDirectory::held() const {
    std::ifstream in(held_path());
    std::string why;
    if (!in || !std::getline(in, why)) return std::nullopt;
    return why.empty() ? std::string("an earlier netlabd held") : why;
}

void StateDirectory::store_held(const std::string& why) const {
    fs::create_directories(dir_);
    write_file_durably(held_path(), why + "\n");
}

void StateDirectory::drop_held() const {
    std::error_code ec;
    fs::remove(held_path(), ec);
    if (ec) throw std::system_error(ec, held_path().string());
    sync_dir(dir_);
}

void write_file_durably(const fs::path& path, const std::string& text, std::optional<unsigned> mode) {
    auto fail = [&](const std::string& what) {
        throw std::system_error(errno, std::generic_category(), what + " " + path.string());
    };
    const fs::path dir = path.has_parent_path() ? path.parent_path() : ".";
    fs::path tmp = path;
    tmp += ".tmp." + std::to_string(getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) fail("cannot create temp file for");
    if (mode && ::fchmod(fd, static_cast<mode_t>(*mode)) != 0) {
        int e = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        errno = e;
        fail("cannot chmod temp file for");
    }
    std::size_t done = 0;
    while (done < text.size()) {
        ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            ::close(fd);
            ::unlink(tmp.c_str());
            errno = e;
            fail("cannot write");
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) {
        int e = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        errno = e;
        fail("cannot fsync");
    }
    ::close(fd);
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        int e = errno;
        ::unlink(tmp.c_str());
        errno = e;
        fail("cannot rename into");
    }
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) fail("cannot open directory of");
    int rc = ::fsync(dfd);
    int e = errno;
    ::close(dfd);
    errno = e;
    if (rc != 0) fail("cannot fsync directory of");
}

}  // namespace netlab::reconcile
