// mmload: the load generator of mmsimd. It runs a scenario (a realistic
// pattern of calls) with --concurrency calls in flight over --connections
// channels, for --duration or --total calls, closed-loop or at an open-loop
// --rps, and reports calls/s, errors by gRPC code and errno, a latency
// histogram with percentiles, and the server's lock statistics for the run.
// See `mmload --help` and bench/README.md.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "client/load_histogram.h"
#include "client/mm_client.h"
#include "core/limits.h"
#include "core/linux_error.h"
#include "grpcpp/grpcpp.h"
#include "mmsim/v1/mmsim.grpc.pb.h"

ABSL_FLAG(std::string, server, "127.0.0.1:50051", "mmsimd gRPC address");
ABSL_FLAG(std::string, scenario, "ping", "what to run (see the list below)");
ABSL_FLAG(int, concurrency, 8, "calls in flight (one thread each)");
ABSL_FLAG(int, connections, 1, "gRPC channels (TCP connections)");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10),
          "how long to measure (ignored with --total)");
ABSL_FLAG(uint64_t, total, 0, "stop after this many measured calls");
ABSL_FLAG(double, rps, 0,
          "open-loop rate in calls/s over all threads (0: closed loop); "
          "latency is then measured from each call's scheduled start "
          "(corrected for coordinated omission)");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(1),
          "calls made before measuring starts, not reported");
ABSL_FLAG(uint64_t, seed, 1, "random seed (addresses, operation mix)");
ABSL_FLAG(std::string, output, "table", "report format: table or json");
ABSL_FLAG(double, max_error_rate, 0.0,
          "exit 1 when failed calls / calls exceeds this");
ABSL_FLAG(int, pages, 1024, "pages of the region each scenario touches");
ABSL_FLAG(absl::Duration, deadline, absl::Seconds(30), "deadline per call");
ABSL_FLAG(bool, tls, false, "use TLS (system roots, or --tls_ca)");
ABSL_FLAG(std::string, tls_ca, "",
          "CA file (PEM) the server's cert must chain to");
ABSL_FLAG(std::string, tls_cert, "", "client certificate (PEM) for mutual TLS");
ABSL_FLAG(std::string, tls_key, "", "key of --tls_cert (PEM)");
ABSL_FLAG(std::string, tls_server_name, "",
          "name the server certificate must carry, if not the host's");
ABSL_FLAG(std::string, token, "", "bearer token sent with every call");
ABSL_FLAG(std::string, token_file, "", "file holding the bearer token");
ABSL_FLAG(bool, stream, false,
          "send the scenario's operations over the Batch streaming RPC, "
          "--batch per message, one stream per --concurrency slot");
ABSL_FLAG(int, batch, 64, "operations per Batch message (with --stream)");

namespace mmsim::client {
namespace {

using Clock = std::chrono::steady_clock;
using Stub = v1::MemoryManager::Stub;

struct Scenario {
  const char* name;
  const char* description;
};
constexpr Scenario kScenarios[] = {
    {"ping", "the empty RPC: gRPC's own ceiling on this machine"},
    {"fault-storm",
     "every client touches pages of one shared mm (mmap_sem readers)"},
    {"find-vma",
     "find_vma at random addresses of one shared mm (a lookup, no fault)"},
    {"map-churn",
     "mmap/mprotect/munmap on one shared mm (mmap_sem writers contend)"},
    {"mixed-shared", "faults plus churn on one mm: readers blocked by writers"},
    {"private", "the mixed-shared mix on one mm per client: no contention"},
    {"fork-exit", "fork, touch (copy-on-write), exit: reference counting"},
    {"pressure",
     "more resident pages than frames: swap_out and major faults run"},
};

// The outcome of one call.
struct CallResult {
  grpc::StatusCode code = grpc::StatusCode::OK;
  int err = 0;  // the Linux errno from the trailers, 0 if none
};

// The per-thread tally; merged at the end.
struct Tally {
  LatencyHistogram latency;  // from the scheduled (or actual) start
  LatencyHistogram service;  // from the actual start
  uint64_t calls = 0;        // operations (one per unary call)
  uint64_t messages = 0;     // round trips: calls, or Batch messages
  std::map<std::pair<int, int>, uint64_t> errors;  // (code, errno) -> count
};

// What a scenario knows once set up.
struct Setup {
  int shared_pid = 0;
  uint64_t shared_base = 0;
  std::vector<int> private_pids;       // one per thread (private, fork-exit)
  std::vector<uint64_t> private_base;  // their region
  std::vector<uint64_t> windows;       // per-thread churn window in shared_pid
  uint64_t pages = 0;                  // pages in each touched region
};

constexpr uint64_t kWindowPages = 64;  // each thread's churn window

// One in-flight slot's state machine: each Start() makes exactly one RPC
// with gRPC's callback client API and calls `done` from a gRPC thread when
// it finishes. A slot has at most one call in flight, so its state needs no
// lock.
class Worker {
 public:
  using Done = std::function<void(CallResult)>;

