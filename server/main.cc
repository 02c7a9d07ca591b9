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
#include <sstream>
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
#include "server/token_auth.h"

ABSL_FLAG(std::string, grpc_address, "127.0.0.1:50051",
          "host:port of the gRPC service (port 0 picks a free port)");
ABSL_FLAG(std::string, metrics_address, "127.0.0.1:9464",
          "host:port of the Prometheus /metrics endpoint (port 0 picks a "
          "free port; empty disables it)");
ABSL_FLAG(bool, per_vma_lock, false,
          "per-VMA lock mode (Linux 6.4): a fault locks only its region's "
          "range and takes no mmap_sem unless it must; same results");
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
ABSL_FLAG(int, max_batch_ops, mmsim::server::MmServiceImpl::kDefaultMaxBatchOps,
          "most ops in one BatchRequest; a larger one is rejected (EINVAL)");
ABSL_FLAG(int, shutdown_grace_seconds, 5,
          "on SIGINT/SIGTERM, how long in-flight RPCs may take to finish");
ABSL_FLAG(bool, lock_timing, true,
          "time lock waits and holds (GetLockStats, mmsim_lock_* metrics); "
          "acquisitions and contention are counted either way");
ABSL_FLAG(bool, allow_remote, false,
          "allow --grpc_address / --metrics_address that are not loopback "
          "(without it mmsimd refuses to start)");
ABSL_FLAG(std::string, tls_cert, "",
          "server certificate chain (PEM file); with --tls_key turns on TLS");
ABSL_FLAG(std::string, tls_key, "", "private key of --tls_cert (PEM file)");
ABSL_FLAG(std::string, tls_client_ca, "",
          "CA certificates (PEM file): if set, clients must present a "
          "certificate it signed (mutual TLS)");
ABSL_FLAG(std::string, token, "",
          "if set, MemoryManager calls must carry \"authorization: Bearer "
          "TOKEN\" (visible in ps: prefer --token_file)");
ABSL_FLAG(std::string, token_file, "",
          "file holding the bearer token (surrounding whitespace dropped)");
ABSL_FLAG(int, max_message_bytes, 4 << 20,
          "largest request accepted; larger ones fail RESOURCE_EXHAUSTED");
ABSL_FLAG(int, max_concurrent_streams, 100,
          "most concurrent calls per client connection (HTTP/2 "
          "SETTINGS_MAX_CONCURRENT_STREAMS)");

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
  config.mm.per_vma_lock = absl::GetFlag(FLAGS_per_vma_lock);
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

absl::StatusOr<std::string> ReadPemFile(const char* flag,
                                        const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) {
    return Bad(absl::StrCat("--", flag, ": cannot read ", path));
  }
  if (text.str().find("-----BEGIN ") == std::string::npos) {
    return Bad(absl::StrCat("--", flag, ": ", path, " is not a PEM file"));
  }
  return text.str();
}

