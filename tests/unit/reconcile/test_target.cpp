// Resolution of container targets and the Docker Engine API client, without
// root: a fake Docker daemon on a temporary unix socket answers canned JSON.
// With NETLAB_DOCKER_SOCK set (tests/kernel/test_docker.sh), the last cases
// run against a real, private dockerd.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "reconcile/containers/docker.hpp"
#include "reconcile/containers/target.hpp"
#include "tests/unit/reconcile/fake_docker.hpp"

namespace fs = std::filesystem;
using namespace netlab;
using namespace netlab::reconcile;
using namespace std::chrono_literals;
using netlab::test_docker::answer;
using netlab::test_docker::FakeDocker;
using netlab::test_docker::http_response;
using netlab::test_docker::local;
using netlab::test_docker::TempDir;
using netlab::test_docker::write_all;

namespace {

std::string inspect_json(int pid, bool running, const std::string& started = "2026-11-28T01:00:00.123456789Z",
                         const std::string& id = std::string(64, 'a')) {
    return R"({"Id":")" + id + R"(","Name":"/test1","State":{"Status":")" + (running ? "running" : "exited") +
           R"(","Running":)" + (running ? "true" : "false") + R"(,"Restarting":false,"Pid":)" +
           std::to_string(pid) + R"(,"StartedAt":")" + started + R"("}})";
}

model::NetnsTarget target(const char* text) {
    auto t = model::NetnsTarget::parse(text);
    REQUIRE(t.has_value());
    return *t;
}

std::string error_of(const std::variant<ResolvedNs, std::string>& r) {
    if (auto* ok = std::get_if<ResolvedNs>(&r)) {
        ::close(ok->fd);
        return "resolved: " + ok->identity;
    }
    return std::get<std::string>(r);
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// A child process in a network namespace of its own, when this process may
// create one (root); tests that need it are skipped otherwise.
struct NetnsChild {
    pid_t pid = -1;
    NetnsChild() {
        int ready[2];
        REQUIRE(::pipe2(ready, O_CLOEXEC) == 0);
        pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            char ok = ::unshare(CLONE_NEWNET) == 0 ? '1' : '0';
            [[maybe_unused]] auto n = ::write(ready[1], &ok, 1);
            if (ok != '1') ::_exit(1);
            ::pause();
            ::_exit(0);
        }
        ::close(ready[1]);
        char ok = '0';
        if (::read(ready[0], &ok, 1) != 1 || ok != '1') {
            ::waitpid(pid, nullptr, 0);
            pid = -1;
        }
        ::close(ready[0]);
    }
    ~NetnsChild() {
        if (pid > 0) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
    }
    bool ok() const { return pid > 0; }
};

}  // namespace

TEST_CASE("netns: names that would escape the netns directory are refused") {
    ResolverOptions opts;
    opts.netns_dir = "/nonexistent";
    for (const char* bad : {"netns:a/b", "netns:..", "netns:.", "netns:../etc"}) {
        CAPTURE(bad);
        CHECK(contains(error_of(resolve_netns(target(bad), opts)), "not a valid namespace name"));
    }
}

TEST_CASE("netns: a missing namespace is reported, not thrown") {
    TempDir dir;
    ResolverOptions opts;
    opts.netns_dir = dir.path.string();
    auto msg = error_of(resolve_netns(target("netns:ghost"), opts));
    CHECK(msg == "netns ghost: " + (dir.path / "ghost").string() + ": No such file or directory");
}

TEST_CASE("netns: a stale file (bind mount gone) is not a namespace") {
    TempDir dir;
    { std::ofstream(dir.path / "stale") << ""; }
    ResolverOptions opts;
    opts.netns_dir = dir.path.string();
    CHECK(contains(error_of(resolve_netns(target("netns:stale"), opts)), "is not a namespace"));
}

