// Builds and starts the gRPC server the way mmsimd runs it: the
// MemoryManager service, the standard health service (grpc.health.v1,
// SERVING once started), server reflection (v1alpha) and the RPC metrics
// interceptor. Shared by main.cc and the tests, so tests run the real wiring.
#ifndef MMSIM_SERVER_GRPC_SERVER_H_
#define MMSIM_SERVER_GRPC_SERVER_H_

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/impl/service_type.h"
#include "grpcpp/server.h"
#include "server/metrics_collector.h"

namespace mmsim::server {

struct StartedServer {
  std::unique_ptr<grpc::Server> server;
  int port = 0;  // the port bound (useful with "host:0")
};

// Starts a server on `address` ("127.0.0.1:0" picks a free port) serving
// `service`. `rpc_metrics` may be null. Neither is owned; both must outlive
// the server. Errors: UNAVAILABLE if the address cannot be bound.
absl::StatusOr<StartedServer> StartGrpcServer(const std::string& address,
                                              grpc::Service* service,
                                              RpcMetrics* rpc_metrics);

// Shuts `server` down: no new RPCs; RPCs in flight may finish until
// `deadline`, then they are cancelled. Returns as soon as no RPC is in
// flight (per `rpc_metrics`, which must be the server's): without this, an
// idle client connection holds grpc::Server::Shutdown() until the deadline.
void ShutdownGracefully(grpc::Server* server, const RpcMetrics& rpc_metrics,
                        std::chrono::system_clock::time_point deadline);

}  // namespace mmsim::server

#endif  // MMSIM_SERVER_GRPC_SERVER_H_
