// The Batch RPC and cancellation, against the real in-process server:
// ops run in order, one response per request, a failed op does not stop
// the rest (unless stop_on_error), the --max_batch_ops bound; and calls
// whose deadline expires or that the client cancels (unary and Batch, also
// in the middle of a long batch) leave a consistent mm whose locks are
// free, with exactly a prefix of a batch's ops applied.
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/linux_error.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "prometheus/text_serializer.h"
#include "tests/server/server_fixture.h"

namespace mmsim::server::testing {
namespace {

constexpr uint64_t kPage = kPageSize;

Op MmapFixed(int pid, uint64_t addr, uint64_t len, int prot) {
  Op op;
  v1::MmapRequest* r = op.mutable_mmap();
  r->set_pid(pid);
  r->set_addr(addr);
  r->set_len(len);
  r->set_prot(prot);
  r->set_flags(kAnon | kMapFixed);
  return op;
}

Op TouchOp(int pid, uint64_t addr, v1::FaultAccess access) {
  Op op;
  op.mutable_touch()->set_pid(pid);
  op.mutable_touch()->set_addr(addr);
  op.mutable_touch()->set_access(access);
  return op;
}

Op MunmapOp(int pid, uint64_t addr, uint64_t len) {
  Op op;
  op.mutable_munmap()->set_pid(pid);
  op.mutable_munmap()->set_addr(addr);
  op.mutable_munmap()->set_len(len);
  return op;
}

Op MprotectOp(int pid, uint64_t addr, uint64_t len, int prot) {
  Op op;
  op.mutable_mprotect()->set_pid(pid);
  op.mutable_mprotect()->set_addr(addr);
  op.mutable_mprotect()->set_len(len);
  op.mutable_mprotect()->set_prot(prot);
  return op;
}

class BatchTest : public ServerTest {
 protected:
  // The mm through the API agrees with itself (map_count, total_vm,
  // ordered non-overlapping regions) and with core's own invariant check.
  void ExpectConsistent(int pid) {
    absl::StatusOr<v1::GetMmResponse> mm = client_->GetMm(pid);
    ASSERT_TRUE(mm.ok()) << mm.status();
    absl::StatusOr<std::vector<v1::VmaInfo>> vmas = client_->ListVmas(pid);
    ASSERT_TRUE(vmas.ok()) << vmas.status();
    EXPECT_EQ(mm->map_count(), static_cast<int>(vmas->size()));
    uint64_t pages = 0;
    uint64_t prev_end = 0;
    for (const v1::VmaInfo& vma : *vmas) {
      EXPECT_LT(vma.start(), vma.end());
      EXPECT_LE(prev_end, vma.start());
      prev_end = vma.end();
      pages += (vma.end() - vma.start()) / kPage;
    }
    EXPECT_EQ(mm->total_vm(), pages);
    absl::StatusOr<std::shared_ptr<const MmStruct>> core =
        registry_->MmPeek(pid);
    ASSERT_TRUE(core.ok());
    (*core)->ValidateMm();  // aborts if an invariant is broken
  }

  // A write on the mm goes through: no lock was left held.
  void ExpectWritable(int pid) {
    absl::StatusOr<uint64_t> addr =
        client_->MmapAnon(pid, 0, kPage, kRw, kAnon);
    ASSERT_TRUE(addr.ok()) << addr.status();
    EXPECT_TRUE(client_->Munmap(pid, *addr, kPage).ok());
  }

