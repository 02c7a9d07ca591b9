// The mmsim.v1.MemoryManager service: a thin adapter from proto messages to
// core calls (validate, call one core function, convert the result).
//
// Every operation that Batch can carry is written once, as a Run()
// overload that returns an absl::Status and fills the reply; its unary
// handler and Batch both call it, so the two answer alike.
#ifndef MMSIM_SERVER_MM_SERVICE_IMPL_H_
#define MMSIM_SERVER_MM_SERVICE_IMPL_H_

#include <memory>

#include "absl/status/statusor.h"
#include "core/mm_registry.h"
#include "core/mm_struct.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/status.h"
#include "mmsim/v1/mmsim.grpc.pb.h"
#include "server/token_auth.h"

namespace mmsim::server {

// Thread-safe: handlers run on gRPC's thread pool and rely on core's locks.
// Does not own `registry` or `auth`, which must outlive the service. With
// `auth`, every handler first checks the call's bearer token and answers
// UNAUTHENTICATED, changing nothing, if it is missing or wrong (a new
// handler must start with `RETURN_IF_UNAUTHENTICATED(ctx)` too).
class MmServiceImpl final : public v1::MemoryManager::Service {
 public:
  // Default of mmsimd's --max_batch_ops: ops per BatchRequest.
  static constexpr int kDefaultMaxBatchOps = 1024;
  // A Batch notices a cancel within this many ops (the deadline at once).
  static constexpr int kCancelCheckOps = 64;

  // `max_batch_ops` (> 0) bounds the ops of one BatchRequest. With `auth`
  // (not owned; outlives the service) every call must carry its token.
  explicit MmServiceImpl(MmRegistry* registry,
                         int max_batch_ops = kDefaultMaxBatchOps,
                         const TokenAuth* auth = nullptr)
      : registry_(registry), auth_(auth), max_batch_ops_(max_batch_ops) {}

