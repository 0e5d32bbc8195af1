// Hostile input (issue 2 item 7): never a crash or a hang, always a clear
// error. The inputs are generated here; nothing large is committed.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>

#include "model/load.hpp"
#include "model/load_detail.hpp"
#include "tests/unit/temp_dir.hpp"

using namespace netlab::model;
namespace fs = std::filesystem;

namespace {

using Scratch = netlab::test::TempDir;

// Loads `p`, requires an error containing `words`, and reports (without
// failing: no wall-clock asserts) when it took more than a second of CPU.
Diagnostic expect_error(const fs::path& p, const std::string& words) {
    std::clock_t t0 = std::clock();
    Loaded l = load_config(p);
    double s = static_cast<double>(std::clock() - t0) / CLOCKS_PER_SEC;
    WARN_MESSAGE(s < 1.0, p.filename().string() << " took " << s << " s of CPU");
    for (const auto& d : l.diagnostics)
        if (d.severity == Severity::Error && d.message.find(words) != std::string::npos) return d;
    std::string all;
    for (const auto& d : l.diagnostics) all += d.str() + "\n";
    FAIL("no error with '" << words << "' for " << p.filename().string() << "; got:\n" << all);
    return {};
}

}  // namespace

TEST_CASE("hostile: a 10 MB file is refused before parsing") {
    Scratch s;
    auto p = s.write("big.yaml", "version: 1\n# " + std::string(10 * 1000 * 1000, 'x') + "\n");
    Diagnostic d = expect_error(p, "larger than the 1.0 MiB limit");
    CHECK(d.message.find("file is 9.5 MiB") != std::string::npos);
    // load_string has the same limit.
    Loaded l = load_string(std::string(kMaxFileBytes + 1, '#'), "x.yaml");
    CHECK(!l.ok());
}

TEST_CASE("hostile: 10,000-deep nesting (flow, block, compact sequences)") {
    Scratch s;
    expect_error(s.write("flow-seq.yaml", "version: 1\nx: " + std::string(10000, '[') + std::string(10000, ']') + "\n"),
                 "nesting is deeper than 64 levels");
    std::string maps;
    for (int i = 0; i < 10000; ++i) maps += "{a: ";
    maps += "1" + std::string(10000, '}');
    expect_error(s.write("flow-map.yaml", "version: 1\nx: " + maps + "\n"), "nesting is deeper than 64 levels");
    std::string dashes;
    for (int i = 0; i < 10000; ++i) dashes += "- ";
    expect_error(s.write("compact.yaml", "version: 1\nroutes:\n  " + dashes + "x\n"), "nesting is deeper than 64 levels");
    // Block nesting: as deep as fits under the size limit.
    std::string block = "version: 1\nx:\n";
    for (int i = 0; i < 1000; ++i) block += std::string(i + 1, ' ') + "k:\n";
    Diagnostic d = expect_error(s.write("block.yaml", block), "nesting is deeper than 64 levels");
    CHECK(d.where.line > 60);
    // Unbalanced brackets and brackets inside quotes or comments do not count.
    std::string quoted = "version: 1\ninterfaces:\n  ens33: {}\n# " + std::string(500, '[') + "\nx: \"" +
                         std::string(500, '{') + "\"\n";
    Loaded ok = load_string(quoted, "quoted.yaml");
    for (const auto& x : ok.diagnostics) CHECK(x.message.find("nesting") == std::string::npos);
}

TEST_CASE("hostile: alias bombs are walked within a budget") {
    Scratch s;
    // Classic billion laughs: 9^9 leaves if expanded.
    std::string lol = "version: 1\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
    for (int i = 1; i < 10; ++i) {
        lol += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
        for (int j = 0; j < 9; ++j) lol += (j ? ", *a" : "*a") + std::to_string(i - 1);
        lol += "]\n";
    }
    lol += "routes: *a9\n";
    expect_error(s.write("lol.yaml", lol), "a route must be a map");

    // A bomb the schema does walk: containers -> interfaces -> routes, all aliases.
    std::string rs = "rs: &rs [";
    for (int i = 0; i < 1000; ++i) rs += (i ? ", *r" : "*r");
    rs += "]\n";
    std::string ifs = "ifs: &ifs {";
    for (int i = 0; i < 1000; ++i) ifs += (i ? ", e" : "e") + std::to_string(i) + ": {bridge: br0, routes: *rs}";
    ifs += "}\n";
    std::string cs = "containers: {";
    for (int i = 0; i < 1000; ++i) cs += (i ? ", c" : "c") + std::to_string(i) + ": {netns: netns:x, interfaces: *ifs}";
    cs += "}\n";
    std::string bomb = "version: 1\nr: &r {to: 203.0.113.0/24, via: 198.51.100.1}\n" + rs + ifs + cs;
    REQUIRE(bomb.size() < kMaxFileBytes);
    expect_error(s.write("walk.yaml", bomb), "more than 100000 values");
    Loaded l = load_config(s.path / "walk.yaml");
    CHECK(l.diagnostics.size() <= kMaxDiagnostics + 2);
}