TEST_CASE("the host's own network namespace is refused, whatever names it") {
    TempDir dir;
    fs::create_symlink("/proc/self/ns/net", dir.path / "host");
    ResolverOptions opts;
    opts.netns_dir = dir.path.string();
    CHECK(contains(error_of(resolve_netns(target("netns:host"), opts)), "is the host's own network namespace"));
    CHECK(contains(error_of(resolve_netns(target("path:/proc/self/ns/net"), opts)),
                   "is the host's own network namespace"));
    auto self = "pid:" + std::to_string(::getpid());
    CHECK(contains(error_of(resolve_netns(target(self.c_str()), opts)), "is the host's own network namespace"));
}

TEST_CASE("path: another kind of namespace is refused") {
    auto msg = error_of(resolve_netns(target("path:/proc/self/ns/uts")));
    CHECK(contains(msg, "not a network namespace"));
}

TEST_CASE("pid: a process that does not exist") {
    CHECK(error_of(resolve_netns(target("pid:999999999"))) == "pid 999999999: no process 999999999");
}

TEST_CASE("pid and path: a namespace of its own resolves, fd is close-on-exec") {
    NetnsChild child;
    if (!child.ok()) {
        MESSAGE("skipped: cannot create a network namespace here (needs CAP_SYS_ADMIN)");
        return;
    }
    auto text = "pid:" + std::to_string(child.pid);
    auto r = resolve_netns(target(text.c_str()));
    REQUIRE(std::holds_alternative<ResolvedNs>(r));
    auto ns = std::get<ResolvedNs>(r);
    CHECK(ns.fd >= 0);
    CHECK((::fcntl(ns.fd, F_GETFD) & FD_CLOEXEC) != 0);
    CHECK(contains(ns.identity, "pid " + std::to_string(child.pid) + " started "));
    struct stat a{}, b{};
    REQUIRE(::fstat(ns.fd, &a) == 0);
    REQUIRE(::stat(("/proc/" + std::to_string(child.pid) + "/ns/net").c_str(), &b) == 0);
    CHECK(a.st_ino == b.st_ino);
    ::close(ns.fd);

    auto path = "path:/proc/" + std::to_string(child.pid) + "/ns/net";
    auto p = resolve_netns(target(path.c_str()));
    REQUIRE(std::holds_alternative<ResolvedNs>(p));
    ::close(std::get<ResolvedNs>(p).fd);
}

// ---- Docker Engine API client --------------------------------------------

TEST_CASE("docker: inspect a running container") {
    FakeDocker fake(answer(200, inspect_json(4242, true)));
    docker::Client client(fake.socket(), 2s);
    auto r = client.inspect("test1");
    REQUIRE(std::holds_alternative<docker::ContainerState>(r));
    auto c = std::get<docker::ContainerState>(r);
    CHECK(c.pid == 4242);
    CHECK(c.running);
    CHECK(c.name == "test1");
    CHECK(c.id == std::string(64, 'a'));
    CHECK(c.started_at == "2026-11-28T01:00:00.123456789Z");
    auto reqs = fake.requests();
    REQUIRE(reqs.size() == 1);
    CHECK(reqs[0].rfind("GET /containers/test1/json HTTP/1.1\r\n", 0) == 0);
    CHECK(contains(reqs[0], "Host: docker\r\n"));
}

TEST_CASE("docker: a chunked answer is read whole") {
    std::string body = inspect_json(77, true);
    FakeDocker fake([body](const std::string&, local::socket& s) {
        auto half = body.size() / 2;
        char len1[32], len2[32];
        std::snprintf(len1, sizeof len1, "%zx", half);
        std::snprintf(len2, sizeof len2, "%zx", body.size() - half);
        write_all(s, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
                         std::string(len1) + "\r\n" + body.substr(0, half) + "\r\n" + len2 + "\r\n" +
                         body.substr(half) + "\r\n0\r\n\r\n");
    });
    auto r = docker::Client(fake.socket(), 2s).inspect("test1");
    REQUIRE(std::holds_alternative<docker::ContainerState>(r));
    CHECK(std::get<docker::ContainerState>(r).pid == 77);
}