  Worker(int index, std::string scenario, const Setup& setup, Stub* stub,
         absl::Duration deadline, const std::string& token)
      : index_(index),
        authorization_(token.empty() ? "" : absl::StrCat("Bearer ", token)),
        scenario_(std::move(scenario)),
        setup_(setup),
        stub_(stub),
        deadline_(absl::ToChronoMilliseconds(deadline)),
        rng_(absl::GetFlag(FLAGS_seed) * 7919 + index) {}

  // Makes the scenario's next call.
  void Start(Done done) {
    if (scenario_ == "ping") return Ping(std::move(done));
    if (scenario_ == "fork-exit") return ForkExit(std::move(done));
    v1::BatchRequest::Op op;
    NextOp(&op);
    switch (op.op_case()) {
      case v1::BatchRequest::Op::kTouch:
        return Unary<v1::TouchRequest, v1::TouchResponse>(
            &Async::Touch, std::move(*op.mutable_touch()), std::move(done));
      case v1::BatchRequest::Op::kMmap:
        return Unary<v1::MmapRequest, v1::MmapResponse>(
            &Async::Mmap, std::move(*op.mutable_mmap()), std::move(done));
      case v1::BatchRequest::Op::kFindVma:
        return Unary<v1::FindVmaRequest, v1::FindVmaResponse>(
            &Async::FindVma, std::move(*op.mutable_find_vma()),
            std::move(done));
      case v1::BatchRequest::Op::kMprotect:
        return Unary<v1::MprotectRequest, v1::MprotectResponse>(
            &Async::Mprotect, std::move(*op.mutable_mprotect()),
            std::move(done));
      default:
        return Unary<v1::MunmapRequest, v1::MunmapResponse>(
            &Async::Munmap, std::move(*op.mutable_munmap()), std::move(done));
    }
  }

  // The scenario's next operation, for the scenarios whose operations do
  // not depend on earlier results (all but ping and fork-exit).
  void NextOp(v1::BatchRequest::Op* op) {
    if (scenario_ == "fault-storm") {
      return Touch(setup_.shared_pid, setup_.shared_base, op);
    }
    if (scenario_ == "find-vma") {
      v1::FindVmaRequest* req = op->mutable_find_vma();
      req->set_pid(setup_.shared_pid);
      req->set_addr(setup_.shared_base + (rng_() % setup_.pages) * kPageSize);
      return;
    }
    if (scenario_ == "map-churn") return Churn(setup_.shared_pid, op);
    if (scenario_ == "mixed-shared") {
      return rng_() % 10 < 8 ? Touch(setup_.shared_pid, setup_.shared_base, op)
                             : Churn(setup_.shared_pid, op);
    }
    if (scenario_ == "private") {
      return rng_() % 10 < 8 ? Touch(setup_.private_pids[index_],
                                     setup_.private_base[index_], op)
                             : Churn(setup_.private_pids[index_], op);
    }
    return Touch(setup_.private_pids[index_], setup_.private_base[index_],
                 op);  // pressure
  }

  // A fork-exit child forked and not yet exited when the run stopped.
  int pending_child() const { return fork_step_ == 0 ? 0 : child_; }

  // --stream: sends the scenario's operations on one Batch stream, `batch`
  // per message, one message in flight, until `record(began, results)`
  // (one CallResult per operation, in order) returns false.
  template <typename Record>
  void RunBatches(int batch, Record record) {
    grpc::ClientContext ctx;
    if (!authorization_.empty()) {
      ctx.AddMetadata("authorization", authorization_);
    }
    std::unique_ptr<
        grpc::ClientReaderWriter<v1::BatchRequest, v1::BatchResponse>>
        stream = stub_->Batch(&ctx);
    v1::BatchRequest req;
    v1::BatchResponse resp;
    std::vector<CallResult> results;
    for (uint64_t id = 1;; ++id) {
      req.Clear();
      req.set_id(id);
      for (int i = 0; i < batch; ++i) NextOp(req.add_ops());
      const Clock::time_point began = Clock::now();
      results.assign(batch, CallResult());
      if (!stream->Write(req) || !stream->Read(&resp)) {
        // The stream broke: its status is the result of every operation.
        const grpc::Status status = stream->Finish();
        for (CallResult& r : results) {
          r.code =
              status.ok() ? grpc::StatusCode::ABORTED : status.error_code();
        }
        record(began, results);
        return;
      }
      for (int i = 0; i < batch; ++i) {
        const v1::OpStatus& op =
            resp.status().code() != 0 || i >= resp.results_size()
                ? resp.status()
                : resp.results(i).status();
        results[i].code = static_cast<grpc::StatusCode>(op.code());
        results[i].err = op.errno_number();
        if (i >= resp.results_size() && op.code() == 0) {
          results[i].code = grpc::StatusCode::INTERNAL;  // a missing result
        }
      }
      if (!record(began, results)) break;
    }
    stream->WritesDone();
    (void)stream->Finish();
  }

