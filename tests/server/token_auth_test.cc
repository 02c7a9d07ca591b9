// The bearer-token check and the loopback test of addresses. The token
// check runs against a real grpc::Server on 127.0.0.1:0 built by
// StartGrpcServer, called through a generic stub so that every method of
// mmsim.v1.MemoryManager is tried, including methods added later.
#include "server/token_auth.h"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/mm_registry.h"
#include "google/protobuf/descriptor.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/byte_buffer.h"
#include "gtest/gtest.h"
#include "mmsim/v1/mmsim.grpc.pb.h"
#include "server/grpc_server.h"
#include "server/mm_service_impl.h"

namespace mmsim::server {
namespace {

constexpr char kToken[] = "correct horse battery staple";

TEST(ConstantTimeEqualsTest, ComparesWholeStrings) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_FALSE(ConstantTimeEquals("abd", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("ab", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abcd", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", ""));
  EXPECT_FALSE(ConstantTimeEquals(absl::string_view("ab\0", 3), "ab"));
}

TEST(IsLoopbackAddressTest, OnlyLocalAddressesAreLoopback) {
  for (const char* a :
       {"127.0.0.1:50051", "127.0.0.1:0", "127.255.1.2:80", "localhost:1",
        "LOCALHOST:1", "[::1]:50051", "[::ffff:127.0.0.1]:1", "unix:/tmp/s",
        "unix-abstract:mmsim", "ipv4:127.0.0.1:5", "ipv6:[::1]:5",
        "dns:localhost:5"}) {
    EXPECT_TRUE(IsLoopbackAddress(a)) << a;
  }
  for (const char* a :
       {"0.0.0.0:50051", "[::]:50051", "10.0.0.1:1", "192.168.1.1:9464",
        "example.com:1", "localhost.example.com:1", "[::ffff:10.0.0.1]:1",
        "[fe80::1]:1", ":50051", "[::1", "128.0.0.1:1", "", "*:1"}) {
    EXPECT_FALSE(IsLoopbackAddress(a)) << a;
  }
}

class TokenAuthServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<StartedServer> started =
        StartGrpcServer("127.0.0.1:0", &service_, nullptr);
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = std::move(started->server);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", started->port),
                                   grpc::InsecureChannelCredentials());
  }

  void TearDown() override {
    if (server_ != nullptr) {
      server_->Shutdown(std::chrono::system_clock::now() +
                        std::chrono::seconds(5));
    }
  }

  // Calls `method` ("/mmsim.v1.MemoryManager/Mmap") with one empty request
  // message and `authorization` metadata (none if empty); returns the code.
  // A generic bidi call carries unary and streaming methods alike.
  grpc::StatusCode CallEmpty(const std::string& method,
                             const std::string& authorization) {
    grpc::CompletionQueue cq;
    grpc::GenericStub stub(channel_);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(20));
    if (!authorization.empty()) ctx.AddMetadata("authorization", authorization);
    std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call =
        stub.PrepareCall(&ctx, method, &cq);
    // Waits for `want`; returns its ok bit.
    auto step = [&cq](intptr_t want) {
      void* tag = nullptr;
      bool ok = false;
      while (cq.Next(&tag, &ok)) {
        if (reinterpret_cast<intptr_t>(tag) == want) return ok;
      }
      return false;
    };
    call->StartCall(reinterpret_cast<void*>(1));
    step(1);
    grpc::Slice empty("");
    grpc::ByteBuffer request(&empty, 1);
    call->Write(request, reinterpret_cast<void*>(2));
    step(2);
    call->WritesDone(reinterpret_cast<void*>(3));
    step(3);
    // Finish() completes only once every response has been read.
    grpc::ByteBuffer response;
    do {
      call->Read(&response, reinterpret_cast<void*>(5));
    } while (step(5));
    grpc::Status status;
    call->Finish(&status, reinterpret_cast<void*>(4));
    step(4);
    cq.Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (cq.Next(&tag, &ok)) {
    }
    return status.error_code();
  }

  static std::vector<std::string> Methods() {
    const google::protobuf::ServiceDescriptor* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
            v1::MemoryManager::service_full_name());
    std::vector<std::string> methods;
    if (service == nullptr) return methods;
    for (int i = 0; i < service->method_count(); ++i) {
      methods.push_back(absl::StrCat("/", service->full_name(), "/",
                                     service->method(i)->name()));
    }
    return methods;
  }

  MmRegistry registry_;
  TokenAuth auth_{kToken};
  MmServiceImpl service_{&registry_, MmServiceImpl::kDefaultMaxBatchOps,
                         &auth_};
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(TokenAuthServerTest, EveryMethodNeedsTheToken) {
  const std::vector<std::string> methods = Methods();
  ASSERT_GT(methods.size(), 30u);
  for (const std::string& method : methods) {
    for (const std::string& authorization :
         {std::string(), std::string("Bearer wrong"), std::string(kToken),
          absl::StrCat("Basic ", kToken), absl::StrCat("Bearer ", kToken, "x"),
          absl::StrCat("Bearer  ", kToken)}) {
      EXPECT_EQ(CallEmpty(method, authorization),
                grpc::StatusCode::UNAUTHENTICATED)
          << method << " with \"" << authorization << "\"";
    }
  }
  // Nothing was created by the refused calls.
  EXPECT_TRUE(registry_.Pids().empty());
  EXPECT_EQ(CallEmpty("/mmsim.v1.MemoryManager/ListProcesses",
                      absl::StrCat("Bearer ", kToken)),
            grpc::StatusCode::OK);
  // The scheme name is case-insensitive (RFC 7235).
  EXPECT_EQ(CallEmpty("/mmsim.v1.MemoryManager/ListProcesses",
                      absl::StrCat("bearer ", kToken)),
            grpc::StatusCode::OK);
}

TEST_F(TokenAuthServerTest, EveryMethodRunsWithTheToken) {
  for (const std::string& method : Methods()) {
    EXPECT_NE(CallEmpty(method, absl::StrCat("Bearer ", kToken)),
              grpc::StatusCode::UNAUTHENTICATED)
        << method;
  }
}

TEST_F(TokenAuthServerTest, HealthNeedsNoToken) {
  auto health = grpc::health::v1::Health::NewStub(channel_);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  grpc::health::v1::HealthCheckResponse resp;
  ASSERT_TRUE(
      health->Check(&ctx, grpc::health::v1::HealthCheckRequest(), &resp).ok());
  EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

}  // namespace
}  // namespace mmsim::server
