// mmsimd: the mmsim gRPC server. Owns flags, wiring and shutdown:
// SIGINT/SIGTERM are blocked before any thread exists and taken by a
// sigwait thread, which shuts the server down gracefully (with a deadline)
// so main returns 0.
#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/limits.h"
#include "core/lock_stats.h"
#include "core/mm_registry.h"
#include "core/mm_struct.h"
#include "grpcpp/health_check_service_interface.h"
#include "prometheus/exposer.h"
#include "prometheus/registry.h"
#include "server/grpc_server.h"
#include "server/metrics_collector.h"
#include "server/mm_service_impl.h"

ABSL_FLAG(std::string, grpc_address, "127.0.0.1:50051",
          "host:port of the gRPC service (port 0 picks a free port)");
ABSL_FLAG(std::string, metrics_address, "127.0.0.1:9464",
          "host:port of the Prometheus /metrics endpoint (port 0 picks a "
          "free port; empty disables it)");
ABSL_FLAG(int, max_map_count, mmsim::kDefaultMaxMapCount,
          "vm.max_map_count of new processes");
ABSL_FLAG(uint64_t, mmap_min_addr, mmsim::kDefaultMmapMinAddr,
          "vm.mmap_min_addr of new processes (bytes)");
ABSL_FLAG(uint64_t, frames, uint64_t{1} << 20,
          "simulated RAM in 4 KiB frames (default 4 GiB)");
ABSL_FLAG(uint64_t, swap_pages, uint64_t{1} << 20,
          "swap area in 4 KiB pages (0: no swap; default 4 GiB)");
ABSL_FLAG(int, cpus, 2, "simulated CPUs (1 to 64: cpu_vm_mask is 64 bits)");
ABSL_FLAG(int, max_tasks, 1 << 20,
          "most tasks at once; clone/fork beyond it fail with EAGAIN");
ABSL_FLAG(int, metrics_top_pids, 10,
          "export per-process metrics for the N processes with the largest "
          "rss (0: none)");
ABSL_FLAG(std::string, metrics_pids, "",
          "comma list of pids that always get per-process metrics (\"7,12\")");
ABSL_FLAG(std::string, port_file, "",
          "if set, write \"grpc_port=N\\nmetrics_port=M\\n\" to this file "
          "once both are listening");
ABSL_FLAG(int, shutdown_grace_seconds, 5,
          "on SIGINT/SIGTERM, how long in-flight RPCs may take to finish");
ABSL_FLAG(bool, lock_timing, true,
          "time lock waits and holds (GetLockStats, mmsim_lock_* metrics); "
          "acquisitions and contention are counted either way");