TEST_CASE("docker: 404 is NotFound, and resolve says the container is not found") {
    FakeDocker fake(answer(404, R"({"message":"No such container: ghost"})"));
    auto r = docker::Client(fake.socket(), 2s).inspect("ghost");
    REQUIRE(std::holds_alternative<docker::Error>(r));
    CHECK(std::get<docker::Error>(r).kind == docker::Error::Kind::NotFound);
    CHECK(std::get<docker::Error>(r).message == "No such container: ghost");

    ResolverOptions opts;
    opts.docker_socket = fake.socket();
    CHECK(error_of(resolve_netns(target("docker:ghost"), opts)) == "container ghost not found");
}

TEST_CASE("docker: a stopped container is reported as stopped") {
    FakeDocker fake(answer(200, inspect_json(0, false)));
    ResolverOptions opts;
    opts.docker_socket = fake.socket();
    CHECK(error_of(resolve_netns(target("docker:test1"), opts)) == "container test1 is stopped");
}

TEST_CASE("docker: malformed answers are protocol errors, not exceptions") {
    for (std::string body : {std::string("{not json"), std::string("[]"), std::string(R"({"Id":"x"})"),
                             std::string(R"({"Id":"x","State":{"Pid":"12","Running":true,"StartedAt":""}})")}) {
        CAPTURE(body);
        FakeDocker fake(answer(200, body));
        auto r = docker::Client(fake.socket(), 2s).inspect("test1");
        REQUIRE(std::holds_alternative<docker::Error>(r));
        CHECK(std::get<docker::Error>(r).kind == docker::Error::Kind::Protocol);
        ResolverOptions opts;
        opts.docker_socket = fake.socket();
        CHECK(contains(error_of(resolve_netns(target("docker:test1"), opts)), "container test1: docker "));
    }
    FakeDocker garbage([](const std::string&, local::socket& s) { write_all(s, "SSH-2.0-OpenSSH\r\n\r\n"); });
    auto r = docker::Client(garbage.socket(), 2s).inspect("test1");
    REQUIRE(std::holds_alternative<docker::Error>(r));
    CHECK(std::get<docker::Error>(r).kind == docker::Error::Kind::Protocol);
}

TEST_CASE("docker: other HTTP errors carry the daemon's message") {
    FakeDocker fake(answer(500, R"({"message":"something broke"})"));
    auto r = docker::Client(fake.socket(), 2s).inspect("test1");
    REQUIRE(std::holds_alternative<docker::Error>(r));
    auto e = std::get<docker::Error>(r);
    CHECK(e.kind == docker::Error::Kind::Http);
    CHECK(e.status == 500);
    CHECK(contains(e.message, "HTTP 500: something broke"));
}

TEST_CASE("docker: a server that does not answer times out") {
    // Holds the connection without answering until the test is over.
    FakeDocker slow([&slow](const std::string&, local::socket&) { slow.wait_released(); });
    auto r = docker::Client(slow.socket(), 100ms).inspect("test1");
    REQUIRE(std::holds_alternative<docker::Error>(r));
    CHECK(std::get<docker::Error>(r).kind == docker::Error::Kind::Timeout);
    CHECK(contains(std::get<docker::Error>(r).message, "timed out"));
    slow.release();
}

TEST_CASE("docker: no daemon on the socket") {
    TempDir dir;
    auto r = docker::Client((dir.path / "none.sock").string(), 1s).inspect("test1");
    REQUIRE(std::holds_alternative<docker::Error>(r));
    CHECK(std::get<docker::Error>(r).kind == docker::Error::Kind::Unreachable);
    ResolverOptions opts;
    opts.docker_socket = (dir.path / "none.sock").string();
    CHECK(contains(error_of(resolve_netns(target("docker:test1"), opts)), "container test1: docker "));
    // A socket path longer than sun_path is an error value too.
    auto longpath = docker::Client("/" + std::string(200, 'x'), 1s).inspect("test1");
    CHECK(std::holds_alternative<docker::Error>(longpath));
}

TEST_CASE("docker: names that are not container names never reach the daemon") {
    FakeDocker fake(answer(200, inspect_json(1, true)));
    ResolverOptions opts;
    opts.docker_socket = fake.socket();
    for (const char* bad : {"docker:../../info", "docker:a/b", "docker:a?b", "docker:-x"}) {
        CAPTURE(bad);
        CHECK(contains(error_of(resolve_netns(target(bad), opts)), "not a valid container name"));
    }
    CHECK(fake.requests().empty());
}

