// A real gRPC server in-process (StartGrpcServer on 127.0.0.1:0, as mmsimd
// builds it) for the bad-input, batch and cancellation tests, plus helpers
// that run one operation through its unary RPC or through Batch and return
// both in the same shape (a BatchResponse::Result), so they compare
// directly.
#ifndef MMSIM_TESTS_SERVER_SERVER_FIXTURE_H_
#define MMSIM_TESTS_SERVER_SERVER_FIXTURE_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/mm_client.h"
#include "core/limits.h"
#include "core/linux_error.h"
#include "core/mm_registry.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "server/grpc_server.h"
#include "server/grpc_status.h"
#include "server/metrics_collector.h"
#include "server/mm_service_impl.h"

namespace mmsim::server::testing {

using Op = v1::BatchRequest::Op;
using Result = v1::BatchResponse::Result;

constexpr int kRw = kProtRead | kProtWrite;
constexpr int kAnon = kMapPrivate | kMapAnonymous;
// Where StandardProcess() puts its regions.
constexpr uint64_t kBase = 0x10000000;

// What one process looks like from outside: every field of GetMm (less
// pid and mm_id, so two processes built alike compare equal), the
// /proc/PID/maps and /proc/PID/smaps text.
struct Snapshot {
  v1::GetMmResponse mm;
  std::string maps;
  std::string smaps;
};

inline bool SameSnapshot(const Snapshot& a, const Snapshot& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a.mm, b.mm) &&
         a.maps == b.maps && a.smaps == b.smaps;
}

inline std::string Describe(const Snapshot& s) {
  return absl::StrCat(s.mm.DebugString(), "\n", s.maps);
}

class ServerTest : public ::testing::Test {
 protected:
  static constexpr auto kTimeout = std::chrono::seconds(30);

  void SetUp() override { Start(SystemConfig()); }
  void TearDown() override { Stop(); }

