// Renders a plan for people (plan_text.hpp).
#include "cli/plan_text.hpp"

#include <algorithm>
#include <cstdio>
#include <string_view>
#include <vector>

namespace netlab::cli {

namespace {

constexpr std::string_view kReset = "\033[0m";
constexpr std::string_view kBold = "\033[1m";
constexpr std::string_view kDim = "\033[2m";
constexpr std::string_view kGreen = "\033[32m";
constexpr std::string_view kYellow = "\033[33m";
constexpr std::string_view kRed = "\033[31m";

std::string paint(std::string_view code, const std::string& text, bool color) {
    if (!color) return text;
    return std::string(code) + text + std::string(kReset);
}

std::string_view marker_color(char m) { return m == '+' ? kGreen : m == '~' ? kYellow : kRed; }

std::string ns_title(const reconcile::NsId& ns) {
    if (ns.empty()) return "host";
    const std::string c = reconcile::container_of(ns);
    return c.empty() ? "namespace " + ns : "container " + c;
}

std::string plural(std::size_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

bool use_color(ColorMode mode, bool is_tty, const char* no_color_env, const char* term_env) {
    if (mode == ColorMode::Always) return true;
    if (mode == ColorMode::Never) return false;
    if (!is_tty) return false;
    if (no_color_env && *no_color_env) return false;
    if (term_env && std::string_view(term_env) == "dumb") return false;
    return true;
}

char step_marker(reconcile::Step::Op op) {
    using Op = reconcile::Step::Op;
    switch (op) {
        case Op::CreateLink:
        case Op::AddAddress:
        case Op::AddRoute: return '+';
        case Op::SetLink:
        case Op::ReplaceRoute: return '~';
        case Op::DeleteLink:
        case Op::DelAddress:
        case Op::DelRoute:
        case Op::DeleteGroup: return '-';
    }
    return '~';
}

std::string plan_summary(const reconcile::Plan& plan) {
    std::size_t add = 0, change = 0, del = 0;
    std::vector<reconcile::NsId> namespaces;
    for (const auto& s : plan.steps) {
        const char m = step_marker(s.op);
        (m == '+' ? add : m == '~' ? change : del)++;
        if (std::find(namespaces.begin(), namespaces.end(), s.ns) == namespaces.end()) namespaces.push_back(s.ns);
    }
    for (const auto& d : plan.docker) (d.before_kernel() ? del : add)++;
    if (plan.empty()) return "nothing to do";
    std::string where = namespaces.empty() ? std::string() : plural(namespaces.size(), "namespace", "namespaces");
    if (!plan.docker.empty()) where += where.empty() ? "Docker" : " and Docker";
    return std::to_string(add) + " to create, " + std::to_string(change) + " to change, " + std::to_string(del) +
           " to delete in " + where;
}

std::string render_plan(const reconcile::Plan& plan, bool color) {
    // Namespaces in the order they first act, the host first.
    std::vector<reconcile::NsId> order;
    for (const auto& s : plan.steps)
        if (std::find(order.begin(), order.end(), s.ns) == order.end()) order.push_back(s.ns);
    std::stable_partition(order.begin(), order.end(), [](const reconcile::NsId& ns) { return ns.empty(); });

    const int width = static_cast<int>(std::to_string(plan.total()).size());
    const auto docker_before = plan.docker_before(), docker_after = plan.docker_after();
    const std::size_t base = docker_before.size();
    std::string out;
    auto docker = [&](const std::vector<reconcile::docker::Step>& steps, std::size_t first) {
        if (steps.empty()) return;
        out += paint(kBold, std::string("Docker:"), color) + "\n";
        for (std::size_t i = 0; i < steps.size(); ++i) {
            const char m = steps[i].before_kernel() ? '-' : '+';
            char num[32];
            std::snprintf(num, sizeof num, "%*zu", width, first + i + 1);
            out += "  " + paint(marker_color(m), std::string(1, m), color) + " " + num + "  " +
                   paint(marker_color(m), steps[i].describe(), color) + "\n";
        }
    };
    docker(docker_before, 0);
    for (const auto& ns : order) {
        out += paint(kBold, ns_title(ns) + ":", color) + "\n";
        for (std::size_t i = 0; i < plan.steps.size(); ++i) {
            const auto& s = plan.steps[i];
            if (s.ns != ns) continue;
            const char m = step_marker(s.op);
            char num[32];
            std::snprintf(num, sizeof num, "%*zu", width, base + i + 1);
            out += "  " + paint(marker_color(m), std::string(1, m), color) + " " + num + "  " +
                   paint(marker_color(m), s.describe(), color) + "\n";
            if (!s.why.empty())
                out += "  " + std::string(static_cast<std::size_t>(width) + 4, ' ') +
                       paint(kDim, "# " + s.why, color) + "\n";
        }
    }
    docker(docker_after, base + plan.steps.size());
    out += paint(kBold, "Plan: " + plan_summary(plan) + ".", color) + "\n";
    return out;
}

}  // namespace netlab::cli
