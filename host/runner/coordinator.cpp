#include "coordinator.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <iostream>
#include <map>
#include <thread>

#include "progress_view.hpp"
#include "processes.hpp"

namespace mvrl::host {

namespace {

volatile sig_atomic_t g_interrupts = 0;
extern "C" void count_interrupt(int) { g_interrupts = g_interrupts + 1; }

bool is_crash_signal(int sig) {
    return sig == SIGSEGV || sig == SIGABRT || sig == SIGBUS || sig == SIGFPE || sig == SIGILL || sig == SIGSYS;
}

std::string describe_signal(int sig) {
    const char* name = sigabbrev_np(sig);
    return std::to_string(sig) + " (SIG" + (name ? name : "?") + ", " + strsignal(sig) + ")";
}

class WorkerPool {
public:
    explicit WorkerPool(const CoordinatorOptions& o) : options_(o) {}

    void start_one() {
        std::string name = "w" + std::to_string(++started_);
        std::filesystem::path log = options_.log_dir / ("sweep-" + std::to_string(options_.sweep_id) + "-" + name + ".log");
        std::vector<std::string> args = {options_.worker_executable.string()};
        args.insert(args.end(), options_.worker_args.begin(), options_.worker_args.end());
        for (const std::string& a : {std::string("--db"), options_.db.string(), std::string("--sweep"), std::to_string(options_.sweep_id),
                                     std::string("--name"), name, std::string("--threads"),
                                     std::to_string(options_.threads_per_worker)})
            args.push_back(a);
        pid_t pid = fork();
        if (pid < 0) throw std::runtime_error(std::string("cannot start a worker: ") + strerror(errno));
        if (pid == 0) {
            int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) dup2(fd, STDOUT_FILENO), dup2(fd, STDERR_FILENO);
            int null = ::open("/dev/null", O_RDONLY);
            if (null >= 0) dup2(null, STDIN_FILENO);
            std::vector<char*> argv;
            for (auto& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            execv(argv[0], argv.data());
            _exit(127);
        }
        alive_[pid] = name;
    }

    void signal_all(int sig) {
        for (const auto& [pid, name] : alive_) kill(pid, sig);
    }

    // Reaps exited workers; records what a dead worker's run became. Returns how many exited.
    int reap(Store& store, const std::string& host) {
        int exited = 0;
        int status = 0;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
            auto it = alive_.find(pid);
            if (it == alive_.end()) continue;
            std::string log = (options_.log_dir / ("sweep-" + std::to_string(options_.sweep_id) + "-" + it->second + ".log")).string();
            if (WIFSIGNALED(status)) {
                int sig = WTERMSIG(status);
                if (is_crash_signal(sig))
                    store.end_runs_of_worker(pid, host, "failed", "worker crashed with signal " + describe_signal(sig) + "; see " + log);
                else
                    store.end_runs_of_worker(pid, host, "interrupted", "worker killed by signal " + describe_signal(sig));
            } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 130) {
                store.end_runs_of_worker(pid, host, "failed",
                                         "worker exited with code " + std::to_string(WEXITSTATUS(status)) + "; see " + log);
            }
            alive_.erase(it);
            ++exited;
        }
        return exited;
    }

    size_t alive() const { return alive_.size(); }
    int started() const { return started_; }

private:
    const CoordinatorOptions& options_;
    std::map<pid_t, std::string> alive_;
    int started_ = 0;
};

}  // namespace

SweepOutcome coordinate_sweep(Store& store, const std::vector<PlannedRun>& runs, const CoordinatorOptions& options) {
    std::vector<std::string> keys;
    for (const auto& r : runs) keys.push_back(r.key);
    std::filesystem::create_directories(options.log_dir);

    struct sigaction action {}, previous_int {}, previous_term {};
    action.sa_handler = count_interrupt;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &previous_int);
    sigaction(SIGTERM, &action, &previous_term);
    g_interrupts = 0;

    const std::string host = this_host_name();
    export_worker_thread_environment(options.threads_per_worker, options.jobs);
    WorkerPool pool(options);
    ProgressView view(runs);
    StatusCounts counts = count_statuses(store.runs_of_keys(keys));
    for (int i = 0; i < std::min(options.jobs, counts.queued); ++i) pool.start_one();
    // Every crash ends one run, so more workers than runs + jobs means workers die before claiming
    // anything (a broken store or install): stop replacing them.
    const int max_workers = counts.queued + options.jobs;

    int interrupts_handled = 0;
    while (pool.alive() > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        if (g_interrupts > interrupts_handled) {
            interrupts_handled = g_interrupts;
            if (interrupts_handled == 1) {
                view.message("stopping: workers finish their current step and mark their runs interrupted "
                             "(Ctrl-C again to kill them)");
                pool.signal_all(SIGINT);
            } else {
                pool.signal_all(SIGKILL);
            }
        }
        pool.reap(store, host);
        auto rows = store.runs_of_keys(keys);  // one query per poll: the counts come from the rows
        counts = count_statuses(rows);
        view.update(rows, counts);
        // Replace workers that crashed while work remains.
        if (interrupts_handled == 0)
            while (pool.alive() < size_t(std::min(options.jobs, counts.queued)) && pool.started() < max_workers)
                pool.start_one();
    }
    // A worker killed by the second Ctrl-C left no status behind: reap() marked its run.
    auto rows = store.runs_of_keys(keys);
    counts = count_statuses(rows);
    view.update(rows, counts);
    view.finish();
    if (interrupts_handled == 0 && counts.queued > 0)
        view.message(std::to_string(counts.queued) + " runs are still queued: workers exited without running them; "
                     "see the worker logs in " + options.log_dir.string());

    sigaction(SIGINT, &previous_int, nullptr);
    sigaction(SIGTERM, &previous_term, nullptr);

    SweepOutcome outcome;
    outcome.counts = counts;
    outcome.interrupted = interrupts_handled > 0;
    for (auto& r : rows)
        if (r.status == "failed" || r.status == "interrupted") outcome.unfinished.push_back(std::move(r));
    return outcome;
}

}  // namespace mvrl::host