  // The resident pages of [addr, addr + pages) must be [addr, addr + k):
  // returns k.
  uint64_t ResidentPrefix(int pid, uint64_t addr, uint64_t pages) {
    absl::StatusOr<std::string> vec =
        client_->Mincore(pid, addr, pages * kPage);
    EXPECT_TRUE(vec.ok()) << vec.status();
    if (!vec.ok()) return 0;
    uint64_t k = 0;
    while (k < pages && ((*vec)[k] & 1) != 0) ++k;
    for (uint64_t i = k; i < pages; ++i) {
      EXPECT_EQ((*vec)[i] & 1, 0) << "page " << i << " resident after a hole "
                                  << "at " << k << ": not a prefix";
    }
    return k;
  }
};

// ------------------------------------------------------------ semantics

TEST_F(BatchTest, OpsRunInOrderEachAnswered) {
  const int pid = StandardProcess();
  const uint64_t a = kBase + 64 * kPage;
  std::vector<Result> r = BatchOf({
      MmapFixed(pid, a, kPage, kRw),
      TouchOp(pid, a, v1::FAULT_ACCESS_WRITE),
      MprotectOp(pid, a, kPage, kProtRead),
      TouchOp(pid, a, v1::FAULT_ACCESS_WRITE),
      MunmapOp(pid, a, kPage),
      TouchOp(pid, a, v1::FAULT_ACCESS_READ),
  });
  ASSERT_EQ(r.size(), 6u);
  for (const Result& result : r) EXPECT_EQ(result.status().code(), 0);
  EXPECT_EQ(r[0].mmap().addr(), a);
  EXPECT_EQ(r[1].touch().kind(), v1::FAULT_KIND_MINOR);
  EXPECT_EQ(r[1].touch().source(), v1::FAULT_SOURCE_ANON_PAGE);
  EXPECT_EQ(r[2].reply_case(), Result::kMprotect);
  EXPECT_EQ(r[3].touch().kind(), v1::FAULT_KIND_SIGSEGV);
  EXPECT_EQ(r[3].touch().si_code(), 2);  // SEGV_ACCERR
  EXPECT_EQ(r[4].reply_case(), Result::kMunmap);
  EXPECT_EQ(r[5].touch().kind(), v1::FAULT_KIND_SIGSEGV);
  EXPECT_EQ(r[5].touch().si_code(), 1);  // SEGV_MAPERR
}

TEST_F(BatchTest, ManyRequestsOnOneStreamAnsweredInOrderWithTheirIds) {
  const int pid = StandardProcess();
  std::vector<v1::BatchRequest> reqs(20);
  for (size_t i = 0; i < reqs.size(); ++i) {
    reqs[i].set_id(1000 + i);
    for (uint64_t j = 0; j < 4; ++j) {
      *reqs[i].add_ops() =
          TouchOp(pid, kBase + j * kPage, v1::FAULT_ACCESS_READ);
    }
  }
  absl::StatusOr<std::vector<v1::BatchResponse>> resp = client_->Batch(reqs);
  ASSERT_TRUE(resp.ok()) << resp.status();
  ASSERT_EQ(resp->size(), reqs.size());
  for (size_t i = 0; i < reqs.size(); ++i) {
    EXPECT_EQ((*resp)[i].id(), 1000 + i);
    EXPECT_EQ((*resp)[i].results_size(), 4);
  }
}

TEST_F(BatchTest, AFailedOpDoesNotStopTheRest) {
  const int pid = StandardProcess();
  const uint64_t a = kBase + 64 * kPage;
  std::vector<Result> r = BatchOf({
      MunmapOp(pid, a, 0),  // EINVAL
      MmapFixed(pid, a, kPage, kRw),
  });
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].status().code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(r[0].status().errno_number(), EINVAL);
  EXPECT_EQ(r[0].status().errno_name(), "EINVAL");
  EXPECT_EQ(LinuxErrno(client::FromOpStatus(r[0].status())), EINVAL);
  EXPECT_EQ(r[0].reply_case(), Result::REPLY_NOT_SET);
  EXPECT_EQ(r[1].status().code(), 0);
  EXPECT_EQ(r[1].mmap().addr(), a);
}

TEST_F(BatchTest, StopOnErrorSkipsTheOpsAfterTheFirstFailure) {
  const int pid = StandardProcess();
  const uint64_t a = kBase + 64 * kPage;
  const uint64_t b = kBase + 80 * kPage;
  std::vector<Result> r = BatchOf(
      {
          MmapFixed(pid, a, kPage, kRw),
          MunmapOp(pid, a, 0),  // EINVAL
          MmapFixed(pid, b, kPage, kRw),
      },
      /*stop_on_error=*/true);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].status().code(), 0);
  EXPECT_EQ(r[1].status().errno_number(), EINVAL);
  EXPECT_EQ(r[2].status().code(), grpc::StatusCode::CANCELLED);
  EXPECT_EQ(r[2].status().errno_number(), 0);
  EXPECT_EQ(r[2].reply_case(), Result::REPLY_NOT_SET);
  absl::StatusOr<v1::FindVmaResponse> vma =
      client_->FindVma(pid, b, v1::VMA_LOOKUP);
  ASSERT_TRUE(vma.ok());
  EXPECT_FALSE(vma->has_vma()) << "the skipped mmap ran";
}

