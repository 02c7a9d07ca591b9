#include "server/mm_service_impl.h"

#include <chrono>
#include <optional>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/linux_error.h"
#include "core/lock_stats.h"
#include "core/status_macros.h"
#include "core/vma.h"
#include "server/grpc_status.h"
#include "server/proto_convert.h"

namespace mmsim::server {

// Returns the UNAUTHENTICATED status when a token is configured and the call
// does not carry it; before anything else, so nothing changes.
#define RETURN_IF_UNAUTHENTICATED(ctx)                           \
  do {                                                           \
    if (grpc::Status denied = Authenticate(ctx); !denied.ok()) { \
      return denied;                                             \
    }                                                            \
  } while (0)

absl::StatusOr<MmRef> MmServiceImpl::MmGet(int pid) const {
  RETURN_IF_ERROR(ValidatePid(pid));
  return registry_->MmGet(pid);
}

absl::StatusOr<std::shared_ptr<const MmStruct>> MmServiceImpl::MmPeek(
    int pid) const {
  RETURN_IF_ERROR(ValidatePid(pid));
  return registry_->MmPeek(pid);
}

grpc::Status MmServiceImpl::CreateProcess(grpc::ServerContext* ctx,
                                          const v1::CreateProcessRequest* req,
                                          v1::CreateProcessResponse* resp) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  absl::StatusOr<MmConfig> config =
      MmConfigFromProto(registry_->default_config(), req->config());
  if (!config.ok()) return ToGrpcStatus(config.status(), ctx);
  absl::StatusOr<int> pid;
  if (req->has_exec()) {
    pid = registry_->CreateProcess(ExecImageFromProto(req->exec()), *config);
  } else if (req->has_description()) {
    absl::StatusOr<ProcessDescription> desc =
        DescriptionFromProto(req->description(), *config, *registry_);
    pid = desc.ok() ? registry_->CreateProcessFrom(*desc) : desc.status();
  } else {
    pid = MalformedRequest("one of exec or description is required");
  }
  if (pid.ok()) resp->set_pid(*pid);
  return ToGrpcStatus(pid.status(), ctx);
}

grpc::Status MmServiceImpl::ListProcesses(
    grpc::ServerContext* ctx, const v1::ListProcessesRequest* /*req*/,
    v1::ListProcessesResponse* resp) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  for (int pid : registry_->Pids()) {
    absl::StatusOr<std::shared_ptr<const MmStruct>> mm = registry_->MmPeek(pid);
    if (!mm.ok()) continue;  // removed since Pids() was read
    MmCounters counters = (*mm)->Counters();
    v1::ProcessSummary* p = resp->add_processes();
    p->set_pid(pid);
    p->set_map_count(counters.map_count);
    p->set_total_vm(counters.total_vm);
  }
  return grpc::Status::OK;
}

grpc::Status MmServiceImpl::CreateFile(grpc::ServerContext* ctx,
                                       const v1::CreateFileRequest* req,
                                       v1::CreateFileResponse* resp) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  absl::StatusOr<std::shared_ptr<const SimFile>> file = registry_->CreateFile(
      req->name(), req->size(), req->has_mode() ? req->mode() : 0644);
  if (!file.ok()) return ToGrpcStatus(file.status(), ctx);
  FileToProto(**file, resp->mutable_file());
  return grpc::Status::OK;
}

grpc::Status MmServiceImpl::ListFiles(grpc::ServerContext* ctx,
                                      const v1::ListFilesRequest* /*req*/,
                                      v1::ListFilesResponse* resp) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  for (const std::shared_ptr<const SimFile>& file : registry_->Files()) {
    FileToProto(*file, resp->add_files());
  }
  return grpc::Status::OK;
}

// ------------------------------------------------------------ operations
// Each returns the status its unary RPC returns and fills the reply; the
// unary handlers below and Batch call these, nothing else does the work.

