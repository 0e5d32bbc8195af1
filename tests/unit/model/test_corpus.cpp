// The bad-input corpus: every tests/bad/NAME.yaml states, in header lines
//   # expect: LINE:COL SEVERITY: WORDS [... MORE WORDS]
// the diagnostics it must produce. The check is exact both ways: each
// expectation must be met by one diagnostic, and each diagnostic must be
// expected, so a new spurious error shows up here too.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "model/load.hpp"

using namespace netlab::model;
namespace fs = std::filesystem;

namespace {

struct Expect {
    int line = 0, col = 0;
    Severity severity = Severity::Error;
    std::vector<std::string> words;
    std::string text;
};

std::vector<Expect> read_expects(const fs::path& p) {
    std::vector<Expect> out;
    std::ifstream in(p);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("# expect: ", 0) != 0) continue;
        Expect e;
        e.text = line.substr(10);
        std::string rest = e.text;
        auto sp = rest.find(' ');
        std::string pos = rest.substr(0, sp);
        e.line = std::stoi(pos.substr(0, pos.find(':')));
        e.col = std::stoi(pos.substr(pos.find(':') + 1));
        rest = rest.substr(sp + 1);
        if (rest.rfind("warning: ", 0) == 0) e.severity = Severity::Warning, rest = rest.substr(9);
        else if (rest.rfind("error: ", 0) == 0) rest = rest.substr(7);
        for (std::size_t at; (at = rest.find(" ... ")) != std::string::npos; rest = rest.substr(at + 5))
            e.words.push_back(rest.substr(0, at));
        e.words.push_back(rest);
        out.push_back(e);
    }
    return out;
}

bool matches(const Expect& e, const Diagnostic& d) {
    if (d.severity != e.severity || d.where.line != e.line || d.where.col != e.col) return false;
    return std::all_of(e.words.begin(), e.words.end(),
                       [&](const std::string& w) { return d.message.find(w) != std::string::npos; });
}

}  // namespace

TEST_CASE("bad corpus: every case gives exactly its stated diagnostics") {
    fs::path dir = fs::path(NETLAB_SOURCE_DIR) / "tests" / "bad";
    std::vector<fs::path> cases;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ".yaml") cases.push_back(e.path());
    std::sort(cases.begin(), cases.end());
    REQUIRE(cases.size() >= 50);
    for (const auto& p : cases) {
        CAPTURE(p.filename().string());
        auto expects = read_expects(p);
        REQUIRE_MESSAGE(!expects.empty(), "no '# expect:' line");
        Loaded l = load_config(p);
        std::vector<bool> used(l.diagnostics.size());
        for (const auto& e : expects) {
            bool found = false;
            for (std::size_t i = 0; i < l.diagnostics.size() && !found; ++i)
                if (!used[i] && matches(e, l.diagnostics[i])) used[i] = found = true;
            CHECK_MESSAGE(found, "expected: " << e.text);
        }
        for (std::size_t i = 0; i < l.diagnostics.size(); ++i)
            CHECK_MESSAGE(used[i], "unexpected: " << l.diagnostics[i].str());
    }
}

TEST_CASE("the examples are valid") {
    fs::path dir = fs::path(NETLAB_SOURCE_DIR) / "examples";
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (e.path().extension() != ".yaml") continue;
        ++n;
        CAPTURE(e.path().filename().string());
        Loaded l = load_config(e.path());
        for (const auto& d : l.diagnostics) CHECK_MESSAGE(false, d.str());
    }
    CHECK(n >= 4);
}
