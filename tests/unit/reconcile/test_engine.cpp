// The Engine's transaction on an in-memory kernel: no root, no netlink.
// FakeKernel applies steps with the in-memory kernel's semantics
// (apply_step) and lets each test refuse, skip or "crash" at a step, and look
// at the state directory at the moment of the first write.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "lab.hpp"
#include "reconcile/engine.hpp"
#include "reconcile/memory_kernel.hpp"
#include "reconcile/nl/error.hpp"
#include "reconcile/apply/serialize.hpp"
#include "tests/unit/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace netlab;
using namespace netlab::reconcile;
using Status = Outcome::Status;

namespace {

struct Crash {};  // not a std::exception: the process "dies" mid-apply

class FakeKernel : public Kernel {
public:
    explicit FakeKernel(Observed initial) : state(std::move(initial)) {}
    model::NetnsState observe(const NsId& ns) override {
        ++observes;
        return state[ns];
    }
    void execute(const Step& step) override {
        ++writes_;
        ++executed;
        if (before_each) before_each(executed, step);
        if (refuse_at == executed) throw nl::NlError(EBUSY, step.link.name, "fake refusal");
        if (crash_at == executed) throw Crash{};
        if (ignore_at == executed) return;  // the kernel "accepts" and does nothing
        apply_step(state, step);
    }
    void attach_namespace(const NsId& ns, int fd) override {
        if (fd >= 0) ::close(fd);
        state[ns];
        attached.insert(ns);
        ++attaches;
    }
    void detach_namespace(const NsId& ns) override { attached.erase(ns); }
    std::uint64_t namespace_cookie(const NsId& ns) const override {
        auto it = cookies.find(ns);
        return it == cookies.end() ? 0 : it->second;
    }
    std::uint64_t writes() const override { return writes_; }

    std::set<NsId> attached;                // attached and not detached yet
    std::map<NsId, std::uint64_t> cookies;  // what namespace_cookie answers

