#include "progress_view.hpp"

#include <unistd.h>

#include <cstdio>
#include <iostream>

namespace mvrl::host {

std::string format_duration(double seconds) {
    char text[32];
    long s = long(seconds + 0.5);
    if (s >= 3600) std::snprintf(text, sizeof text, "%ldh%02ldm", s / 3600, s / 60 % 60);
    else if (s >= 60) std::snprintf(text, sizeof text, "%ldm%02lds", s / 60, s % 60);
    else std::snprintf(text, sizeof text, "%.1fs", seconds);
    return text;
}

ProgressView::ProgressView(const std::vector<PlannedRun>& runs) : terminal_(isatty(STDERR_FILENO)), total_(runs.size()) {
    for (size_t i = 0; i < runs.size(); ++i) index_of_key_[runs[i].key] = i + 1;
}

std::string ProgressView::describe(const RunRow& row) const {
    std::string text = "[" + std::to_string(index_of_key_.at(row.key)) + "/" + std::to_string(total_) + "] " + row.variant +
                       " seed=" + std::to_string(row.seed);
    if (row.grid_point != "{}") text += " " + row.grid_point;
    return text;
}

void ProgressView::clear_live_lines() {
    for (int i = 0; i < live_lines_; ++i) std::fputs("\x1b[1A\x1b[2K", stderr);
    live_lines_ = 0;
}

void ProgressView::message(const std::string& text) {
    if (terminal_) clear_live_lines();
    std::fprintf(stderr, "%s\n", text.c_str());
}

bool ProgressView::elsewhere(const RunRow& row, const std::set<int64_t>& own_workers) {
    return row.status == "running" && !own_workers.count(row.worker_pid);
}

void ProgressView::update(const std::vector<RunRow>& rows, const StatusCounts& counts, const std::set<int64_t>& own_workers) {
    if (terminal_) clear_live_lines();
    for (const auto& row : rows) {
        auto& last = last_status_[row.id];
        if (row.status == last) continue;
        bool first_sight = last.empty();
        last = row.status;
        if (first_sight && (row.status == "queued" || row.status == "finished")) continue;  // nothing happened yet
        if (row.status == "finished") {
            std::fprintf(stderr, "%s finished in %s (%.0f samples/s)\n", describe(row).c_str(),
                         format_duration(row.train_seconds).c_str(), row.samples_per_second);
        } else if (row.status == "failed" || row.status == "interrupted") {
            std::fprintf(stderr, "%s %s: %s\n", describe(row).c_str(), row.status == "failed" ? "FAILED" : "interrupted",
                         row.error.c_str());
        } else if (row.status == "running" && elsewhere(row, own_workers)) {
            if (!terminal_)
                std::fprintf(stderr, "%s running elsewhere (pid %lld on %s): waiting for it\n", describe(row).c_str(),
                             (long long)row.worker_pid, row.worker_host.c_str());
        } else if (row.status == "running" && !terminal_) {
            std::fprintf(stderr, "%s started\n", describe(row).c_str());
        }
    }
    if (!terminal_) return;
    for (const auto& row : rows) {
        if (row.status != "running") continue;
        std::string line = "  " + describe(row) + (elsewhere(row, own_workers) ? "  (running elsewhere)" : "");
        json p = json::parse(row.progress.empty() ? "{}" : row.progress, nullptr, false);
        if (p.is_object() && p.contains("stage")) {
            line += "  " + p["stage"].get<std::string>() + " epoch " + p["epoch"].dump() + "/" + p["epochs"].dump();
            if (p.contains("loss")) line += "  loss " + std::to_string(p["loss"].get<double>());
            if (p.contains("eta_seconds")) line += "  ETA " + format_duration(p["eta_seconds"].get<double>());
        } else {
            line += "  starting";
        }
        std::fprintf(stderr, "%s\n", line.c_str());
        ++live_lines_;
    }
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    int running_elsewhere = 0;
    for (const auto& row : rows) running_elsewhere += elsewhere(row, own_workers);
    std::string running = std::to_string(counts.running) + " running" +
                          (running_elsewhere ? " (" + std::to_string(running_elsewhere) + " elsewhere)" : "");
    std::fprintf(stderr, "sweep: %d/%zu finished, %d failed, %d interrupted, %s, %d queued  (%s)\n",
                 counts.finished, total_, counts.failed, counts.interrupted, running.c_str(), counts.queued,
                 format_duration(elapsed).c_str());
    ++live_lines_;
    std::fflush(stderr);
}

void ProgressView::finish() {
    live_lines_ = 0;  // leave the last drawing on screen
}

}  // namespace mvrl::host
