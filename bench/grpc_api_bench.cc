// Which gRPC server API should mmsimd use? The same two RPCs (Ping, the
// empty call, and Touch, a fault on a resident page) served by the
// synchronous API (mmsimd's MmServiceImpl through StartGrpcServer, the real
// wiring) and by the callback API (a CallbackService whose handlers call
// the same MmServiceImpl code and finish inline), each driven by 1, 8 and
// 32 client threads making blocking calls over one channel. Items/s is the
// figure; compare the two APIs at the same thread count in the same run.
// See bench/README.md for the figures and the choice.
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "core/limits.h"
#include "core/mm_registry.h"
#include "grpcpp/grpcpp.h"
#include "mmsim/v1/mmsim.grpc.pb.h"
#include "prometheus/registry.h"
#include "server/grpc_server.h"
#include "server/metrics_collector.h"
#include "server/mm_service_impl.h"

namespace mmsim::bench {
namespace {

// The callback API over the same handler code: every handler here runs
// to completion without blocking on I/O, so it finishes inline on the
// gRPC thread that delivered the request.
class CallbackService : public v1::MemoryManager::CallbackService {
 public:
  explicit CallbackService(server::MmServiceImpl* impl) : impl_(impl) {}

  grpc::ServerUnaryReactor* Ping(grpc::CallbackServerContext* ctx,
                                 const v1::PingRequest* req,
                                 v1::PingResponse* resp) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    reactor->Finish(impl_->Ping(nullptr, req, resp));
    return reactor;
  }
  grpc::ServerUnaryReactor* Touch(grpc::CallbackServerContext* ctx,
                                  const v1::TouchRequest* req,
                                  v1::TouchResponse* resp) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    reactor->Finish(impl_->Touch(nullptr, req, resp));
    return reactor;
  }

 private:
  server::MmServiceImpl* const impl_;
};

struct Servers {
  Servers() {
    pid = *registry.CreateProcess(ExecImage(), MmConfig());
    MmRef mm = *registry.MmGet(pid);
    MmapArgs args;
    args.len = 64 * kPageSize;
    args.prot = kProtRead | kProtWrite;
    args.flags = kMapPrivate | kMapAnonymous | kMapPopulate;
    addr = *mm->DoMmap(args);

    server::StartedServer started =
        *server::StartGrpcServer("127.0.0.1:0", &sync_impl, &rpc_metrics);
    sync_server = std::move(started.server);
    sync_stub = v1::MemoryManager::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", started.port),
                            grpc::InsecureChannelCredentials()));

    int port = 0;
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(&callback_impl);
    // The same RPC metrics interceptor as mmsimd's, so both do equal work.
    std::vector<
        std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
        interceptors;
    interceptors.push_back(rpc_metrics.NewInterceptorFactory());
    builder.experimental().SetInterceptorCreators(std::move(interceptors));
    callback_server = builder.BuildAndStart();
    callback_stub = v1::MemoryManager::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }

  MmRegistry registry{SystemConfig()};
  int pid = 0;
  uint64_t addr = 0;
  server::MmServiceImpl sync_impl{&registry};
  prometheus::Registry metrics;
  server::RpcMetrics rpc_metrics{&metrics};
  CallbackService callback_impl{&sync_impl};
  std::unique_ptr<grpc::Server> sync_server;
  std::unique_ptr<grpc::Server> callback_server;
  std::unique_ptr<v1::MemoryManager::Stub> sync_stub;
  std::unique_ptr<v1::MemoryManager::Stub> callback_stub;
};

Servers& GetServers() {
  static Servers* const servers = new Servers;  // lives for the process
  return *servers;
}

v1::MemoryManager::Stub* StubFor(bool callback) {
  return callback ? GetServers().callback_stub.get()
                  : GetServers().sync_stub.get();
}

void Report(benchmark::State& state, int64_t failures) {
  state.SetItemsProcessed(state.iterations());
  state.counters["failed"] = static_cast<double>(failures);
}

void BM_Grpc_Ping(benchmark::State& state) {
  v1::MemoryManager::Stub* stub = StubFor(state.range(0) == 1);
  v1::PingRequest req;
  v1::PingResponse resp;
  int64_t failures = 0;
  for (auto _ : state) {
    grpc::ClientContext ctx;
    failures += !stub->Ping(&ctx, req, &resp).ok();
  }
  Report(state, failures);
}

void BM_Grpc_Touch(benchmark::State& state) {
  v1::MemoryManager::Stub* stub = StubFor(state.range(0) == 1);
  v1::TouchRequest req;
  req.set_pid(GetServers().pid);
  req.set_access(v1::FAULT_ACCESS_READ);
  v1::TouchResponse resp;
  int64_t failures = 0;
  uint64_t page = 0;
  for (auto _ : state) {
    req.set_addr(GetServers().addr + (page++ % 64) * kPageSize);
    grpc::ClientContext ctx;
    failures += !stub->Touch(&ctx, req, &resp).ok();
  }
  Report(state, failures);
}

// Arg 0: the synchronous API (mmsimd's); arg 1: the callback API.
void Apis(benchmark::internal::Benchmark* b) {
  b->ArgName("callback")->Arg(0)->Arg(1);
  b->Threads(1)->Threads(8)->Threads(32)->UseRealTime();
  b->MinTime(0.5);
}
BENCHMARK(BM_Grpc_Ping)->Apply(Apis);
BENCHMARK(BM_Grpc_Touch)->Apply(Apis);

}  // namespace
}  // namespace mmsim::bench

BENCHMARK_MAIN();
