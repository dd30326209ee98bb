// Runs one metric plugin on a representation and labels read from raw files, the way a run calls
// it (through the ABI), and prints its values and the wall time. Used by scripts/bench-kmeans.
//   metric_on_files PLUGIN_DIR METRIC PARAMS_JSON X.f32 N D Y.i64 [REPEATS]
#include <chrono>
#include <fstream>
#include <iostream>

#include "runner/plugin_handles.hpp"

int main(int argc, char** argv) {
    using namespace mvrl::host;
    if (argc < 8) {
        std::cerr << "usage: metric_on_files PLUGIN_DIR METRIC PARAMS_JSON X.f32 N D Y.i64 [REPEATS]\n";
        return 2;
    }
    int64_t n = std::stoll(argv[5]), d = std::stoll(argv[6]);
    int repeats = argc > 8 ? std::stoi(argv[8]) : 3;
    torch::Tensor x = torch::empty({n, d}, torch::kFloat32), y = torch::empty({n}, torch::kInt64);
    std::ifstream(argv[4], std::ios::binary).read(static_cast<char*>(x.data_ptr()), n * d * 4);
    std::ifstream(argv[7], std::ios::binary).read(static_cast<char*>(y.data_ptr()), n * 8);
    PluginRegistry registry;
    registry.load({argv[1]});
    const Plugin& metric = registry.require(argv[2], MVRL_KIND_METRIC);
    double best = 1e300;
    mvrl::ScalarList values;
    for (int r = 0; r < repeats; ++r) {
        HostContext ctx("cpu", uint64_t(r));
        auto start = std::chrono::steady_clock::now();
        values = evaluate_metric(metric, argv[3], {{"representation", x}, {"label", y}}, ctx);
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::cout << "seconds " << best;
    for (const auto& [name, value] : values) std::cout << " " << name << " " << value;
    std::cout << "\n";
}