TEST_F(BatchTest, AStreamCountsOnceInRpcMetrics) {
  const int pid = StandardProcess();
  BatchOf({TouchOp(pid, kBase, v1::FAULT_ACCESS_READ),
           TouchOp(pid, kBase + kPage, v1::FAULT_ACCESS_READ)});
  WaitIdle();
  const std::string text =
      prometheus::TextSerializer().Serialize(metrics_.Collect());
  EXPECT_NE(text.find("mmsim_rpcs_total{code=\"OK\",method=\"Batch\"} 1"),
            std::string::npos)
      << text;
}

TEST_F(BatchTest, EmptyRequestIsAnsweredWithNoResults) {
  std::vector<Result> r = BatchOf({});
  EXPECT_TRUE(r.empty());
}

TEST_F(BatchTest, OpsOfSeveralProcessesInOneRequest) {
  const int p1 = StandardProcess();
  const int p2 = StandardProcess();
  const uint64_t a = kBase + 64 * kPage;
  std::vector<Result> r = BatchOf(
      {MmapFixed(p1, a, kPage, kRw), MmapFixed(p2, a, 2 * kPage, kProtRead)});
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(client_->GetMm(p1)->total_vm() + 1, client_->GetMm(p2)->total_vm());
}

TEST_F(BatchTest, DefaultBoundIs1024Ops) {
  const int pid = StandardProcess();
  for (int n : {1024, 1025}) {
    v1::BatchRequest req;
    for (int i = 0; i < n; ++i) {
      *req.add_ops() = TouchOp(pid, kBase, v1::FAULT_ACCESS_READ);
    }
    absl::StatusOr<std::vector<v1::BatchResponse>> resp = client_->Batch({req});
    ASSERT_TRUE(resp.ok()) << resp.status();
    ASSERT_EQ(resp->size(), 1u);
    if (n == 1024) {
      EXPECT_EQ((*resp)[0].status().code(), 0);
      EXPECT_EQ((*resp)[0].results_size(), 1024);
    } else {
      EXPECT_EQ((*resp)[0].status().code(), grpc::StatusCode::INVALID_ARGUMENT);
      EXPECT_EQ((*resp)[0].status().errno_number(), EINVAL);
      EXPECT_EQ((*resp)[0].results_size(), 0);
    }
  }
}

// Each op of a batch answers as its unary RPC does, replies included
// (twin processes, the same ops).
TEST_F(BatchTest, SuccessfulOpsAnswerAsTheirUnaryRpc) {
  const int u = StandardProcess();
  const int b = StandardProcess();
  auto ops = [](int pid) {
    const uint64_t a = kBase + 64 * kPage;
    return std::vector<Op>{MmapFixed(pid, a, 4 * kPage, kRw),
                           TouchOp(pid, a, v1::FAULT_ACCESS_READ),
                           TouchOp(pid, a, v1::FAULT_ACCESS_WRITE),
                           TouchOp(pid, a + kPage, v1::FAULT_ACCESS_WRITE),
                           MprotectOp(pid, a, kPage, kProtRead),
                           TouchOp(pid, a, v1::FAULT_ACCESS_WRITE),
                           MunmapOp(pid, a + 2 * kPage, kPage)};
  };
  std::vector<Result> unary;
  for (const Op& op : ops(u)) unary.push_back(Unary(op));
  std::vector<Result> batch = BatchOf(ops(b));
  ASSERT_EQ(batch.size(), unary.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    EXPECT_TRUE(
        google::protobuf::util::MessageDifferencer::Equals(batch[i], unary[i]))
        << i << "\nbatch: " << batch[i].DebugString()
        << "unary: " << unary[i].DebugString();
  }
  EXPECT_TRUE(SameSnapshot(Snap(u), Snap(b)));
}

// ------------------------------------------------------------ deadlines

