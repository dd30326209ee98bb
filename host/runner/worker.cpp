#include "worker.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <iostream>

#include "processes.hpp"
#include "run_executor.hpp"

namespace mvrl::host {

namespace {

std::atomic<bool> g_stop{false};

extern "C" void request_stop(int) { g_stop = true; }

void install_stop_handlers() {
    struct sigaction action {};
    action.sa_handler = request_stop;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
}

}  // namespace

int run_worker(const WorkerOptions& options, const PluginRegistry& registry) {
    install_stop_handlers();
    Store store = Store::open_existing(options.db);
    const std::string host = this_host_name();
    const int64_t pid = getpid();
    while (!g_stop) {
        auto run = store.claim_next_run(options.sweep_id, options.name, pid, host);
        if (!run) break;
        std::cerr << "[" << options.name << "] run " << run->id << " (" << run->variant << ", seed " << run->seed << ")\n";
        RunResult result = execute_run(*run, registry, store, g_stop, options.threads,
                                       (options.db.parent_path() / "cache").string());
        switch (result.outcome) {
        case RunOutcome::Finished: store.finish_run(run->id, result.metrics, result.timings); break;
        case RunOutcome::Failed: store.fail_run(run->id, result.error); break;
        case RunOutcome::Interrupted: store.interrupt_run(run->id, result.error); break;
        }
        if (!result.error.empty()) std::cerr << "[" << options.name << "] run " << run->id << ": " << result.error << "\n";
    }
    return g_stop ? 130 : 0;
}

}  // namespace mvrl::host
