// Throwaway measurement (not a test, not built by default): Touch ops/s
// through unary calls vs through Batch, against an in-process server on a
// loopback port. Build it in a Release tree:
//   cmake --build build/release --target batch_throughput
//   build/release/tests/server/batch_throughput [seconds_per_point]
// Each point runs for about the given time (default 1 s) from one client
// thread; the pipelined Batch points keep up to 8 requests in flight.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/mm_client.h"
#include "core/limits.h"
#include "core/mm_registry.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "server/grpc_server.h"
#include "server/mm_service_impl.h"

namespace mmsim::server {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint64_t kArea = 0x10000000;
constexpr uint64_t kAreaPages = 65536;  // 256 MiB, write-touched in turn

uint64_t AddrOf(uint64_t i) { return kArea + (i % kAreaPages) * kPageSize; }

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

int Run(double seconds) {
  MmRegistry registry{SystemConfig()};
  MmServiceImpl service(&registry, 4096);
  absl::StatusOr<StartedServer> started =
      StartGrpcServer("127.0.0.1:0", &service, nullptr);
  if (!started.ok()) {
    std::fprintf(stderr, "%s\n", started.status().ToString().c_str());
    return 1;
  }
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", started->port),
                                     grpc::InsecureChannelCredentials());
  client::MmClient client(channel, std::chrono::seconds(60));
  absl::StatusOr<int> pid = client.CreateProcess();
  if (!pid.ok() || !client
                        .MmapAnon(*pid, kArea, kAreaPages * kPageSize,
                                  kProtRead | kProtWrite,
                                  kMapPrivate | kMapAnonymous | kMapFixed)
                        .ok()) {
    std::fprintf(stderr, "setup failed\n");
    return 1;
  }
  const auto budget = std::chrono::duration<double>(seconds);
  uint64_t next = 0;  // the address sequence goes on across points

  // Core alone (no gRPC): the floor of any of the figures below.
  uint64_t core_ops = 0;
  Clock::time_point core_start = Clock::now();
  while (Clock::now() - core_start < budget) {
    for (int i = 0; i < 1000; ++i, ++core_ops) {
      (void)registry.Touch(*pid, AddrOf(next++), FaultAccess::kWrite);
    }
  }
  std::printf(
      "%-28s %12.0f ops/s\n", "core Touch (no gRPC)",
      static_cast<double>(core_ops) / Seconds(Clock::now() - core_start));

  // Unary Touch, one call at a time.
  uint64_t n = 0;
  Clock::time_point start = Clock::now();
  while (Clock::now() - start < budget) {
    for (int i = 0; i < 100; ++i, ++n) {
      if (!client.Touch(*pid, AddrOf(next++), v1::FAULT_ACCESS_WRITE).ok()) {
        std::fprintf(stderr, "touch failed\n");
        return 1;
      }
    }
  }
  const double unary = static_cast<double>(n) / Seconds(Clock::now() - start);
  std::printf("%-28s %12.0f ops/s\n", "unary Touch", unary);

  for (int batch : {1, 16, 64, 256, 1024}) {
    for (bool pipelined : {false, true}) {
      grpc::ClientContext ctx;
      auto stream = client.stub()->Batch(&ctx);
      const int window = pipelined ? 8 : 1;
      auto request = [&] {
        v1::BatchRequest req;
        for (int i = 0; i < batch; ++i) {
          v1::TouchRequest* t = req.add_ops()->mutable_touch();
          t->set_pid(*pid);
          t->set_addr(AddrOf(next++));
          t->set_access(v1::FAULT_ACCESS_WRITE);
        }
        return req;
      };
      n = 0;
      int in_flight = 0;
      v1::BatchResponse resp;
      start = Clock::now();
      while (Clock::now() - start < budget) {
        while (in_flight < window) {
          stream->Write(request());
          ++in_flight;
        }
        if (!stream->Read(&resp)) break;
        --in_flight;
        n += static_cast<uint64_t>(resp.results_size());
      }
      while (in_flight > 0 && stream->Read(&resp)) {
        --in_flight;
        n += static_cast<uint64_t>(resp.results_size());
      }
      const double rate =
          static_cast<double>(n) / Seconds(Clock::now() - start);
      stream->WritesDone();
      grpc::Status status = stream->Finish();
      if (!status.ok()) {
        std::fprintf(stderr, "batch failed: %s\n",
                     status.error_message().c_str());
        return 1;
      }
      std::printf(
          "%-28s %12.0f ops/s  %6.1fx unary\n",
          absl::StrCat("Batch ", batch, pipelined ? " x8 in flight" : "")
              .c_str(),
          rate, rate / unary);
    }
  }
  started->server->Shutdown(std::chrono::system_clock::now() +
                            std::chrono::seconds(5));
  return 0;
}

}  // namespace
}  // namespace mmsim::server

int main(int argc, char** argv) {
  return mmsim::server::Run(argc > 1 ? std::atof(argv[1]) : 1.0);
}
