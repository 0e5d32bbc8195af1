// Revisions as values: their JSON, which to drop, where a change came from,
// and the diff between two of them (see revision.hpp).
#include "reconcile/apply/revision.hpp"

#include <algorithm>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "reconcile/apply/serialize.hpp"

namespace netlab::reconcile {

using nlohmann::json;

namespace {

// Past this many cells the line diff of the changed middle is not computed
// line by line: the old lines are listed as removed and the new as added
// (correct, only less tidy; a topology of thousands of containers whose
// every line moved).
constexpr std::size_t kMaxDiffCells = 4'000'000;
constexpr std::size_t kContext = 3;

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) out.push_back(line);
    return out;
}

// One line of the edit script: ' ' kept, '-' removed, '+' added.
using Edit = std::pair<char, std::string>;

std::vector<Edit> edit_script(const std::vector<std::string>& a, const std::vector<std::string>& b) {
    std::size_t pre = 0;
    while (pre < a.size() && pre < b.size() && a[pre] == b[pre]) ++pre;
    std::size_t suf = 0;
    while (suf < a.size() - pre && suf < b.size() - pre && a[a.size() - 1 - suf] == b[b.size() - 1 - suf]) ++suf;
    const std::size_t n = a.size() - pre - suf, m = b.size() - pre - suf;
    std::vector<Edit> out;
    for (std::size_t i = 0; i < pre; ++i) out.emplace_back(' ', a[i]);
    if ((n + 1) * (m + 1) > kMaxDiffCells) {
        for (std::size_t i = 0; i < n; ++i) out.emplace_back('-', a[pre + i]);
        for (std::size_t j = 0; j < m; ++j) out.emplace_back('+', b[pre + j]);
    } else {
        // lcs[i][j]: the longest common subsequence of a[i..] and b[j..] (of the middle).
        std::vector<std::uint32_t> lcs((n + 1) * (m + 1), 0);
        auto at = [&](std::size_t i, std::size_t j) -> std::uint32_t& { return lcs[i * (m + 1) + j]; };
        for (std::size_t i = n; i-- > 0;)
            for (std::size_t j = m; j-- > 0;)
                at(i, j) = a[pre + i] == b[pre + j] ? at(i + 1, j + 1) + 1 : std::max(at(i + 1, j), at(i, j + 1));
        std::size_t i = 0, j = 0;
        while (i < n || j < m) {
            if (i < n && j < m && a[pre + i] == b[pre + j]) {
                out.emplace_back(' ', a[pre + i]);
                ++i, ++j;
            } else if (i < n && (j == m || at(i + 1, j) >= at(i, j + 1))) {
                out.emplace_back('-', a[pre + i++]);  // removals first, as diff -u
            } else {
                out.emplace_back('+', b[pre + j++]);
            }
        }
    }
    for (std::size_t i = a.size() - suf; i < a.size(); ++i) out.emplace_back(' ', a[i]);
    return out;
}

std::string hunk_range(std::size_t start, std::size_t count) {
    // A hunk that is empty on one side names the line before it (diff -u).
    return std::to_string(count == 0 ? start : start + 1) + "," + std::to_string(count);
}

std::vector<std::string> str_list(const json& j) {
    std::vector<std::string> out;
    for (const auto& x : j) out.push_back(x.get<std::string>());
    return out;
}

}  // namespace

json revision_json(const Revision& r) {
    json j{{"format", kRevisionFormat}, {"revision", r.number}, {"time", r.time},     {"origin", r.origin},
           {"by", r.by},                {"result", r.result},   {"error", r.error},   {"pending", r.pending},
           {"files", r.files},          {"topology", r.topology}, {"plan", serial::plan(r.plan)}};
    if (!r.settled.empty()) {
        j["settled"] = r.settled;
        j["settled_at"] = r.settled_at;
        j["settled_by"] = r.settled_by;
    }
    return j;
}