  grpc::Status CreateProcess(grpc::ServerContext* ctx,
                             const v1::CreateProcessRequest* req,
                             v1::CreateProcessResponse* resp) override;
  grpc::Status RemoveProcess(grpc::ServerContext* ctx,
                             const v1::RemoveProcessRequest* req,
                             v1::RemoveProcessResponse* resp) override;
  grpc::Status ListProcesses(grpc::ServerContext* ctx,
                             const v1::ListProcessesRequest* req,
                             v1::ListProcessesResponse* resp) override;
  grpc::Status SetRlimit(grpc::ServerContext* ctx,
                         const v1::SetRlimitRequest* req,
                         v1::SetRlimitResponse* resp) override;
  grpc::Status CreateFile(grpc::ServerContext* ctx,
                          const v1::CreateFileRequest* req,
                          v1::CreateFileResponse* resp) override;
  grpc::Status ListFiles(grpc::ServerContext* ctx,
                         const v1::ListFilesRequest* req,
                         v1::ListFilesResponse* resp) override;
  grpc::Status Mmap(grpc::ServerContext* ctx, const v1::MmapRequest* req,
                    v1::MmapResponse* resp) override;
  grpc::Status Munmap(grpc::ServerContext* ctx, const v1::MunmapRequest* req,
                      v1::MunmapResponse* resp) override;
  grpc::Status Mprotect(grpc::ServerContext* ctx,
                        const v1::MprotectRequest* req,
                        v1::MprotectResponse* resp) override;
  grpc::Status Mremap(grpc::ServerContext* ctx, const v1::MremapRequest* req,
                      v1::MremapResponse* resp) override;
  grpc::Status Brk(grpc::ServerContext* ctx, const v1::BrkRequest* req,
                   v1::BrkResponse* resp) override;
  grpc::Status Mlock(grpc::ServerContext* ctx, const v1::MlockRequest* req,
                     v1::MlockResponse* resp) override;
  grpc::Status Munlock(grpc::ServerContext* ctx, const v1::MunlockRequest* req,
                       v1::MunlockResponse* resp) override;
  grpc::Status Mlockall(grpc::ServerContext* ctx,
                        const v1::MlockallRequest* req,
                        v1::MlockallResponse* resp) override;
  grpc::Status Munlockall(grpc::ServerContext* ctx,
                          const v1::MunlockallRequest* req,
                          v1::MunlockallResponse* resp) override;
  grpc::Status Madvise(grpc::ServerContext* ctx, const v1::MadviseRequest* req,
                       v1::MadviseResponse* resp) override;
  grpc::Status FindVma(grpc::ServerContext* ctx, const v1::FindVmaRequest* req,
                       v1::FindVmaResponse* resp) override;
  grpc::Status GetUnmappedArea(grpc::ServerContext* ctx,
                               const v1::GetUnmappedAreaRequest* req,
                               v1::GetUnmappedAreaResponse* resp) override;
  grpc::Status GetMm(grpc::ServerContext* ctx, const v1::GetMmRequest* req,
                     v1::GetMmResponse* resp) override;
  grpc::Status ListVmas(grpc::ServerContext* ctx,
                        const v1::ListVmasRequest* req,
                        v1::ListVmasResponse* resp) override;
  grpc::Status GetMaps(grpc::ServerContext* ctx, const v1::GetMapsRequest* req,
                       v1::GetMapsResponse* resp) override;
  grpc::Status Clone(grpc::ServerContext* ctx, const v1::CloneRequest* req,
                     v1::CloneResponse* resp) override;
  grpc::Status Fork(grpc::ServerContext* ctx, const v1::ForkRequest* req,
                    v1::ForkResponse* resp) override;
  grpc::Status Exec(grpc::ServerContext* ctx, const v1::ExecRequest* req,
                    v1::ExecResponse* resp) override;
  grpc::Status Exit(grpc::ServerContext* ctx, const v1::ExitRequest* req,
                    v1::ExitResponse* resp) override;
  grpc::Status CreateKernelThread(
      grpc::ServerContext* ctx, const v1::CreateKernelThreadRequest* req,
      v1::CreateKernelThreadResponse* resp) override;
  grpc::Status Schedule(grpc::ServerContext* ctx,
                        const v1::ScheduleRequest* req,
                        v1::ScheduleResponse* resp) override;
  grpc::Status Touch(grpc::ServerContext* ctx, const v1::TouchRequest* req,
                     v1::TouchResponse* resp) override;
  grpc::Status Mincore(grpc::ServerContext* ctx, const v1::MincoreRequest* req,
                       v1::MincoreResponse* resp) override;
  grpc::Status Vmalloc(grpc::ServerContext* ctx, const v1::VmallocRequest* req,
                       v1::VmallocResponse* resp) override;
  grpc::Status Vfree(grpc::ServerContext* ctx, const v1::VfreeRequest* req,
                     v1::VfreeResponse* resp) override;
  grpc::Status Reclaim(grpc::ServerContext* ctx, const v1::ReclaimRequest* req,
                       v1::ReclaimResponse* resp) override;
  grpc::Status GetSmaps(grpc::ServerContext* ctx,
                        const v1::GetSmapsRequest* req,
                        v1::GetSmapsResponse* resp) override;
  grpc::Status GetStatus(grpc::ServerContext* ctx,
                         const v1::GetStatusRequest* req,
                         v1::GetStatusResponse* resp) override;
  grpc::Status ListTasks(grpc::ServerContext* ctx,
                         const v1::ListTasksRequest* req,
                         v1::ListTasksResponse* resp) override;
  grpc::Status ListMms(grpc::ServerContext* ctx, const v1::ListMmsRequest* req,
                       v1::ListMmsResponse* resp) override;
  grpc::Status ListCpus(grpc::ServerContext* ctx,
                        const v1::ListCpusRequest* req,
                        v1::ListCpusResponse* resp) override;
  grpc::Status GetSystemStats(grpc::ServerContext* ctx,
                              const v1::GetSystemStatsRequest* req,
                              v1::GetSystemStatsResponse* resp) override;
  grpc::Status Ping(grpc::ServerContext* ctx, const v1::PingRequest* req,
                    v1::PingResponse* resp) override;
  grpc::Status GetLockStats(grpc::ServerContext* ctx,
                            const v1::GetLockStatsRequest* req,
                            v1::GetLockStatsResponse* resp) override;
  // Runs the ops of each request in order and answers each request with
  // one response (see the proto). Checks for the deadline and cancellation
  // between two ops: each op runs completely (its locks are scoped) or not
  // at all, so a stopped stream has applied a prefix of its ops.
  grpc::Status Batch(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<v1::BatchResponse, v1::BatchRequest>* stream)
      override;

