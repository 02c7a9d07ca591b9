#include "server/grpc_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <atomic>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "grpc/grpc.h"
#include "grpc/impl/codegen/grpc_types.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"

namespace mmsim::server {

namespace {

std::shared_ptr<grpc::ServerCredentials> Credentials(
    const GrpcServerOptions& options) {
  if (options.tls_cert_pem.empty()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions ssl(
      options.tls_client_ca_pem.empty()
          ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
          : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  ssl.pem_root_certs = options.tls_client_ca_pem;
  ssl.pem_key_cert_pairs.push_back({options.tls_key_pem, options.tls_cert_pem});
  return grpc::SslServerCredentials(ssl);
}

}  // namespace

bool IsLoopbackAddress(const std::string& address) {
  absl::string_view a = address;
  if (absl::StartsWith(a, "unix:") || absl::StartsWith(a, "unix-abstract:")) {
    return true;
  }
  // gRPC's URI forms of the same addresses.
  for (absl::string_view scheme : {"ipv4:", "ipv6:", "dns:"}) {
    absl::ConsumePrefix(&a, scheme);
  }
  absl::string_view host;
  if (absl::ConsumePrefix(&a, "[")) {
    const size_t end = a.find(']');
    if (end == absl::string_view::npos) return false;
    host = a.substr(0, end);
  } else {
    const size_t colon = a.rfind(':');
    host = colon == absl::string_view::npos ? a : a.substr(0, colon);
  }
  const std::string h = absl::AsciiStrToLower(host);
  if (h == "localhost") return true;
  in_addr v4;
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&v6) ||
           (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
  }
  return false;
}

absl::StatusOr<StartedServer> StartGrpcServer(const std::string& address,
                                              grpc::Service* service,
                                              RpcMetrics* rpc_metrics) {
  GrpcServerOptions options;
  options.address = address;
  return StartGrpcServer(options, service, rpc_metrics);
}

absl::StatusOr<StartedServer> StartGrpcServer(const GrpcServerOptions& options,
                                              grpc::Service* service,
                                              RpcMetrics* rpc_metrics) {
  const std::string& address = options.address;
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  StartedServer started;
  // gRPC sets SO_REUSEPORT by default on Linux: a second mmsimd on the same
  // port would start and silently share the traffic. Fail instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             options.max_concurrent_streams);
  builder.AddListeningPort(address, Credentials(options), &started.port);
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
    if (!options.tls_cert_pem.empty()) {
      return absl::UnavailableError(absl::StrCat(
          "cannot listen on ", address,
          " with TLS: the port is taken, or the certificate, key or client "
          "CA is not valid (gRPC's log above says which)"));
    }
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