// Unary calls whose deadline has passed (or passes while they run): each
// either ran completely or not at all; the mm stays consistent and free.
TEST_F(BatchTest, UnaryDeadlinesLeaveAConsistentFreeMm) {
  v1::MmConfig config;
  config.mutable_rlimits()->mutable_memlock()->set_cur(~uint64_t{0});
  config.mutable_rlimits()->mutable_memlock()->set_max(~uint64_t{0});
  const int pid = StandardProcess(config);
  int expired = 0;
  for (int i = 0; i < 40; ++i) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::microseconds(i * 50));
    v1::MmapRequest req;
    req.set_pid(pid);
    req.set_addr(kBase + (64 + 2 * i) * kPage);
    req.set_len(kPage);
    req.set_prot(kRw);
    req.set_flags(kAnon | kMapFixed);
    v1::MmapResponse resp;
    grpc::Status status = stub()->Mmap(&ctx, req, &resp);
    EXPECT_TRUE(status.ok() ||
                status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)
        << status.error_code() << " " << status.error_message();
    if (!status.ok()) ++expired;
  }
  // mlock of 64 MiB populates 16384 pages under mmap_sem; a 1 ms deadline
  // expires while (or before) it runs. It is all or nothing.
  const uint64_t big = kBase + 4096 * kPage;
  constexpr uint64_t kBigPages = 16384;
  ASSERT_TRUE(
      client_->MmapAnon(pid, big, kBigPages * kPage, kRw, kAnon | kMapFixed)
          .ok());
  const uint64_t locked_before = client_->GetMm(pid)->locked_vm();
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::milliseconds(1));
    v1::MlockRequest req;
    req.set_pid(pid);
    req.set_addr(big);
    req.set_len(kBigPages * kPage);
    v1::MlockResponse resp;
    grpc::Status status = stub()->Mlock(&ctx, req, &resp);
    EXPECT_TRUE(status.ok() ||
                status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)
        << status.error_code() << " " << status.error_message();
  }
  WaitIdle();
  const uint64_t locked = client_->GetMm(pid)->locked_vm() - locked_before;
  EXPECT_TRUE(locked == 0 || locked == kBigPages) << locked;
  ExpectConsistent(pid);
  ExpectWritable(pid);
  RecordProperty("expired_unary_calls", expired);
}

// A unary call the client cancels while it may be running.
TEST_F(BatchTest, UnaryCancelLeavesAConsistentFreeMm) {
  const int pid = StandardProcess();
  for (int i = 0; i < 20; ++i) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kTimeout);
    v1::MprotectRequest req;
    req.set_pid(pid);
    req.set_addr(kBase + (i % 16) * kPage);
    req.set_len(kPage);
    req.set_prot(i % 2 == 0 ? kProtRead : kRw);
    v1::MprotectResponse resp;
    std::thread cancel([&ctx] { ctx.TryCancel(); });
    grpc::Status status = stub()->Mprotect(&ctx, req, &resp);
    cancel.join();
    EXPECT_TRUE(status.ok() ||
                status.error_code() == grpc::StatusCode::CANCELLED);
  }
  WaitIdle();
  ExpectConsistent(pid);
  ExpectWritable(pid);
}

// ------------------------------------------------------------ cancellation

// Cancelled between two requests: exactly the answered requests' ops are
// applied; of the request in flight when the cancel came, a prefix.
TEST_F(BatchTest, CancelBetweenRequestsAppliesAnsweredOpsAndAPrefix) {
  const int pid = StandardProcess();
  const uint64_t area = kBase + 1024 * kPage;
  constexpr uint64_t kOpsPerRequest = 64;
  constexpr uint64_t kAnswered = 3;
  constexpr uint64_t kPages = (kAnswered + 1) * kOpsPerRequest;
  ASSERT_TRUE(
      client_->MmapAnon(pid, area, kPages * kPage, kRw, kAnon | kMapFixed)
          .ok());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + kTimeout);
  auto stream = stub()->Batch(&ctx);
  auto request = [&](uint64_t n) {
    v1::BatchRequest req;
    req.set_id(n);
    for (uint64_t i = 0; i < kOpsPerRequest; ++i) {
      *req.add_ops() = TouchOp(pid, area + (n * kOpsPerRequest + i) * kPage,
                               v1::FAULT_ACCESS_WRITE);
    }
    return req;
  };
  uint64_t results = 0;
  for (uint64_t n = 0; n < kAnswered; ++n) {
    ASSERT_TRUE(stream->Write(request(n)));
    v1::BatchResponse resp;
    ASSERT_TRUE(stream->Read(&resp));
    EXPECT_EQ(resp.id(), n);
    results += resp.results_size();
  }
  ASSERT_TRUE(stream->Write(request(kAnswered)));
  ctx.TryCancel();
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
  WaitIdle();
  const uint64_t applied = ResidentPrefix(pid, area, kPages);
  EXPECT_GE(applied, results);
  EXPECT_EQ(results, kAnswered * kOpsPerRequest);
  RecordProperty("applied_ops", static_cast<int>(applied));
  ExpectConsistent(pid);
  ExpectWritable(pid);
}