Revision revision_from(const json& j) {
    if (!j.is_object() || j.value("format", 0) != kRevisionFormat)
        throw std::runtime_error("not a revision of format " + std::to_string(kRevisionFormat));
    Revision r;
    r.number = j.at("revision").get<std::uint64_t>();
    r.time = j.at("time").get<std::string>();
    r.origin = j.at("origin").get<std::string>();
    r.by = str_list(j.at("by"));
    r.result = j.at("result").get<std::string>();
    r.error = j.value("error", "");
    r.pending = j.value("pending", false);
    r.settled = j.value("settled", "");
    r.settled_at = j.value("settled_at", "");
    r.settled_by = j.value("settled_by", "");
    r.files = str_list(j.at("files"));
    r.topology = j.at("topology").get<std::string>();
    r.plan = serial::plan_from(j.at("plan"));
    return r;
}

json revision_summary(const Revision& r) {
    json j = revision_json(r);
    j.erase("topology");
    j.erase("plan");
    j["steps"] = r.plan.steps.size();
    return j;
}

std::vector<std::uint64_t> revisions_to_drop(std::vector<std::uint64_t> numbers, std::size_t keep) {
    std::sort(numbers.begin(), numbers.end());
    if (numbers.size() <= keep) return {};
    numbers.resize(numbers.size() - keep);
    return numbers;
}

std::string origin_of(const std::string& trigger, const std::string& client) {
    if (trigger.starts_with("netlabctl ")) {
        if (client == "ansible") return "ansible";
        if (trigger.starts_with("netlabctl rollback --to")) return "rollback";
        if (client == "systemd" && trigger.starts_with("netlabctl reload")) return "reload";
        return "socket";
    }
    if (trigger == "SIGHUP") return "reload";
    if (trigger == "start") return "start";
    if (trigger.starts_with("drift:")) return "drift";
    if (trigger.starts_with("containers:") || trigger.starts_with("a container event")) return "container";
    // Every other trigger is a change of the files the watch saw: "files
    // changed: ...", "topology.d appeared", "inotify queue overflow", ...
    return "file";
}

std::vector<std::string> unified_diff(const std::string& from, const std::string& to) {
    const auto edits = edit_script(lines_of(from), lines_of(to));
    std::vector<std::size_t> changed;
    for (std::size_t k = 0; k < edits.size(); ++k)
        if (edits[k].first != ' ') changed.push_back(k);
    std::vector<std::string> out;
    std::size_t c = 0;
    while (c < changed.size()) {
        // One hunk: changes whose gaps of kept lines are short enough for
        // their contexts to meet.
        std::size_t last = c;
        while (last + 1 < changed.size() && changed[last + 1] - changed[last] <= 2 * kContext + 1) ++last;
        const std::size_t begin = changed[c] >= kContext ? changed[c] - kContext : 0;
        const std::size_t end = std::min(edits.size(), changed[last] + kContext + 1);
        std::size_t a_start = 0, b_start = 0;
        for (std::size_t k = 0; k < begin; ++k) {
            if (edits[k].first != '+') ++a_start;
            if (edits[k].first != '-') ++b_start;
        }
        std::size_t a_count = 0, b_count = 0;
        for (std::size_t k = begin; k < end; ++k) {
            if (edits[k].first != '+') ++a_count;
            if (edits[k].first != '-') ++b_count;
        }
        out.push_back("@@ -" + hunk_range(a_start, a_count) + " +" + hunk_range(b_start, b_count) + " @@");
        for (std::size_t k = begin; k < end; ++k) out.push_back(std::string(1, edits[k].first) + edits[k].second);
        c = last + 1;
    }
    return out;
}

json revision_diff(const Revision& from, const Revision& to, const std::vector<Revision>& between) {
    json plans = json::array();
    for (const auto& r : between) {
        json steps = json::array();
        for (const auto& s : r.plan.steps) steps.push_back(s.describe());
        plans.push_back({{"revision", r.number}, {"origin", r.origin}, {"result", r.result}, {"steps", steps}});
    }
    return json{{"format", kRevisionFormat},
                {"from", from.number},
                {"to", to.number},
                {"topology", unified_diff(from.topology, to.topology)},
                {"plans", plans}};
}

}  // namespace netlab::reconcile
