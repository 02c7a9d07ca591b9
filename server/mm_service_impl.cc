#include "server/mm_service_impl.h"

#include <optional>
#include <tuple>
#include <utility>
#include <vector>

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

grpc::Status MmServiceImpl::RemoveProcess(grpc::ServerContext* ctx,
                                          const v1::RemoveProcessRequest* req,
                                          v1::RemoveProcessResponse* /*resp*/) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  absl::Status valid = ValidatePid(req->pid());
  if (!valid.ok()) return ToGrpcStatus(valid, ctx);
  return ToGrpcStatus(registry_->RemoveProcess(req->pid()), ctx);
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

grpc::Status MmServiceImpl::SetRlimit(grpc::ServerContext* ctx,
                                      const v1::SetRlimitRequest* req,
                                      v1::SetRlimitResponse* resp) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  absl::StatusOr<RlimitResource> resource =
      RlimitResourceFromProto(req->resource());
  if (!resource.ok()) return ToGrpcStatus(resource.status(), ctx);
  if (!req->has_limit()) {
    return ToGrpcStatus(MalformedRequest("limit is required"), ctx);
  }
  absl::StatusOr<MmRef> mm = MmGet(req->pid());
  if (!mm.ok()) return ToGrpcStatus(mm.status(), ctx);
  // Differs from Linux: the old value is read before, not atomically with,
  // the update (core has no exchange call yet).
  Rlimit old = RlimitOf((*mm)->config().rlimits, *resource);
  absl::Status status = (*mm)->SetRlimit(
      *resource, Rlimit{req->limit().cur(), req->limit().max()});
  if (status.ok()) {
    resp->mutable_old_limit()->set_cur(old.cur);
    resp->mutable_old_limit()->set_max(old.max);
  }
  return ToGrpcStatus(status, ctx);
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

grpc::Status MmServiceImpl::Mmap(grpc::ServerContext* ctx,
                                 const v1::MmapRequest* req,
                                 v1::MmapResponse* resp) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  absl::StatusOr<MmapArgs> args = MmapArgsFromProto(*req, *registry_);
  if (!args.ok()) return ToGrpcStatus(args.status(), ctx);
  absl::StatusOr<MmRef> mm = MmGet(req->pid());
  if (!mm.ok()) return ToGrpcStatus(mm.status(), ctx);
  absl::StatusOr<uint64_t> addr = (*mm)->DoMmap(*args);
  if (addr.ok()) resp->set_addr(*addr);
  return ToGrpcStatus(addr.status(), ctx);
}

grpc::Status MmServiceImpl::Munmap(grpc::ServerContext* ctx,
                                   const v1::MunmapRequest* req,
                                   v1::MunmapResponse* /*resp*/) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  absl::StatusOr<MmRef> mm = MmGet(req->pid());
  if (!mm.ok()) return ToGrpcStatus(mm.status(), ctx);
  return ToGrpcStatus((*mm)->DoMunmap(req->addr(), req->len()), ctx);
}

grpc::Status MmServiceImpl::Mprotect(grpc::ServerContext* ctx,
                                     const v1::MprotectRequest* req,
                                     v1::MprotectResponse* /*resp*/) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  absl::StatusOr<MmRef> mm = MmGet(req->pid());
  if (!mm.ok()) return ToGrpcStatus(mm.status(), ctx);
  return ToGrpcStatus((*mm)->Mprotect(req->addr(), req->len(), req->prot()),
                      ctx);
}

grpc::Status MmServiceImpl::Mremap(grpc::ServerContext* ctx,
                                   const v1::MremapRequest* req,
                                   v1::MremapResponse* resp) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  absl::StatusOr<MmRef> mm = MmGet(req->pid());
  if (!mm.ok()) return ToGrpcStatus(mm.status(), ctx);
  absl::StatusOr<uint64_t> addr =
      (*mm)->Mremap(req->old_addr(), req->old_len(), req->new_len(),
                    req->flags(), req->new_addr());
  if (addr.ok()) resp->set_addr(*addr);
  return ToGrpcStatus(addr.status(), ctx);
}

