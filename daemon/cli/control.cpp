// netlabctl status | reload | confirm | rollback: clients of netlabd's control
// socket (daemon/protocol/control_protocol.hpp).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "cli/control_call.hpp"
#include "cli/exit_code.hpp"
#include "cli/json_out.hpp"
#include "protocol/control_protocol.hpp"

namespace netlab::cli {

// What this client is, for the revision a change makes (docs/daemon.md,
// "Revisions"): $NETLAB_CLIENT when set (the Ansible modules set
// "ansible"), "systemd" when systemd runs it as ExecReload= (which sets
// $MAINPID), else nothing.
std::string client_name() {
    if (const char* c = std::getenv("NETLAB_CLIENT"); c && *c) return c;
    if (std::getenv("MAINPID") && std::getenv("INVOCATION_ID")) return "systemd";
    return "";
}

std::optional<nlohmann::json> call_netlabd(const char* cmd, const ClientOptions& o, int& rc, nlohmann::json extra) {
    nlohmann::json req = {{"version", control::kVersion}, {"cmd", cmd}};
    if (o.force) req["force"] = true;
    if (o.full) req["full"] = true;
    if (o.confirm) req["confirm"] = o.confirm->count();
    if (const auto client = client_name(); !client.empty()) req["client"] = client;
    if (extra.is_object())
        for (auto& [k, v] : extra.items()) req[k] = v;
    try {
        return control::request(o.socket, req, o.timeout);
    } catch (const control::NotRunning& e) {
        std::fprintf(stderr, "netlabctl %s: %s\n", cmd, e.what());
        rc = exit_code::kNoDaemon;
        return std::nullopt;
    } catch (const std::exception& e) {
        rc = exit_code::kError;
        std::fprintf(stderr, "netlabctl %s: %s\n", cmd, e.what());
        return std::nullopt;
    }
}

namespace {

std::string str(const nlohmann::json& j, const char* key, const std::string& dflt = "-") {
    if (!j.is_object() || !j.contains(key) || j[key].is_null()) return dflt;
    if (j[key].is_string()) return j[key].get<std::string>();
    return j[key].dump();
}

std::optional<nlohmann::json> call(const char* cmd, const ClientOptions& o, int& rc) {
    return call_netlabd(cmd, o, rc);
}

void print_result(std::FILE* out, const nlohmann::json& r) {
    std::fprintf(out, "  trigger:   %s\n", str(r, "trigger").c_str());
    std::fprintf(out, "  finished:  %s\n", str(r, "finished").c_str());
    std::fprintf(out, "  outcome:   %s", str(r, "status").c_str());
    if (r.contains("writes")) std::fprintf(out, " (%s netlink writes", str(r, "writes").c_str());
    if (r.contains("steps")) std::fprintf(out, ", %s steps", str(r, "steps").c_str());
    if (r.contains("seconds")) std::fprintf(out, ", %.3f s", r.value("seconds", 0.0));
    if (r.contains("writes")) std::fputs(")", out);
    std::fputs("\n", out);
    if (r.value("fast", false))
        std::fprintf(out, "  fast path: %s\n", str(r, "message").c_str());
    else if (r.contains("full_because"))
        std::fprintf(out, "  not fast:  %s\n", str(r, "full_because").c_str());
    if (r.contains("error") && !str(r, "error", "").empty())
        std::fprintf(out, "  error:     %s\n", str(r, "error").c_str());
    for (const auto& line : r.value("restored", nlohmann::json::array()))
        std::fprintf(out, "  restored:  %s\n", line.get<std::string>().c_str());
    for (const auto& d : r.value("diagnostics", nlohmann::json::array()))
        std::fprintf(out, "  %s\n", d.get<std::string>().c_str());
}

// What re-attaches containers after a restart, and the last time it did.
void print_reattach(const nlohmann::json& ra) {
    if (!ra.is_object()) return;
    std::string watching;
    if (const auto& dk = ra.value("docker", nlohmann::json()); dk.is_object())
        watching += "docker events on " + str(dk, "socket") + " (" + str(dk, "events") + ")";
    if (const auto& ns = ra.value("netns", nlohmann::json()); ns.is_object())
        watching += std::string(watching.empty() ? "" : "; ") + str(ns, "dir") +
                    (ns.value("watching", false) ? " (watched)" : " (missing: checked every second)");
    const auto& last = ra.value("last", nlohmann::json());
    if (watching.empty() && !last.is_object()) return;
    std::printf("re-attach: %s\n", watching.empty() ? "nothing to watch" : watching.c_str());
    if (last.is_object())
        std::printf("  last: %s (%s) attached %s ms after its %s at %s (%s)\n", str(last, "container").c_str(),
                    str(last, "netns").c_str(), str(last, "latency_ms").c_str(), str(last, "event").c_str(),
                    str(last, "event_at").c_str(), str(last, "reconcile").c_str());
    for (const auto& p : ra.value("pending", nlohmann::json::array()))
        std::printf("  waiting to attach: %s\n", p.get<std::string>().c_str());
}

// What netlabd does about changes made from outside, and what it did last.
void print_drift(const nlohmann::json& dr) {
    if (!dr.is_object() || dr.value("mode", nlohmann::json()).is_null()) return;
    const auto& ev = dr.value("events", nlohmann::json::object());
    std::string watching = "NOT watched: " + str(dr, "error");
    if (dr.value("watching", false)) {
        watching = "watching the host's links, addresses and routes";
        const auto& c = dr.value("containers_watched", nlohmann::json::array());
        if (c.is_array() && !c.empty())
            watching += " and those of " + std::to_string(c.size()) + " container" + (c.size() == 1 ? "" : "s");
    }
    std::printf("drift: %s, %s; %s repairs, %s reported; events: %s owned, %s foreign (ignored), %s netlabd's own",
                str(dr, "mode").c_str(), watching.c_str(),
                str(dr, "repairs", "0").c_str(), str(dr, "reported", "0").c_str(), str(ev, "owned", "0").c_str(),
                str(ev, "foreign", "0").c_str(), str(ev, "own", "0").c_str());
    if (dr.value("lost", 0) > 0) std::printf("; lost %s times (ENOBUFS)", str(dr, "lost").c_str());
    std::printf("\n");
    if (const auto& p = dr.value("pending", nlohmann::json()); p.is_string())
        std::printf("  to repair: %s\n", p.get<std::string>().c_str());
    if (const auto& last = dr.value("last_repair", nlohmann::json()); last.is_object())
        std::printf("  last repair: %s: %s %s ms after the change at %s\n", str(last, "what").c_str(),
                    str(last, "status").c_str(), str(last, "latency_ms").c_str(), str(last, "detected").c_str());
    for (const auto& rep : dr.value("reports", nlohmann::json::array()))
        std::printf("  reported at %s: %s\n", str(rep, "at").c_str(), str(rep, "what").c_str());
}

// Each probe of a pending change: its verdict over the window and timing.
void print_probes(const nlohmann::json& probe, const nlohmann::json& settings) {
    auto secs = [](const nlohmann::json& j, const char* key) {
        char b[32];
        std::snprintf(b, sizeof b, "%.1f s", static_cast<double>(j.value(key, std::int64_t{0})) / 1000.0);
        return std::string(b);
    };
    std::printf("  probes:    %s after %s (grace %s, window %s%s)%s\n", str(probe, "verdict").c_str(),
                secs(probe, "elapsed_ms").c_str(), secs(probe, "grace_ms").c_str(), secs(probe, "window_ms").c_str(),
                settings.is_object() ? (", mode " + str(settings, "mode")).c_str() : "",
                str(probe, "failed").empty() ? "" : (": " + str(probe, "failed") + " failed").c_str());
    const auto elapsed = probe.value("elapsed_ms", std::int64_t{0});
    for (const auto& c : probe.value("checks", nlohmann::json::array())) {
        const auto last = c.value("last_ms", std::int64_t{-1});
        char b[96];
        std::snprintf(b, sizeof b, "%s for %.1f s, %d passed, %d failed",
                      last < 0 ? "not probed yet" : c.value("ok", false) ? "passing" : "FAILING",
                      static_cast<double>(elapsed - c.value("since_ms", std::int64_t{0})) / 1000.0,
                      c.value("passes", 0), c.value("failures", 0));
        std::printf("    %s: %s: %s\n", str(c, "name").c_str(), last < 0 ? "not probed yet" : b,
                    str(c, "text").c_str());
    }
}

// The change waiting for `netlabctl confirm`.
void print_pending(const nlohmann::json& p) {
    if (!p.is_object()) return;
    std::printf("PENDING: a change waits for `netlabctl confirm` until %s (%s s left); then it is rolled back\n",
                str(p, "deadline").c_str(), str(p, "seconds_left").c_str());
    std::printf("  applied:   %s (%s)\n", str(p, "started").c_str(), str(p, "reason").c_str());
    std::printf("  change:    %s\n", str(p, "summary").c_str());
    const auto& probe = p.value("probe", nlohmann::json());
    if (probe.is_object()) {
        const bool running = str(probe, "verdict") == "running";
        std::printf("  probe:     %s: %s\n",
                    probe.value("ok", false) ? (running ? "ok so far" : "ok") : (running ? "failing" : "FAILED"),
                    str(probe, "text").c_str());
        print_probes(probe, p.value("probe_settings", nlohmann::json()));
    } else {
        std::printf("  probe:     %s\n", probe.is_string() ? probe.get<std::string>().c_str() : "-");
    }
}

}  // namespace

int status(const ClientOptions& o) {
    int rc = exit_code::kError;
    auto reply = call("status", o, rc);
    if (!reply) return rc;
    if (o.json) {
        print_json(*reply);
        return reply->value("ok", false) ? 0 : 1;
    }
    if (!reply->value("ok", false)) {
        std::fprintf(stderr, "netlabctl status: %s\n", str(*reply, "error", "refused").c_str());
        return 1;
    }
    const auto& r = *reply;
    const auto& d = r.value("daemon", nlohmann::json::object());
    std::printf("netlabd pid %s, config %s, state %s, up since %s\n", str(d, "pid").c_str(),
                str(d, "config_dir").c_str(), str(d, "state_dir").c_str(), str(d, "started").c_str());
    std::printf("reconciles: %s%s\n", str(d, "reconciles", "0").c_str(),
                d.value("busy", false) ? " (one running now)" : "");
    const auto& f = r.value("in_force", nlohmann::json());
    if (f.is_object() && f.value("no_topology", false)) {
        std::printf("in force: no topology (%s holds neither topology.yaml nor topology.d/*.yaml or *.yml); "
                    "netlabd manages nothing\n",
                    str(d, "config_dir").c_str());
    } else if (f.is_object()) {
        std::printf("in force since %s:\n", str(f, "since").c_str());
        for (const auto& file : f.value("files", nlohmann::json::array()))
            std::printf("  %s\n", file.get<std::string>().c_str());
    } else {
        std::printf("in force: nothing (no configuration applied yet)\n");
    }
    if (r.contains("last") && r["last"].is_object()) {
        std::printf("last reconcile:\n");
        print_result(stdout, r["last"]);
    }
    if (r.contains("recovery") && r["recovery"].is_object()) {
        std::printf("crash recovery (an interrupted transaction was found):\n");
        print_result(stdout, r["recovery"]);
        if (const auto& retry = r["recovery"].value("retry", nlohmann::json()); retry.is_object())
            std::printf("WAITING for Docker: the journal is kept and the recovery retried (attempt %s, next in %s ms); "
                        "nothing is applied meanwhile\n",
                        str(retry, "attempt").c_str(), str(retry, "in_ms").c_str());
    }
    if (r.contains("held") && r["held"].is_string())
        std::printf("HELD: nothing is applied until `netlabctl reload`: %s\n", r["held"].get<std::string>().c_str());
    print_pending(r.value("pending", nlohmann::json()));
    const auto& settled = r.value("settled", nlohmann::json());
    if (settled.is_object()) {
        std::printf("commit-confirmed: the last pending change was %s at %s (%s)\n", str(settled, "status").c_str(),
                    str(settled, "at").c_str(), str(settled, "trigger").c_str());
        if (const auto& probe = settled.value("probe", nlohmann::json()); probe.is_object())
            print_probes(probe, nlohmann::json());
    }
    const auto& owned = r.value("owned", nlohmann::json());
    if (owned.is_object())
        std::printf("owned: %s links, %s routes; adopted: %s links\n", str(owned, "links", "0").c_str(),
                    str(owned, "routes", "0").c_str(), str(owned, "adopted", "0").c_str());
    const auto& containers = r.value("containers", nlohmann::json::array());
    if (!containers.empty()) {
        std::printf("containers:\n");
        for (const auto& c : containers)
            std::printf("  %-16s %-24s %s%s%s\n", str(c, "name").c_str(), str(c, "netns").c_str(),
                        str(c, "state").c_str(), c.contains("detail") ? ": " : "",
                        str(c, "detail", "").c_str());
    }
    print_reattach(r.value("reattach", nlohmann::json()));
    print_drift(r.value("drift", nlohmann::json()));
    return 0;
}

int reload(const ClientOptions& o) {
    int rc = exit_code::kError;
    auto reply = call("reload", o, rc);
    if (!reply) return rc;
    bool ok = reply->value("ok", false);
    if (o.json) {
        print_json(*reply);
        return ok ? 0 : 1;
    }
    const auto& r = reply->value("result", nlohmann::json());
    if (!r.is_object()) {
        std::fprintf(stderr, "netlabctl reload: %s\n", str(*reply, "error", "no result").c_str());
        return 1;
    }
    std::string st = str(r, "status");
    if (ok) {
        if (r.value("fast", false))
            std::printf("netlabctl reload: %s (0 netlink writes; fast path: %s)\n", st.c_str(),
                        str(r, "message").c_str());
        else
            std::printf("netlabctl reload: %s (%s netlink writes; full reconcile: %s)\n", st.c_str(),
                        str(r, "writes", "0").c_str(), str(r, "full_because", "-").c_str());
        for (const auto& d : r.value("diagnostics", nlohmann::json::array()))
            std::printf("%s\n", d.get<std::string>().c_str());
        return 0;
    }
    // Diagnostics go to stderr one per line so `systemctl reload` (and the
    // journal, through ExecReload=) shows exactly what is wrong.
    for (const auto& d : r.value("diagnostics", nlohmann::json::array()))
        std::fprintf(stderr, "%s\n", d.get<std::string>().c_str());
    if (!str(r, "error", "").empty()) std::fprintf(stderr, "%s\n", str(r, "error").c_str());
    for (const auto& line : r.value("restored", nlohmann::json::array()))
        std::fprintf(stderr, "restored: %s\n", line.get<std::string>().c_str());
    if (st == "rejected")
        std::fprintf(stderr, "netlabctl reload: rejected; the configuration in force is unchanged\n");
    else
        std::fprintf(stderr, "netlabctl reload: %s\n", st.c_str());
    return 1;
}

namespace {
int settle(const char* cmd, const ClientOptions& o) {
    int rc = exit_code::kError;
    auto reply = call(cmd, o, rc);
    if (!reply) return rc;
    if (o.json) {
        print_json(*reply);
    } else if (!reply->value("ok", false)) {
        std::fprintf(stderr, "netlabctl %s: %s\n", cmd, str(*reply, "error", "refused").c_str());
    } else {
        std::printf("netlabctl %s: %s\n", cmd, str(*reply, "message", "done").c_str());
    }
    return reply->value("ok", false) ? 0 : 1;
}
}  // namespace

int confirm(const ClientOptions& o) { return settle("confirm", o); }

namespace {
// The exit code of apply --confirm from netlabd's reply: the apply's own
// table (exit_code::apply) over the result's status.
int confirmed_exit(const nlohmann::json& reply, bool detailed) {
    const auto& r = reply.value("result", nlohmann::json());
    auto st = exit_code::parse_status(str(r, "status", ""));
    if (!st) return reply.value("ok", false) ? exit_code::kOk : exit_code::kError;
    return exit_code::apply(*st, detailed);
}

}  // namespace

// apply --confirm DUR: the daemon applies its files and owns the deadline.
int apply_confirmed(const ClientOptions& o) {
    int rc = exit_code::kError;
    auto reply = call("apply", o, rc);
    if (!reply) {
        if (rc == exit_code::kNoDaemon)
            std::fprintf(stderr, "netlabctl apply --confirm: commit-confirmed needs netlabd, which keeps the deadline "
                                 "and rolls back\n");
        return rc;
    }
    const bool ok = reply->value("ok", false);
    if (o.json) {
        print_json(*reply);
        return confirmed_exit(*reply, o.detailed_exitcode);
    }
    const auto& r = reply->value("result", nlohmann::json());
    if (!r.is_object()) {
        std::fprintf(stderr, "netlabctl apply: %s\n", str(*reply, "error", "no result").c_str());
        return 1;
    }
    if (!ok) {
        for (const auto& d : r.value("diagnostics", nlohmann::json::array()))
            std::fprintf(stderr, "%s\n", d.get<std::string>().c_str());
        if (!str(r, "error", "").empty()) std::fprintf(stderr, "%s\n", str(r, "error").c_str());
        std::fprintf(stderr, "netlabctl apply: %s\n", str(r, "status").c_str());
        return confirmed_exit(*reply, o.detailed_exitcode);
    }
    std::printf("netlabctl apply: %s (%s netlink writes)\n", str(r, "status").c_str(), str(r, "writes", "0").c_str());
    const auto& p = reply->value("pending", nlohmann::json());
    if (p.is_object())
        std::printf("pending until %s: `netlabctl confirm` keeps it, `netlabctl rollback` undoes it; "
                    "`netlabctl status` shows the probes\n",
                    str(p, "deadline").c_str());
    else
        std::printf("nothing changed, so nothing waits for confirmation\n");
    return confirmed_exit(*reply, o.detailed_exitcode);
}
int rollback(const ClientOptions& o) { return settle("rollback", o); }

}  // namespace netlab::cli