absl::Status MmServiceImpl::Run(const v1::SetRlimitRequest& req,
                                v1::SetRlimitResponse* resp) {
  ASSIGN_OR_RETURN(RlimitResource resource,
                   RlimitResourceFromProto(req.resource()));
  if (!req.has_limit()) return MalformedRequest("limit is required");
  ASSIGN_OR_RETURN(MmRef mm, MmGet(req.pid()));
  // Differs from Linux: the old value is read before, not atomically with,
  // the update (core has no exchange call yet).
  Rlimit old = RlimitOf(mm->config().rlimits, resource);
  RETURN_IF_ERROR(
      mm->SetRlimit(resource, Rlimit{req.limit().cur(), req.limit().max()}));
  resp->mutable_old_limit()->set_cur(old.cur);
  resp->mutable_old_limit()->set_max(old.max);
  return absl::OkStatus();
}

absl::Status MmServiceImpl::Run(const v1::RemoveProcessRequest& req,
                                v1::RemoveProcessResponse* /*resp*/) {
  RETURN_IF_ERROR(ValidatePid(req.pid()));
  return registry_->RemoveProcess(req.pid());
}

absl::Status MmServiceImpl::Run(const v1::MmapRequest& req,
                                v1::MmapResponse* resp) {
  ASSIGN_OR_RETURN(MmapArgs args, MmapArgsFromProto(req, *registry_));
  ASSIGN_OR_RETURN(MmRef mm, MmGet(req.pid()));
  ASSIGN_OR_RETURN(uint64_t addr, mm->DoMmap(args));
  resp->set_addr(addr);
  return absl::OkStatus();
}

absl::Status MmServiceImpl::Run(const v1::MunmapRequest& req,
                                v1::MunmapResponse* /*resp*/) {
  ASSIGN_OR_RETURN(MmRef mm, MmGet(req.pid()));
  return mm->DoMunmap(req.addr(), req.len());
}

absl::Status MmServiceImpl::Run(const v1::MprotectRequest& req,
                                v1::MprotectResponse* /*resp*/) {
  ASSIGN_OR_RETURN(MmRef mm, MmGet(req.pid()));
  return mm->Mprotect(req.addr(), req.len(), req.prot());
}

absl::Status MmServiceImpl::Run(const v1::MremapRequest& req,
                                v1::MremapResponse* resp) {
  ASSIGN_OR_RETURN(MmRef mm, MmGet(req.pid()));
  ASSIGN_OR_RETURN(uint64_t addr,
                   mm->Mremap(req.old_addr(), req.old_len(), req.new_len(),
                              req.flags(), req.new_addr()));
  resp->set_addr(addr);
  return absl::OkStatus();
}

absl::Status MmServiceImpl::Run(const v1::BrkRequest& req,
                                v1::BrkResponse* resp) {
  ASSIGN_OR_RETURN(MmRef mm, MmGet(req.pid()));
  // brk(2) does not fail: it returns the old break when it cannot move.
  resp->set_brk(mm->Brk(req.brk()));
  return absl::OkStatus();
}

absl::Status MmServiceImpl::Run(const v1::MlockRequest& req,
                                v1::MlockResponse* /*resp*/) {
  ASSIGN_OR_RETURN(MmRef mm, MmGet(req.pid()));
  return mm->Mlock(req.addr(), req.len(), req.flags());
}

absl::Status MmServiceImpl::Run(const v1::MunlockRequest& req,
                                v1::MunlockResponse* /*resp*/) {
  ASSIGN_OR_RETURN(MmRef mm, MmGet(req.pid()));
  return mm->Munlock(req.addr(), req.len());
}

absl::Status MmServiceImpl::Run(const v1::MlockallRequest& req,
                                v1::MlockallResponse* /*resp*/) {
  ASSIGN_OR_RETURN(MmRef mm, MmGet(req.pid()));
  return mm->Mlockall(req.flags());
}

absl::Status MmServiceImpl::Run(const v1::MunlockallRequest& req,
                                v1::MunlockallResponse* /*resp*/) {
  ASSIGN_OR_RETURN(MmRef mm, MmGet(req.pid()));
  return mm->Munlockall();
}

absl::Status MmServiceImpl::Run(const v1::MadviseRequest& req,
                                v1::MadviseResponse* /*resp*/) {
  ASSIGN_OR_RETURN(MmRef mm, MmGet(req.pid()));
  return mm->Madvise(req.addr(), req.len(), req.advice());
}