grpc::Status MmServiceImpl::Brk(grpc::ServerContext* ctx,
                                const v1::BrkRequest* req,
                                v1::BrkResponse* resp) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  absl::StatusOr<MmRef> mm = MmGet(req->pid());
  if (!mm.ok()) return ToGrpcStatus(mm.status(), ctx);
  // brk(2) does not fail: it returns the old break when it cannot move.
  resp->set_brk((*mm)->Brk(req->brk()));
  return grpc::Status::OK;
}

grpc::Status MmServiceImpl::Mlock(grpc::ServerContext* ctx,
                                  const v1::MlockRequest* req,
                                  v1::MlockResponse* /*resp*/) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  absl::StatusOr<MmRef> mm = MmGet(req->pid());
  if (!mm.ok()) return ToGrpcStatus(mm.status(), ctx);
  return ToGrpcStatus((*mm)->Mlock(req->addr(), req->len(), req->flags()), ctx);
}

grpc::Status MmServiceImpl::Munlock(grpc::ServerContext* ctx,
                                    const v1::MunlockRequest* req,
                                    v1::MunlockResponse* /*resp*/) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  absl::StatusOr<MmRef> mm = MmGet(req->pid());
  if (!mm.ok()) return ToGrpcStatus(mm.status(), ctx);
  return ToGrpcStatus((*mm)->Munlock(req->addr(), req->len()), ctx);
}

grpc::Status MmServiceImpl::Mlockall(grpc::ServerContext* ctx,
                                     const v1::MlockallRequest* req,
                                     v1::MlockallResponse* /*resp*/) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  absl::StatusOr<MmRef> mm = MmGet(req->pid());
  if (!mm.ok()) return ToGrpcStatus(mm.status(), ctx);
  return ToGrpcStatus((*mm)->Mlockall(req->flags()), ctx);
}

grpc::Status MmServiceImpl::Munlockall(grpc::ServerContext* ctx,
                                       const v1::MunlockallRequest* req,
                                       v1::MunlockallResponse* /*resp*/) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  absl::StatusOr<MmRef> mm = MmGet(req->pid());
  if (!mm.ok()) return ToGrpcStatus(mm.status(), ctx);
  return ToGrpcStatus((*mm)->Munlockall(), ctx);
}

grpc::Status MmServiceImpl::Madvise(grpc::ServerContext* ctx,
                                    const v1::MadviseRequest* req,
                                    v1::MadviseResponse* /*resp*/) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  absl::StatusOr<MmRef> mm = MmGet(req->pid());
  if (!mm.ok()) return ToGrpcStatus(mm.status(), ctx);
  return ToGrpcStatus((*mm)->Madvise(req->addr(), req->len(), req->advice()),
                      ctx);
}

grpc::Status MmServiceImpl::FindVma(grpc::ServerContext* ctx,
                                    const v1::FindVmaRequest* req,
                                    v1::FindVmaResponse* resp) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  if (!v1::FindMode_IsValid(req->mode())) {
    return ToGrpcStatus(MalformedRequest("unknown mode"), ctx);
  }
  absl::StatusOr<std::shared_ptr<const MmStruct>> mm = MmPeek(req->pid());
  if (!mm.ok()) return ToGrpcStatus(mm.status(), ctx);
  std::optional<Vma> vma;
  std::optional<Vma> prev;
  switch (req->mode()) {
    case v1::FIND_VMA_PREV:
      std::tie(vma, prev) = (*mm)->FindVmaPrev(req->addr());
      break;
    case v1::VMA_LOOKUP:
      vma = (*mm)->VmaLookup(req->addr());
      break;
    case v1::FIND_INTERSECTION:
      vma = (*mm)->FindVmaIntersection(req->addr(), req->end());
      break;
    default:
      vma = (*mm)->FindVma(req->addr());
  }
  if (vma.has_value()) VmaToProto(*vma, resp->mutable_vma());
  if (prev.has_value()) VmaToProto(*prev, resp->mutable_prev());
  return grpc::Status::OK;
}