    Observed state;
    std::size_t executed = 0;  // 1-based count of execute() calls
    std::size_t refuse_at = 0, crash_at = 0, ignore_at = 0;
    std::size_t observes = 0;
    std::size_t attaches = 0;
    std::function<void(std::size_t, const Step&)> before_each;

private:
    std::uint64_t writes_ = 0;
};

struct StateDir : netlab::test::TempDir {
    fs::path journal() const { return path / "journal.json"; }
    fs::path ledger() const { return path / "ledger.json"; }
};

model::Loaded takeover_config() {
    model::Loaded c;
    c.topology = test::takeover();
    model::Interface ens;
    ens.name = "ens33";
    ens.addresses = std::vector<model::Prefix>{};
    c.topology.interfaces["ens33"] = ens;
    return c;
}

Observed host1() { return Observed{{"", test::host1()}}; }

// Equal up to ifindex (a recreated link may get another one).
void check_same(const model::NetnsState& a, const model::NetnsState& b) {
    REQUIRE(a.links.size() == b.links.size());
    for (const auto& [name, l] : a.links) {
        REQUIRE(b.links.count(name));
        auto x = l, y = b.links.at(name);
        x.ifindex = y.ifindex = 0;
        CHECK(x == y);
    }
    CHECK(a.addresses == b.addresses);
    CHECK(a.routes == b.routes);
}

std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

TEST_CASE("engine: a rejected topology touches nothing") {
    StateDir dir;
    FakeKernel k(host1());
    Engine engine(k, Options{dir.path, {}});
    model::Loaded bad = takeover_config();
    bad.diagnostics.push_back(model::Diagnostic{model::Severity::Error, {"t.yaml", 3, 5}, "broken", ""});
    Outcome o = engine.apply(bad);
    CHECK(o.status == Status::Rejected);
    CHECK(o.writes == 0);
    CHECK(k.executed == 0);
    CHECK_FALSE(fs::exists(dir.journal()));
    CHECK(o.to_json()["diagnostics"][0]["text"].get<std::string>().find("broken") != std::string::npos);
}

TEST_CASE("engine: plan, apply, then converged with 0 writes") {
    StateDir dir;
    FakeKernel k(host1());
    Engine engine(k, Options{dir.path, {}});
    auto config = takeover_config();

    Outcome p = engine.plan(config);
    REQUIRE(p.status == Status::Changes);
    CHECK(p.writes == 0);
    CHECK(k.executed == 0);

    Outcome a = engine.apply(config);
    INFO(a.error);
    REQUIRE(a.status == Status::Applied);
    CHECK(a.writes == p.plan.steps.size());
    CHECK(a.plan.steps.size() == p.plan.steps.size());
    CHECK(test::reaches(k.state[""], "198.51.100.1"));
    CHECK_FALSE(fs::exists(dir.journal()));
    CHECK(fs::exists(dir.ledger()));

    Outcome again = engine.apply(config);
    CHECK(again.status == Status::Converged);
    CHECK(again.writes == 0);
    CHECK(engine.plan(config).status == Status::Converged);

    auto j = a.to_json();
    CHECK(j["status"] == "applied");
    CHECK(j["ok"] == true);
    CHECK(j["steps"].size() == a.plan.steps.size());
    CHECK(j["steps"][0]["n"] == 1);
    CHECK(j["steps"][0]["text"].get<std::string>() == a.plan.steps[0].describe());
    CHECK(j["failed_step"].is_null());
}

TEST_CASE("engine: the journal is durable before the first write and gone after") {
    StateDir dir;
    FakeKernel k(host1());
    const Observed before = k.state;
    bool checked = false;
    k.before_each = [&](std::size_t n, const Step&) {
        if (n != 1) return;
        REQUIRE(fs::exists(dir.journal()));
        auto j = nlohmann::json::parse(slurp(dir.journal()));
        CHECK(serial::observed_from(j.at("snapshot")) == before);
        CHECK(j.at("plan").at("steps").size() > 0);
        checked = true;
    };
    Engine engine(k, Options{dir.path, {}});
    Outcome o = engine.apply(takeover_config());
    CHECK(o.status == Status::Applied);
    CHECK(checked);
    CHECK_FALSE(fs::exists(dir.journal()));
}

TEST_CASE("engine: a refusal at any step rolls back to the snapshot") {
    const auto config = takeover_config();
    std::size_t steps = 0;
    {
        StateDir dir;
        FakeKernel k(host1());
        steps = Engine(k, Options{dir.path, {}}).plan(config).plan.steps.size();
    }
    REQUIRE(steps >= 4);
    for (std::size_t at = 1; at <= steps; ++at) {
        CAPTURE(at);
        StateDir dir;
        FakeKernel k(host1());
        const Observed before = k.state;
        k.refuse_at = at;
        Engine engine(k, Options{dir.path, {}});
        Outcome o = engine.apply(config);
        CHECK(o.status == Status::RolledBack);
        REQUIRE(o.failed_step);
        CHECK(*o.failed_step == at - 1);
        CHECK(o.error.find("Device or resource busy") != std::string::npos);
        CHECK(o.error_code == EBUSY);
        check_same(k.state[""], before.at(""));
        CHECK(test::reaches(k.state[""], "198.51.100.1"));
        CHECK_FALSE(fs::exists(dir.journal()));
        CHECK_FALSE(fs::exists(dir.ledger()));  // nothing adopted: the apply did not happen
        auto j = o.to_json();
        CHECK(j["status"] == "rolled_back");
        CHECK(j["failed_step"] == at);
    }
}

// A kernel that pipelines as NlKernel does: every step of the run is carried
// out (the kernel answers each request of a batch), the first refusal is
// reported.
class PipelinedKernel : public FakeKernel {
public:
    using FakeKernel::FakeKernel;
    std::optional<RunFailure> execute_steps(const std::vector<Step>& steps,
                                            const std::function<void(std::size_t)>& before) override {
        std::optional<RunFailure> first;
        for (std::size_t i = 0; i < steps.size(); ++i) {
            before(i);
            try {
                execute(steps[i]);
            } catch (const std::exception&) {
                if (!first) first = RunFailure{i, std::current_exception()};
            }
        }
        return first;
    }
};

TEST_CASE("engine: steps a pipelining kernel carried out after the refused one are rolled back") {
    const auto config = takeover_config();
    std::size_t steps = 0;
    {
        StateDir dir;
        FakeKernel k(host1());
        steps = Engine(k, Options{dir.path, {}}).plan(config).plan.steps.size();
    }
    REQUIRE(steps >= 4);
    for (std::size_t at = 1; at < steps; ++at) {
        CAPTURE(at);
        StateDir dir;
        PipelinedKernel k(host1());
        const Observed before = k.state;
        k.refuse_at = at;
        std::vector<std::size_t> announced;
        Options opts{dir.path, {}};
        opts.progress = [&](const StepEvent& e) {
            if (e.phase == StepEvent::Phase::Forward) announced.push_back(e.n);
        };
        Engine engine(k, opts);
        Outcome o = engine.apply(config);
        CHECK(o.status == Status::RolledBack);
        REQUIRE(o.failed_step);
        CHECK(*o.failed_step == at - 1);
        CHECK(o.error.find("Device or resource busy") != std::string::npos);
        CHECK(announced.size() == steps);  // every step announced, the ones after the refusal too
        check_same(k.state[""], before.at(""));
        CHECK(test::reaches(k.state[""], "198.51.100.1"));
        CHECK_FALSE(fs::exists(dir.journal()));
    }
}

TEST_CASE("engine: a step the kernel silently ignores fails verification and rolls back") {
    StateDir dir;
    FakeKernel k(host1());
    const Observed before = k.state;
    k.ignore_at = 4;
    Engine engine(k, Options{dir.path, {}});
    Outcome o = engine.apply(takeover_config());
    CHECK(o.status == Status::RolledBack);
    CHECK_FALSE(o.failed_step);
    CHECK(o.error.find("verification failed") != std::string::npos);
    check_same(k.state[""], before.at(""));
}

TEST_CASE("engine: recover() restores the snapshot of a transaction killed mid-way") {
    StateDir dir;
    FakeKernel k(host1());
    const Observed before = k.state;
    k.crash_at = 5;
    {
        Engine engine(k, Options{dir.path, {}});
        CHECK_THROWS_AS(engine.apply(takeover_config()), Crash);
    }
    REQUIRE(fs::exists(dir.journal()));
    CHECK(k.state[""] != before.at(""));  // half-applied

    k.crash_at = 0;
    Engine restarted(k, Options{dir.path, {}});
    auto o = restarted.recover();
    REQUIRE(o);
    CHECK(o->status == Status::RolledBack);
    CHECK_FALSE(o->restored.empty());
    check_same(k.state[""], before.at(""));
    CHECK_FALSE(fs::exists(dir.journal()));
    CHECK_FALSE(restarted.recover());  // nothing left to recover
}

TEST_CASE("engine: apply never writes over the journal of an interrupted transaction") {
    StateDir dir;
    FakeKernel k(host1());
    const Observed before = k.state;
    k.crash_at = 3;
    CHECK_THROWS_AS(Engine(k, Options{dir.path, {}}).apply(takeover_config()), Crash);
    const std::string journal = slurp(dir.journal());
    k.crash_at = 0;
    const auto executed = k.executed;
    Engine engine(k, Options{dir.path, {}});
    Outcome o = engine.apply(takeover_config());
    CHECK(o.status == Status::Rejected);
    CHECK(o.error.find("has not been recovered yet") != std::string::npos);
    CHECK(k.executed == executed);
    CHECK(slurp(dir.journal()) == journal);
    REQUIRE(engine.recover());
    check_same(k.state[""], before.at(""));
    CHECK(engine.apply(takeover_config()).status == Status::Applied);
}

TEST_CASE("engine: recover() puts the ledger back and drops half-written temporary files") {
    StateDir dir;
    FakeKernel k(host1());
    k.crash_at = 5;
    CHECK_THROWS_AS(Engine(k, Options{dir.path, {}}).apply(takeover_config()), Crash);
    REQUIRE(nlohmann::json::parse(slurp(dir.journal())).contains("ledger"));
    // As if the kill came after the new ledger was written, and in the middle
    // of another durable write.
    std::ofstream(dir.ledger()) << R"({"version":1,"adopted":{"":{"ens33":{"link":{"name":"ens33"},"addresses":[],"routes":[],"attributes":["master"]}}}})";
    std::ofstream(dir.path / "ledger.json.tmp.4242") << "{ half";
    k.crash_at = 0;
    auto o = Engine(k, Options{dir.path, {}}).recover();
    REQUIRE(o);
    CHECK(o->status == Status::RolledBack);
    CHECK(serial::ledger_from(nlohmann::json::parse(slurp(dir.ledger()))) == Ledger{});
    CHECK_FALSE(fs::exists(dir.path / "ledger.json.tmp.4242"));
}

TEST_CASE("engine: progress is reported before each step is sent, forward and rollback") {
    StateDir dir;
    FakeKernel k(host1());
    k.refuse_at = 4;
    std::vector<std::string> seen;
    Options opts{dir.path, {}};
    opts.progress = [&](const StepEvent& e) {
        // Reported before execute(): the kernel has seen n - 1 steps of this phase.
        seen.push_back((e.phase == StepEvent::Phase::Forward ? "f" : "r") + std::to_string(e.n) + "/" +
                       std::to_string(e.total) + "@" + std::to_string(k.executed));
    };
    Outcome o = Engine(k, opts).apply(takeover_config());
    REQUIRE(o.status == Status::RolledBack);
    const auto total = std::to_string(o.plan.steps.size());
    REQUIRE(seen.size() >= 5);
    CHECK(seen[0] == "f1/" + total + "@0");
    CHECK(seen[3] == "f4/" + total + "@3");
    CHECK(seen[4].starts_with("r1/"));
    CHECK(seen[4].ends_with("@4"));
    CHECK(seen.size() == 4 + o.restored.size());
}

TEST_CASE("engine: a second transaction on the same state directory is refused, untouched") {
    StateDir dir;
    int fd = ::open((dir.path / "lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(::flock(fd, LOCK_EX) == 0);  // another process holds it (flock is per open file)
    FakeKernel k(host1());
    Engine engine(k, Options{dir.path, {}});
    Outcome o = engine.apply(takeover_config());
    CHECK(o.status == Status::Rejected);
    CHECK(o.error.find("another netlab transaction") != std::string::npos);
    CHECK(k.executed == 0);
    ::close(fd);
    CHECK(engine.apply(takeover_config()).status == Status::Applied);
}

TEST_CASE("engine: an unreadable journal is moved aside, not guessed at") {
    StateDir dir;
    {
        std::ofstream(dir.journal()) << "{ not json";
    }
    FakeKernel k(host1());
    Engine engine(k, Options{dir.path, {}});
    auto o = engine.recover();
    REQUIRE(o);
    CHECK(o->status == Status::Failed);
    CHECK(k.executed == 0);
    CHECK_FALSE(fs::exists(dir.journal()));
    CHECK(fs::exists(fs::path(dir.journal()).concat(".unreadable")));
}

#ifdef NETLAB_TESTING
TEST_CASE("engine: NETLAB_FAIL_AT_STEP injects a refusal in forward execution only") {
    StateDir dir;
    FakeKernel k(host1());
    const Observed before = k.state;
    ::setenv("NETLAB_FAIL_AT_STEP", "3", 1);
    Engine engine(k, Options{dir.path, {}});
    Outcome o = engine.apply(takeover_config());
    ::unsetenv("NETLAB_FAIL_AT_STEP");
    CHECK(o.status == Status::RolledBack);
    REQUIRE(o.failed_step);
    CHECK(*o.failed_step == 2);
    CHECK(o.error == "injected fault at step 3");
    check_same(k.state[""], before.at(""));
}
#endif

// ---- containers across a crash ---------------------------------------------

namespace {

// Four containers with a macvlan on host1's ens33 each; every container had
// a Docker-like eth0 and a default route through it, which the apply
// replaces.
model::Loaded containers_config() {
    std::string yaml = R"(version: 1
networks:
  lan:
    driver: macvlan
    parent: ens33
    subnet: 198.51.100.0/24
    gateway: 198.51.100.1
containers:
)";
    int n = 21;
    for (const char* c : {"same", "restarted", "recreated", "vanished"}) {
        yaml += std::string("  ") + c + ":\n    netns: netns:" + c +
                "\n    interfaces:\n      eth1:\n        network: lan\n        address: 198.51.100." +
                std::to_string(n++) + "/24\n        default_route: true\n";
    }
    model::Loaded l = model::load_string(yaml, "containers.yaml");
    REQUIRE_MESSAGE(l.ok(), (l.diagnostics.empty() ? "" : l.diagnostics.front().str()));
    return l;
}

model::NetnsState docker_like() {
    model::NetnsState s;
    s.links["eth0"] = test::nic("eth0", 2, "02:42:ac:11:00:02", "veth");
    s.addresses.insert({"eth0", test::pfx("203.0.113.50/24")});
    s.routes.insert(test::prefix_route("203.0.113.0/24", "eth0"));
    s.routes.insert(test::route("0.0.0.0/0", "203.0.113.1", "eth0", 3));
    return s;
}

// A resolver over a table: target text -> identity, or the message of a
// target that does not resolve.
struct FakeResolver {
    std::map<std::string, NsIdentity> ids;
    std::map<std::string, std::string> errors;
    std::variant<ResolvedNs, std::string> operator()(const model::NetnsTarget& t) const {
        if (auto e = errors.find(t.str()); e != errors.end()) return e->second;
        ResolvedNs r;
        r.id = ids.at(t.str());
        r.identity = t.str();
        return r;
    }
};

NsIdentity ident(int pid, unsigned long long start, unsigned long long inode) {
    NsIdentity id;
    id.boot_id = "boot-1";
    id.pid = pid;
    id.pid_start = start;
    id.inode = inode;
    return id;
}

// The four containers of containers_config() with a Docker-like namespace
// each, on host1.
const std::vector<std::string> kContainers = {"same", "restarted", "recreated", "vanished"};
Observed containers_world() {
    Observed world = host1();
    for (const auto& c : kContainers) world[container_ns(c)] = docker_like();
    return world;
}

// A resolver that finds every container's netns:NAME, each its own inode.
std::shared_ptr<FakeResolver> containers_resolver() {
    auto resolver = std::make_shared<FakeResolver>();
    unsigned long long inode = 4026531001;
    for (const auto& c : kContainers) resolver->ids["netns:" + c] = ident(0, 0, inode++);
    return resolver;
}

}  // namespace

TEST_CASE("engine: recover() restores a container only into the namespace the snapshot was taken in") {
    StateDir dir;
    const std::vector<std::string> names = {"same", "restarted", "recreated", "vanished"};
    Observed world = host1();
    for (const auto& c : names) world[container_ns(c)] = docker_like();
    FakeKernel k(world);
    for (const auto& c : names) k.cookies[container_ns(c)] = 100 + k.cookies.size();
    auto resolver = std::make_shared<FakeResolver>();
    resolver->ids = {{"netns:same", ident(11, 1100, 4026531001)},
                     {"netns:restarted", ident(12, 1200, 4026531002)},
                     {"netns:recreated", ident(0, 0, 4026531003)},
                     {"netns:vanished", ident(0, 0, 4026531004)}};
    const Options opts{dir.path, {}};
    auto resolve = [resolver](const model::NetnsTarget& t) { return (*resolver)(t); };
    const auto config = containers_config();

    // Crash before the last step: every container has been changed by then.
    Engine planner(k, opts);
    planner.set_resolver(resolve);
    const std::size_t steps = planner.plan(config).plan.steps.size();
    REQUIRE(steps > 8);
    CHECK(k.attached.empty());  // plan let go of every namespace it attached
    k.crash_at = steps;
    {
        Engine engine(k, opts);
        engine.set_resolver(resolve);
        CHECK_THROWS_AS(engine.apply(config), Crash);
    }
    CHECK(k.attached.empty());  // even a run that died half-way
    REQUIRE(fs::exists(dir.journal()));
    {
        auto j = nlohmann::json::parse(slurp(dir.journal()));
        const auto& t = j.at("targets").at("container:restarted");
        CHECK(t.at("target") == "netns:restarted");
        CHECK(t.at("identity").at("pid") == 12);
        CHECK(t.at("identity").at("pid_start") == 1200);
        CHECK(t.at("identity").at("inode") == 4026531002ULL);
        CHECK(t.at("identity").at("cookie") == 101);
        CHECK(t.at("identity").at("boot_id") == "boot-1");
    }
    for (const auto& c : {"same", "restarted"}) {
        CAPTURE(c);
        CHECK(k.state[container_ns(c)] != world.at(container_ns(c)));  // half-applied
    }

    // Meanwhile: "restarted" came back with a new process and a new, empty
    // namespace; "recreated" is a named netns deleted and added again, which
    // got the freed inode number back (the kernel recycles them) but not the
    // cookie; "vanished" is gone.
    resolver->ids["netns:restarted"] = ident(13, 1300, 4026531002);
    k.state[container_ns("restarted")] = model::NetnsState{};
    k.cookies[container_ns("recreated")] = 999;
    k.state[container_ns("recreated")] = model::NetnsState{};
    resolver->errors["netns:vanished"] = "netns vanished: /run/netns/vanished: No such file or directory";
    const auto vanished_then = k.state[container_ns("vanished")];

    k.crash_at = 0;
    const std::size_t before_recover = k.executed;
    Engine restarted(k, opts);
    restarted.set_resolver(resolve);
    auto o = restarted.recover();
    REQUIRE(o);
    INFO(o->error);
    for (const auto& line : o->restored) MESSAGE(line);
    CHECK(o->status == Status::RolledBack);
    CHECK(k.executed > before_recover);
    check_same(k.state[""], world.at(""));
    check_same(k.state[container_ns("same")], world.at(container_ns("same")));
    // Nothing was written into the namespaces that are not the same ones.
    CHECK(k.state[container_ns("restarted")] == model::NetnsState{});
    CHECK(k.state[container_ns("recreated")] == model::NetnsState{});
    CHECK(k.state[container_ns("vanished")] == vanished_then);
    auto said = [&](const std::string& what) {
        return std::any_of(o->restored.begin(), o->restored.end(),
                           [&](const std::string& l) { return l.find(what) != std::string::npos; });
    };
    CHECK(said("container:restarted (netns:restarted) is not the namespace of the interrupted transaction: "
               "restarted (pid 12 started 1200 -> pid 13 started 1300)"));
    CHECK(said("container:recreated (netns:recreated) is not the namespace of the interrupted transaction: "
               "a new namespace (netns cookie 102 -> 999)"));
    CHECK(said("container:vanished (netns:vanished) is gone"));
    for (const auto& step_line : o->restored) {
        CHECK(step_line.find("FAILED") == std::string::npos);
        CHECK(step_line.find("not restored: container:") == std::string::npos);
    }
    CHECK(k.attached.empty());
    CHECK_FALSE(fs::exists(dir.journal()));
}

TEST_CASE("engine: a journal that does not say which namespace a container was restores only the host") {
    StateDir dir;
    Observed world = host1();
    world[container_ns("old")] = docker_like();
    FakeKernel k(world);
    // A journal in the earlier form: the target without an identity.
    nlohmann::json j{{"version", 1},
                     {"targets", {{container_ns("old"), "netns:old"}}},
                     {"snapshot", serial::observed(world)},
                     {"plan", serial::plan(Plan{})}};
    {
        std::ofstream(dir.journal()) << j.dump();
    }
    k.state[container_ns("old")].routes.clear();  // what a half-applied run could leave
    const auto now = k.state[container_ns("old")];
    auto resolver = [](const model::NetnsTarget&) -> std::variant<ResolvedNs, std::string> {
        return ResolvedNs{-1, "x", ident(1, 1, 1)};
    };
    Engine engine(k, Options{dir.path, {}});
    engine.set_resolver(resolver);
    auto o = engine.recover();
    REQUIRE(o);
    CHECK(k.state[container_ns("old")] == now);
    CHECK(std::any_of(o->restored.begin(), o->restored.end(), [](const std::string& l) {
        return l.find("container:old: not restored: the journal does not record which namespace it was") !=
               std::string::npos;
    }));
}

TEST_CASE("identity_mismatch: what tells two namespaces apart") {
    NsIdentity a = ident(10, 500, 4026532000);
    CHECK(identity_mismatch(a, a).empty());
    NsIdentity b = a;
    b.boot_id = "boot-2";
    CHECK(identity_mismatch(a, b) == "the machine has restarted since");
    b = a;
    b.container_id = "bbbbbbbbbbbbbbbb";
    CHECK(identity_mismatch(a, b).find("the container was replaced") == 0);
    b = a;
    b.pid_start = 501;  // the PID was reused by another process
    CHECK(identity_mismatch(a, b).find("restarted (pid 10 started 500 -> pid 10 started 501)") == 0);
    b = a;
    a.cookie = 7;
    b.cookie = 8;
    CHECK(identity_mismatch(a, b) == "a new namespace (netns cookie 7 -> 8)");
    b.cookie = 0;  // unknown on one side: the inode decides
    CHECK(identity_mismatch(a, b).empty());
    b.inode = 4026532001;
    CHECK(identity_mismatch(a, b) == "a new namespace (inode 4026532000 -> 4026532001)");
}

TEST_CASE("engine: a change in one container journals and verifies only that namespace") {
    StateDir dir;
    const Observed world = containers_world();
    FakeKernel k(world);
    auto resolver = containers_resolver();
    auto resolve = [resolver](const model::NetnsTarget& t) { return (*resolver)(t); };
    const Options opts{dir.path, {}};
    auto config = containers_config();
    {
        Engine engine(k, opts);
        engine.set_resolver(resolve);
        REQUIRE(engine.apply(config).status == Status::Applied);
    }
    config.topology.containers.at("vanished").interfaces.at("eth1").addresses = {test::pfx("198.51.100.30/24")};
    std::set<std::string> journaled, targets;
    k.before_each = [&](std::size_t, const Step&) {
        if (!journaled.empty()) return;
        auto j = nlohmann::json::parse(slurp(dir.journal()));
        for (const auto& [ns, _] : j.at("snapshot").items()) journaled.insert(ns);
        for (const auto& [ns, _] : j.at("targets").items()) targets.insert(ns);
    };
    Engine engine(k, opts);
    engine.set_resolver(resolve);
    const std::size_t observes = k.observes;
    Outcome o = engine.apply(config);
    CHECK(o.status == Status::Applied);
    CHECK(journaled == std::set<std::string>{container_ns("vanished")});
    CHECK(targets == journaled);
    // 5 namespaces observed for the plan, 1 again for the verification
    CHECK(k.observes - observes == 6);
}

TEST_CASE("engine: a container that cannot be found is left out and named in Outcome::skipped") {
    StateDir dir;
    FakeKernel k(containers_world());
    auto resolver = containers_resolver();
    resolver->errors["netns:vanished"] = "netns vanished: /run/netns/vanished: No such file or directory";
    Engine engine(k, Options{dir.path, {}});
    engine.set_resolver([resolver](const model::NetnsTarget& t) { return (*resolver)(t); });
    const Outcome o = engine.apply(containers_config());
    CHECK(o.status == Status::Applied);
    CHECK(o.skipped == std::set<std::string>{"vanished"});
    CHECK(o.error_code == 0);
}

// ---- what netlabd remembers (Known) ------------------------------------------

TEST_CASE("engine: Known namespaces are neither attached nor observed; one the plan writes into is, first") {
    StateDir dir;
    const std::vector<std::string>& names = kContainers;
    FakeKernel k(containers_world());
    auto resolver = containers_resolver();
    Engine engine(k, Options{dir.path, {}});
    engine.set_resolver([resolver](const model::NetnsTarget& t) { return (*resolver)(t); });
    const model::Loaded config = containers_config();

    const Outcome first = engine.apply(config);
    REQUIRE(first.status == Status::Applied);
    REQUIRE(first.state);
    CHECK(first.reused == 0);
    for (const auto& [ns, state] : *first.state) {
        CAPTURE(ns);
        CHECK(state == k.state.at(ns));  // what it verified is what the kernel holds
    }
    CHECK(first.state->size() == names.size() + 1);
    auto known_from = [&](const Outcome& o) {
        Known kn;
        kn.state = *o.state;
        for (const auto& c : names) kn.targets[container_ns(c)] = "netns:" + c;
        return kn;
    };

    SUBCASE("nothing changed: converged without attaching or observing anything") {
        k.observes = k.attaches = 0;
        const Outcome o = engine.apply(config, nullptr, known_from(first));
        CHECK(o.status == Status::Converged);
        CHECK(o.reused == names.size() + 1);
        CHECK(k.observes == 0);
        CHECK(k.attaches == 0);
        REQUIRE(o.state);
        CHECK(*o.state == *first.state);
    }
    SUBCASE("one container's address changed: only that namespace is attached, observed and written") {
        model::Loaded changed = config;
        changed.topology.containers.at("same").interfaces.at("eth1").addresses = {test::pfx("198.51.100.31/24")};
        k.observes = k.attaches = 0;
        const auto writes = k.writes();
        const Outcome o = engine.apply(changed, nullptr, known_from(first));
        INFO(o.error);
        CHECK(o.status == Status::Applied);
        CHECK(o.reused == names.size());  // the host and three containers
        CHECK(k.attaches == 1);
        CHECK(k.observes == 2);  // for the plan, and to verify
        for (const auto& st : o.plan.steps) CHECK(st.ns == container_ns("same"));
        CHECK(k.writes() - writes == o.plan.steps.size());
        CHECK(k.state.at(container_ns("same")).addresses.count({"eth1", test::pfx("198.51.100.31/24")}) == 1);
        REQUIRE(o.state);
        for (const auto& [ns, state] : *o.state) {
            CAPTURE(ns);
            CHECK(state == k.state.at(ns));
        }
    }
    SUBCASE("a remembered state the plan would write into is observed afresh, and the plan made again") {
        Known stale = known_from(first);
        stale.state[container_ns("restarted")] = docker_like();  // "its attachment is missing": it is not
        k.observes = k.attaches = 0;
        const Outcome o = engine.apply(config, nullptr, std::move(stale));
        CHECK(o.status == Status::Converged);
        CHECK(o.writes == 0);
        // The host too: the macvlan the stale state asks for is sent from there.
        CHECK(o.reused == names.size() - 1);
        CHECK(k.attaches == 1);
        CHECK(k.observes == 2);
        REQUIRE(o.state);
        CHECK(o.state->at(container_ns("restarted")) == k.state.at(container_ns("restarted")));
    }
    SUBCASE("a container whose target changed in the topology is attached, not remembered") {
        Known moved = known_from(first);
        moved.targets[container_ns("vanished")] = "netns:elsewhere";
        k.observes = k.attaches = 0;
        const Outcome o = engine.apply(config, nullptr, std::move(moved));
        CHECK(o.status == Status::Converged);
        CHECK(o.reused == names.size());
        CHECK(k.attaches == 1);
        CHECK(k.observes == 1);
    }
    SUBCASE("an attachment removed: its namespace and the host are observed, the rest remembered") {
        model::Loaded fewer = config;
        fewer.topology.containers.at("vanished").interfaces.clear();
        k.observes = k.attaches = 0;
        const Outcome o = engine.apply(fewer, nullptr, known_from(first));
        INFO(o.error);
        CHECK(o.status == Status::Applied);
        CHECK(k.state.at(container_ns("vanished")).links.count("eth1") == 0);
        CHECK(o.reused == names.size() - 1);
        for (const auto& [ns, state] : *o.state) {
            CAPTURE(ns);
            CHECK(state == k.state.at(ns));
        }
    }
}
