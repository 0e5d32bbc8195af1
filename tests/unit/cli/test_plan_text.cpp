// The plan as people read it (daemon/cli/plan_text.cpp): markers, grouping
// by namespace with execution numbers, reasons, summary, colors.
#include <doctest/doctest.h>

#include "cli/plan_text.hpp"

using netlab::reconcile::LinkKind;

using netlab::cli::ColorMode;
using netlab::reconcile::Plan;
using netlab::reconcile::Step;

namespace {

Step link_step(Step::Op op, const std::string& ns, const std::string& name, const std::string& why) {
    Step s;
    s.op = op;
    s.ns = ns;
    s.link.name = name;
    if (op == Step::Op::CreateLink) s.link.kind = LinkKind::Bridge;
    if (op == Step::Op::SetLink) s.link.up = true;
    s.why = why;
    return s;
}

Step del_address(const std::string& dev, const char* prefix, const std::string& why) {
    Step s;
    s.op = Step::Op::DelAddress;
    s.address.dev = dev;
    s.address.prefix = *netlab::model::Prefix::parse(prefix);
    s.why = why;
    return s;
}

// Host: create br0, set it up; container c1: create eth1; host again:
// delete ens33's address. Execution order interleaves the namespaces.
Plan sample() {
    Plan p;
    p.steps.push_back(link_step(Step::Op::CreateLink, "", "br0", "new bridge"));
    p.steps.push_back(link_step(Step::Op::CreateLink, "container:c1", "eth1", "attach c1"));
    p.steps.push_back(link_step(Step::Op::SetLink, "", "br0", "bring the new link up"));
    p.steps.push_back(del_address("ens33", "198.51.100.10/24", "ens33's address moves to br0 after the default route"));
    return p;
}

}  // namespace

TEST_CASE("plan text: markers by operation") {
    CHECK(netlab::cli::step_marker(Step::Op::CreateLink) == '+');
    CHECK(netlab::cli::step_marker(Step::Op::AddAddress) == '+');
    CHECK(netlab::cli::step_marker(Step::Op::AddRoute) == '+');
    CHECK(netlab::cli::step_marker(Step::Op::SetLink) == '~');
    CHECK(netlab::cli::step_marker(Step::Op::ReplaceRoute) == '~');
    CHECK(netlab::cli::step_marker(Step::Op::DeleteLink) == '-');
    CHECK(netlab::cli::step_marker(Step::Op::DelAddress) == '-');
    CHECK(netlab::cli::step_marker(Step::Op::DelRoute) == '-');
    CHECK(netlab::cli::step_marker(Step::Op::DeleteGroup) == '-');
}

TEST_CASE("plan text: summary") {
    CHECK(netlab::cli::plan_summary(sample()) == "2 to create, 1 to change, 1 to delete in 2 namespaces");
    CHECK(netlab::cli::plan_summary(Plan{}) == "nothing to do");
    Plan one;
    one.steps.push_back(link_step(Step::Op::SetLink, "", "br0", ""));
    CHECK(netlab::cli::plan_summary(one) == "0 to create, 1 to change, 0 to delete in 1 namespace");
}

TEST_CASE("plan text: grouped by namespace, host first, numbered in execution order, with reasons") {
    const Plan p = sample();
    const std::string want = "host:\n"
                             "  + 1  " + p.steps[0].describe() + "\n"
                             "       # new bridge\n"
                             "  ~ 3  " + p.steps[2].describe() + "\n"
                             "       # bring the new link up\n"
                             "  - 4  " + p.steps[3].describe() + "\n"
                             "       # ens33's address moves to br0 after the default route\n"
                             "container c1:\n"
                             "  + 2  " + p.steps[1].describe() + "\n"
                             "       # attach c1\n"
                             "Plan: 2 to create, 1 to change, 1 to delete in 2 namespaces.\n";
    CHECK(netlab::cli::render_plan(p, false) == want);
    CHECK(p.steps[3].describe() == "ip addr del 198.51.100.10/24 dev ens33");
}

TEST_CASE("plan text: colors") {
    const Plan p = sample();
    const std::string text = netlab::cli::render_plan(p, true);
    CHECK(text.find("\033[1mhost:\033[0m\n") == 0);
    CHECK(text.find("\033[32m+\033[0m 1  \033[32m" + p.steps[0].describe() + "\033[0m") != std::string::npos);
    CHECK(text.find("\033[33m~\033[0m 3") != std::string::npos);
    CHECK(text.find("\033[31m-\033[0m 4  \033[31mip addr del 198.51.100.10/24 dev ens33\033[0m") != std::string::npos);
    CHECK(text.find("\033[2m# new bridge\033[0m") != std::string::npos);
    CHECK(text.find("\033[1mPlan: 2 to create") != std::string::npos);
    CHECK(netlab::cli::render_plan(p, false).find('\033') == std::string::npos);
}

TEST_CASE("plan text: when to color") {
    using netlab::cli::use_color;
    CHECK(use_color(ColorMode::Auto, true, nullptr, "xterm"));
    CHECK_FALSE(use_color(ColorMode::Auto, false, nullptr, "xterm"));
    CHECK_FALSE(use_color(ColorMode::Auto, true, "1", "xterm"));
    CHECK(use_color(ColorMode::Auto, true, "", "xterm"));  // NO_COLOR set but empty: no-color.org ignores it
    CHECK_FALSE(use_color(ColorMode::Auto, true, nullptr, "dumb"));
    CHECK(use_color(ColorMode::Always, false, "1", "dumb"));
    CHECK_FALSE(use_color(ColorMode::Never, true, nullptr, "xterm"));
}