absl::Status MmServiceImpl::Run(const v1::FindVmaRequest& req,
                                v1::FindVmaResponse* resp) {
  if (!v1::FindMode_IsValid(req.mode())) {
    return MalformedRequest("unknown mode");
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const MmStruct> mm, MmPeek(req.pid()));
  std::optional<Vma> vma;
  std::optional<Vma> prev;
  switch (req.mode()) {
    case v1::FIND_VMA_PREV:
      std::tie(vma, prev) = mm->FindVmaPrev(req.addr());
      break;
    case v1::VMA_LOOKUP:
      vma = mm->VmaLookup(req.addr());
      break;
    case v1::FIND_INTERSECTION:
      vma = mm->FindVmaIntersection(req.addr(), req.end());
      break;
    default:
      vma = mm->FindVma(req.addr());
  }
  if (vma.has_value()) VmaToProto(*vma, resp->mutable_vma());
  if (prev.has_value()) VmaToProto(*prev, resp->mutable_prev());
  return absl::OkStatus();
}

absl::Status MmServiceImpl::Run(const v1::GetUnmappedAreaRequest& req,
                                v1::GetUnmappedAreaResponse* resp) {
  std::shared_ptr<const SimFile> file;
  if (!req.file().empty()) {
    ASSIGN_OR_RETURN(file, registry_->LookupFile(req.file()));
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const MmStruct> mm, MmPeek(req.pid()));
  ASSIGN_OR_RETURN(uint64_t addr,
                   mm->GetUnmappedArea(file.get(), req.addr(), req.len(),
                                       req.pgoff(), req.flags()));
  resp->set_addr(addr);
  return absl::OkStatus();
}

absl::Status MmServiceImpl::Run(const v1::GetMmRequest& req,
                                v1::GetMmResponse* resp) {
  ASSIGN_OR_RETURN(std::shared_ptr<const MmStruct> mm, MmPeek(req.pid()));
  MmToProto(req.pid(), *mm, resp);
  return absl::OkStatus();
}

absl::Status MmServiceImpl::Run(const v1::ListVmasRequest& req,
                                v1::ListVmasResponse* resp) {
  ASSIGN_OR_RETURN(std::shared_ptr<const MmStruct> mm, MmPeek(req.pid()));
  for (const Vma& vma : mm->Vmas()) VmaToProto(vma, resp->add_vmas());
  return absl::OkStatus();
}

absl::Status MmServiceImpl::Run(const v1::GetMapsRequest& req,
                                v1::GetMapsResponse* resp) {
  ASSIGN_OR_RETURN(std::shared_ptr<const MmStruct> mm, MmPeek(req.pid()));
  resp->set_text(mm->ProcMaps());
  return absl::OkStatus();
}

// Tasks call core with the pid itself: core pins what it needs (a clone
// of a kernel thread has no mm to pin).

absl::Status MmServiceImpl::Run(const v1::CloneRequest& req,
                                v1::CloneResponse* resp) {
  RETURN_IF_ERROR(ValidatePid(req.pid()));
  ASSIGN_OR_RETURN(int child, registry_->Clone(req.pid(), req.flags()));
  resp->set_pid(child);
  return absl::OkStatus();
}

absl::Status MmServiceImpl::Run(const v1::ForkRequest& req,
                                v1::ForkResponse* resp) {
  RETURN_IF_ERROR(ValidatePid(req.pid()));
  ASSIGN_OR_RETURN(int child, registry_->Fork(req.pid()));
  resp->set_pid(child);
  return absl::OkStatus();
}

absl::Status MmServiceImpl::Run(const v1::ExecRequest& req,
                                v1::ExecResponse* resp) {
  RETURN_IF_ERROR(ValidatePid(req.pid()));
  if (!req.has_image()) return MalformedRequest("image is required");
  ASSIGN_OR_RETURN(int pid,
                   registry_->Exec(req.pid(), ExecImageFromProto(req.image())));
  resp->set_pid(pid);
  return absl::OkStatus();
}

absl::Status MmServiceImpl::Run(const v1::ExitRequest& req,
                                v1::ExitResponse* /*resp*/) {
  RETURN_IF_ERROR(ValidatePid(req.pid()));
  return registry_->Exit(req.pid());
}