  // (Re)starts the server on a fresh system.
  void Start(const SystemConfig& config,
             int max_batch_ops = MmServiceImpl::kDefaultMaxBatchOps) {
    Stop();
    registry_ = std::make_unique<MmRegistry>(config);
    service_ = std::make_unique<MmServiceImpl>(registry_.get(), max_batch_ops);
    absl::StatusOr<StartedServer> started =
        StartGrpcServer("127.0.0.1:0", service_.get(), &rpc_metrics_);
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = std::move(started->server);
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(client::MmClient::kMaxResponseBytes);
    channel_ =
        grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", started->port),
                                  grpc::InsecureChannelCredentials(), args);
    client_ = std::make_unique<client::MmClient>(channel_, kTimeout);
  }

  void Stop() {
    if (server_ != nullptr) {
      server_->Shutdown(std::chrono::system_clock::now() +
                        std::chrono::seconds(5));
    }
    client_.reset();
    channel_.reset();
    server_.reset();
    service_.reset();
    registry_.reset();
  }

  v1::MemoryManager::Stub* stub() { return client_->stub(); }

  // Waits (bounded) until no RPC is in flight on the server: every handler
  // has returned, so what a cancelled call did is final.
  void WaitIdle() {
    for (int i = 0; i < 3000 && rpc_metrics_.InFlight() != 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_EQ(rpc_metrics_.InFlight(), 0) << "a handler is still running";
  }

  Snapshot Snap(int pid) {
    Snapshot s;
    absl::StatusOr<v1::GetMmResponse> mm = client_->GetMm(pid);
    EXPECT_TRUE(mm.ok()) << mm.status();
    if (mm.ok()) s.mm = *mm;
    s.mm.clear_pid();
    s.mm.clear_mm_id();
    s.maps = client_->GetMaps(pid).value_or("<no maps>");
    absl::StatusOr<v1::GetSmapsResponse> smaps = client_->GetSmaps(pid);
    s.smaps = smaps.ok() ? smaps->text() : "<no smaps>";
    return s;
  }

  // Runs `op` through its unary RPC; the status comes from the grpc
  // status and the mmsim-errno trailers, the reply is set on success.
  Result Unary(const Op& op) {
    Result out;
    switch (op.op_case()) {
#define MMSIM_UNARY_CASE(Case, Method, field)                   \
  case Op::Case:                                                \
    RawCall(&v1::MemoryManager::Stub::Method, op.field(), &out, \
            [](Result* r) { return r->mutable_##field(); });    \
    break;
      MMSIM_UNARY_CASE(kMmap, Mmap, mmap)
      MMSIM_UNARY_CASE(kMunmap, Munmap, munmap)
      MMSIM_UNARY_CASE(kMprotect, Mprotect, mprotect)
      MMSIM_UNARY_CASE(kMremap, Mremap, mremap)
      MMSIM_UNARY_CASE(kBrk, Brk, brk)
      MMSIM_UNARY_CASE(kMlock, Mlock, mlock)
      MMSIM_UNARY_CASE(kMunlock, Munlock, munlock)
      MMSIM_UNARY_CASE(kMlockall, Mlockall, mlockall)
      MMSIM_UNARY_CASE(kMunlockall, Munlockall, munlockall)
      MMSIM_UNARY_CASE(kMadvise, Madvise, madvise)
      MMSIM_UNARY_CASE(kTouch, Touch, touch)
      MMSIM_UNARY_CASE(kMincore, Mincore, mincore)
      MMSIM_UNARY_CASE(kFindVma, FindVma, find_vma)
      MMSIM_UNARY_CASE(kGetUnmappedArea, GetUnmappedArea, get_unmapped_area)
      MMSIM_UNARY_CASE(kGetMm, GetMm, get_mm)
      MMSIM_UNARY_CASE(kListVmas, ListVmas, list_vmas)
      MMSIM_UNARY_CASE(kGetMaps, GetMaps, get_maps)
      MMSIM_UNARY_CASE(kGetSmaps, GetSmaps, get_smaps)
      MMSIM_UNARY_CASE(kGetStatus, GetStatus, get_status)
      MMSIM_UNARY_CASE(kSetRlimit, SetRlimit, set_rlimit)
      MMSIM_UNARY_CASE(kClone, Clone, clone)
      MMSIM_UNARY_CASE(kFork, Fork, fork)
      MMSIM_UNARY_CASE(kExec, Exec, exec)
      MMSIM_UNARY_CASE(kExit, Exit, exit)
      MMSIM_UNARY_CASE(kRemoveProcess, RemoveProcess, remove_process)
      MMSIM_UNARY_CASE(kSchedule, Schedule, schedule)
#undef MMSIM_UNARY_CASE
      case Op::OP_NOT_SET:
        ADD_FAILURE() << "an unset op has no unary RPC";
    }
    return out;
  }

  // Runs `ops` as one BatchRequest on a stream of its own.
  std::vector<Result> BatchOf(const std::vector<Op>& ops,
                              bool stop_on_error = false) {
    v1::BatchRequest req;
    for (const Op& op : ops) *req.add_ops() = op;
    req.set_stop_on_error(stop_on_error);
    req.set_id(7);
    absl::StatusOr<std::vector<v1::BatchResponse>> resp = client_->Batch({req});
    EXPECT_TRUE(resp.ok()) << resp.status();
    if (!resp.ok() || resp->size() != 1) {
      ADD_FAILURE() << "no single response";
      return {};
    }
    EXPECT_EQ((*resp)[0].id(), 7u);
    EXPECT_EQ((*resp)[0].status().code(), 0)
        << (*resp)[0].status().DebugString();
    return {(*resp)[0].results().begin(), (*resp)[0].results().end()};
  }

  Result BatchOne(const Op& op) {
    std::vector<Result> results = BatchOf({op});
    return results.size() == 1 ? results[0] : Result();
  }

  // A process with the default exec layout plus two regions at kBase:
  // 16 pages rw- (pages 0-3 written) and, after a 16-page hole, 4 pages
  // r--. `config` may set limits (max_map_count, rlimits).
  int StandardProcess(const v1::MmConfig& config = v1::MmConfig()) {
    v1::CreateProcessRequest req;
    req.mutable_exec();
    *req.mutable_config() = config;
    absl::StatusOr<int> pid = client_->CreateProcess(req);
    EXPECT_TRUE(pid.ok()) << pid.status();
    if (!pid.ok()) return -1;
    EXPECT_TRUE(
        client_->MmapAnon(*pid, kBase, 16 * kPageSize, kRw, kAnon | kMapFixed)
            .ok());
    EXPECT_TRUE(client_
                    ->MmapAnon(*pid, kBase + 32 * kPageSize, 4 * kPageSize,
                               kProtRead, kAnon | kMapFixed)
                    .ok());
    for (uint64_t p = 0; p < 4; ++p) {
      EXPECT_TRUE(
          client_->Touch(*pid, kBase + p * kPageSize, v1::FAULT_ACCESS_WRITE)
              .ok());
    }
    return *pid;
  }

  prometheus::Registry metrics_;
  RpcMetrics rpc_metrics_{&metrics_};
  std::unique_ptr<MmRegistry> registry_;
  std::unique_ptr<MmServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<client::MmClient> client_;

 private:
  template <typename Req, typename Resp, typename Mutable>
  void RawCall(grpc::Status (v1::MemoryManager::Stub::*method)(
                   grpc::ClientContext*, const Req&, Resp*),
               const Req& req, Result* out, Mutable mutable_reply) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kTimeout);
    Resp resp;
    grpc::Status status = (stub()->*method)(&ctx, req, &resp);
    if (status.ok()) {
      *mutable_reply(out) = resp;
      return;
    }
    v1::OpStatus* s = out->mutable_status();
    s->set_code(status.error_code());
    s->set_message(status.error_message());
    const auto& trailers = ctx.GetServerTrailingMetadata();
    if (auto it = trailers.find(kErrnoMetadataKey); it != trailers.end()) {
      int err = 0;
      EXPECT_TRUE(absl::SimpleAtoi(
          absl::string_view(it->second.data(), it->second.size()), &err));
      s->set_errno_number(err);
    }
    if (auto it = trailers.find(kErrnoNameMetadataKey); it != trailers.end()) {
      s->set_errno_name(std::string(it->second.data(), it->second.size()));
    }
    // The client library restores the same errno from the trailers.
    EXPECT_EQ(LinuxErrno(client::FromGrpcStatus(status, ctx)).value_or(0),
              s->errno_number());
  }
};

}  // namespace mmsim::server::testing

#endif  // MMSIM_TESTS_SERVER_SERVER_FIXTURE_H_