TEST_CASE("hostile: bytes that are not UTF-8 are located") {
    Scratch s;
    Diagnostic d = expect_error(s.write("latin1.yaml", "version: 1\ninterfaces:\n  ens\xff" "33: {}\n"), "not UTF-8");
    CHECK(d.where.line == 3);
    CHECK(d.where.col == 6);
    CHECK(d.message.find("byte offset 28") != std::string::npos);
    expect_error(s.write("nul.yaml", std::string("version: 1\n\0\n", 13)), "control character 0x00");
    expect_error(s.write("utf16.yaml", std::string("\xff\xfev\0e\0r\0", 8)), "not UTF-8");
    expect_error(s.write("overlong.yaml", "version: 1\n# \xc0\xaf\n"), "not UTF-8");
    expect_error(s.write("truncated.yaml", "version: 1\n# \xe2\x82"), "not UTF-8");
    // Well-formed UTF-8 (and a BOM) is fine.
    Loaded ok = load_string("\xEF\xBB\xBFversion: 1\n# caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\n", "ok.yaml");
    CHECK(ok.ok());
}

TEST_CASE("hostile: empty files, directories, unreadable files") {
    Scratch s;
    expect_error(s.write("empty.yaml", ""), "empty file: expected `version: 1`");
    expect_error(s.write("comments.yaml", "# only a comment\n\n"), "empty file");
    fs::create_directories(s.path / "adir" / "topology.yaml");
    expect_error(s.path / "adir", "is a directory");
    expect_error(s.path / "fifo-absent", "no such file");
    REQUIRE(mkfifo((s.path / "fifo").c_str(), 0600) == 0);
    expect_error(s.path / "fifo", "is not a regular file");  // and does not block on open
    auto p = s.write("secret.yaml", "version: 1\n");
    chmod(p.c_str(), 0);
    if (geteuid() == 0) {
        MESSAGE("running as root, which reads any file: the unreadable case is covered by tests/cli/test_check.sh as 'nobody'");
    } else {
        expect_error(p, "Permission denied");
    }
}

namespace {

// N containers over bridges of 1000 (a bridge holds at most 1023 ports),
// block style with MAC, two addresses and a gateway each when `rich`, else
// the one-line flow style bench/run.sh writes. Containers from `first`;
// with `bridges`, the file starts with that many.
std::string containers_text(int first, int n, bool rich, int bridges) {
    std::string t;
    if (bridges) {
        t = "version: 1\ninterfaces:\n";
        for (int b = 0; b < bridges; ++b)
            t += "  br" + std::to_string(b) + ":\n    kind: bridge\n    addresses: [198.18." + std::to_string(4 * b) +
                 ".1/22, 2001:db8:" + std::to_string(b) + "::1/64]\n";
    }
    t += "containers:\n";
    char line[512];
    for (int k = first; k < first + n; ++k) {
        const int b = k / 1000, h = k % 1000 + 2;
        if (rich)
            std::snprintf(line, sizeof line,
                          "  web-frontend-%05d:\n    netns: \"docker:web-frontend-%05d\"\n    interfaces:\n      eth1:\n"
                          "        bridge: br%d\n        mac: 02:42:c6:12:%02x:%02x\n"
                          "        addresses: [198.18.%d.%d/22, 2001:db8:%d::%x/64]\n        gateway: 198.18.%d.1\n",
                          k, k, b, k / 256 % 256, k % 256, 4 * b + h / 256, h % 256, b, h, 4 * b);
        else
            std::snprintf(line, sizeof line,
                          "  c%d:\n    netns: \"netns:c%d\"\n    interfaces:\n"
                          "      eth1: {bridge: br%d, address: \"198.18.%d.%d/22@198.18.%d.1\"}\n",
                          k, k, b, 4 * b + h / 256, h % 256, 4 * b);
        t += line;
    }
    return t;
}

std::string errors_in(const Loaded& l) {
    std::string all;
    for (const auto& d : l.diagnostics)
        if (d.severity == Severity::Error) all += d.str() + "\n";
    return all;
}

}  // namespace

TEST_CASE("limits: 5,000 containers fit one file in flow style; a bigger file is split into drop-ins") {
    // Flow style, as bench/run.sh writes it: well inside both per-file limits.
    const std::string flow = containers_text(0, 5000, false, 5);
    CHECK(flow.size() < kMaxFileBytes * 2 / 3);
    Loaded one = load_documents({{"topology.yaml", flow, false}});
    CHECK_MESSAGE(one.ok(), errors_in(one));
    CHECK(one.topology.containers.size() == 5000);

    // Block style with a MAC, two addresses and a gateway each: past 1 MiB
    // in one file, refused with a hint that says how to split it ...
    const std::string rich = containers_text(0, 5000, true, 5);
    REQUIRE(rich.size() > kMaxFileBytes);
    Loaded big = load_documents({{"topology.yaml", rich, false}});
    CHECK_FALSE(big.ok());
    REQUIRE(!big.diagnostics.empty());
    CHECK(big.diagnostics[0].message.find("larger than the 1.0 MiB limit") != std::string::npos);
    CHECK(big.diagnostics[0].hint.find("drop-ins") != std::string::npos);

    // ... and the same containers as the main file and a drop-in load.
    Loaded split = load_documents({{"topology.yaml", containers_text(0, 2500, true, 5), false},
                                   {"topology.d/50-more.yaml", "version: 1\n" + containers_text(2500, 2500, true, 0),
                                    true}});
    CHECK_MESSAGE(split.ok(), errors_in(split));
    CHECK(split.topology.containers.size() == 5000);
}
