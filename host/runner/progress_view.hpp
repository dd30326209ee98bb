// What a person watching a sweep sees. On a terminal: one live line per running run and a sweep
// total, redrawn in place. Off a terminal (CI, nohup, a pipe): one plain line per run that ends.
#pragma once

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "config/experiment.hpp"
#include "store/store.hpp"

namespace mvrl::host {

class ProgressView {
public:
    explicit ProgressView(const std::vector<PlannedRun>& runs);
    // `own_workers`: pids of this sweep's workers; a run another process holds shows as running elsewhere.
    void update(const std::vector<RunRow>& rows, const StatusCounts& counts, const std::set<int64_t>& own_workers);
    void message(const std::string& text);
    void finish();

private:
    std::string describe(const RunRow& row) const;
    static bool elsewhere(const RunRow& row, const std::set<int64_t>& own_workers);
    void clear_live_lines();

    bool terminal_;
    std::map<std::string, size_t> index_of_key_;  // 1-based position in the sweep
    size_t total_;
    std::map<int64_t, std::string> last_status_;
    int live_lines_ = 0;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

std::string format_duration(double seconds);

}  // namespace mvrl::host