  // Start() and wait for the call (the open loop's threads).
  CallResult Step() {
    std::promise<CallResult> promise;
    std::future<CallResult> result = promise.get_future();
    Start([&promise](CallResult r) { promise.set_value(r); });
    return result.get();
  }

 private:
  using Async = Stub::async_interface;
  template <typename Req, typename Resp>
  struct Pending {
    grpc::ClientContext ctx;
    Req req;
    Resp resp;
  };

  // Starts `rpc` (a lambda calling one async method); `then` sees the
  // response and the result before `done` does.
  template <typename Req, typename Resp, typename Rpc, typename Then>
  void Call(Rpc rpc, Req req, Then then, Done done) {
    auto* call = new Pending<Req, Resp>;
    call->req = std::move(req);
    call->ctx.set_deadline(std::chrono::system_clock::now() + deadline_);
    if (!authorization_.empty()) {
      call->ctx.AddMetadata("authorization", authorization_);
    }
    rpc(stub_->async(), &call->ctx, &call->req, &call->resp,
        [call, then = std::move(then),
         done = std::move(done)](const grpc::Status& status) {
          CallResult result;
          result.code = status.error_code();
          if (!status.ok()) {
            const auto& trailers = call->ctx.GetServerTrailingMetadata();
            if (auto it = trailers.find("mmsim-errno"); it != trailers.end()) {
              result.err = std::atoi(
                  std::string(it->second.data(), it->second.size()).c_str());
            }
          }
          then(call->resp, result);
          delete call;
          done(result);
        });
  }
  template <typename Resp>
  static void Ignore(const Resp&, const CallResult&) {}

  // One of the stub's callback methods, e.g. &Async::Touch.
  template <typename Req, typename Resp>
  using Method = void (Async::*)(grpc::ClientContext*, const Req*, Resp*,
                                 std::function<void(grpc::Status)>);
  template <typename Req, typename Resp,
            typename Then = void (*)(const Resp&, const CallResult&)>
  void Unary(Method<Req, Resp> method, Req req, Done done,
             Then then = Ignore<Resp>) {
    Call<Req, Resp>([method](Async* a, auto* c, auto* q, auto* r,
                             auto f) { (a->*method)(c, q, r, std::move(f)); },
                    std::move(req), std::move(then), std::move(done));
  }

  void Ping(Done done) {
    Unary<v1::PingRequest, v1::PingResponse>(&Async::Ping, v1::PingRequest(),
                                             std::move(done));
  }

  void Touch(int pid, uint64_t base, v1::BatchRequest::Op* op) {
    v1::TouchRequest* req = op->mutable_touch();
    req->set_pid(pid);
    req->set_addr(base + (rng_() % setup_.pages) * kPageSize);
    req->set_access(rng_() % 4 == 0 ? v1::FAULT_ACCESS_WRITE
                                    : v1::FAULT_ACCESS_READ);
  }

  // mmap(MAP_FIXED) 4 pages into this slot's window, mprotect the middle
  // page read-only (a split), munmap them: three operations, one per call,
  // at addresses that do not depend on earlier results.
  void Churn(int pid, v1::BatchRequest::Op* op) {
    const uint64_t window =
        pid == setup_.shared_pid
            ? setup_.windows[index_]
            : setup_.private_base[index_] + setup_.pages * kPageSize;
    const uint64_t addr =
        window + (churn_slot_ % (kWindowPages / 4)) * 4 * kPageSize;
    const int step = churn_step_;
    churn_step_ = (churn_step_ + 1) % 3;
    if (churn_step_ == 0) ++churn_slot_;
    if (step == 0) {
      v1::MmapRequest* req = op->mutable_mmap();
      req->set_pid(pid);
      req->set_addr(addr);
      req->set_len(4 * kPageSize);
      req->set_prot(kProtRead | kProtWrite);
      req->set_flags(kMapPrivate | kMapAnonymous | kMapFixed);
    } else if (step == 1) {
      v1::MprotectRequest* req = op->mutable_mprotect();
      req->set_pid(pid);
      req->set_addr(addr + kPageSize);
      req->set_len(kPageSize);
      req->set_prot(kProtRead);
    } else {
      v1::MunmapRequest* req = op->mutable_munmap();
      req->set_pid(pid);
      req->set_addr(addr);
      req->set_len(4 * kPageSize);
    }
  }