TEST_CASE("docker: a container in the host's namespace (--net=host) is refused") {
    FakeDocker fake(answer(200, inspect_json(::getpid(), true)));
    ResolverOptions opts;
    opts.docker_socket = fake.socket();
    CHECK(contains(error_of(resolve_netns(target("docker:test1"), opts)), "is the host's own network namespace"));
}

TEST_CASE("docker: resolve opens the container's namespace and checks it again") {
    NetnsChild child;
    if (!child.ok()) {
        MESSAGE("skipped: cannot create a network namespace here (needs CAP_SYS_ADMIN)");
        return;
    }
    FakeDocker fake(answer(200, inspect_json(child.pid, true)));
    ResolverOptions opts;
    opts.docker_socket = fake.socket();
    auto r = resolve_netns(target("docker:test1"), opts);
    REQUIRE(std::holds_alternative<ResolvedNs>(r));
    auto ns = std::get<ResolvedNs>(r);
    CHECK((::fcntl(ns.fd, F_GETFD) & FD_CLOEXEC) != 0);
    CHECK(contains(ns.identity, "docker test1 id aaaaaaaaaaaa pid " + std::to_string(child.pid)));
    ::close(ns.fd);
    CHECK(fake.requests().size() == 2);  // inspected before and after opening
}

TEST_CASE("docker: a container that restarts while it is resolved is not trusted") {
    NetnsChild child;
    if (!child.ok()) {
        MESSAGE("skipped: cannot create a network namespace here (needs CAP_SYS_ADMIN)");
        return;
    }
    // Every answer has a new StartedAt: the container keeps restarting.
    std::atomic<int> n{0};
    FakeDocker fake([&](const std::string&, local::socket& s) {
        write_all(s, http_response(200, inspect_json(child.pid, true, "2026-11-28T01:00:0" + std::to_string(n++) + "Z")));
    });
    ResolverOptions opts;
    opts.docker_socket = fake.socket();
    CHECK(error_of(resolve_netns(target("docker:test1"), opts)) == "container test1 restarted while resolving");

    // Stopped between the two looks.
    std::atomic<int> m{0};
    FakeDocker stopping([&](const std::string&, local::socket& s) {
        write_all(s, http_response(200, inspect_json(m++ == 0 ? child.pid : 0, m == 1)));
    });
    opts.docker_socket = stopping.socket();
    CHECK(error_of(resolve_netns(target("docker:test1"), opts)) == "container test1 is stopped");
}

// ---- events -----------------------------------------------------------------

TEST_CASE("docker: the events filter is encoded as the Engine API expects") {
    docker::EventFilter f;
    CHECK(docker::events_target(f) ==
          "/events?filters=%7B%22event%22%3A%5B%22start%22%2C%22die%22%5D%2C%22type%22%3A%5B%22container%22%5D%7D");
    f.since = "1700000000.000000001";
    f.until = "1700000100";
    f.containers = {"test1"};
    CHECK(docker::events_target(f) ==
          "/events?since=1700000000.000000001&until=1700000100&filters="
          "%7B%22container%22%3A%5B%22test1%22%5D%2C%22event%22%3A%5B%22start%22%2C%22die%22%5D%2C%22type%22%3A%5B%"
          "22container%22%5D%7D");
    docker::Event e;
    e.time = 1700000000;
    e.time_nano = 1700000000000000042;
    CHECK(docker::since_from(e) == "1700000000.000000042");
    CHECK(docker::url_encode("a b/{}\"") == "a%20b%2F%7B%7D%22");
}

namespace {
std::string event_line(const char* action, const char* name, long long t) {
    return R"({"status":")" + std::string(action) + R"(","id":"abc","Type":"container","Action":")" + action +
           R"(","Actor":{"ID":"abc","Attributes":{"image":"img","name":")" + name + R"("}},"scope":"local","time":)" +
           std::to_string(t) + R"(,"timeNano":)" + std::to_string(t) + "000000007}\n";
}
std::string chunk(const std::string& data) {
    char len[32];
    std::snprintf(len, sizeof len, "%zx", data.size());
    return std::string(len) + "\r\n" + data + "\r\n";
}
}  // namespace

