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

// How the server listens. TLS is on when `tls_cert_pem` is set; with
// `tls_client_ca_pem` also set, clients must present a certificate signed by
// that CA (mutual TLS).
struct GrpcServerOptions {
  std::string address = "127.0.0.1:0";
  std::string tls_cert_pem;          // server certificate chain (PEM)
  std::string tls_key_pem;           // its private key (PEM)
  std::string tls_client_ca_pem;     // CA of client certificates (PEM)
  int max_message_bytes = 4 << 20;   // largest request accepted
  int max_concurrent_streams = 100;  // per connection (HTTP/2 setting)
};

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
// The same with every option. A request larger than max_message_bytes fails
// with RESOURCE_EXHAUSTED before it reaches a handler. Errors: UNAVAILABLE
// also if the TLS certificate, key or CA cannot be used (gRPC checks them
// only here: a key that does not match the certificate, a broken PEM).
absl::StatusOr<StartedServer> StartGrpcServer(const GrpcServerOptions& options,
                                              grpc::Service* service,
                                              RpcMetrics* rpc_metrics);

// True if `address` ("host:port", "[v6]:port", "unix:...") can only be
// reached from this machine: a 127.0.0.0/8 or ::1 literal, "localhost", or a
// Unix socket. "0.0.0.0", "[::]", other names and other IPs are remote.
bool IsLoopbackAddress(const std::string& address);

// Shuts `server` down: no new RPCs; RPCs in flight may finish until
// `deadline`, then they are cancelled. Returns as soon as no RPC is in
// flight (per `rpc_metrics`, which must be the server's): without this, an
// idle client connection holds grpc::Server::Shutdown() until the deadline.
void ShutdownGracefully(grpc::Server* server, const RpcMetrics& rpc_metrics,
                        std::chrono::system_clock::time_point deadline);

}  // namespace mmsim::server

#endif  // MMSIM_SERVER_GRPC_SERVER_H_