 private:
  // One operation each, shared by the unary handler and Batch.
  absl::Status Run(const v1::MmapRequest& req, v1::MmapResponse* resp);
  absl::Status Run(const v1::MunmapRequest& req, v1::MunmapResponse* resp);
  absl::Status Run(const v1::MprotectRequest& req, v1::MprotectResponse* resp);
  absl::Status Run(const v1::MremapRequest& req, v1::MremapResponse* resp);
  absl::Status Run(const v1::BrkRequest& req, v1::BrkResponse* resp);
  absl::Status Run(const v1::MlockRequest& req, v1::MlockResponse* resp);
  absl::Status Run(const v1::MunlockRequest& req, v1::MunlockResponse* resp);
  absl::Status Run(const v1::MlockallRequest& req, v1::MlockallResponse* resp);
  absl::Status Run(const v1::MunlockallRequest& req,
                   v1::MunlockallResponse* resp);
  absl::Status Run(const v1::MadviseRequest& req, v1::MadviseResponse* resp);
  absl::Status Run(const v1::TouchRequest& req, v1::TouchResponse* resp);
  absl::Status Run(const v1::MincoreRequest& req, v1::MincoreResponse* resp);
  absl::Status Run(const v1::FindVmaRequest& req, v1::FindVmaResponse* resp);
  absl::Status Run(const v1::GetUnmappedAreaRequest& req,
                   v1::GetUnmappedAreaResponse* resp);
  absl::Status Run(const v1::GetMmRequest& req, v1::GetMmResponse* resp);
  absl::Status Run(const v1::ListVmasRequest& req, v1::ListVmasResponse* resp);
  absl::Status Run(const v1::GetMapsRequest& req, v1::GetMapsResponse* resp);
  absl::Status Run(const v1::GetSmapsRequest& req, v1::GetSmapsResponse* resp);
  absl::Status Run(const v1::GetStatusRequest& req,
                   v1::GetStatusResponse* resp);
  absl::Status Run(const v1::SetRlimitRequest& req,
                   v1::SetRlimitResponse* resp);
  absl::Status Run(const v1::CloneRequest& req, v1::CloneResponse* resp);
  absl::Status Run(const v1::ForkRequest& req, v1::ForkResponse* resp);
  absl::Status Run(const v1::ExecRequest& req, v1::ExecResponse* resp);
  absl::Status Run(const v1::ExitRequest& req, v1::ExitResponse* resp);
  absl::Status Run(const v1::RemoveProcessRequest& req,
                   v1::RemoveProcessResponse* resp);
  absl::Status Run(const v1::ScheduleRequest& req, v1::ScheduleResponse* resp);
  // Runs the ops of `req` into `resp`, or rejects it whole when it has more
  // than max_batch_ops_ ops. Returns false when the call was cancelled or
  // its deadline passed first: then only a prefix of the ops ran.
  bool RunBatch(grpc::ServerContext* ctx, const v1::BatchRequest& req,
                v1::BatchResponse* resp);
  // Runs one op of a Batch into `result` (its reply is left unset on
  // error). Errors: EINVAL for an unset op, else the op's own.
  absl::Status RunOp(const v1::BatchRequest::Op& op,
                     v1::BatchResponse::Result* result);

  // Pins the mm of `pid`. Errors: EINVAL for pid <= 0 (a missing field),
  // ESRCH.
  // For calls that change the mm: takes mm_users (get_task_mm).
  absl::StatusOr<MmRef> MmGet(int pid) const;
  // For views: no reference, so the counts shown are undisturbed.
  absl::StatusOr<std::shared_ptr<const MmStruct>> MmPeek(int pid) const;

  // OK without a token configured; else TokenAuth::Check.
  grpc::Status Authenticate(const grpc::ServerContext* ctx) const {
    return auth_ == nullptr ? grpc::Status::OK : auth_->Check(*ctx);
  }

  MmRegistry* const registry_;
  const TokenAuth* const auth_;
  const int max_batch_ops_;
};

}  // namespace mmsim::server

#endif  // MMSIM_SERVER_MM_SERVICE_IMPL_H_
