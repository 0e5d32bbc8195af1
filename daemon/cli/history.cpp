// netlabctl history | diff | rollback --to: netlabd's revisions, listed,
// compared, and put back (docs/daemon.md, "Revisions"; docs/json.md).
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "cli/control_call.hpp"
#include "cli/exit_code.hpp"
#include "cli/json_out.hpp"

namespace netlab::cli {

namespace {

std::string str(const nlohmann::json& j, const char* key, const std::string& dflt = "-") {
    if (!j.is_object() || !j.contains(key) || j[key].is_null()) return dflt;
    if (j[key].is_string()) return j[key].get<std::string>();
    return j[key].dump();
}

std::string joined(const nlohmann::json& lines, const char* sep) {
    std::string s;
    for (const auto& l : lines)
        if (l.is_string()) s += (s.empty() ? "" : sep) + l.get<std::string>();
    return s;
}

// The reply when it is one; nullopt (after printing why) when it is a refusal.
std::optional<nlohmann::json> answered(const char* cmd, const std::optional<nlohmann::json>& reply,
                                       const ClientOptions& o, int& rc) {
    if (!reply) return std::nullopt;
    if (o.json) {
        print_json(*reply);
        rc = reply->value("ok", false) ? exit_code::kOk : exit_code::kError;
        return std::nullopt;
    }
    if (!reply->value("ok", false)) {
        std::fprintf(stderr, "netlabctl %s: %s\n", cmd, str(*reply, "error", "refused").c_str());
        rc = exit_code::kError;
        return std::nullopt;
    }
    return reply;
}

}  // namespace

int history(const ClientOptions& o) {
    int rc = exit_code::kError;
    auto reply = answered("history", call_netlabd("history", o, rc), o, rc);
    if (!reply) return rc;
    const auto& revs = reply->value("revisions", nlohmann::json::array());
    if (revs.empty()) {
        std::printf("no revision yet: netlabd has applied no change since its state directory was made\n");
        return 0;
    }
    std::printf("%-5s %-24s %-9s %-20s %5s  %s\n", "REV", "TIME", "ORIGIN", "RESULT", "STEPS", "BY");
    for (const auto& r : revs) {
        std::string result = str(r, "result");
        if (r.value("pending", false)) result += "*";
        if (r.contains("settled")) result += " " + str(r, "settled");
        std::printf("%-5s %-24s %-9s %-20s %5s  %s\n", str(r, "revision").c_str(), str(r, "time").c_str(),
                    str(r, "origin").c_str(), result.c_str(), str(r, "steps").c_str(),
                    joined(r.value("by", nlohmann::json::array()), " + ").c_str());
    }
    std::printf("(%zu kept of the last %s; * applied pending commit-confirmed, then how it settled)\n", revs.size(),
                str(*reply, "keep").c_str());
    return 0;
}

int diff(const ClientOptions& o) {
    int rc = exit_code::kError;
    nlohmann::json extra = {{"revisions", o.revisions}};
    auto reply = answered("diff", call_netlabd("diff", o, rc, extra), o, rc);
    if (!reply) return rc;
    const std::string from = str(*reply, "from"), to = str(*reply, "to");
    const auto& topo = reply->value("topology", nlohmann::json::array());
    if (topo.empty()) {
        std::printf("topology: revision %s and revision %s are the same\n", from.c_str(), to.c_str());
    } else {
        std::printf("--- revision %s\n+++ revision %s\n", from.c_str(), to.c_str());
        for (const auto& line : topo) std::printf("%s\n", line.get<std::string>().c_str());
    }
    const auto& plans = reply->value("plans", nlohmann::json::array());
    if (!plans.empty()) std::printf("\nplans run from revision %s to revision %s:\n", from.c_str(), to.c_str());
    for (const auto& p : plans) {
        const auto& steps = p.value("steps", nlohmann::json::array());
        std::printf("revision %s (%s, %s): %zu step%s\n", str(p, "revision").c_str(), str(p, "origin").c_str(),
                    str(p, "result").c_str(), steps.size(), steps.size() == 1 ? "" : "s");
        for (const auto& s : steps) std::printf("  %s\n", s.get<std::string>().c_str());
    }
    return 0;
}

int rollback_to(const ClientOptions& o) {
    int rc = exit_code::kError;
    const std::string rev = std::to_string(o.rollback_to.value_or(0));
    auto reply = call_netlabd("rollback", o, rc, {{"to", o.rollback_to.value_or(0)}});
    if (!reply) return rc;
    const auto& r = reply->value("result", nlohmann::json());
    const auto status = exit_code::parse_status(str(r, "status", ""));
    const int code = status ? exit_code::apply(*status, false)
                            : (reply->value("ok", false) ? exit_code::kOk : exit_code::kError);
    if (o.json) {
        print_json(*reply);
        return code;
    }
    if (!r.is_object()) {
        std::fprintf(stderr, "netlabctl rollback --to %s: %s\n", rev.c_str(), str(*reply, "error", "no result").c_str());
        return code;
    }
    if (!reply->value("ok", false)) {
        for (const auto& d : r.value("diagnostics", nlohmann::json::array()))
            std::fprintf(stderr, "%s\n", d.get<std::string>().c_str());
        if (!str(r, "error", "").empty()) std::fprintf(stderr, "%s\n", str(r, "error").c_str());
        std::fprintf(stderr, "netlabctl rollback --to %s: %s; the files it replaced are back\n", rev.c_str(),
                     str(r, "status").c_str());
        return code;
    }
    std::printf("netlabctl rollback --to %s: %s (%s netlink writes); the files are revision %s's now\n",
                rev.c_str(), str(r, "status").c_str(), str(r, "writes", "0").c_str(), rev.c_str());
    const auto& p = reply->value("pending", nlohmann::json());
    if (p.is_object())
        std::printf("pending until %s: `netlabctl confirm` keeps it, `netlabctl rollback` undoes it\n",
                    str(p, "deadline").c_str());
    return code;
}

}  // namespace netlab::cli