namespace mmsim::server {
namespace {

bool WritePortFile(const std::string& path, int grpc_port, int metrics_port) {
  // Written aside and renamed, so a reader never sees half a file.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << "grpc_port=" << grpc_port << "\nmetrics_port=" << metrics_port
        << "\n";
    if (!out.good()) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

absl::Status Bad(absl::string_view what) {
  return absl::InvalidArgumentError(what);
}

// Returns "host:port" with the port of `address` replaced by `port`.
std::string WithPort(const std::string& address, int port) {
  return absl::StrCat(address.substr(0, address.rfind(':')), ":", port);
}

void PrintBanner(const std::string& grpc_target,
                 const std::string& metrics_target) {
  std::printf(
      "mmsimd: serving mmsim.v1.MemoryManager on %s "
      "(+ grpc.health.v1.Health, reflection)\n",
      grpc_target.c_str());
  if (!metrics_target.empty()) {
    std::printf("mmsimd: metrics on http://%s/metrics\n",
                metrics_target.c_str());
  }
  const std::string s = absl::StrCat("mmctl --server ", grpc_target);
  std::printf(
      "talk to it with mmctl (build/.../client/mmctl), for example:\n"
      "  %s create                      # prints the new PID\n"
      "  %s mmap PID --len 8K --prot rw- --flags private,anonymous\n"
      "  %s maps PID\n"
      "  %s --help\n"
      "stop it with Ctrl-C or SIGTERM.\n",
      s.c_str(), s.c_str(), s.c_str(), s.c_str());
  std::fflush(stdout);
}

// Returns the system the flags describe, or a message saying which flag is
// out of range. The frame and swap bounds are PhysMem's (pfns and swap
// slots are 32 bits, one value reserved).
absl::StatusOr<SystemConfig> SystemConfigFromFlags() {
  constexpr uint64_t kMaxPages = (uint64_t{1} << 32) - 2;
  SystemConfig config;
  config.mm.max_map_count = absl::GetFlag(FLAGS_max_map_count);
  config.mm.mmap_min_addr = absl::GetFlag(FLAGS_mmap_min_addr);
  config.phys.frames = absl::GetFlag(FLAGS_frames);
  config.phys.swap_pages = absl::GetFlag(FLAGS_swap_pages);
  config.cpus = absl::GetFlag(FLAGS_cpus);
  config.max_tasks = absl::GetFlag(FLAGS_max_tasks);
  SetLockTimingEnabled(absl::GetFlag(FLAGS_lock_timing));
  if (config.mm.max_map_count <= 0) return Bad("--max_map_count must be > 0");
  if (absl::GetFlag(FLAGS_metrics_top_pids) < 0) {
    return Bad("--metrics_top_pids must be >= 0");
  }
  if (config.phys.frames == 0 || config.phys.frames > kMaxPages) {
    return Bad(absl::StrCat("--frames must be in [1, ", kMaxPages, "]"));
  }
  if (config.phys.swap_pages > kMaxPages) {
    return Bad(absl::StrCat("--swap_pages must be in [0, ", kMaxPages, "]"));
  }
  if (config.cpus < 1 || config.cpus > 64) return Bad("--cpus must be 1..64");
  if (config.max_tasks <= 0) return Bad("--max_tasks must be > 0");
  return config;
}

int Run(const sigset_t& stop_signals) {
  absl::StatusOr<SystemConfig> config = SystemConfigFromFlags();
  if (!config.ok()) {
    std::fprintf(stderr, "mmsimd: %s\n",
                 std::string(config.status().message()).c_str());
    return 2;
  }
  MmRegistry registry(*config);
  MmServiceImpl service(&registry);

  auto metrics = std::make_shared<prometheus::Registry>();
  RpcMetrics rpc_metrics(metrics.get());
  absl::StatusOr<std::vector<int>> metrics_pids =
      ParsePidList(absl::GetFlag(FLAGS_metrics_pids));
  if (!metrics_pids.ok()) {
    std::fprintf(stderr, "mmsimd: --metrics_pids: %s\n",
                 std::string(metrics_pids.status().message()).c_str());
    return 2;
  }
  auto collector = std::make_shared<MmMetricsCollector>(
      &registry, MetricsOptions{absl::GetFlag(FLAGS_metrics_top_pids),
                                *std::move(metrics_pids)});
  std::unique_ptr<prometheus::Exposer> exposer;
  int metrics_port = 0;
  const std::string metrics_address = absl::GetFlag(FLAGS_metrics_address);
  if (!metrics_address.empty()) {
    try {  // prometheus-cpp (civetweb) reports a failed bind by throwing.
      exposer = std::make_unique<prometheus::Exposer>(metrics_address);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "mmsimd: cannot serve metrics on %s: %s\n",
                   metrics_address.c_str(), e.what());
      return 1;
    }
    exposer->RegisterCollectable(metrics);
    exposer->RegisterCollectable(collector);
    metrics_port = exposer->GetListeningPorts().at(0);
  }

  const std::string grpc_address = absl::GetFlag(FLAGS_grpc_address);
  absl::StatusOr<StartedServer> started =
      StartGrpcServer(grpc_address, &service, &rpc_metrics);
  if (!started.ok()) {
    std::fprintf(stderr, "mmsimd: %s\n",
                 std::string(started.status().message()).c_str());
    return 1;
  }
  grpc::Server* server = started->server.get();
  const std::string port_file = absl::GetFlag(FLAGS_port_file);
  if (!port_file.empty() &&
      !WritePortFile(port_file, started->port, metrics_port)) {
    std::fprintf(stderr, "mmsimd: cannot write %s\n", port_file.c_str());
    server->Shutdown();
    return 1;
  }
  PrintBanner(WithPort(grpc_address, started->port),
              exposer ? WithPort(metrics_address, metrics_port) : "");

  std::thread signal_thread([&stop_signals, &rpc_metrics, server] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    std::printf("mmsimd: signal %d, shutting down\n", sig);
    std::fflush(stdout);
    server->GetHealthCheckService()->SetServingStatus(false);
    ShutdownGracefully(
        server, rpc_metrics,
        std::chrono::system_clock::now() +
            std::chrono::seconds(absl::GetFlag(FLAGS_shutdown_grace_seconds)));
  });
  server->Wait();
  signal_thread.join();
  std::printf("mmsimd: stopped\n");
  return 0;
}

}  // namespace
}  // namespace mmsim::server

int main(int argc, char** argv) {
  // Before anything can start a thread (gRPC, civetweb): every thread
  // inherits this mask, so only the sigwait thread receives these signals.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  absl::SetProgramUsageMessage(
      "mmsimd: the mmsim gRPC server (simulated Linux memory descriptors).\n"
      "Usage: mmsimd [--grpc_address=127.0.0.1:50051] "
      "[--metrics_address=127.0.0.1:9464] [--port_file=PATH] ...");
  absl::ParseCommandLine(argc, argv);
  return mmsim::server::Run(stop_signals);
}