grpc::Status MmServiceImpl::GetUnmappedArea(
    grpc::ServerContext* ctx, const v1::GetUnmappedAreaRequest* req,
    v1::GetUnmappedAreaResponse* resp) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  std::shared_ptr<const SimFile> file;
  if (!req->file().empty()) {
    absl::StatusOr<std::shared_ptr<const SimFile>> f =
        registry_->LookupFile(req->file());
    if (!f.ok()) return ToGrpcStatus(f.status(), ctx);
    file = *std::move(f);
  }
  absl::StatusOr<std::shared_ptr<const MmStruct>> mm = MmPeek(req->pid());
  if (!mm.ok()) return ToGrpcStatus(mm.status(), ctx);
  absl::StatusOr<uint64_t> addr = (*mm)->GetUnmappedArea(
      file.get(), req->addr(), req->len(), req->pgoff(), req->flags());
  if (addr.ok()) resp->set_addr(*addr);
  return ToGrpcStatus(addr.status(), ctx);
}

grpc::Status MmServiceImpl::GetMm(grpc::ServerContext* ctx,
                                  const v1::GetMmRequest* req,
                                  v1::GetMmResponse* resp) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  absl::StatusOr<std::shared_ptr<const MmStruct>> mm = MmPeek(req->pid());
  if (!mm.ok()) return ToGrpcStatus(mm.status(), ctx);
  MmToProto(req->pid(), **mm, resp);
  return grpc::Status::OK;
}

grpc::Status MmServiceImpl::ListVmas(grpc::ServerContext* ctx,
                                     const v1::ListVmasRequest* req,
                                     v1::ListVmasResponse* resp) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  absl::StatusOr<std::shared_ptr<const MmStruct>> mm = MmPeek(req->pid());
  if (!mm.ok()) return ToGrpcStatus(mm.status(), ctx);
  for (const Vma& vma : (*mm)->Vmas()) VmaToProto(vma, resp->add_vmas());
  return grpc::Status::OK;
}

grpc::Status MmServiceImpl::GetMaps(grpc::ServerContext* ctx,
                                    const v1::GetMapsRequest* req,
                                    v1::GetMapsResponse* resp) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  absl::StatusOr<std::shared_ptr<const MmStruct>> mm = MmPeek(req->pid());
  if (!mm.ok()) return ToGrpcStatus(mm.status(), ctx);
  resp->set_text((*mm)->ProcMaps());
  return grpc::Status::OK;
}

// Tasks call core with the pid itself: core pins what it needs (a clone
// of a kernel thread has no mm to pin).

grpc::Status MmServiceImpl::Clone(grpc::ServerContext* ctx,
                                  const v1::CloneRequest* req,
                                  v1::CloneResponse* resp) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  absl::Status valid = ValidatePid(req->pid());
  if (!valid.ok()) return ToGrpcStatus(valid, ctx);
  absl::StatusOr<int> child = registry_->Clone(req->pid(), req->flags());
  if (child.ok()) resp->set_pid(*child);
  return ToGrpcStatus(child.status(), ctx);
}

grpc::Status MmServiceImpl::Fork(grpc::ServerContext* ctx,
                                 const v1::ForkRequest* req,
                                 v1::ForkResponse* resp) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  absl::Status valid = ValidatePid(req->pid());
  if (!valid.ok()) return ToGrpcStatus(valid, ctx);
  absl::StatusOr<int> child = registry_->Fork(req->pid());
  if (child.ok()) resp->set_pid(*child);
  return ToGrpcStatus(child.status(), ctx);
}