  // fork the slot's process, write a page in the child (copy-on-write),
  // exit the child: three calls.
  void ForkExit(Done done) {
    const int step = fork_step_;
    fork_step_ = (fork_step_ + 1) % 3;
    if (step == 0) {
      v1::ForkRequest req;
      req.set_pid(setup_.private_pids[index_]);
      return Unary<v1::ForkRequest, v1::ForkResponse>(
          &Async::Fork, std::move(req), std::move(done),
          [this](const v1::ForkResponse& resp, const CallResult& result) {
            child_ = result.code == grpc::StatusCode::OK ? resp.pid() : 0;
            if (child_ == 0) fork_step_ = 0;  // start over
          });
    }
    if (step == 1) {
      v1::BatchRequest::Op op;
      Touch(child_, setup_.private_base[index_], &op);
      return Unary<v1::TouchRequest, v1::TouchResponse>(
          &Async::Touch, std::move(*op.mutable_touch()), std::move(done));
    }
    v1::ExitRequest req;
    req.set_pid(child_);
    Unary<v1::ExitRequest, v1::ExitResponse>(&Async::Exit, std::move(req),
                                             std::move(done));
  }

  const int index_;
  const std::string authorization_;
  const std::string scenario_;
  const Setup& setup_;
  Stub* const stub_;
  const std::chrono::milliseconds deadline_;
  std::mt19937_64 rng_;
  int churn_step_ = 0;
  uint64_t churn_slot_ = 0;
  int fork_step_ = 0;
  int child_ = 0;
};

absl::Status Fail(const absl::Status& status, const char* what) {
  return absl::Status(status.code(),
                      absl::StrCat(what, ": ", status.message()));
}

// Creates what the scenario needs through the client library.
absl::StatusOr<Setup> SetUp(MmClient& client, const std::string& scenario,
                            int threads) {
  Setup setup;
  setup.pages = static_cast<uint64_t>(std::max(1, absl::GetFlag(FLAGS_pages)));
  if (scenario == "ping") return setup;
  const bool shared = scenario == "fault-storm" || scenario == "find-vma" ||
                      scenario == "map-churn" || scenario == "mixed-shared";
  const int rw = kProtRead | kProtWrite;
  if (shared) {
    absl::StatusOr<int> pid = client.CreateProcess();
    if (!pid.ok()) return Fail(pid.status(), "create");
    setup.shared_pid = *pid;
    absl::StatusOr<uint64_t> base = client.MmapAnon(
        *pid, 0, setup.pages * kPageSize, rw, kMapPrivate | kMapPopulate);
    if (!base.ok()) return Fail(base.status(), "mmap");
    setup.shared_base = *base;
    for (int i = 0; i < threads; ++i) {
      absl::StatusOr<uint64_t> window = client.MmapAnon(
          *pid, 0, kWindowPages * kPageSize, kProtNone, kMapPrivate);
      if (!window.ok()) return Fail(window.status(), "mmap window");
      setup.windows.push_back(*window);
    }
    return setup;
  }
  if (scenario == "pressure") {
    // Size the regions so that together they hold 1.5x the frames.
    absl::StatusOr<v1::GetSystemStatsResponse> stats = client.GetSystemStats();
    if (!stats.ok()) return Fail(stats.status(), "stats");
    const uint64_t frames = stats->phys().frames_total();
    setup.pages = std::max<uint64_t>(1, frames * 3 / 2 / threads);
    if (frames > (uint64_t{1} << 18)) {
      std::fprintf(stderr,
                   "mmload: pressure: the server has %" PRIu64
                   " frames; start mmsimd with a smaller --frames (e.g. "
                   "16384) for swap to start soon\n",
                   frames);
    }
  }
  for (int i = 0; i < threads; ++i) {
    absl::StatusOr<int> pid = client.CreateProcess();
    if (!pid.ok()) return Fail(pid.status(), "create");
    // The region, then the churn window right after it (private).
    absl::StatusOr<uint64_t> base = client.MmapAnon(
        *pid, 0, (setup.pages + kWindowPages) * kPageSize, rw,
        kMapPrivate | (scenario == "pressure" ? 0 : kMapPopulate));
    if (!base.ok()) return Fail(base.status(), "mmap");
    setup.private_pids.push_back(*pid);
    setup.private_base.push_back(*base);
  }
  return setup;
}

void TearDown(MmClient& client, const Setup& setup) {
  if (setup.shared_pid != 0) (void)client.RemoveProcess(setup.shared_pid);
  for (int pid : setup.private_pids) (void)client.RemoveProcess(pid);
}

std::string Ns(uint64_t ns) {
  if (ns < 1000) return absl::StrFormat("%" PRIu64 "ns", ns);
  if (ns < 1000000) return absl::StrFormat("%.1fus", ns / 1e3);
  if (ns < 1000000000) return absl::StrFormat("%.2fms", ns / 1e6);
  return absl::StrFormat("%.2fs", ns / 1e9);
}

struct Report {
  std::string scenario;
  int concurrency = 0;
  int connections = 0;
  double rps_target = 0;
  int batch = 0;  // operations per Batch message; 0: unary calls
  double seconds = 0;
  Tally tally;
  std::vector<v1::LockStat> lock_delta;
};

constexpr double kQuantiles[] = {0.5, 0.9, 0.95, 0.99, 0.999};
constexpr const char* kQuantileNames[] = {"p50", "p90", "p95", "p99", "p99.9"};

std::string CodeName(int code) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  return code >= 0 && code <= 16 ? kNames[code] : absl::StrCat(code);
}

void PrintTable(const Report& r) {
  const Tally& t = r.tally;
  uint64_t failed = 0;
  for (const auto& [key, count] : t.errors) failed += count;
  std::printf("scenario     %s\n", r.scenario.c_str());
  std::printf(
      "concurrency  %d over %d connection(s)%s\n", r.concurrency, r.connections,
      r.rps_target > 0
          ? absl::StrFormat(", open loop at %.0f calls/s", r.rps_target).c_str()
          : ", closed loop");
  std::printf("calls        %" PRIu64 " in %.2f s = %.0f calls/s\n", t.calls,
              r.seconds, r.seconds > 0 ? t.calls / r.seconds : 0.0);
  if (r.batch > 0) {
    std::printf("stream       %" PRIu64
                " Batch messages of %d operations = %.0f messages/s; a "
                "call is one operation, latency is per message\n",
                t.messages, r.batch,
                r.seconds > 0 ? t.messages / r.seconds : 0.0);
  }
  std::printf("errors       %" PRIu64 " (%.3f%%)\n", failed,
              t.calls == 0 ? 0.0 : 100.0 * failed / t.calls);
  for (const auto& [key, count] : t.errors) {
    std::printf("  %-22s %-10s %" PRIu64 "\n", CodeName(key.first).c_str(),
                key.second == 0 ? "-" : ErrnoName(key.second), count);
  }
  std::printf("latency%s  min %s", r.rps_target > 0 ? " (corrected)" : "",
              Ns(t.latency.min()).c_str());
  for (int i = 0; i < 5; ++i) {
    std::printf("  %s %s", kQuantileNames[i],
                Ns(t.latency.Quantile(kQuantiles[i])).c_str());
  }
  std::printf("  max %s  mean %s\n", Ns(t.latency.max()).c_str(),
              Ns(static_cast<uint64_t>(t.latency.mean())).c_str());
  if (r.rps_target > 0) {
    std::printf("service time       p50 %s  p99 %s\n",
                Ns(t.service.Quantile(0.5)).c_str(),
                Ns(t.service.Quantile(0.99)).c_str());
  }
  // A coarse histogram: powers of two.
  std::printf("histogram\n");
  std::map<uint64_t, uint64_t> coarse;
  for (const auto& [bound, count] : t.latency.NonEmptyBuckets()) {
    uint64_t p = 1;
    while (p < bound) p <<= 1;
    coarse[p] += count;
  }
  uint64_t biggest = 1;
  for (const auto& [bound, count] : coarse) biggest = std::max(biggest, count);
  for (const auto& [bound, count] : coarse) {
    std::printf(
        "  <= %-9s %10" PRIu64 " %s\n", Ns(bound).c_str(), count,
        std::string(static_cast<size_t>(40.0 * count / biggest), '#').c_str());
  }
  std::printf("server locks during the run\n");
  std::printf("  %-15s %-9s %12s %10s %12s\n", "LOCK", "MODE", "ACQUIRED",
              "CONTENDED", "WAIT_TOTAL");
  for (const v1::LockStat& l : r.lock_delta) {
    if (l.acquisitions() == 0) continue;
    std::printf("  %-15s %-9s %12" PRIu64 " %10" PRIu64 " %12s\n",
                l.lock().c_str(), l.mode().c_str(), l.acquisitions(),
                l.contended(), Ns(l.wait_ns_total()).c_str());
  }
}

void PrintJson(const Report& r) {
  const Tally& t = r.tally;
  uint64_t failed = 0;
  std::vector<std::string> errors;
  for (const auto& [key, count] : t.errors) {
    failed += count;
    errors.push_back(
        absl::StrFormat("{\"code\": \"%s\", \"errno\": \"%s\", \"count\": %d}",
                        CodeName(key.first),
                        key.second == 0 ? "" : ErrnoName(key.second), count));
  }
  std::vector<std::string> quantiles;
  for (int i = 0; i < 5; ++i) {
    quantiles.push_back(absl::StrFormat("\"%s\": %d", kQuantileNames[i],
                                        t.latency.Quantile(kQuantiles[i])));
  }
  std::vector<std::string> buckets;
  for (const auto& [bound, count] : t.latency.NonEmptyBuckets()) {
    buckets.push_back(absl::StrFormat("[%d, %d]", bound, count));
  }
  std::vector<std::string> locks;
  for (const v1::LockStat& l : r.lock_delta) {
    locks.push_back(absl::StrFormat(
        "{\"lock\": \"%s\", \"mode\": \"%s\", \"acquisitions\": %d, "
        "\"contended\": %d, \"wait_ns_total\": %d, \"hold_ns_total\": %d}",
        l.lock(), l.mode(), l.acquisitions(), l.contended(), l.wait_ns_total(),
        l.hold_ns_total()));
  }
  absl::PrintF(
      "{\"scenario\": \"%s\", \"concurrency\": %d, \"connections\": %d, "
      "\"rps_target\": %.3f, \"batch\": %d, \"messages\": %d, "
      "\"seconds\": %.6f, \"calls\": %d, "
      "\"calls_per_second\": %.3f, \"errors\": %d, \"error_detail\": [%s], "
      "\"latency_ns\": {\"min\": %d, %s, \"max\": %d, \"mean\": %.1f}, "
      "\"service_ns\": {\"p50\": %d, \"p99\": %d}, "
      "\"histogram_ns\": [%s], \"server_locks\": [%s]}\n",
      r.scenario, r.concurrency, r.connections, r.rps_target, r.batch,
      t.messages, r.seconds, t.calls, r.seconds > 0 ? t.calls / r.seconds : 0.0,
      failed, absl::StrJoin(errors, ", "), t.latency.min(),
      absl::StrJoin(quantiles, ", "), t.latency.max(), t.latency.mean(),
      t.service.Quantile(0.5), t.service.Quantile(0.99),
      absl::StrJoin(buckets, ", "), absl::StrJoin(locks, ", "));
}

std::vector<v1::LockStat> LockDelta(const v1::GetLockStatsResponse& before,
                                    const v1::GetLockStatsResponse& after) {
  std::vector<v1::LockStat> out;
  for (const v1::LockStat& a : after.locks()) {
    v1::LockStat d = a;
    for (const v1::LockStat& b : before.locks()) {
      if (b.lock() != a.lock() || b.mode() != a.mode()) continue;
      d.set_acquisitions(a.acquisitions() - b.acquisitions());
      d.set_contended(a.contended() - b.contended());
      d.set_wait_ns_total(a.wait_ns_total() - b.wait_ns_total());
      d.set_hold_ns_total(a.hold_ns_total() - b.hold_ns_total());
    }
    d.clear_wait_buckets();
    d.clear_hold_buckets();
    out.push_back(d);
  }
  return out;
}

std::string Usage() {
  std::string out =
      "mmload: load generator of mmsimd.\n\n"
      "usage: mmload [--server ADDR] [--scenario NAME] [--concurrency N]\n"
      "              [--connections N] [--duration 10s | --total N]\n"
      "              [--rps R] [--warmup 1s] [--seed S] [--output "
      "table|json]\n"
      "              [--max_error_rate F] [--pages N] [--deadline 30s]\n"
      "              [--tls [--tls_ca PEM] [--tls_cert PEM --tls_key PEM]]\n"
      "              [--token T | --token_file F] [--stream [--batch 64]]\n"
      "\nscenarios:\n";
  for (const Scenario& s : kScenarios) {
    absl::StrAppendFormat(&out, "  %-13s %s\n", s.name, s.description);
  }
  return out;
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(Usage());
  absl::ParseCommandLine(argc, argv);
  const std::string scenario = absl::GetFlag(FLAGS_scenario);
  bool known = false;
  for (const Scenario& s : kScenarios) known |= scenario == s.name;
  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  const int connections = absl::GetFlag(FLAGS_connections);
  const std::string output = absl::GetFlag(FLAGS_output);
  const bool stream = absl::GetFlag(FLAGS_stream);
  const int batch = stream ? absl::GetFlag(FLAGS_batch) : 1;
  if (stream && (scenario == "ping" || scenario == "fork-exit" ||
                 absl::GetFlag(FLAGS_rps) > 0 || batch < 1 || batch > 100000)) {
    std::fprintf(stderr,
                 "mmload: --stream takes 1 <= --batch <= 100000, a closed "
                 "loop (no --rps) and a scenario whose operations do not "
                 "depend on earlier results (not ping, not fork-exit)\n");
    return 2;
  }
  if (!known || concurrency < 1 || concurrency > 4096 || connections < 1 ||
      connections > concurrency || (output != "table" && output != "json") ||
      absl::GetFlag(FLAGS_rps) < 0) {
    std::fprintf(stderr,
                 "mmload: bad flags (scenario, 1 <= --concurrency <= 4096, "
                 "1 <= --connections <= --concurrency, --output table|json, "
                 "--rps >= 0)\n\n%s",
                 Usage().c_str());
    return 2;
  }

  ClientOptions options;
  options.target = absl::GetFlag(FLAGS_server);
  options.tls = absl::GetFlag(FLAGS_tls);
  options.tls_ca_file = absl::GetFlag(FLAGS_tls_ca);
  options.tls_cert_file = absl::GetFlag(FLAGS_tls_cert);
  options.tls_key_file = absl::GetFlag(FLAGS_tls_key);
  options.tls_server_name = absl::GetFlag(FLAGS_tls_server_name);
  options.token = absl::GetFlag(FLAGS_token);
  if (!absl::GetFlag(FLAGS_token_file).empty()) {
    absl::StatusOr<std::string> token =
        ReadTokenFile(absl::GetFlag(FLAGS_token_file));
    if (!token.ok()) {
      std::fprintf(stderr, "mmload: %s\n", token.status().ToString().c_str());
      return 2;
    }
    options.token = *std::move(token);
  }
  options.deadline = absl::ToChronoMilliseconds(absl::GetFlag(FLAGS_deadline));
  options.own_connection = true;
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < connections; ++i) {
    absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
        MmClient::NewChannel(options);
    if (!channel.ok()) {
      std::fprintf(stderr, "mmload: %s\n", channel.status().ToString().c_str());
      return 2;
    }
    channels.push_back(*std::move(channel));
  }
  MmClient client(channels[0], options.deadline, options.token);
  if (absl::StatusOr<std::string> ping = client.Ping(); !ping.ok()) {
    std::fprintf(stderr, "mmload: %s: %s\n",
                 absl::GetFlag(FLAGS_server).c_str(),
                 ping.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<Setup> setup = SetUp(client, scenario, concurrency);
  if (!setup.ok()) {
    std::fprintf(stderr, "mmload: setting up %s: %s\n", scenario.c_str(),
                 setup.status().ToString().c_str());
    return 1;
  }
  std::vector<std::unique_ptr<Stub>> stubs;
  for (const auto& channel : channels) {
    stubs.push_back(v1::MemoryManager::NewStub(channel));
  }

  const absl::Duration deadline = absl::GetFlag(FLAGS_deadline);
  const double rps = absl::GetFlag(FLAGS_rps);
  const uint64_t total = absl::GetFlag(FLAGS_total);
  const Clock::time_point start = Clock::now();
  const Clock::time_point measure_from =
      start + absl::ToChronoNanoseconds(absl::GetFlag(FLAGS_warmup));
  const Clock::time_point until =
      measure_from + absl::ToChronoNanoseconds(absl::GetFlag(FLAGS_duration));
  std::atomic<uint64_t> scheduled{0};  // open loop: next call's slot
  std::atomic<uint64_t> measured{0};   // calls counted so far
  std::atomic<bool> stop{false};
  std::atomic<bool> measuring{false};
  absl::StatusOr<v1::GetLockStatsResponse> locks_before;
  std::mutex locks_mu;

  std::vector<Tally> tallies(concurrency);
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < concurrency; ++i) {
    workers.push_back(std::make_unique<Worker>(i, scenario, *setup,
                                               stubs[i % connections].get(),
                                               deadline, options.token));
  }
  std::atomic<int> running{concurrency};  // slots still making calls

  // Counts one finished round trip (a call, or a Batch message of several
  // operations); false once the run is over.
  auto record_all = [&](Tally& tally, Clock::time_point intended,
                        Clock::time_point began,
                        absl::Span<const CallResult> results) {
    const Clock::time_point ended = Clock::now();
    if (stop.load(std::memory_order_relaxed)) return false;
    if (intended < measure_from) return true;  // warm-up
    if (!measuring.exchange(true)) {
      std::lock_guard<std::mutex> lock(locks_mu);
      locks_before = client.GetLockStats();
    }
    if (measured.fetch_add(results.size(), std::memory_order_relaxed) >=
            total &&
        total > 0) {
      stop = true;
      return false;
    }
    tally.calls += results.size();
    ++tally.messages;
    tally.latency.Record(
        std::chrono::duration_cast<std::chrono::nanoseconds>(ended - intended)
            .count());
    tally.service.Record(
        std::chrono::duration_cast<std::chrono::nanoseconds>(ended - began)
            .count());
    for (const CallResult& result : results) {
      if (result.code != grpc::StatusCode::OK) {
        ++tally.errors[{static_cast<int>(result.code), result.err}];
      }
    }
    if (total == 0 && ended >= until) stop = true;
    return !stop.load(std::memory_order_relaxed);
  };
  auto record = [&](Tally& tally, Clock::time_point intended,
                    Clock::time_point began, const CallResult& result) {
    return record_all(tally, intended, began, absl::MakeConstSpan(&result, 1));
  };

  std::vector<std::thread> threads;
  // Closed loop: each slot starts its next call from the completion of the
  // last one, on gRPC's callback threads (no thread per slot).
  std::function<void(int)> next = [&](int i) {
    const Clock::time_point began = Clock::now();
    workers[i]->Start([&, i, began](CallResult result) {
      if (record(tallies[i], began, began, result)) {
        next(i);
      } else {
        running.fetch_sub(1);
      }
    });
  };
  if (stream) {
    // A thread per slot, each with its own Batch stream.
    for (int i = 0; i < concurrency; ++i) {
      threads.emplace_back([&, i] {
        workers[i]->RunBatches(
            batch, [&, i](Clock::time_point began,
                          const std::vector<CallResult>& results) {
              return record_all(tallies[i], began, began, results);
            });
        running.fetch_sub(1);
      });
    }
  } else if (rps <= 0) {
    for (int i = 0; i < concurrency; ++i) next(i);
  } else {
    // Open loop: a thread per slot takes the next slot of the schedule,
    // sleeps until it, and measures from it (coordinated omission).
    for (int i = 0; i < concurrency; ++i) {
      threads.emplace_back([&, i] {
        while (!stop.load(std::memory_order_relaxed)) {
          const uint64_t slot = scheduled.fetch_add(1);
          const Clock::time_point intended =
              start +
              std::chrono::nanoseconds(static_cast<int64_t>(slot * 1e9 / rps));
          std::this_thread::sleep_until(intended);
          if (stop.load(std::memory_order_relaxed)) break;
          const Clock::time_point began = Clock::now();
          const CallResult result = workers[i]->Step();
          if (!record(tallies[i], intended, began, result)) break;
        }
        running.fetch_sub(1);
      });
    }
  }

  // The live progress line, on a terminal only.
  const bool tty = isatty(STDERR_FILENO) == 1;
  Clock::time_point last_print;
  while (running.load() > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (tty && Clock::now() - last_print > std::chrono::seconds(1)) {
      last_print = Clock::now();
      const uint64_t calls = measured.load(std::memory_order_relaxed);
      const double elapsed =
          std::chrono::duration<double>(Clock::now() - measure_from).count();
      std::fprintf(stderr, "\r%s %.0fs %" PRIu64 " calls %.0f/s   ",
                   elapsed < 0 ? "warmup" : "running", std::max(0.0, elapsed),
                   calls, elapsed > 0 ? calls / elapsed : 0.0);
    }
  }
  for (std::thread& t : threads) t.join();
  const Clock::time_point ended = Clock::now();
  if (tty) std::fprintf(stderr, "\r%60s\r", "");
  absl::StatusOr<v1::GetLockStatsResponse> locks_after = client.GetLockStats();

  Report report;
  report.scenario = scenario;
  report.concurrency = concurrency;
  report.connections = connections;
  report.rps_target = rps;
  report.batch = stream ? batch : 0;
  report.seconds =
      std::chrono::duration<double>(std::min(ended, until) - measure_from)
          .count();
  if (total > 0) {
    report.seconds =
        std::chrono::duration<double>(ended - measure_from).count();
  }
  for (Tally& t : tallies) {
    report.tally.calls += t.calls;
    report.tally.messages += t.messages;
    report.tally.latency.Merge(t.latency);
    report.tally.service.Merge(t.service);
    for (const auto& [key, count] : t.errors) {
      report.tally.errors[key] += count;
    }
  }
  if (locks_before.ok() && locks_after.ok()) {
    report.lock_delta = LockDelta(*locks_before, *locks_after);
  }
  for (const auto& worker : workers) {
    if (worker->pending_child() != 0) {
      (void)client.Exit(worker->pending_child());
    }
  }
  TearDown(client, *setup);
  if (output == "json") {
    PrintJson(report);
  } else {
    PrintTable(report);
  }
  uint64_t failed = 0;
  for (const auto& [key, count] : report.tally.errors) failed += count;
  const double error_rate = report.tally.calls == 0
                                ? 1.0
                                : static_cast<double>(failed) /
                                      static_cast<double>(report.tally.calls);
  if (report.tally.calls == 0 ||
      error_rate > absl::GetFlag(FLAGS_max_error_rate)) {
    std::fprintf(stderr, "mmload: error rate %.4f exceeds %.4f\n", error_rate,
                 absl::GetFlag(FLAGS_max_error_rate));
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace mmsim::client

int main(int argc, char** argv) { return mmsim::client::Main(argc, argv); }
