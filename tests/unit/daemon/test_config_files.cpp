// rollback --to's files: what a revision replaces is kept, and put back
// exactly when the rollback does not take.
#include <doctest/doctest.h>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "netlabd/config_files.hpp"
#include "tests/unit/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace netlab::daemon;

namespace {

using netlab::test::TempDir;

void put(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
}

std::string get(const fs::path& p) {
    std::ifstream in(p);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

TEST_CASE("config files: replaced, kept aside, and put back") {
    TempDir tmp;
    const fs::path dir = tmp.path / "etc";
    put(dir / "topology.yaml", "version: 1\n# now\n");
    put(dir / "topology.d" / "10-extra.yaml", "version: 1\n# drop-in\n");
    put(dir / "topology.d" / "README", "not a drop-in\n");
    const fs::path saved = dir / "replaced" / "rollback-to-1";

    replace_config(dir, "version: 1\n# revision 1\n", saved);
    CHECK(get(dir / "topology.yaml") == "version: 1\n# revision 1\n");
    CHECK(!fs::exists(dir / "topology.d" / "10-extra.yaml"));
    CHECK(fs::exists(dir / "topology.d" / "README"));  // the loader never read it
    CHECK(get(saved / "topology.yaml") == "version: 1\n# now\n");
    CHECK(get(saved / "topology.d" / "10-extra.yaml") == "version: 1\n# drop-in\n");

    restore_config(dir, saved);
    CHECK(get(dir / "topology.yaml") == "version: 1\n# now\n");
    CHECK(get(dir / "topology.d" / "10-extra.yaml") == "version: 1\n# drop-in\n");
    CHECK(!fs::exists(saved));
}

TEST_CASE("config files: a directory with no topology.yaml gets none back") {
    TempDir tmp;
    const fs::path dir = tmp.path / "etc";
    put(dir / "topology.d" / "a.yml", "version: 1\n");
    const fs::path saved = dir / "replaced" / "x";
    replace_config(dir, "version: 1\n", saved);
    CHECK(fs::exists(dir / "topology.yaml"));
    CHECK(!fs::exists(saved / "topology.yaml"));
    restore_config(dir, saved);
    CHECK(!fs::exists(dir / "topology.yaml"));
    CHECK(fs::exists(dir / "topology.d" / "a.yml"));
}

TEST_CASE("config files: a topology.yaml linked to a missing file stays a dangling link") {
    TempDir tmp;
    const fs::path dir = tmp.path / "etc";
    const fs::path checkout = tmp.path / "checkout";
    fs::create_directories(dir);
    fs::create_directories(checkout);
    fs::create_symlink(checkout / "host.yaml", dir / "topology.yaml");  // host.yaml not there yet
    const fs::path saved = dir / "replaced" / "y";

    replace_config(dir, "version: 1\n# revision 2\n", saved);
    CHECK(fs::is_symlink(dir / "topology.yaml"));
    CHECK(get(checkout / "host.yaml") == "version: 1\n# revision 2\n");

    restore_config(dir, saved);
    CHECK(fs::is_symlink(dir / "topology.yaml"));       // the link is kept
    CHECK(!fs::exists(checkout / "host.yaml"));         // the file it made is gone
    CHECK(fs::read_symlink(dir / "topology.yaml") == checkout / "host.yaml");
}
