// netlabctl's exit-code table (daemon/cli/exit_code.hpp) over every outcome.
#include <doctest/doctest.h>

#include "cli/exit_code.hpp"

namespace ec = netlab::cli::exit_code;
using S = netlab::reconcile::Outcome::Status;

TEST_CASE("exit codes: plan 0 converged, 2 changes, 1 otherwise") {
    CHECK(ec::plan(S::Converged) == 0);
    CHECK(ec::plan(S::Changes) == 2);
    CHECK(ec::plan(S::Rejected) == 1);
    CHECK(ec::plan(S::Failed) == 1);
}

TEST_CASE("exit codes: apply, with and without --detailed-exitcode") {
    CHECK(ec::apply(S::Converged, false) == 0);
    CHECK(ec::apply(S::Applied, false) == 0);
    CHECK(ec::apply(S::Rejected, false) == 1);
    CHECK(ec::apply(S::RolledBack, false) == 3);
    CHECK(ec::apply(S::Failed, false) == 4);
    CHECK(ec::apply(S::Converged, true) == 0);
    CHECK(ec::apply(S::Applied, true) == 2);
    CHECK(ec::apply(S::Rejected, true) == 1);
    CHECK(ec::apply(S::RolledBack, true) == 3);
    CHECK(ec::apply(S::Failed, true) == 4);
}

TEST_CASE("exit codes: a status read back from netlabd's reply") {
    for (S s : {S::Converged, S::Changes, S::Applied, S::RolledBack, S::Rejected, S::Failed})
        CHECK(ec::parse_status(netlab::reconcile::to_string(s)) == s);
    CHECK_FALSE(ec::parse_status("exploded"));
}
