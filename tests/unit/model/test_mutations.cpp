// Deterministic mutation fuzzing of the loader: the examples and the bad
// corpus, cut, spliced and salted with YAML punctuation, must always load to
// a result (never throw or crash). Run under -fsanitize this also checks
// memory safety of the walk.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "model/load.hpp"

using namespace netlab::model;
namespace fs = std::filesystem;

TEST_CASE("mutated inputs always load to diagnostics, never a crash") {
    std::vector<std::string> seeds;
    for (const char* dir : {"examples", "tests/bad"})
        for (const auto& e : fs::directory_iterator(fs::path(NETLAB_SOURCE_DIR) / dir))
            if (e.path().extension() == ".yaml") {
                std::ifstream in(e.path(), std::ios::binary);
                std::stringstream ss;
                ss << in.rdbuf();
                seeds.push_back(ss.str());
            }
    std::sort(seeds.begin(), seeds.end());
    REQUIRE(!seeds.empty());
    const std::vector<std::string> tokens{"[", "]", "{", "}", "&a ", "*a", "- ", ": ", "\n", "  ", "\"", "'", "\t",
                                          "#", "!!str ", "<<: *a", "? ", "|", ">", "---\n", "...\n", "@", "/", "::"};
    std::mt19937 rng(12345);
    auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n)(rng); };
    for (int i = 0; i < 20000; ++i) {
        std::string s = seeds[pick(seeds.size() - 1)];
        for (std::size_t m = 0, n = 1 + pick(7); m < n; ++m) {
            std::size_t pos = pick(s.size());
            switch (pick(2)) {
                case 0: s.insert(pos, tokens[pick(tokens.size() - 1)]); break;
                case 1: s.erase(pos, pick(10)); break;
                default: {
                    std::size_t a = pick(s.size()), len = pick(50);
                    s.insert(pos, s.substr(a, len));
                }
            }
        }
        Loaded l;
        REQUIRE_NOTHROW(l = load_string(s, "mutated.yaml"));
        Diagnostics out;  // load_config() validates even after loading errors
        REQUIRE_NOTHROW(validate(l.topology, l.sources, out));
    }
}
