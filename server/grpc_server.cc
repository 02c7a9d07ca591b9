#include "server/grpc_server.h"

#include <atomic>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "grpc/grpc.h"
#include "grpc/impl/codegen/grpc_types.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"

namespace mmsim::server {

absl::StatusOr<StartedServer> StartGrpcServer(const std::string& address,
                                              grpc::Service* service,
                                              RpcMetrics* rpc_metrics) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  StartedServer started;
  // gRPC sets SO_REUSEPORT by default on Linux: a second mmsimd on the same
  // port would start and silently share the traffic. Fail instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(),
                           &started.port);
  builder.RegisterService(service);
  if (rpc_metrics != nullptr) {
    std::vector<
        std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
        creators;
    creators.push_back(rpc_metrics->NewInterceptorFactory());
    builder.experimental().SetInterceptorCreators(std::move(creators));
  }
  started.server = builder.BuildAndStart();
  if (started.server == nullptr || started.port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", address));
  }
  started.server->GetHealthCheckService()->SetServingStatus(true);
  return started;
}

void ShutdownGracefully(grpc::Server* server, const RpcMetrics& rpc_metrics,
                        std::chrono::system_clock::time_point deadline) {
  std::atomic<bool> done{false};
  std::thread shutdown([server, deadline, &done] {
    server->Shutdown(deadline);
    done = true;
  });
  // Shutdown() sends GOAWAY and then waits for every connection to close;
  // idle clients keep theirs until the deadline. Once no RPC is in flight
  // nothing is left to finish, so disconnect them (what Shutdown() itself
  // does at the deadline). Repeated: a call may still be in flight at first,
  // and the first tries may come before Shutdown() has begun.
  while (!done) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (!done && rpc_metrics.InFlight() == 0) {
      grpc_server_cancel_all_calls(server->c_server());
    }
  }
  shutdown.join();
}

}  // namespace mmsim::server
