#include "worker.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <thread>

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
    const std::filesystem::path files_dir = options.files_dir.empty() ? options.db.parent_path() : options.files_dir;
    for (int idle_polls = 0; !g_stop;) {
        auto run = store.claim_next_run(options.sweep_id, options.name, pid, host);
        if (!run) {
            if (store.statuses_of_sweep(options.sweep_id).running == 0) break;
            // Another process runs the rest: wait, and take over a run whose worker vanished.
            if (++idle_polls % 4 == 0)
                store.requeue_orphaned_runs(host, worker_process_alive, options.stale_after_seconds, options.max_attempts);
            std::this_thread::sleep_for(std::chrono::milliseconds(500));
            continue;
        }
        std::cerr << "[" << options.name << "] run " << run->id << " (" << run->variant << ", seed " << run->seed << ")\n";
        RunResult result = execute_run(*run, registry, store, g_stop, options.threads, files_dir);
        store.record_warnings(run->id, result.warnings);
        switch (result.outcome) {
        case RunOutcome::Finished: store.finish_run(run->id, result.metrics, result.timings); break;
        case RunOutcome::Failed: store.fail_run(run->id, result.error); break;
        case RunOutcome::Interrupted: store.interrupt_run(run->id, result.error); break;
        }
        if (!result.error.empty()) std::cerr << "[" << options.name << "] run " << run->id << ": " << result.error << "\n";
    }
    if (g_stop) return 130;
    const StatusCounts counts = store.statuses_of_sweep(options.sweep_id);
    return counts.finished == counts.total() ? 0 : 1;
}

}  // namespace mvrl::host