// Returns the listening options and the token ("" for none) the flags
// describe, or a message naming the flag that is wrong.
absl::StatusOr<GrpcServerOptions> GrpcOptionsFromFlags(std::string* token) {
  GrpcServerOptions options;
  options.address = absl::GetFlag(FLAGS_grpc_address);
  const std::string metrics_address = absl::GetFlag(FLAGS_metrics_address);
  if (!absl::GetFlag(FLAGS_allow_remote)) {
    if (!IsLoopbackAddress(options.address)) {
      return Bad(absl::StrCat("--grpc_address=", options.address,
                              " is not a loopback address; pass "
                              "--allow_remote to listen on it"));
    }
    if (!metrics_address.empty() && !IsLoopbackAddress(metrics_address)) {
      return Bad(absl::StrCat("--metrics_address=", metrics_address,
                              " is not a loopback address; pass "
                              "--allow_remote to listen on it"));
    }
  }
  options.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  if (options.max_message_bytes < 1024 ||
      options.max_message_bytes > (1 << 30)) {
    return Bad("--max_message_bytes must be in [1024, 1073741824]");
  }
  options.max_concurrent_streams = absl::GetFlag(FLAGS_max_concurrent_streams);
  if (options.max_concurrent_streams < 1 ||
      options.max_concurrent_streams > 65536) {
    return Bad("--max_concurrent_streams must be in [1, 65536]");
  }
  if (absl::GetFlag(FLAGS_shutdown_grace_seconds) < 0) {
    return Bad("--shutdown_grace_seconds must be >= 0");
  }

  const std::string cert = absl::GetFlag(FLAGS_tls_cert);
  const std::string key = absl::GetFlag(FLAGS_tls_key);
  const std::string client_ca = absl::GetFlag(FLAGS_tls_client_ca);
  if (cert.empty() != key.empty()) {
    return Bad("--tls_cert and --tls_key go together");
  }
  if (!client_ca.empty() && cert.empty()) {
    return Bad("--tls_client_ca needs --tls_cert and --tls_key");
  }
  if (!cert.empty()) {
    absl::StatusOr<std::string> pem = ReadPemFile("tls_cert", cert);
    if (!pem.ok()) return pem.status();
    options.tls_cert_pem = *std::move(pem);
    pem = ReadPemFile("tls_key", key);
    if (!pem.ok()) return pem.status();
    options.tls_key_pem = *std::move(pem);
  }
  if (!client_ca.empty()) {
    absl::StatusOr<std::string> pem = ReadPemFile("tls_client_ca", client_ca);
    if (!pem.ok()) return pem.status();
    options.tls_client_ca_pem = *std::move(pem);
  }

  *token = absl::GetFlag(FLAGS_token);
  const std::string token_file = absl::GetFlag(FLAGS_token_file);
  if (!token->empty() && !token_file.empty()) {
    return Bad("--token and --token_file exclude each other");
  }
  if (!token_file.empty()) {
    absl::StatusOr<std::string> t = ReadTokenFile(token_file);
    if (!t.ok()) {
      return Bad(absl::StrCat("--token_file: ", t.status().message()));
    }
    *token = *std::move(t);
  }
  return options;
}

int Run(const sigset_t& stop_signals) {
  absl::StatusOr<SystemConfig> config = SystemConfigFromFlags();
  if (!config.ok()) {
    std::fprintf(stderr, "mmsimd: %s\n",
                 std::string(config.status().message()).c_str());
    return 2;
  }
  std::string token;
  absl::StatusOr<GrpcServerOptions> grpc_options = GrpcOptionsFromFlags(&token);
  if (!grpc_options.ok()) {
    std::fprintf(stderr, "mmsimd: %s\n",
                 std::string(grpc_options.status().message()).c_str());
    return 2;
  }
  std::unique_ptr<TokenAuth> auth;
  if (!token.empty()) auth = std::make_unique<TokenAuth>(token);
  if (!IsLoopbackAddress(grpc_options->address) &&
      grpc_options->tls_cert_pem.empty()) {
    std::fprintf(stderr,
                 "mmsimd: warning: %s is reachable from other machines "
                 "without TLS%s\n",
                 grpc_options->address.c_str(),
                 auth ? ": the bearer token crosses the network in clear"
                      : " or a token: anyone who reaches it can change "
                        "every process");
  }
  const int max_batch_ops = absl::GetFlag(FLAGS_max_batch_ops);
  if (max_batch_ops <= 0) {
    std::fprintf(stderr, "mmsimd: --max_batch_ops must be > 0\n");
    return 2;
  }
  MmRegistry registry(*config);
  MmServiceImpl service(&registry, max_batch_ops, auth.get());

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

  const std::string& grpc_address = grpc_options->address;
  absl::StatusOr<StartedServer> started =
      StartGrpcServer(*grpc_options, &service, &rpc_metrics);
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
  std::printf("mmsimd: %s, %s\n",
              grpc_options->tls_cert_pem.empty() ? "plaintext (no TLS)"
              : grpc_options->tls_client_ca_pem.empty()
                  ? "TLS"
                  : "mutual TLS (client certificates required)",
              auth ? "bearer token required" : "no token");
  std::fflush(stdout);

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
