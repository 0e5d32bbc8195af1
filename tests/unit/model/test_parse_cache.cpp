// ParseCache: a file parsed again only when its text changed, and a load
// through the cache reporting exactly what one without it reports.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "model/load.hpp"
#include "model/parse_cache.hpp"
#include "tests/unit/temp_dir.hpp"

using namespace netlab::model;
namespace fs = std::filesystem;

namespace {

struct TempDir : netlab::test::TempDir {
    TempDir() : netlab::test::TempDir("netlab-test-cache") {}
};

std::string report(const Loaded& l) {
    std::string s;
    for (const auto& d : l.diagnostics) s += d.str() + "\n";
    return s;
}

// The cached load says what an uncached one says, diagnostics included.
void same(const Loaded& cached, const Loaded& fresh) {
    CHECK(report(cached) == report(fresh));
    CHECK(cached.files == fresh.files);
    CHECK(cached.topology.containers.size() == fresh.topology.containers.size());
    CHECK(cached.topology.interfaces.size() == fresh.topology.interfaces.size());
    CHECK(cached.topology.routes.size() == fresh.topology.routes.size());
}

const char* kMain = "version: 1\ninterfaces:\n  br0:\n    kind: bridge\n    addresses: [198.51.100.1/24]\n"
                    "routes:\n  - to: 203.0.113.0/24\n    via: 198.51.100.254\n";
const char* kC1 = "version: 1\ncontainers:\n  c1:\n    netns: netns:c1\n    interfaces:\n      eth1:\n"
                  "        bridge: br0\n        address: 198.51.100.10/24\n";
const char* kC2 = "version: 1\ncontainers:\n  c2:\n    netns: netns:c2\n    interfaces:\n      eth1:\n"
                  "        bridge: br0\n        address: 198.51.100.11/24\n";

}  // namespace

TEST_CASE("parse cache: an unchanged file is a hit, a changed one alone is parsed again") {
    TempDir d;
    d.write("topology.yaml", kMain);
    d.write("topology.d/10-c1.yaml", kC1);
    d.write("topology.d/20-c2.yaml", kC2);
    ParseCache cache;
    Loaded first = load_config(d.path, EmptyDir::Error, cache);
    REQUIRE(first.ok());
    CHECK(cache.misses() == 3);
    CHECK(cache.hits() == 0);

    Loaded again = load_config(d.path, EmptyDir::Error, cache);
    CHECK(cache.misses() == 3);
    CHECK(cache.hits() == 3);
    same(again, load_config(d.path));

    // One drop-in changed: that file is read again, the others come from memory.
    std::string c2 = kC2;
    c2.replace(c2.find(".11/"), 4, ".12/");
    d.write("topology.d/20-c2.yaml", c2);
    Loaded changed = load_config(d.path, EmptyDir::Error, cache);
    CHECK(cache.misses() == 4);
    CHECK(cache.hits() == 5);
    REQUIRE(changed.ok());
    CHECK(changed.topology.containers.at("c2").interfaces.at("eth1").addresses.at(0).str() == "198.51.100.12/24");
    same(changed, load_config(d.path));
}

TEST_CASE("parse cache: a removed drop-in is forgotten and its objects are gone") {
    TempDir d;
    d.write("topology.yaml", kMain);
    d.write("topology.d/10-c1.yaml", kC1);
    d.write("topology.d/20-c2.yaml", kC2);
    ParseCache cache;
    REQUIRE(load_config(d.path, EmptyDir::Error, cache).ok());
    CHECK(cache.size() == 3);
    fs::remove(d.path / "topology.d/20-c2.yaml");
    Loaded l = load_config(d.path, EmptyDir::Error, cache);
    REQUIRE(l.ok());
    CHECK(cache.size() == 2);
    CHECK(l.topology.containers.count("c2") == 0);
    CHECK(l.topology.containers.count("c1") == 1);
    same(l, load_config(d.path));
}

TEST_CASE("parse cache: an error in one file is reported with its position from memory too") {
    TempDir d;
    d.write("topology.yaml", kMain);
    d.write("topology.d/10-bad.yaml", "version: 1\ncontainers:\n  c1:\n    netns: netns:c1\n    interfacs: {}\n");
    ParseCache cache;
    Loaded first = load_config(d.path, EmptyDir::Error, cache);
    REQUIRE(!first.ok());
    Loaded hit = load_config(d.path, EmptyDir::Error, cache);
    CHECK(cache.hits() == 2);
    REQUIRE(!hit.ok());
    const std::string where = (d.path / "topology.d/10-bad.yaml").string() + ":5:5";
    CHECK(report(hit).find(where) != std::string::npos);
    same(hit, load_config(d.path));
}

TEST_CASE("parse cache: a conflict between files is found whichever of them comes from memory") {
    TempDir d;
    d.write("topology.yaml", kMain);
    d.write("topology.d/10-c1.yaml", kC1);
    ParseCache cache;
    REQUIRE(load_config(d.path, EmptyDir::Error, cache).ok());
    // A new drop-in defines c1 again: the main file and 10-c1 are hits.
    std::string dup = kC1;
    dup.replace(dup.find(".10/"), 4, ".20/");
    d.write("topology.d/20-dup.yaml", dup);
    Loaded l = load_config(d.path, EmptyDir::Error, cache);
    CHECK(cache.hits() == 2);
    REQUIRE(!l.ok());
    CHECK(report(l).find("defined in two files") != std::string::npos);
    CHECK(report(l).find((d.path / "topology.d/10-c1.yaml").string() + ":3:3") != std::string::npos);
    same(l, load_config(d.path));
}

TEST_CASE("parse cache: routes numbered after an earlier file's routes are read again when that count changes") {
    TempDir d;
    d.write("topology.yaml", kMain);
    d.write("topology.d/10-r.yaml", "version: 1\nroutes:\n  - to: 203.0.113.128/25\n    via: 198.51.100.254\n");
    ParseCache cache;
    REQUIRE(load_config(d.path, EmptyDir::Error, cache).ok());
    std::string main = kMain;
    main += "  - to: 198.18.0.0/15\n    via: 198.51.100.254\n";
    d.write("topology.yaml", main);
    Loaded l = load_config(d.path, EmptyDir::Error, cache);
    CHECK(cache.hits() == 0);  // the main file changed, and the drop-in's routes now start at 2
    REQUIRE(l.ok());
    CHECK(l.topology.routes.size() == 3);
    same(l, load_config(d.path));
}

TEST_CASE("parse cache: a directory emptied of its files keeps nothing of them") {
    TempDir d;
    d.write("topology.yaml", kMain);
    d.write("topology.d/10-c1.yaml", kC1);
    ParseCache cache;
    REQUIRE(load_config(d.path, EmptyDir::NoTopology, cache).ok());
    CHECK(cache.size() == 2);
    fs::remove(d.path / "topology.yaml");
    fs::remove(d.path / "topology.d/10-c1.yaml");
    Loaded l = load_config(d.path, EmptyDir::NoTopology, cache);
    CHECK(l.no_topology);
    CHECK(cache.size() == 0);
}