grpc::Status MmServiceImpl::Exec(grpc::ServerContext* ctx,
                                 const v1::ExecRequest* req,
                                 v1::ExecResponse* resp) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  absl::Status valid = ValidatePid(req->pid());
  if (valid.ok() && !req->has_image()) {
    valid = MalformedRequest("image is required");
  }
  if (!valid.ok()) return ToGrpcStatus(valid, ctx);
  absl::StatusOr<int> pid =
      registry_->Exec(req->pid(), ExecImageFromProto(req->image()));
  if (!pid.ok()) return ToGrpcStatus(pid.status(), ctx);
  resp->set_pid(*pid);
  return grpc::Status::OK;
}

grpc::Status MmServiceImpl::Exit(grpc::ServerContext* ctx,
                                 const v1::ExitRequest* req,
                                 v1::ExitResponse* /*resp*/) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  absl::Status valid = ValidatePid(req->pid());
  if (!valid.ok()) return ToGrpcStatus(valid, ctx);
  return ToGrpcStatus(registry_->Exit(req->pid()), ctx);
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

grpc::Status MmServiceImpl::Schedule(grpc::ServerContext* ctx,
                                     const v1::ScheduleRequest* req,
                                     v1::ScheduleResponse* /*resp*/) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  // pid 0 is meaningful here (the idle task); a CPU out of range is core's
  // EINVAL.
  if (req->pid() < 0) {
    return ToGrpcStatus(MalformedRequest("pid must be >= 0"), ctx);
  }
  return ToGrpcStatus(registry_->Schedule(req->cpu(), req->pid()), ctx);
}

grpc::Status MmServiceImpl::Touch(grpc::ServerContext* ctx,
                                  const v1::TouchRequest* req,
                                  v1::TouchResponse* resp) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  absl::StatusOr<FaultAccess> access = FaultAccessFromProto(req->access());
  absl::Status valid = ValidatePid(req->pid());
  if (valid.ok()) valid = access.status();
  if (!valid.ok()) return ToGrpcStatus(valid, ctx);
  absl::StatusOr<TouchResult> result = registry_->Touch(
      req->pid(), req->addr(), *access, /*user=*/!req->kernel_mode());
  if (result.ok()) TouchResultToProto(*result, resp);
  return ToGrpcStatus(result.status(), ctx);
}

grpc::Status MmServiceImpl::Mincore(grpc::ServerContext* ctx,
                                    const v1::MincoreRequest* req,
                                    v1::MincoreResponse* resp) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  absl::StatusOr<std::shared_ptr<const MmStruct>> mm = MmPeek(req->pid());
  if (!mm.ok()) return ToGrpcStatus(mm.status(), ctx);
  absl::StatusOr<std::vector<uint8_t>> vec =
      (*mm)->Mincore(req->start(), req->len());
  if (vec.ok()) resp->set_vec(std::string(vec->begin(), vec->end()));
  return ToGrpcStatus(vec.status(), ctx);
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

grpc::Status MmServiceImpl::GetSmaps(grpc::ServerContext* ctx,
                                     const v1::GetSmapsRequest* req,
                                     v1::GetSmapsResponse* resp) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  absl::StatusOr<std::shared_ptr<const MmStruct>> mm = MmPeek(req->pid());
  if (!mm.ok()) return ToGrpcStatus(mm.status(), ctx);
  // Two snapshots: a fault between them may make text and counts differ.
  resp->set_text((*mm)->ProcSmaps());
  for (const VmaSmaps& smaps : (*mm)->Smaps()) {
    SmapsToProto(smaps, resp->add_regions());
  }
  return grpc::Status::OK;
}

grpc::Status MmServiceImpl::GetStatus(grpc::ServerContext* ctx,
                                      const v1::GetStatusRequest* req,
                                      v1::GetStatusResponse* resp) {
  RETURN_IF_UNAUTHENTICATED(ctx);
  absl::Status valid = ValidatePid(req->pid());
  if (!valid.ok()) return ToGrpcStatus(valid, ctx);
  absl::StatusOr<std::string> text = registry_->ProcStatus(req->pid());
  if (text.ok()) resp->set_text(*std::move(text));
  return ToGrpcStatus(text.status(), ctx);
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