absl::Status MmServiceImpl::Run(const v1::ScheduleRequest& req,
                                v1::ScheduleResponse* /*resp*/) {
  // pid 0 is meaningful here (the idle task); a CPU out of range is core's
  // EINVAL.
  if (req.pid() < 0) return MalformedRequest("pid must be >= 0");
  return registry_->Schedule(req.cpu(), req.pid());
}

absl::Status MmServiceImpl::Run(const v1::TouchRequest& req,
                                v1::TouchResponse* resp) {
  RETURN_IF_ERROR(ValidatePid(req.pid()));
  ASSIGN_OR_RETURN(FaultAccess access, FaultAccessFromProto(req.access()));
  ASSIGN_OR_RETURN(TouchResult result,
                   registry_->Touch(req.pid(), req.addr(), access,
                                    /*user=*/!req.kernel_mode()));
  TouchResultToProto(result, resp);
  return absl::OkStatus();
}

absl::Status MmServiceImpl::Run(const v1::MincoreRequest& req,
                                v1::MincoreResponse* resp) {
  ASSIGN_OR_RETURN(std::shared_ptr<const MmStruct> mm, MmPeek(req.pid()));
  ASSIGN_OR_RETURN(std::vector<uint8_t> vec,
                   mm->Mincore(req.start(), req.len()));
  resp->set_vec(std::string(vec.begin(), vec.end()));
  return absl::OkStatus();
}

absl::Status MmServiceImpl::Run(const v1::GetSmapsRequest& req,
                                v1::GetSmapsResponse* resp) {
  ASSIGN_OR_RETURN(std::shared_ptr<const MmStruct> mm, MmPeek(req.pid()));
  // Two snapshots: a fault between them may make text and counts differ.
  resp->set_text(mm->ProcSmaps());
  for (const VmaSmaps& smaps : mm->Smaps()) {
    SmapsToProto(smaps, resp->add_regions());
  }
  return absl::OkStatus();
}

absl::Status MmServiceImpl::Run(const v1::GetStatusRequest& req,
                                v1::GetStatusResponse* resp) {
  RETURN_IF_ERROR(ValidatePid(req.pid()));
  ASSIGN_OR_RETURN(std::string text, registry_->ProcStatus(req.pid()));
  resp->set_text(std::move(text));
  return absl::OkStatus();
}

// ------------------------------------------------------------ unary RPCs

// The unary handler of an operation: Run() plus the status conversion.
#define MMSIM_UNARY_RPC(Method)                                      \
  grpc::Status MmServiceImpl::Method(grpc::ServerContext* ctx,       \
                                     const v1::Method##Request* req, \
                                     v1::Method##Response* resp) {   \
    RETURN_IF_UNAUTHENTICATED(ctx);                                  \
    return ToGrpcStatus(Run(*req, resp), ctx);                       \
  }

MMSIM_UNARY_RPC(SetRlimit)
MMSIM_UNARY_RPC(RemoveProcess)
MMSIM_UNARY_RPC(Mmap)
MMSIM_UNARY_RPC(Munmap)
MMSIM_UNARY_RPC(Mprotect)
MMSIM_UNARY_RPC(Mremap)
MMSIM_UNARY_RPC(Brk)
MMSIM_UNARY_RPC(Mlock)
MMSIM_UNARY_RPC(Munlock)
MMSIM_UNARY_RPC(Mlockall)
MMSIM_UNARY_RPC(Munlockall)
MMSIM_UNARY_RPC(Madvise)
MMSIM_UNARY_RPC(FindVma)
MMSIM_UNARY_RPC(GetUnmappedArea)
MMSIM_UNARY_RPC(GetMm)
MMSIM_UNARY_RPC(ListVmas)
MMSIM_UNARY_RPC(GetMaps)
MMSIM_UNARY_RPC(Clone)
MMSIM_UNARY_RPC(Fork)
MMSIM_UNARY_RPC(Exec)
MMSIM_UNARY_RPC(Exit)
MMSIM_UNARY_RPC(Schedule)
MMSIM_UNARY_RPC(Touch)
MMSIM_UNARY_RPC(Mincore)
MMSIM_UNARY_RPC(GetSmaps)
MMSIM_UNARY_RPC(GetStatus)

