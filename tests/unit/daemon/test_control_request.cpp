// parse_control_request: what netlabd accepts on its control socket, and the
// refusal it sends back otherwise (the fuzz target fuzz/control.cpp runs it).
#include <doctest/doctest.h>

#include <string>

#include "netlabd/control_request.hpp"

using netlab::daemon::parse_control_request;

TEST_CASE("control request: a well-formed request is accepted as it is") {
    auto r = parse_control_request(R"({"version":1,"cmd":"apply","confirm":60})", true);
    CHECK(r.refusal.empty());
    CHECK(r.json.at("cmd") == "apply");
    CHECK(r.json.at("confirm") == 60);
    CHECK(parse_control_request(R"({"version":1,"cmd":"status"})", false).refusal.empty());
    CHECK(parse_control_request(R"({"version":1,"cmd":"reload","full":true})", true).refusal.empty());
    CHECK(parse_control_request(R"({"version":1,"cmd":"confirm","force":false})", true).refusal.empty());
}

TEST_CASE("control request: each malformed request gets its reason") {
    auto why = [](const std::string& line, bool root = true) { return parse_control_request(line, root).refusal; };
    CHECK(why("status") == "malformed request: not a JSON object");
    CHECK(why("[1]") == "malformed request: not a JSON object");
    CHECK(why("") == "malformed request: not a JSON object");
    CHECK(why(R"({"cmd":"status"})") == "unsupported protocol version (this netlabd speaks version 1)");
    CHECK(why(R"({"version":"1","cmd":"status"})").find("unsupported protocol version") == 0);
    CHECK(why(R"({"version":1.0,"cmd":"status"})").find("unsupported protocol version") == 0);
    CHECK(why(R"({"version":1})") == "malformed request: no \"cmd\"");
    CHECK(why(R"({"version":1,"cmd":7})") == "malformed request: no \"cmd\"");
    CHECK(why(R"({"version":1,"cmd":"reload"})", false) == "permission denied: 'reload' is for root only");
    // fuzz/corpus/control/crash-force-string: netlabd read "force" as a
    // boolean and answered with an internal error.
    CHECK(why(R"({"version":1,"cmd":"confirm","force":"yes"})") == "malformed request: \"force\" must be true or false");
    CHECK(why(R"({"version":1,"cmd":"reload","full":1})") == "malformed request: \"full\" must be true or false");
}
