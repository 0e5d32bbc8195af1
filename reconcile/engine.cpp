// The Engine: plan, and apply as a Transaction.
//
//   plan:   validate -> ledger -> compile -> observe -> make_plan
//   apply:  plan -> snapshot (= what was just observed) -> journal (fsync'd)
//           -> execute every step -> re-observe -> verify (residual plan empty)
//           -> ledger -> remove journal
//   failure anywhere after the journal: roll back = make_plan(restore_target(
//           snapshot, plan), observe()) executed best effort, then compare the
//           re-observed objects in play with the snapshot.
//
// Rollback is not a second mechanism: it is the same diff with the snapshot
// as the desired state. See docs/engine.md.
#include "reconcile/engine.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "reconcile/compile.hpp"
#include "reconcile/ledger.hpp"
#include "reconcile/nl/error.hpp"
#include "reconcile/planner.hpp"
#include "reconcile/rollback_target.hpp"
#include "reconcile/serialize.hpp"

namespace netlab::reconcile {

using nlohmann::json;

const char* to_string(Outcome::Status s) {
    switch (s) {
        case Outcome::Status::Converged: return "converged";
        case Outcome::Status::Changes: return "changes";
        case Outcome::Status::Applied: return "applied";
        case Outcome::Status::RolledBack: return "rolled_back";
        case Outcome::Status::Rejected: return "rejected";
        case Outcome::Status::Failed: return "failed";
    }
    return "?";
}

bool moves_host_egress(const Plan& plan) {
    for (const auto& st : plan.steps) {
        if (!st.ns.empty()) continue;
        switch (st.op) {
        case Step::Op::AddRoute:
        case Step::Op::ReplaceRoute:
        case Step::Op::DelRoute:
            if (st.route.dst.is_default()) return true;
            break;
        case Step::Op::DelAddress: return true;
        default: break;
        }
    }
    return false;
}

json Outcome::to_json() const {
    json steps = json::array();
    for (std::size_t i = 0; i < plan.steps.size(); ++i) {
        json s = serial::step(plan.steps[i]);
        s["n"] = i + 1;
        s["text"] = plan.steps[i].describe();
        steps.push_back(std::move(s));
    }
    json diags = json::array();
    for (const auto& d : diagnostics) diags.push_back(serial::diagnostic(d));
    return json{{"status", to_string(status)},
                {"ok", ok()},
                {"steps", steps},
                {"writes", writes},
                {"seconds", seconds},
                {"failed_step", failed_step ? json(*failed_step + 1) : json(nullptr)},
                {"error", error},
                {"restored", restored},
                {"diagnostics", diags},
                {"phases", phases},
                {"reused_namespaces", reused},
                {"pending", pending ? json{{"deadline", pending->deadline.time_since_epoch().count()},
                                           {"reason", pending->reason},
                                           {"summary", pending->summary}}
                                    : json(nullptr)}};
}

namespace {

namespace fs = std::filesystem;

struct Clock {
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    double seconds() const {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
};

// Outcome::phases: each lap adds the time since the previous one to a phase.
class PhaseClock {
public:
    explicit PhaseClock(Outcome& out) : out_(out) {}
    void lap(const char* phase) {
        const auto now = std::chrono::steady_clock::now();
        out_.phases[phase] += std::chrono::duration<double, std::milli>(now - mark_).count();
        mark_ = now;
    }

private:
    Outcome& out_;
    std::chrono::steady_clock::time_point mark_ = std::chrono::steady_clock::now();
};

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw std::system_error(errno, std::generic_category(), "cannot read " + p.string());
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// A rename or unlink is durable once its directory is fsync'ed.
void sync_dir(const fs::path& dir) {
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
}

void remove_durably(const fs::path& p) {
    std::error_code ec;
    fs::remove(p, ec);
    sync_dir(p.parent_path());
}

std::string now_utc() {
    std::time_t t = std::time(nullptr);
    char buf[32];
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

// Every namespace a desired state or a plan refers to.
std::set<NsId> namespaces_of(const Desired& d, const Plan& p) {
    std::set<NsId> out{""};
    for (const auto& [ns, _] : d.namespaces) out.insert(ns);
    for (const auto& s : p.steps) {
        out.insert(s.ns);
        if (!s.link.parent_ns.empty() || s.link.kind == "macvlan") out.insert(s.link.parent_ns);
        if (s.link.kind == "veth") out.insert(s.link.peer_ns);
    }
    return out;
}

// The namespaces a plan can change: where its steps run, where a created
// veth peer or macvlan lands or hangs off; a deletion in the host can take
// links anywhere along (a veth's other end, macvlan children), so it puts
// every observed namespace in play, and one in a container the host too (a
// veth takes its host end along). Only these are snapshot, journaled and
// observed again to verify: at 1000 containers, a change in one of them
// no longer writes and reads back all 1001.
std::set<NsId> in_play(const Plan& p, const Observed& observed) {
    std::set<NsId> out;
    for (const auto& s : p.steps) {
        out.insert(s.ns);
        if (s.op == Step::Op::CreateLink && s.link.kind == "macvlan") out.insert(s.link.parent_ns);
        if (s.op == Step::Op::CreateLink && s.link.kind == "veth") out.insert(s.link.peer_ns);
        if (s.op != Step::Op::DeleteLink && s.op != Step::Op::DeleteGroup) continue;
        out.insert("");
        if (s.ns.empty())
            for (const auto& [ns, _] : observed) out.insert(ns);
    }
    return out;
}

#ifdef NETLAB_TESTING
// Test-only windows and faults (docs/engine.md, "Fault injection").
struct FaultInjection {
    std::size_t fail_at = 0;  // 1-based; 0 = none
    unsigned delay_ms = 0;
    unsigned rollback_delay_ms = 0;
    // The process stops itself (SIGSTOP) at one point, once: a test waits
    // for the stopped state and kills, inspects or continues it there. A
    // sleep would be a window the test has to hit, which a busy machine can
    // miss.
    std::size_t stop_before = 0;           // before forward step k is reported and sent
    std::size_t stop_after = 0;            // after forward step k was sent
    std::size_t stop_after_rollback = 0;   // after rollback (or recovery) step k was sent
    static unsigned ms(const char* name) {
        const char* v = std::getenv(name);
        return v ? static_cast<unsigned>(std::strtoul(v, nullptr, 10)) : 0;
    }
    static FaultInjection from_env() {
        FaultInjection f;
        f.fail_at = ms("NETLAB_FAIL_AT_STEP");
        f.delay_ms = ms("NETLAB_STEP_DELAY_MS");
        f.rollback_delay_ms = ms("NETLAB_ROLLBACK_DELAY_MS");
        f.stop_before = ms("NETLAB_STOP_BEFORE_STEP");
        f.stop_after = ms("NETLAB_STOP_AFTER_STEP");
        f.stop_after_rollback = ms("NETLAB_STOP_AFTER_ROLLBACK_STEP");
        return f;
    }
    bool forward_one_by_one() const { return delay_ms || fail_at || stop_before || stop_after; }
    static void sleep(unsigned ms) {
        if (ms) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    }
    void fail(std::size_t n) const {  // n is 1-based
        if (fail_at == n)
            throw nl::NlError(EPERM, "", "", "injected fault at step " + std::to_string(n));
    }
    // Stops the process when `when` (1-based) is `at`, the first time only:
    // a later reconcile of the same process runs on.
    static void stop_at(std::size_t at, std::size_t when, bool& done) {
        if (at == 0 || at != when || done) return;
        done = true;
        ::raise(SIGSTOP);
    }
};
bool stopped_before = false, stopped_after = false, stopped_after_rollback = false;
#endif

// A link compared without its ifindex: a link the rollback had to recreate is
// the same link for the admin.
bool same_link(model::LinkState a, model::LinkState b) {
    a.ifindex = b.ifindex = 0;
    return a == b;
}

}  // namespace

namespace {

// One transaction at a time per state directory (netlabd and a netlabctl
// apply side by side would otherwise share one journal): flock on
// STATE_DIR/lock, held for the whole apply or recover.
class StateLock {
public:
    explicit StateLock(const fs::path& dir) {
        fs::create_directories(dir);
        fd_ = ::open((dir / "lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "cannot open " + (dir / "lock").string());
        if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;
            ::close(fd_);
            fd_ = -1;
            if (e == EWOULDBLOCK)
                throw std::runtime_error("another netlab transaction is running on " + dir.string());
            throw std::system_error(e, std::generic_category(), "cannot lock " + (dir / "lock").string());
        }
    }
    ~StateLock() {
        if (fd_ >= 0) ::close(fd_);
    }
    StateLock(const StateLock&) = delete;
    StateLock& operator=(const StateLock&) = delete;

private:
    int fd_ = -1;
};

// ---- the transaction ------------------------------------------------------

class Transaction {
public:
    Transaction(Kernel& kernel, const Options& opts, const Engine::Resolver& resolve)
        : kernel_(kernel), opts_(opts), resolve_(resolve) {}
    // Container namespaces are attached for one run only (see
    // Kernel::detach_namespace).
    ~Transaction() {
        for (const auto& ns : attached_) {
            try {
                kernel_.detach_namespace(ns);
            } catch (...) {
            }
        }
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

    fs::path journal_path() const { return opts_.state_dir / "journal.json"; }
    fs::path ledger_path() const { return opts_.state_dir / "ledger.json"; }
    fs::path pending_path() const { return opts_.state_dir / "pending.json"; }

    Ledger load_ledger() const {
        if (!fs::exists(ledger_path())) return {};
        return serial::ledger_from(json::parse(read_file(ledger_path())));
    }

    void save_ledger(const Ledger& l) const {
        fs::create_directories(opts_.state_dir);
        serial::write_file_durably(ledger_path(), serial::ledger(l).dump(2) + "\n");
    }

    // `ledger` is the ledger before the transaction: a crash after the new
    // ledger is written but before the journal is removed rolls both back.
    json journal_json(const Observed& snapshot, const Plan& plan, const Ledger& ledger) {
        if (started_.empty()) started_ = now_utc();
        return json{{"version", 1},
                    {"started", started_},
                    {"pid", ::getpid()},
                    {"id", started_ + "/" + std::to_string(::getpid())},
                    {"targets", targets_json(snapshot)},
                    {"snapshot", serial::observed(snapshot)},
                    {"plan", serial::plan(plan)},
                    {"ledger", serial::ledger(ledger)}};
    }

    void write_journal(const Observed& snapshot, const Plan& plan, const Ledger& ledger) {
        fs::create_directories(opts_.state_dir);
        serial::write_file_durably(journal_path(), journal_json(snapshot, plan, ledger).dump() + "\n");
    }

    // The pending file is the journal's content plus the deadline: what a
    // rollback needs, long after the transaction itself has ended.
    PendingChange write_pending(const Observed& snapshot, const Plan& plan, const Ledger& ledger,
                                const ConfirmRequest& req) {
        fs::create_directories(opts_.state_dir);
        json j = journal_json(snapshot, plan, ledger);
        PendingChange p;
        p.id = j.at("id").get<std::string>();
        p.started = started_;
        p.deadline = req.deadline;
        p.reason = req.reason;
        p.summary = summarize(plan);
        j["deadline_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(
                               req.deadline.time_since_epoch()).count();
        j["reason"] = p.reason;
        j["summary"] = p.summary;
        j["probe"] = nullptr;
        serial::write_file_durably(pending_path(), j.dump() + "\n");
        return p;
    }

    // "7 steps; ip route replace default via ... dev br0; ip addr del ..."
    static std::string summarize(const Plan& plan) {
        std::string s = std::to_string(plan.steps.size()) + (plan.steps.size() == 1 ? " step" : " steps");
        std::size_t shown = 0;
        for (const auto& st : plan.steps) {
            Plan one;
            one.steps.push_back(st);
            if (!moves_host_egress(one)) continue;
            if (++shown > 4) {
                s += "; ...";
                break;
            }
            s += "; " + st.describe();
        }
        return s;
    }

    Observed observe(const std::set<NsId>& spaces) {
        Observed out;
        for (const auto& ns : spaces) out.emplace(ns, kernel_.observe(ns));
        return out;
    }

    // Restores `snapshot` for everything `plan` could have touched. Fills
    // out.restored; returns true when the re-observed state matches.
    bool roll_back(const Observed& snapshot, const Plan& plan, Outcome& out) {
        Desired target = restore_target(snapshot, plan);
        // Only namespaces with a snapshot can be restored (a container that
        // died meanwhile took what netlab made in it along).
        std::erase_if(target.namespaces, [&](const auto& kv) { return !snapshot.count(kv.first); });
        std::set<NsId> spaces;
        for (const auto& [ns, _] : snapshot) spaces.insert(ns);
        bool clean = true;
        Observed now;
        try {
            now = observe(spaces);
        } catch (const std::exception& e) {
            out.restored.push_back(std::string("cannot observe before rollback: ") + e.what());
            return false;
        }
        Plan back = make_plan(target, now);
#ifdef NETLAB_TESTING
        const auto rollback_faults = FaultInjection::from_env();
        const unsigned delay_ms = rollback_faults.rollback_delay_ms;
#endif
        for (std::size_t i = 0; i < back.steps.size(); ++i) {
            const auto& step = back.steps[i];
#ifdef NETLAB_TESTING
            FaultInjection::sleep(delay_ms);
#endif
            if (opts_.progress) opts_.progress(StepEvent{StepEvent::Phase::Rollback, i + 1, back.steps.size(), step});
            // Best effort: one step refused must not stop the others.
            try {
                kernel_.execute(step);
#ifdef NETLAB_TESTING
                FaultInjection::stop_at(rollback_faults.stop_after_rollback, i + 1, stopped_after_rollback);
#endif
                out.restored.push_back(step.describe());
            } catch (const std::exception& e) {
                clean = false;
                out.restored.push_back(step.describe() + "  FAILED: " + e.what());
            }
        }
        Observed after;
        try {
            after = observe(spaces);
        } catch (const std::exception& e) {
            out.restored.push_back(std::string("cannot observe after rollback: ") + e.what());
            return false;
        }
        std::string diff = compare_in_play(snapshot, target, after);
        if (!diff.empty()) {
            out.restored.push_back("not restored: " + diff);
            clean = false;
        }
        return clean;
    }

    // "" when every link, address and route in play equals the snapshot;
    // otherwise what differs first. In play: the links the rollback target
    // names, the addresses on them, and routes through them or with the key
    // of a route the target names.
    static std::string compare_in_play(const Observed& snapshot, const Desired& target, const Observed& after) {
        for (const auto& [ns, want] : target.namespaces) {
            static const model::NetnsState kEmpty;
            auto s_it = snapshot.find(ns);
            auto a_it = after.find(ns);
            const model::NetnsState& before = s_it == snapshot.end() ? kEmpty : s_it->second;
            const model::NetnsState& now = a_it == after.end() ? kEmpty : a_it->second;
            const std::string where = ns.empty() ? "" : ns + ": ";
            std::set<std::string> devs;
            for (const auto& [name, _] : want.links) devs.insert(name);
            for (const auto& r : want.routes)
                if (!r.dev.empty()) devs.insert(r.dev);
            for (const auto& name : devs) {
                auto b = before.links.find(name);
                auto n = now.links.find(name);
                if ((b == before.links.end()) != (n == now.links.end()))
                    return where + "link " + name + (b == before.links.end() ? " still exists" : " is missing");
                if (b != before.links.end() && !same_link(b->second, n->second))
                    return where + "link " + name + " differs";
            }
            auto addrs_on = [&](const model::NetnsState& s) {
                std::set<model::AddressState> out;
                // An IPv6 link-local address is the kernel's: a link the
                // rollback re-creates gets it some time after it comes up.
                for (const auto& a : s.addresses)
                    if (devs.count(a.dev) && !a.prefix.addr.is_link_local_v6()) out.insert(a);
                return out;
            };
            auto ab = addrs_on(before), an = addrs_on(now);
            for (const auto& a : ab)
                if (!an.count(a)) return where + "address " + a.prefix.str() + " on " + a.dev + " is missing";
            for (const auto& a : an)
                if (!ab.count(a)) return where + "address " + a.prefix.str() + " on " + a.dev + " is extra";
            // `routes` by name: clang 14 (the fuzz build's) cannot capture
            // the structured binding `want` itself.
            auto in_play = [&, &routes = want.routes](const model::RouteState& r) {
                if (r.dst.addr.is_link_local_v6()) return false;  // fe80::/64: the kernel's, with the address
                if (devs.count(r.dev)) return true;
                for (const auto& w : routes)
                    if (w.table == r.table && w.dst == r.dst && w.metric == r.metric) return true;
                return false;
            };
            for (const auto& r : before.routes)
                if (in_play(r) && !now.routes.count(r))
                    return where + "route " + r.dst.str() + (r.dev.empty() ? "" : " dev " + r.dev) + " is missing";
            for (const auto& r : now.routes)
                if (in_play(r) && !before.routes.count(r))
                    return where + "route " + r.dst.str() + (r.dev.empty() ? "" : " dev " + r.dev) + " is extra";
        }
        return {};
    }

    // Resolves and attaches every container's namespace. A container that
    // is missing or stopped is reported and left out of this run (with the
    // links other namespaces would point into it); the rest goes on.
    // `wanted` picks the containers to attach (all when null).
    void attach_containers(const model::Topology& topo, Desired& desired, model::Diagnostics& diags,
                           const std::function<bool(const NsId&)>& wanted = nullptr) {
        auto skip = [&](const std::string& name, const model::Container& c, const std::string& why) {
            const NsId ns = container_ns(name);
            diags.push_back(model::Diagnostic{model::Severity::Warning, {},
                                              "container " + name + " (" + c.netns.str() + ") skipped: " + why,
                                              "it is attached at the next reconcile after it runs"});
            desired.namespaces.erase(ns);
            for (auto& [_, d] : desired.namespaces)
                std::erase_if(d.links, [&](const auto& kv) {
                    return kv.second.peer_ns == ns || (kv.second.kind == "macvlan" && kv.second.parent_ns == ns);
                });
        };
        // Resolve all, then attach all in one go (NlKernel opens their
        // sockets from one short-lived thread instead of one thread each).
        std::vector<std::pair<std::string, ResolvedNs>> resolved;
        std::vector<std::pair<NsId, int>> fds;
        for (const auto& [name, c] : topo.containers) {
            if (wanted && !wanted(container_ns(name))) continue;
            auto r = resolve(c.netns);
            if (auto* ok = std::get_if<ResolvedNs>(&r)) {
                resolved.emplace_back(name, *ok);
                fds.emplace_back(container_ns(name), ok->fd);
            } else {
                skip(name, c, std::get<std::string>(r));
            }
        }
        const std::map<NsId, std::string> failed = kernel_.attach_namespaces(fds);
        for (const auto& [name, r] : resolved) {
            const NsId ns = container_ns(name);
            const model::Container& c = topo.containers.at(name);
            if (auto f = failed.find(ns); f != failed.end()) {
                skip(name, c, f->second);
                continue;
            }
            attached_.insert(ns);
            NsIdentity id = r.id;
            id.cookie = kernel_.namespace_cookie(ns);
            targets_[ns] = Target{c.netns.str(), id};
        }
    }

    // Re-attaches the namespaces a journal names (recover after a restart),
    // each only if it is still the namespace the snapshot was taken in: a
    // container that restarted (or vanished) meanwhile has a fresh namespace,
    // and what netlab made in the old one went with it. Says why for every
    // namespace it leaves out.
    void attach_targets(const json& targets, std::vector<std::string>& notes) {
        for (const auto& [ns, entry] : targets.items()) {
            if (!entry.is_object() || !entry.contains("identity")) {
                notes.push_back(ns + ": not restored: the journal does not record which namespace it was");
                continue;
            }
            const std::string text = entry.at("target").get<std::string>();
            auto t = model::NetnsTarget::parse(text);
            if (!t) {
                notes.push_back(ns + ": not restored: the journal's target '" + text + "' does not parse");
                continue;
            }
            const NsIdentity then = serial::identity_from(entry.at("identity"));
            auto r = resolve(*t);
            auto* ok = std::get_if<ResolvedNs>(&r);
            if (!ok) {
                notes.push_back(ns + " (" + text + ") is gone: " + std::get<std::string>(r) +
                                "; not restored: what netlab made in it went with it");
                continue;
            }
            try {
                NsIdentity now = attach(ns, *ok);
                if (std::string why = identity_mismatch(then, now); !why.empty()) {
                    detach(ns);
                    notes.push_back(ns + " (" + text + ") is not the namespace of the interrupted transaction: " +
                                    why + "; not restored: its namespace is a new one");
                    continue;
                }
                targets_[ns] = Target{text, now};
            } catch (const std::exception& e) {
                notes.push_back(ns + ": " + e.what());
            }
        }
    }

    std::variant<ResolvedNs, std::string> resolve(const model::NetnsTarget& t) const {
        return resolve_ ? resolve_(t) : resolve_netns(t, opts_.resolver);
    }

    // Attaches the resolved namespace (the kernel takes the fd) and returns
    // its identity with the cookie the kernel reads from its socket there.
    NsIdentity attach(const NsId& ns, const ResolvedNs& r) {
        kernel_.attach_namespace(ns, r.fd);
        attached_.insert(ns);
        NsIdentity id = r.id;
        id.cookie = kernel_.namespace_cookie(ns);
        return id;
    }

    bool attached(const NsId& ns) const { return ns.empty() || attached_.count(ns); }

    void detach(const NsId& ns) {
        kernel_.detach_namespace(ns);
        attached_.erase(ns);
    }

    // The container namespaces of the snapshot (recover re-attaches only these).
    json targets_json(const Observed& snapshot) const {
        json j = json::object();
        for (const auto& [ns, t] : targets_)
            if (snapshot.count(ns)) j[ns] = serial::ns_target(t.text, t.id);
        return j;
    }

    struct Target {
        std::string text;  // as written: "docker:test1"
        NsIdentity id;
    };

    Kernel& kernel_;
    const Options& opts_;
    const Engine::Resolver& resolve_;
    std::map<NsId, Target> targets_;  // attached container namespaces in play
    std::set<NsId> attached_;         // what the destructor detaches
    std::string started_;             // of the journal (and pending file) this run writes
};

PendingChange pending_from(const json& j) {
    PendingChange p;
    p.id = j.value("id", "");
    p.started = j.value("started", "");
    p.deadline = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::milliseconds(j.at("deadline_ms").get<std::int64_t>())));
    p.reason = j.value("reason", "");
    p.summary = j.value("summary", "");
    if (j.contains("probe") && j.at("probe").is_object())
        p.probe = ProbeResult{j.at("probe").value("ok", false), j.at("probe").value("text", "")};
    return p;
}

}  // namespace

// ---- Engine -----------------------------------------------------------------

Engine::Engine(Kernel& kernel, Options opts) : kernel_(kernel), opts_(std::move(opts)) {}

namespace {

struct Prepared {
    Ledger ledger;
    Desired desired;
    Observed observed;
};

// Validation, compile, observe, plan. Fills `out` (status Rejected /
// Converged / Changes) and returns what apply needs to go on.
std::optional<Prepared> prepare(Transaction& tx, const model::Loaded& config, Outcome& out, Known known = {}) {
    PhaseClock phase(out);
    out.diagnostics = config.diagnostics;
    if (!config.ok()) {
        out.status = Outcome::Status::Rejected;
        out.error = "the topology has errors; nothing was changed";
        return std::nullopt;
    }
    Prepared p;
    try {
        p.ledger = tx.load_ledger();
    } catch (const std::exception& e) {
        out.status = Outcome::Status::Rejected;
        out.error = std::string("cannot read the ledger: ") + e.what();
        return std::nullopt;
    }
    p.desired = compile(config.topology, p.ledger);
    phase.lap("compile");
    // Known states that still stand: a container's only while the topology
    // names the same target for it.
    for (auto it = known.state.begin(); it != known.state.end();) {
        const std::string name = container_of(it->first);
        bool keep = p.desired.namespaces.count(it->first) != 0 || it->first.empty();
        if (keep && !name.empty()) {
            auto c = config.topology.containers.find(name);
            auto t = known.targets.find(it->first);
            keep = c != config.topology.containers.end() && t != known.targets.end() && c->second.netns.str() == t->second;
        }
        it = keep ? std::next(it) : known.state.erase(it);
    }
    tx.attach_containers(config.topology, p.desired, out.diagnostics,
                         [&](const NsId& ns) { return !known.state.count(ns); });
    phase.lap("attach");
    // Observation is the one kernel read here; a failure rejects the run.
    auto observed = [&](const std::function<void()>& read) {
        try {
            read();
            return true;
        } catch (const std::exception& e) {
            out.status = Outcome::Status::Rejected;
            out.error = std::string("cannot observe the kernel: ") + e.what();
            return false;
        }
    };
    std::set<NsId> remembered;  // taken from `known`, not observed in this run
    if (!observed([&] {
            std::set<NsId> fresh;
            for (const auto& ns : namespaces_of(p.desired, {}))
                (known.state.count(ns) ? remembered : fresh).insert(ns);
            p.observed = tx.observe(fresh);
            for (const auto& ns : remembered) p.observed.emplace(ns, std::move(known.state.at(ns)));
        }))
        return std::nullopt;
    known = {};
    phase.lap("observe");
    out.plan = make_plan(p.desired, p.observed);
    phase.lap("plan");
    // A remembered namespace the plan writes into is attached and observed
    // now, and the plan made again with what the kernel says. Ends: each
    // round takes at least one namespace out of `remembered`.
    for (;;) {
        std::set<NsId> now;
        for (const auto& ns : in_play(out.plan, p.observed))
            if (remembered.count(ns)) now.insert(ns);
        if (now.empty()) break;
        tx.attach_containers(config.topology, p.desired, out.diagnostics,
                             [&](const NsId& ns) { return now.count(ns) != 0; });
        phase.lap("attach");
        if (!observed([&] {
                for (const auto& ns : now) {
                    remembered.erase(ns);
                    if (tx.attached(ns)) p.observed[ns] = tx.observe({ns}).at(ns);
                    else p.observed.erase(ns);  // gone meanwhile: left out, as attach_containers says
                }
            }))
            return std::nullopt;
        phase.lap("observe");
        out.plan = make_plan(p.desired, p.observed);
        phase.lap("plan");
    }
    out.reused = remembered.size();
    if (!out.plan.refusals.empty()) {
        out.diagnostics.insert(out.diagnostics.end(), out.plan.refusals.begin(), out.plan.refusals.end());
        out.status = Outcome::Status::Rejected;
        out.error = "the kernel would refuse this plan; nothing was changed";
        return std::nullopt;
    }
    out.status = out.plan.empty() ? Outcome::Status::Converged : Outcome::Status::Changes;
    return p;
}

}  // namespace

Outcome Engine::plan(const model::Loaded& config) {
    Clock clock;
    Outcome out;
    Transaction tx(kernel_, opts_, resolve_);
    const auto w0 = kernel_.writes();
    prepare(tx, config, out);
    out.writes = kernel_.writes() - w0;
    out.seconds = clock.seconds();
    return out;
}

Outcome Engine::apply(const model::Loaded& config, const ConfirmPolicy& confirm, Known known) {
    Clock clock;
    Outcome out;
    Transaction tx(kernel_, opts_, resolve_);
    const auto w0 = kernel_.writes();
    auto finish = [&]() -> Outcome {
        out.writes = kernel_.writes() - w0;
        out.seconds = clock.seconds();
        return out;
    };

    std::optional<StateLock> lock;
    try {
        lock.emplace(opts_.state_dir);
    } catch (const std::exception& e) {
        out.diagnostics = config.diagnostics;
        out.status = Outcome::Status::Rejected;
        out.error = e.what();
        return finish();
    }
    if (fs::exists(tx.journal_path())) {
        // Writing a new journal would lose the snapshot of the interrupted
        // transaction: recover() restores it first (netlabd and netlabctl
        // apply both call it before apply).
        out.diagnostics = config.diagnostics;
        out.status = Outcome::Status::Rejected;
        out.error = "the journal of an interrupted transaction (" + tx.journal_path().string() +
                    ") has not been recovered yet; nothing was changed";
        return finish();
    }
    if (fs::exists(tx.pending_path())) {
        // A new change over a pending one would leave nothing to roll back
        // to at its deadline but this change's own snapshot.
        out.diagnostics = config.diagnostics;
        out.status = Outcome::Status::Rejected;
        out.error = "a commit-confirmed change is pending (" + tx.pending_path().string() +
                    "); `netlabctl confirm` or `netlabctl rollback` first; nothing was changed";
        return finish();
    }
    auto prepared = prepare(tx, config, out, std::move(known));
    if (!prepared) return finish();
    if (out.plan.empty()) {
        out.state = std::make_shared<Observed>(std::move(prepared->observed));
        return finish();
    }

    PhaseClock phase(out);
    const std::set<NsId> spaces = in_play(out.plan, prepared->observed);
    // The snapshot is what was observed to make the plan, of the namespaces
    // in play (observed now if only the plan's steps name them).
    Observed snapshot;
    try {
        for (const auto& ns : spaces) {
            auto seen = prepared->observed.find(ns);
            snapshot.emplace(ns, seen != prepared->observed.end() ? seen->second : kernel_.observe(ns));
        }
        // Commit-confirmed: the pending file first, so a change the kernel
        // has seen always has its way back on disk.
        if (confirm)
            if (auto req = confirm(out.plan)) out.pending = tx.write_pending(snapshot, out.plan, prepared->ledger, *req);
        // Durable before the first write: a crash from here on is repaired by
        // recover() at the next start.
        tx.write_journal(snapshot, out.plan, prepared->ledger);
    } catch (const std::exception& e) {
        if (out.pending) remove_durably(tx.pending_path());
        out.pending.reset();
        out.status = Outcome::Status::Rejected;
        out.error = std::string("cannot write the journal: ") + e.what();
        return finish();
    }
    phase.lap("journal");

#ifdef NETLAB_TESTING
    const auto faults = FaultInjection::from_env();
#endif
    std::string failure;
    const std::size_t total = out.plan.steps.size();
    bool one_by_one = false;  // a window or a fault before a given step needs each step sent on its own
#ifdef NETLAB_TESTING
    one_by_one = faults.forward_one_by_one();
#endif
    if (one_by_one) {
        for (std::size_t i = 0; i < total; ++i) {
            try {
#ifdef NETLAB_TESTING
                FaultInjection::sleep(faults.delay_ms);
                FaultInjection::stop_at(faults.stop_before, i + 1, stopped_before);
#endif
                if (opts_.progress)
                    opts_.progress(StepEvent{StepEvent::Phase::Forward, i + 1, total, out.plan.steps[i]});
#ifdef NETLAB_TESTING
                faults.fail(i + 1);
#endif
                kernel_.execute(out.plan.steps[i]);
#ifdef NETLAB_TESTING
                FaultInjection::stop_at(faults.stop_after, i + 1, stopped_after);
#endif
            } catch (const std::exception& e) {
                out.failed_step = i;
                failure = e.what();
                break;
            }
        }
    } else {
        // The kernel may pipeline the steps (NlKernel: one sendmsg() per
        // namespace); a refusal still names the first failing step, and
        // whatever later steps did is undone by the rollback below, which
        // restores the snapshot whatever the kernel holds now.
        auto failed = kernel_.execute_steps(out.plan.steps, [&](std::size_t i) {
            if (opts_.progress) opts_.progress(StepEvent{StepEvent::Phase::Forward, i + 1, total, out.plan.steps[i]});
        });
        if (failed) {
            out.failed_step = failed->step;
            try {
                std::rethrow_exception(failed->error);
            } catch (const std::exception& e) {
                failure = e.what();
            }
        }
    }
#ifdef NETLAB_TESTING
    // A window after the last step too, so a test can kill the transaction
    // with every step sent and the journal still there.
    if (failure.empty()) FaultInjection::sleep(faults.delay_ms);
#endif
    phase.lap("execute");
    if (failure.empty()) {
        try {
            // The namespaces in play observed again; the others as they were
            // observed for the plan (nothing here wrote to them).
            // (Moved: nothing below reads prepared->observed; the rollback
            // works from `snapshot`.)
            auto after = std::make_shared<Observed>(std::move(prepared->observed));
            for (auto& [ns, state] : tx.observe(spaces)) (*after)[ns] = std::move(state);
            Plan residual = make_plan(prepared->desired, *after);
            if (residual.empty()) out.state = std::move(after);
            else
                failure = "verification failed: still to do after apply: " + residual.steps.front().describe() +
                          (residual.steps.size() > 1
                               ? " (and " + std::to_string(residual.steps.size() - 1) + " more)"
                               : "");
        } catch (const std::exception& e) {
            failure = std::string("verification failed: ") + e.what();
        }
    }
    phase.lap("verify");

    if (failure.empty()) {
        try {
            tx.save_ledger(next_ledger(prepared->ledger, config.topology, snapshot, out.plan));
        } catch (const std::exception& e) {
            // The kernel is right; only the memory of adopted originals is
            // stale. Say so, keep the change.
            out.diagnostics.push_back(model::Diagnostic{model::Severity::Warning, {},
                                                        std::string("cannot write the ledger: ") + e.what(), ""});
        }
        remove_durably(tx.journal_path());
        phase.lap("commit");
        out.status = Outcome::Status::Applied;
        return finish();
    }

    out.error = failure;
    const bool restored = tx.roll_back(snapshot, out.plan, out);
    out.status = restored ? Outcome::Status::RolledBack : Outcome::Status::Failed;
    // Nothing is pending after a failed apply: rolled back here, or left to
    // the journal (recover) when the rollback did not verify.
    if (out.pending) remove_durably(tx.pending_path());
    out.pending.reset();
    // A rollback that did not verify keeps the journal: the next start
    // tries once more (recover) and then lets it go.
    if (restored) remove_durably(tx.journal_path());
    phase.lap("rollback");
    return finish();
}

std::optional<Outcome> Engine::recover() {
    Transaction tx(kernel_, opts_, resolve_);
    const fs::path path = tx.journal_path();
    if (!fs::exists(path)) return std::nullopt;
    Clock clock;
    Outcome out;
    std::optional<StateLock> lock;
    try {
        lock.emplace(opts_.state_dir);
    } catch (const std::exception& e) {
        out.status = Outcome::Status::Failed;
        out.error = std::string("cannot recover now: ") + e.what();
        return out;
    }
    if (!fs::exists(path)) return std::nullopt;  // the holder of the lock finished it
    // A temporary file left by a kill in the middle of a durable write is
    // never read: the rename is what publishes a file.
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(opts_.state_dir, ec)) {
        const std::string name = e.path().filename().string();
        if (name.starts_with("journal.json.tmp.") || name.starts_with("ledger.json.tmp.")) fs::remove(e.path(), ec);
    }
    const auto w0 = kernel_.writes();
    Observed snapshot;
    std::optional<Ledger> ledger_before;
    std::string started, journal_id;
    try {
        json j = json::parse(read_file(path));
        if (j.value("version", 0) != 1) throw std::runtime_error("not a version 1 journal");
        snapshot = serial::observed_from(j.at("snapshot"));
        out.plan = serial::plan_from(j.at("plan"));
        if (j.contains("ledger")) ledger_before = serial::ledger_from(j.at("ledger"));
        started = j.value("started", "");
        journal_id = j.value("id", "");
        std::vector<std::string> skipped;
        if (j.contains("targets")) tx.attach_targets(j.at("targets"), skipped);
        // Only the host and the container namespaces proven to be the same
        // ones are restored.
        std::erase_if(snapshot, [&](const auto& kv) { return !kv.first.empty() && !tx.targets_.count(kv.first); });
        out.restored.insert(out.restored.end(), skipped.begin(), skipped.end());
    } catch (const std::exception& e) {
        // Unreadable (a rename publishes it whole, so this is a damaged disk,
        // a hand edit or a foreign file): keep it aside for the admin and
        // change nothing; guessing could make things worse. Moving it aside
        // also means the next start does not fail on it again.
        const fs::path aside = fs::path(path).concat(".unreadable");
        fs::rename(path, aside, ec);
        sync_dir(path.parent_path());
        out.plan = {};
        out.status = Outcome::Status::Failed;
        out.error = "the journal of an interrupted transaction is unreadable (" + std::string(e.what()) +
                    "); nothing was changed; " +
                    (ec ? "it could not be moved aside: " + ec.message() : "it was moved to " + aside.string()) +
                    "; check the network by hand";
        out.seconds = clock.seconds();
        return out;
    }
    const bool restored = tx.roll_back(snapshot, out.plan, out);
    out.status = restored ? Outcome::Status::RolledBack : Outcome::Status::Failed;
    out.error = "an interrupted transaction" + (started.empty() ? std::string() : " started " + started) +
                " was rolled back";
    if (!restored) out.error = "an interrupted transaction could not be fully rolled back";
    if (ledger_before) {
        try {
            tx.save_ledger(*ledger_before);
        } catch (const std::exception& e) {
            out.restored.push_back(std::string("cannot restore the ledger: ") + e.what());
        }
    }
    remove_durably(path);
    // The interrupted transaction was a commit-confirmed change that never
    // completed: nothing of it is left to confirm or roll back.
    try {
        if (!journal_id.empty() && fs::exists(tx.pending_path()) &&
            json::parse(read_file(tx.pending_path())).value("id", "") == journal_id) {
            remove_durably(tx.pending_path());
            out.restored.push_back("the commit-confirmed change it was is no longer pending");
        }
    } catch (const std::exception&) {
        // an unreadable pending file is pending()'s to report
    }
    out.writes = kernel_.writes() - w0;
    out.seconds = clock.seconds();
    return out;
}

// ---- commit-confirmed ---------------------------------------------------------

std::optional<PendingChange> Engine::pending() const {
    const fs::path path = opts_.state_dir / "pending.json";
    if (!fs::exists(path)) return std::nullopt;
    try {
        return pending_from(json::parse(read_file(path)));
    } catch (const std::exception& e) {
        throw std::runtime_error("the pending commit-confirmed change " + path.string() + " cannot be read: " +
                                 e.what());
    }
}

void Engine::record_probe(const ProbeResult& probe) {
    const fs::path path = opts_.state_dir / "pending.json";
    json j = json::parse(read_file(path));
    j["probe"] = json{{"ok", probe.ok}, {"text", probe.text}};
    serial::write_file_durably(path, j.dump() + "\n");
}

bool Engine::confirm_pending() {
    const fs::path path = opts_.state_dir / "pending.json";
    StateLock lock(opts_.state_dir);
    if (!fs::exists(path)) return false;
    remove_durably(path);
    return true;
}

std::optional<Outcome> Engine::roll_back_pending() {
    Transaction tx(kernel_, opts_, resolve_);
    const fs::path path = tx.pending_path();
    if (!fs::exists(path)) return std::nullopt;
    Clock clock;
    Outcome out;
    std::optional<StateLock> lock;
    try {
        lock.emplace(opts_.state_dir);
    } catch (const std::exception& e) {
        out.status = Outcome::Status::Failed;
        out.error = std::string("cannot roll back now: ") + e.what();
        return out;
    }
    if (!fs::exists(path)) return std::nullopt;
    const auto w0 = kernel_.writes();
    Observed snapshot;
    std::optional<Ledger> ledger_before;
    try {
        json j = json::parse(read_file(path));
        if (j.value("version", 0) != 1) throw std::runtime_error("not a version 1 pending file");
        out.pending = pending_from(j);
        snapshot = serial::observed_from(j.at("snapshot"));
        out.plan = serial::plan_from(j.at("plan"));
        if (j.contains("ledger")) ledger_before = serial::ledger_from(j.at("ledger"));
        std::vector<std::string> skipped;
        if (j.contains("targets")) tx.attach_targets(j.at("targets"), skipped);
        std::erase_if(snapshot, [&](const auto& kv) { return !kv.first.empty() && !tx.targets_.count(kv.first); });
        out.restored.insert(out.restored.end(), skipped.begin(), skipped.end());
    } catch (const std::exception& e) {
        // As with an unreadable journal: keep it for the admin, change nothing.
        std::error_code ec;
        const fs::path aside = fs::path(path).concat(".unreadable");
        fs::rename(path, aside, ec);
        sync_dir(path.parent_path());
        out.plan = {};
        out.status = Outcome::Status::Failed;
        out.error = "the pending commit-confirmed change is unreadable (" + std::string(e.what()) +
                    "); nothing was changed; " +
                    (ec ? "it could not be moved aside: " + ec.message() : "it was moved to " + aside.string()) +
                    "; check the network by hand";
        out.seconds = clock.seconds();
        return out;
    }
    // A kill from here on leaves the pending file: the next start rolls back
    // again from wherever this stopped (make_plan starts from what it sees).
    const bool restored = tx.roll_back(snapshot, out.plan, out);
    out.status = restored ? Outcome::Status::RolledBack : Outcome::Status::Failed;
    out.error = restored ? "the change was rolled back" : "the change could not be fully rolled back";
    if (ledger_before) {
        try {
            tx.save_ledger(*ledger_before);
        } catch (const std::exception& e) {
            out.restored.push_back(std::string("cannot restore the ledger: ") + e.what());
        }
    }
    remove_durably(path);
    out.writes = kernel_.writes() - w0;
    out.seconds = clock.seconds();
    return out;
}

}  // namespace netlab::reconcile