#undef MMSIM_UNARY_RPC

// ------------------------------------------------------------ batches

absl::Status MmServiceImpl::RunOp(const v1::BatchRequest::Op& op,
                                  v1::BatchResponse::Result* result) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  // The op and reply oneofs use the same field names.
#define MMSIM_BATCH_OP(Case, field) \
  case v1::BatchRequest::Op::Case:  \
    return Run(op.field(), result->mutable_##field());
  switch (op.op_case()) {
    MMSIM_BATCH_OP(kMmap, mmap)
    MMSIM_BATCH_OP(kMunmap, munmap)
    MMSIM_BATCH_OP(kMprotect, mprotect)
    MMSIM_BATCH_OP(kMremap, mremap)
    MMSIM_BATCH_OP(kBrk, brk)
    MMSIM_BATCH_OP(kMlock, mlock)
    MMSIM_BATCH_OP(kMunlock, munlock)
    MMSIM_BATCH_OP(kMlockall, mlockall)
    MMSIM_BATCH_OP(kMunlockall, munlockall)
    MMSIM_BATCH_OP(kMadvise, madvise)
    MMSIM_BATCH_OP(kTouch, touch)
    MMSIM_BATCH_OP(kMincore, mincore)
    MMSIM_BATCH_OP(kFindVma, find_vma)
    MMSIM_BATCH_OP(kGetUnmappedArea, get_unmapped_area)
    MMSIM_BATCH_OP(kGetMm, get_mm)
    MMSIM_BATCH_OP(kListVmas, list_vmas)
    MMSIM_BATCH_OP(kGetMaps, get_maps)
    MMSIM_BATCH_OP(kGetSmaps, get_smaps)
    MMSIM_BATCH_OP(kGetStatus, get_status)
    MMSIM_BATCH_OP(kSetRlimit, set_rlimit)
    MMSIM_BATCH_OP(kClone, clone)
    MMSIM_BATCH_OP(kFork, fork)
    MMSIM_BATCH_OP(kExec, exec)
    MMSIM_BATCH_OP(kExit, exit)
    MMSIM_BATCH_OP(kRemoveProcess, remove_process)
    MMSIM_BATCH_OP(kSchedule, schedule)
    case v1::BatchRequest::Op::OP_NOT_SET:
      break;
  }
#undef MMSIM_BATCH_OP
  return MalformedRequest("op is unset or unknown");
}

bool MmServiceImpl::RunBatch(grpc::ServerContext* ctx,
                             const v1::BatchRequest& req,
                             v1::BatchResponse* resp) {
  resp->set_id(req.id());
  if (req.ops_size() > max_batch_ops_) {
    ToOpStatus(MalformedRequest(absl::StrCat(req.ops_size(),
                                             " ops, more than --max_batch_ops ",
                                             max_batch_ops_)),
               resp->mutable_status());
    return true;
  }
  const auto deadline = ctx->deadline();
  bool failed = false;
  for (int i = 0; i < req.ops_size(); ++i) {
    // Between two ops only: an op in progress finishes (its locks are
    // RAII-scoped), the rest do not start. The deadline is checked before
    // every op; IsCancelled() (a completion-queue poll, tens of µs: per op
    // it made Batch no faster than unary calls) every kCancelCheckOps ops.
    if (std::chrono::system_clock::now() >= deadline ||
        (i % kCancelCheckOps == kCancelCheckOps - 1 && ctx->IsCancelled())) {
      return false;
    }
    v1::BatchResponse::Result* result = resp->add_results();
    absl::Status status =
        failed && req.stop_on_error()
            ? absl::CancelledError("not run: an earlier op failed")
            : RunOp(req.ops(i), result);
    if (!status.ok()) {
      failed = true;
      result->clear_reply();
      ToOpStatus(status, result->mutable_status());
    }
  }
  return true;
}