TEST_CASE("docker: events are delivered line by line from a chunked stream") {
    FakeDocker fake([](const std::string&, local::socket& s) {
        std::string a = event_line("die", "test1", 100), b = event_line("start", "test1", 101);
        std::string both = a + b;
        write_all(s, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
        // Lines split across chunks, two lines in one chunk.
        write_all(s, chunk(both.substr(0, 10)));
        write_all(s, chunk(both.substr(10)));
        write_all(s, chunk(event_line("die", "other", 102)));
        write_all(s, "0\r\n\r\n");
    });
    std::vector<docker::Event> seen;
    auto e = docker::Client(fake.socket(), 2s).events({}, [&](const docker::Event& ev) {
        seen.push_back(ev);
        return true;
    });
    CHECK_FALSE(e.has_value());
    REQUIRE(seen.size() == 3);
    CHECK(seen[0].action == "die");
    CHECK(seen[0].name == "test1");
    CHECK(seen[0].id == "abc");
    CHECK(seen[1].action == "start");
    CHECK(docker::since_from(seen[1]) == "101.000000007");
    CHECK(seen[2].name == "other");
    auto reqs = fake.requests();
    REQUIRE(reqs.size() == 1);
    CHECK(reqs[0].rfind("GET /events?filters=%7B", 0) == 0);
}

TEST_CASE("docker: the events callback stops the stream; the stop token cancels a quiet one") {
    // Both fakes send one event and then hold the connection open, quiet.
    auto quiet_after_one = [](FakeDocker*& self) {
        return [&self](const std::string&, local::socket& s) {
            write_all(s, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
            write_all(s, chunk(event_line("start", "test1", 1)));
            self->wait_released();
        };
    };
    FakeDocker* first_self = nullptr;
    FakeDocker first(quiet_after_one(first_self));
    first_self = &first;
    int n = 0;
    auto e = docker::Client(first.socket(), 2s).events({}, [&](const docker::Event&) {
        ++n;
        return false;
    });
    CHECK_FALSE(e.has_value());
    CHECK(n == 1);
    first.release();

    FakeDocker* second_self = nullptr;
    FakeDocker second(quiet_after_one(second_self));
    second_self = &second;
    std::stop_source stop;
    std::thread stopper;
    n = 0;
    auto c = docker::Client(second.socket(), 2s).events(
        {},
        [&](const docker::Event&) {
            ++n;
            stopper = std::thread([&stop] {
                std::this_thread::sleep_for(50ms);
                stop.request_stop();
            });
            return true;
        },
        stop.get_token());
    REQUIRE(c.has_value());
    CHECK(c->kind == docker::Error::Kind::Cancelled);
    CHECK(n == 1);
    if (stopper.joinable()) stopper.join();
    second.release();
}

TEST_CASE("docker: events from a daemon that refuses the filter") {
    FakeDocker fake(answer(400, R"({"message":"invalid filter 'evnt'"})"));
    auto e = docker::Client(fake.socket(), 2s).events({}, [](const docker::Event&) { return true; });
    REQUIRE(e.has_value());
    CHECK(e->kind == docker::Error::Kind::Http);
    CHECK(contains(e->message, "invalid filter 'evnt'"));
}

// ---- a real dockerd (tests/kernel/test_docker.sh sets these) ---------------

TEST_CASE("real dockerd: resolve docker:NAME") {
    const char* sock = std::getenv("NETLAB_DOCKER_SOCK");
    if (!sock) return;  // only under tests/kernel/test_docker.sh
    const char* name = std::getenv("NETLAB_DOCKER_CONTAINER");
    const char* pid = std::getenv("NETLAB_DOCKER_EXPECT_PID");
    REQUIRE(name);
    ResolverOptions opts;
    opts.docker_socket = sock;
    auto text = std::string("docker:") + name;
    auto r = resolve_netns(target(text.c_str()), opts);
    const std::string why = std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : "";
    INFO(why);
    REQUIRE(std::holds_alternative<ResolvedNs>(r));
    auto ns = std::get<ResolvedNs>(r);
    MESSAGE("resolved " << text << ": " << ns.identity);
    if (pid) {
        CHECK(contains(ns.identity, std::string(" pid ") + pid + " "));
        struct stat a{}, b{};
        REQUIRE(::fstat(ns.fd, &a) == 0);
        REQUIRE(::stat((std::string("/proc/") + pid + "/ns/net").c_str(), &b) == 0);
        CHECK(a.st_ino == b.st_ino);
    }
    ::close(ns.fd);
    CHECK(error_of(resolve_netns(target("docker:netlab-no-such-container"), opts)) ==
          "container netlab-no-such-container not found");
    if (const char* stopped = std::getenv("NETLAB_DOCKER_STOPPED")) {
        auto st = std::string("docker:") + stopped;
        CHECK(error_of(resolve_netns(target(st.c_str()), opts)) == std::string("container ") + stopped + " is stopped");
    }
}

TEST_CASE("real dockerd: the events stream replays die and start of a restart") {
    const char* sock = std::getenv("NETLAB_DOCKER_SOCK");
    const char* since = std::getenv("NETLAB_DOCKER_EVENTS_SINCE");
    const char* until = std::getenv("NETLAB_DOCKER_EVENTS_UNTIL");
    const char* name = std::getenv("NETLAB_DOCKER_CONTAINER");
    if (!sock || !since || !until || !name) return;  // only under tests/kernel/test_docker.sh
    docker::EventFilter f;
    f.since = since;
    f.until = until;
    std::vector<std::string> seen;
    auto e = docker::Client(sock, 10s).events(f, [&](const docker::Event& ev) {
        if (ev.name == name) seen.push_back(ev.action);
        MESSAGE("event " << ev.action << " " << ev.name << " since=" << docker::since_from(ev));
        return true;
    });
    CHECK_FALSE(e.has_value());
    REQUIRE(seen.size() >= 2);
    CHECK(std::find(seen.begin(), seen.end(), "die") != seen.end());
    CHECK(seen.back() == "start");
}

TEST_CASE("docker: EventWatch reconnects, replays from the last event and drops the repeat") {
    std::atomic<int> connection{0};
    std::string second_request;
    std::mutex mu;
    FakeDocker* self = nullptr;
    FakeDocker fake([&](const std::string& req, local::socket& s) {
        int n = ++connection;
        const std::string head =
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
        if (n == 1) {  // one event, then the daemon goes away
            write_all(s, head + chunk(event_line("die", "test1", 100)));
            return;
        }
        if (n == 2) {  // the replay repeats the event resumed from, then a new one, then quiet
            {
                std::lock_guard lock(mu);
                second_request = req;
            }
            write_all(s, head + chunk(event_line("die", "test1", 100)) + chunk(event_line("start", "test1", 101)));
        }
        self->wait_released();
    });
    self = &fake;
    std::vector<std::string> seen;
    std::vector<docker::Error::Kind> errors;
    int connected = 0;
    std::condition_variable cv;
    {
        docker::EventWatch watch(
            docker::Client(fake.socket(), 2s), {},
            {.on_event =
                 [&](const docker::Event& e) {
                     std::lock_guard lock(mu);
                     seen.push_back(e.action + "@" + std::to_string(e.time));
                     cv.notify_all();
                 },
             .on_connected =
                 [&] {
                     std::lock_guard lock(mu);
                     ++connected;
                 },
             .on_error =
                 [&](const docker::Error& e, std::chrono::milliseconds) {
                     std::lock_guard lock(mu);
                     errors.push_back(e.kind);
                 }},
            {.first = 10ms, .max = 50ms});
        std::unique_lock lock(mu);
        cv.wait_for(lock, 10s, [&] { return seen.size() >= 2; });
    }
    fake.release();
    std::lock_guard lock(mu);
    CHECK(seen == std::vector<std::string>{"die@100", "start@101"});
    CHECK(connected == 2);
    CHECK(errors.size() == 1);  // the end of the first stream
    CHECK(contains(second_request, "GET /events?since=100.000000007&filters="));
}
