// The Engine's transaction on an in-memory kernel: no root, no netlink.
// FakeKernel applies steps with the in-memory kernel's semantics
// (apply_step) and lets each test refuse, skip or "crash" at a step, and look
// at the state directory at the moment of the first write.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "lab.hpp"
#include "reconcile/engine.hpp"
#include "reconcile/memory_kernel.hpp"
#include "reconcile/nl/error.hpp"
#include "reconcile/serialize.hpp"

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
    }
    std::uint64_t writes() const override { return writes_; }

    Observed state;
    std::size_t executed = 0;  // 1-based count of execute() calls
    std::size_t refuse_at = 0, crash_at = 0, ignore_at = 0;
    std::size_t observes = 0;
    std::function<void(std::size_t, const Step&)> before_each;

private:
    std::uint64_t writes_ = 0;
};

struct StateDir {
    fs::path path;
    StateDir() {
        char tmpl[] = "/tmp/netlab-test-engine-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~StateDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
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
        check_same(k.state[""], before.at(""));
        CHECK(test::reaches(k.state[""], "198.51.100.1"));
        CHECK_FALSE(fs::exists(dir.journal()));
        CHECK_FALSE(fs::exists(dir.ledger()));  // nothing adopted: the apply did not happen
        auto j = o.to_json();
        CHECK(j["status"] == "rolled_back");
        CHECK(j["failed_step"] == at);
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