grpc::Status MmServiceImpl::Batch(
    grpc::ServerContext* ctx,
    grpc::ServerReaderWriter<v1::BatchResponse, v1::BatchRequest>* stream) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  v1::BatchRequest req;
  v1::BatchResponse resp;
  while (stream->Read(&req)) {
    resp.Clear();
    if (!RunBatch(ctx, req, &resp) || !stream->Write(resp)) break;
  }
  if (std::chrono::system_clock::now() >= ctx->deadline()) {
    return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "deadline");
  }
  return ctx->IsCancelled() ? grpc::Status::CANCELLED : grpc::Status::OK;
}

grpc::Status MmServiceImpl::CreateKernelThread(
    grpc::ServerContext* ctx, const v1::CreateKernelThreadRequest* req,
    v1::CreateKernelThreadResponse* resp) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  if (req->name().empty()) {
    return ToGrpcStatus(MalformedRequest("name is required"), ctx);
  }
  absl::StatusOr<int> pid = registry_->CreateKernelThread(req->name());
  if (pid.ok()) resp->set_pid(*pid);
  return ToGrpcStatus(pid.status(), ctx);
}

grpc::Status MmServiceImpl::Vmalloc(grpc::ServerContext* ctx,
                                    const v1::VmallocRequest* req,
                                    v1::VmallocResponse* resp) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  absl::StatusOr<uint64_t> addr = registry_->Vmalloc(req->pages());
  if (addr.ok()) resp->set_addr(*addr);
  return ToGrpcStatus(addr.status(), ctx);
}

grpc::Status MmServiceImpl::Vfree(grpc::ServerContext* ctx,
                                  const v1::VfreeRequest* req,
                                  v1::VfreeResponse* /*resp*/) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  return ToGrpcStatus(registry_->Vfree(req->addr()), ctx);
}

grpc::Status MmServiceImpl::Reclaim(grpc::ServerContext* ctx,
                                    const v1::ReclaimRequest* req,
                                    v1::ReclaimResponse* resp) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  if (req->pages() == 0) {
    return ToGrpcStatus(MalformedRequest("pages must be > 0"), ctx);
  }
  resp->set_freed(registry_->Reclaim(req->pages(), /*locked_mm=*/nullptr));
  return grpc::Status::OK;
}

grpc::Status MmServiceImpl::ListTasks(grpc::ServerContext* ctx,
                                      const v1::ListTasksRequest* /*req*/,
                                      v1::ListTasksResponse* resp) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  for (const TaskInfo& task : registry_->Tasks()) {
    TaskToProto(task, resp->add_tasks());
  }
  return grpc::Status::OK;
}

grpc::Status MmServiceImpl::ListMms(grpc::ServerContext* ctx,
                                    const v1::ListMmsRequest* /*req*/,
                                    v1::ListMmsResponse* resp) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  for (const MmInfo& mm : registry_->Mms()) MmInfoToProto(mm, resp->add_mms());
  return grpc::Status::OK;
}

grpc::Status MmServiceImpl::ListCpus(grpc::ServerContext* ctx,
                                     const v1::ListCpusRequest* /*req*/,
                                     v1::ListCpusResponse* resp) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  for (const CpuInfo& cpu : registry_->Cpus())
    CpuToProto(cpu, resp->add_cpus());
  return grpc::Status::OK;
}

grpc::Status MmServiceImpl::GetSystemStats(
    grpc::ServerContext* ctx, const v1::GetSystemStatsRequest* /*req*/,
    v1::GetSystemStatsResponse* resp) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  StatsToProto(registry_->Stats(), registry_->OomEvents(), resp);
  return grpc::Status::OK;
}

grpc::Status MmServiceImpl::Ping(grpc::ServerContext* ctx,
                                 const v1::PingRequest* req,
                                 v1::PingResponse* resp) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  resp->set_payload(req->payload());
  return grpc::Status::OK;
}

grpc::Status MmServiceImpl::GetLockStats(grpc::ServerContext* ctx,
                                         const v1::GetLockStatsRequest* /*req*/,
                                         v1::GetLockStatsResponse* resp) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  for (const LockStat& stat : SnapshotLockStats()) {
    LockStatToProto(stat, resp->add_locks());
  }
  for (int i = 0; i + 1 < kLockHistBuckets; ++i) {
    resp->add_bucket_upper_bounds_seconds(LockHistUpperBoundSeconds(i));
  }
  return grpc::Status::OK;
}

}  // namespace mmsim::server