// Cancelled in the middle of one long request: the server stops between
// two ops, so a prefix of the ops is applied and none after it.
TEST_F(BatchTest, CancelMidRequestAppliesAPrefix) {
  constexpr uint64_t kPages = 100000;
  Start(SystemConfig(), /*max_batch_ops=*/kPages);
  const int pid = StandardProcess();
  const uint64_t area = kBase + 1024 * kPage;
  ASSERT_TRUE(
      client_->MmapAnon(pid, area, kPages * kPage, kRw, kAnon | kMapFixed)
          .ok());
  const uint64_t rss_before = client_->GetMm(pid)->pages().rss_anon();
  v1::BatchRequest req;
  for (uint64_t i = 0; i < kPages; ++i) {
    *req.add_ops() = TouchOp(pid, area + i * kPage, v1::FAULT_ACCESS_WRITE);
  }
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + kTimeout);
  auto stream = stub()->Batch(&ctx);
  ASSERT_TRUE(stream->Write(req));
  // Cancel once the server is under way (a bounded wait on its progress).
  absl::StatusOr<std::shared_ptr<const MmStruct>> mm = registry_->MmPeek(pid);
  ASSERT_TRUE(mm.ok());
  uint64_t seen = 0;
  for (int i = 0; i < 30000 && seen < 1000; ++i) {
    seen = (*mm)->PageStats().rss.anon - rss_before;
    if (seen < 1000) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ctx.TryCancel();
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
  WaitIdle();
  const uint64_t applied = ResidentPrefix(pid, area, kPages);
  EXPECT_GE(applied, seen);
  EXPECT_EQ(client_->GetMm(pid)->pages().rss_anon() - rss_before, applied);
  RecordProperty("applied_ops", static_cast<int>(applied));
  ExpectConsistent(pid);
  ExpectWritable(pid);
}

// The same with the stream's deadline instead of a cancel.
TEST_F(BatchTest, DeadlineMidRequestAppliesAPrefix) {
  constexpr uint64_t kPages = 100000;
  Start(SystemConfig(), /*max_batch_ops=*/kPages);
  const int pid = StandardProcess();
  const uint64_t area = kBase + 1024 * kPage;
  ASSERT_TRUE(
      client_->MmapAnon(pid, area, kPages * kPage, kRw, kAnon | kMapFixed)
          .ok());
  v1::BatchRequest req;
  for (uint64_t i = 0; i < kPages; ++i) {
    *req.add_ops() = TouchOp(pid, area + i * kPage, v1::FAULT_ACCESS_WRITE);
  }
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(50));
  auto stream = stub()->Batch(&ctx);
  stream->Write(req);  // may already fail if the deadline passed
  stream->WritesDone();
  v1::BatchResponse resp;
  const bool answered = stream->Read(&resp);
  grpc::Status status = stream->Finish();
  EXPECT_TRUE(status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
              (status.ok() && answered))
      << status.error_message();
  WaitIdle();
  const uint64_t applied = ResidentPrefix(pid, area, kPages);
  if (answered) {
    EXPECT_EQ(applied, kPages);
  }
  RecordProperty("applied_ops", static_cast<int>(applied));
  ExpectConsistent(pid);
  ExpectWritable(pid);
}

// An open stream holds a graceful shutdown only until its deadline: then
// gRPC cancels it and the handler returns.
TEST_F(BatchTest, GracefulShutdownEndsAnOpenStream) {
  const int pid = StandardProcess();
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + kTimeout);
  auto stream = stub()->Batch(&ctx);
  v1::BatchRequest req;
  *req.add_ops() = TouchOp(pid, kBase, v1::FAULT_ACCESS_READ);
  ASSERT_TRUE(stream->Write(req));
  v1::BatchResponse resp;
  ASSERT_TRUE(stream->Read(&resp));
  std::thread shutdown([this] {
    ShutdownGracefully(
        server_.get(), rpc_metrics_,
        std::chrono::system_clock::now() + std::chrono::milliseconds(200));
  });
  EXPECT_FALSE(stream->Read(&resp));  // the server ended the stream
  EXPECT_FALSE(stream->Finish().ok());
  shutdown.join();
  EXPECT_EQ(rpc_metrics_.InFlight(), 0);
}

}  // namespace
}  // namespace mmsim::server::testing
