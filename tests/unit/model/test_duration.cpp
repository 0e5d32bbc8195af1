// Durations (`commit_confirmed: 60s`, `netlabctl apply --confirm 60s`) and
// the topology key that uses them.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "model/duration.hpp"
#include "model/load.hpp"
#include "tests/unit/temp_dir.hpp"

using namespace netlab::model;
using std::chrono::seconds;

TEST_CASE("parse_duration") {
    struct Row { const char* text; long long secs; };  // -1: not a duration
    const Row rows[] = {
        {"60s", 60}, {"60", 60}, {"5m", 300}, {"1m30s", 90}, {"1h", 3600}, {"1h2m3s", 3723},
        {"0s", 0}, {"90m", 5400}, {"1h30s", 3630},
        {"", -1}, {"s", -1}, {"5", 5}, {"5x", -1}, {"30s1m", -1}, {"1m1m", -1}, {"1.5m", -1},
        {"-5s", -1}, {" 5s", -1}, {"5s ", -1}, {"5S", -1}, {"99999999999999999999s", -1}, {"400000h", -1},
        {"1m5", -1},
    };
    for (const auto& r : rows) {
        CAPTURE(r.text);
        auto d = parse_duration(r.text);
        if (r.secs < 0) {
            CHECK(!d);
        } else {
            REQUIRE(d);
            CHECK(d->count() == r.secs);
        }
    }
}

TEST_CASE("format_duration reads back") {
    for (long long s : {1LL, 45LL, 60LL, 90LL, 3600LL, 3723LL, 86400LL}) {
        CAPTURE(s);
        auto back = parse_duration(format_duration(seconds(s)));
        REQUIRE(back);
        CHECK(back->count() == s);
    }
    CHECK(format_duration(seconds(90)) == "1m30s");
}

namespace {
using Dir = netlab::test::TempDir;
bool has(const Loaded& l, const std::string& words) {
    for (const auto& d : l.diagnostics)
        if (d.message.find(words) != std::string::npos) return true;
    return false;
}
}  // namespace

TEST_CASE("commit_confirmed: loaded, validated, merged like drift") {
    Dir d;
    d.write("topology.yaml", "version: 1\ncommit_confirmed: 1m30s\n");
    Loaded l = load_config(d.path);
    CHECK(l.ok());
    REQUIRE(l.topology.commit_confirmed);
    CHECK(l.topology.commit_confirmed->count() == 90);

    d.write("topology.d/a.yaml", "version: 1\ncommit_confirmed: 90s\n");  // the same value: fine
    l = load_config(d.path);
    CHECK(l.ok());
    d.write("topology.d/b.yaml", "version: 1\ncommit_confirmed: 2m\n");
    l = load_config(d.path);
    CHECK(has(l, "commit_confirmed is set differently in two files"));

    Dir e;
    e.write("topology.yaml", "version: 1\n");
    CHECK(!load_config(e.path).topology.commit_confirmed);
    for (const char* bad : {"soon", "0s", "25h", "[60s]"}) {
        CAPTURE(bad);
        e.write("topology.yaml", std::string("version: 1\ncommit_confirmed: ") + bad + "\n");
        Loaded b = load_config(e.path);
        CHECK(!b.ok());
        CHECK(!b.topology.commit_confirmed);
    }
    e.write("topology.yaml", "version: 1\ncommit_confirm: 60s\n");
    CHECK(has(load_config(e.path), "commit_confirmed"));  // did you mean
}
