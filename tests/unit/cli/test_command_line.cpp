// netlabctl's and netlabd's command lines: every option in both spellings,
// --help and --version, and usage errors that name the option.
#include <doctest/doctest.h>

#include <sstream>

#include "cli/cli.hpp"
#include "netlabd/options.hpp"

using netlab::cli::Command;
using netlab::cli::CommandLine;

namespace {

struct Parsed {
    CommandLine cl;
    std::string out, err;
};

Parsed ctl(std::vector<std::string> args) {
    args.insert(args.begin(), "netlabctl");
    std::ostringstream out, err;
    Parsed p;
    p.cl = netlab::cli::parse_command_line(args, out, err);
    p.out = out.str();
    p.err = err.str();
    return p;
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("netlabctl: plan and apply take PATH and their options in both spellings") {
    auto p = ctl({"plan", "/srv/lab", "--json", "--state-dir", "/tmp/s", "--docker-socket=/d.sock"});
    REQUIRE_FALSE(p.cl.exit);
    CHECK(p.cl.command == Command::Plan);
    CHECK(p.cl.local.path == "/srv/lab");
    CHECK(p.cl.local.json);
    CHECK(p.cl.local.state_dir == "/tmp/s");
    CHECK(p.cl.local.docker_socket == "/d.sock");

    p = ctl({"apply", "--config-dir=/etc/x", "--state-dir=/run/y"});
    REQUIRE_FALSE(p.cl.exit);
    CHECK(p.cl.command == Command::Apply);
    CHECK(p.cl.local.path == "/etc/x");
    CHECK(p.cl.local.state_dir == "/run/y");
    CHECK_FALSE(p.cl.local.json);
}

TEST_CASE("netlabctl: check defaults to /etc/netlab and takes one PATH") {
    auto p = ctl({"check"});
    REQUIRE_FALSE(p.cl.exit);
    CHECK(p.cl.command == Command::Check);
    CHECK(p.cl.local.path == "/etc/netlab");

    p = ctl({"check", "a.yaml", "b.yaml"});
    REQUIRE(p.cl.exit);
    CHECK(*p.cl.exit == netlab::cli::kUsageError);
    CHECK(has(p.err, "b.yaml"));
    CHECK(has(p.err, "usage: netlabctl check"));

    p = ctl({"check", "a.yaml", "--config-dir", "/etc/netlab"});
    REQUIRE(p.cl.exit);
    CHECK(has(p.err, "excludes"));
}

TEST_CASE("netlabctl: apply --confirm goes to netlabd and refuses a PATH") {
    auto p = ctl({"apply", "--confirm", "2m", "--socket", "/run/x.sock", "--timeout=10", "--json"});
    REQUIRE_FALSE(p.cl.exit);
    CHECK(p.cl.command == Command::ApplyConfirmed);
    REQUIRE(p.cl.client.confirm);
    CHECK(p.cl.client.confirm->count() == 120);
    CHECK(p.cl.client.socket == "/run/x.sock");
    CHECK(p.cl.client.timeout.count() == 10000);
    CHECK(p.cl.client.json);

    p = ctl({"apply", "--confirm", "2m", "topology.yaml"});
    REQUIRE(p.cl.exit);
    CHECK(has(p.err, "a PATH ('topology.yaml') cannot be given"));

    p = ctl({"apply", "--confirm", "25h"});
    REQUIRE(p.cl.exit);
    CHECK(has(p.err, "--confirm"));
    CHECK(has(p.err, "from 1s to 24h"));

    p = ctl({"apply", "--socket", "/run/x.sock"});
    REQUIRE(p.cl.exit);
    CHECK(has(p.err, "--socket"));
    CHECK(has(p.err, "--confirm"));
}

TEST_CASE("netlabctl: the daemon's clients") {
    auto p = ctl({"status", "--socket=/s", "--timeout", "1.5", "--json"});
    REQUIRE_FALSE(p.cl.exit);
    CHECK(p.cl.command == Command::Status);
    CHECK(p.cl.client.socket == "/s");
    CHECK(p.cl.client.timeout.count() == 1500);

    p = ctl({"reload", "--full", "--config-dir", "/ignored"});
    REQUIRE_FALSE(p.cl.exit);
    CHECK(p.cl.command == Command::Reload);
    CHECK(p.cl.client.full);

    p = ctl({"confirm", "--force"});
    REQUIRE_FALSE(p.cl.exit);
    CHECK(p.cl.command == Command::Confirm);
    CHECK(p.cl.client.force);

    p = ctl({"rollback"});
    REQUIRE_FALSE(p.cl.exit);
    CHECK(p.cl.command == Command::Rollback);

    p = ctl({"status", "--force"});  // confirm's flag, not status's
    REQUIRE(p.cl.exit);
    CHECK(has(p.err, "--force"));

    p = ctl({"status", "--timeout", "soon"});
    REQUIRE(p.cl.exit);
    CHECK(has(p.err, "--timeout"));
}

TEST_CASE("netlabctl: --help on every command, --version, help") {
    for (const char* cmd : {"check", "plan", "apply", "status", "reload", "confirm", "rollback", "graph"}) {
        CAPTURE(cmd);
        auto p = ctl({cmd, "--help"});
        REQUIRE(p.cl.exit);
        CHECK(*p.cl.exit == 0);
        CHECK(has(p.out, std::string("usage: netlabctl ") + cmd));
        CHECK(p.err.empty());
    }
    auto p = ctl({"--version"});
    REQUIRE(p.cl.exit);
    CHECK(*p.cl.exit == 0);
    CHECK(p.out == "netlabctl " NETLAB_VERSION "\n");

    p = ctl({"help"});
    REQUIRE(p.cl.exit);
    CHECK(*p.cl.exit == 0);
    CHECK(has(p.out, "usage: netlabctl"));
    CHECK(has(p.out, "rollback"));
}

TEST_CASE("netlabctl: usage errors name the option and show the usage line") {
    auto p = ctl({"plan", "--bogus"});
    REQUIRE(p.cl.exit);
    CHECK(*p.cl.exit == netlab::cli::kUsageError);
    CHECK(has(p.err, "netlabctl plan: "));
    CHECK(has(p.err, "--bogus"));
    CHECK(has(p.err, "usage: netlabctl plan [OPTIONS] [PATH]"));
    CHECK(p.out.empty());

    p = ctl({"plan", "--state-dir"});
    REQUIRE(p.cl.exit);
    CHECK(has(p.err, "--state-dir"));

    p = ctl({"frobnicate"});
    REQUIRE(p.cl.exit);
    CHECK(has(p.err, "unknown command 'frobnicate'"));
    CHECK(has(p.err, "usage: netlabctl"));

    p = ctl({});
    REQUIRE(p.cl.exit);
    CHECK(*p.cl.exit == netlab::cli::kUsageError);
    CHECK(has(p.err, "usage: netlabctl"));
}

namespace {
std::optional<netlab::daemon::Options> nld(std::vector<std::string> args, int& rc, std::string& err) {
    args.insert(args.begin(), "netlabd");
    std::ostringstream o, e;
    rc = -1;
    auto r = netlab::daemon::parse_options(args, o, e, rc);
    err = e.str() + o.str();
    return r;
}
}  // namespace

TEST_CASE("netlabd: options in both spellings, bad values named") {
    int rc = -1;
    std::string err;
    auto o = nld({"--config-dir=/c", "--state-dir", "/s", "--socket=/k", "--debounce", "50", "--log-level=debug",
                  "--status-group", "adm", "--docker-socket", "/d", "--metrics-file=/m/netlab.prom"},
                 rc, err);
    REQUIRE(o);
    CHECK(o->config_dir == "/c");
    CHECK(o->state_dir == "/s");
    CHECK(o->socket == "/k");
    CHECK(o->debounce.count() == 50);
    CHECK(o->log_level == "debug");
    CHECK(o->status_group == "adm");
    CHECK(o->docker_socket == "/d");
    CHECK(o->metrics_file == "/m/netlab.prom");
    CHECK(nld({}, rc, err)->metrics_file.empty());

    CHECK_FALSE(nld({"--debounce", "-5"}, rc, err));
    CHECK(rc == netlab::daemon::kUsageError);
    CHECK(has(err, "--debounce"));
    CHECK(has(err, "usage: netlabd"));

    CHECK_FALSE(nld({"--log-level", "loud"}, rc, err));
    CHECK(has(err, "--log-level"));

    CHECK_FALSE(nld({"--frob"}, rc, err));
    CHECK(has(err, "--frob"));

    CHECK_FALSE(nld({"--version"}, rc, err));
    CHECK(rc == 0);
    CHECK(err == "netlabd " NETLAB_VERSION "\n");
}

TEST_CASE("netlabctl: --color never|auto|always; anything else is an error naming it") {
    CHECK(ctl({"plan"}).cl.local.color == netlab::cli::ColorMode::Auto);
    CHECK(ctl({"plan", "--color=never"}).cl.local.color == netlab::cli::ColorMode::Never);
    CHECK(ctl({"apply", "--color", "always"}).cl.local.color == netlab::cli::ColorMode::Always);
    auto p = ctl({"plan", "--color=sometimes"});
    REQUIRE(p.cl.exit);
    CHECK(*p.cl.exit == netlab::cli::kUsageError);
    CHECK(has(p.err, "--color"));
    CHECK(has(p.err, "sometimes"));
    CHECK(has(p.err, "usage: netlabctl plan"));
}

TEST_CASE("netlabctl show: --netns NAME=TARGET or TARGET, --json or --yaml, bad targets named") {
    auto p = ctl({"show", "--netns", "web=netns:lab-c1", "--netns=docker:api", "--json", "--docker-socket", "/d.sock"});
    REQUIRE_FALSE(p.cl.exit);
    CHECK(p.cl.command == Command::Show);
    CHECK(p.cl.show.json);
    CHECK(p.cl.show.docker_socket == "/d.sock");
    REQUIRE(p.cl.show.containers.size() == 2);
    CHECK(p.cl.show.containers[0].first == "web");
    CHECK(p.cl.show.containers[0].second.str() == "netns:lab-c1");
    CHECK(p.cl.show.containers[1].first == "api");  // named after the docker container
    CHECK(p.cl.show.containers[1].second.str() == "docker:api");

    p = ctl({"show", "--yaml"});
    REQUIRE_FALSE(p.cl.exit);
    CHECK_FALSE(p.cl.show.json);
    CHECK(p.cl.show.containers.empty());

    for (const auto& bad : {"pid:1234", "=netns:x", "web=tcp:1"}) {
        CAPTURE(bad);
        p = ctl({"show", "--netns", bad});
        REQUIRE(p.cl.exit);
        CHECK(*p.cl.exit == netlab::cli::kUsageError);
        CHECK(has(p.err, "--netns"));
        CHECK(has(p.err, "usage: netlabctl show"));
    }
    p = ctl({"show", "--json", "--yaml"});
    REQUIRE(p.cl.exit);
    CHECK(has(p.err, "--yaml"));
}

TEST_CASE("netlabctl: history, diff and rollback --to") {
    auto p = ctl({"history", "--json"});
    REQUIRE_FALSE(p.cl.exit);
    CHECK(p.cl.command == Command::History);

    p = ctl({"diff"});
    REQUIRE_FALSE(p.cl.exit);
    CHECK(p.cl.command == Command::Diff);
    CHECK(p.cl.client.revisions.empty());
    p = ctl({"diff", "1", "3"});
    REQUIRE_FALSE(p.cl.exit);
    CHECK(p.cl.client.revisions == std::vector<std::uint64_t>{1, 3});
    p = ctl({"diff", "1", "2", "3"});
    CHECK(p.cl.exit);
    p = ctl({"diff", "0"});
    REQUIRE(p.cl.exit);
    CHECK(has(p.err, "REV"));

    p = ctl({"rollback", "--to", "4", "--confirm", "1m"});
    REQUIRE_FALSE(p.cl.exit);
    CHECK(p.cl.command == Command::RollbackTo);
    CHECK(p.cl.client.rollback_to == 4u);
    CHECK(p.cl.client.confirm == std::chrono::seconds(60));
    p = ctl({"rollback", "--confirm", "1m"});  // --confirm needs --to
    REQUIRE(p.cl.exit);
    CHECK(has(p.err, "--confirm"));
    p = ctl({"rollback", "--to", "x"});
    REQUIRE(p.cl.exit);
    CHECK(has(p.err, "--to"));
}

TEST_CASE("netlabd: --revisions") {
    std::ostringstream out, err;
    int code = 0;
    auto o = netlab::daemon::parse_options({"netlabd", "--revisions", "5"}, out, err, code);
    REQUIRE(o);
    CHECK(o->revisions == 5u);
    o = netlab::daemon::parse_options({"netlabd"}, out, err, code);
    REQUIRE(o);
    CHECK(o->revisions == 50u);
    CHECK_FALSE(netlab::daemon::parse_options({"netlabd", "--revisions", "0"}, out, err, code));
    CHECK(has(err.str(), "--revisions"));
}
