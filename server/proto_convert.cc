#include "server/proto_convert.h"

#include <cerrno>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/limits.h"
#include "core/linux_error.h"
#include "core/status_macros.h"
#include "server/grpc_status.h"

namespace mmsim::server {
namespace {

// SmapsCounts keeps pss in bytes << 12 (Linux: PSS_SHIFT).
constexpr int kPssShift = 12;

void LayoutToProto(const MmLayout& layout, v1::Layout* out) {
  out->set_start_code(layout.start_code);
  out->set_end_code(layout.end_code);
  out->set_start_data(layout.start_data);
  out->set_end_data(layout.end_data);
  out->set_start_brk(layout.start_brk);
  out->set_brk(layout.brk);
  out->set_start_stack(layout.start_stack);
  out->set_arg_start(layout.arg_start);
  out->set_arg_end(layout.arg_end);
  out->set_env_start(layout.env_start);
  out->set_env_end(layout.env_end);
}

MmLayout LayoutFromProto(const v1::Layout& layout) {
  MmLayout out;
  out.start_code = layout.start_code();
  out.end_code = layout.end_code();
  out.start_data = layout.start_data();
  out.end_data = layout.end_data();
  out.start_brk = layout.start_brk();
  out.brk = layout.brk();
  out.start_stack = layout.start_stack();
  out.arg_start = layout.arg_start();
  out.arg_end = layout.arg_end();
  out.env_start = layout.env_start();
  out.env_end = layout.env_end();
  return out;
}

void RlimitToProto(const Rlimit& limit, v1::Rlimit* out) {
  out->set_cur(limit.cur);
  out->set_max(limit.max);
}

// Overrides `limit` with `proto` when set. Errors: EINVAL if cur > max
// (what prlimit(2) says).
absl::Status MergeRlimit(bool has, const v1::Rlimit& proto, Rlimit* limit) {
  if (!has) return absl::OkStatus();
  if (proto.cur() > proto.max()) {
    return LinuxError(EINVAL, "rlimit cur > max");
  }
  limit->cur = proto.cur();
  limit->max = proto.max();
  return absl::OkStatus();
}

absl::StatusOr<Vma> RegionFromProto(const v1::RegionSpec& region,
                                    const MmRegistry& registry) {
  Vma vma;
  vma.vm_start = region.start();
  vma.vm_end = region.end();
  ASSIGN_OR_RETURN(uint64_t flags, VmFlagsFromPerms(region.perms()));
  vma.vm_flags = flags | region.extra_vm_flags();
  // Linux: mm/mmap.c accountable_mapping(): private writable memory is
  // charged to the commit limit (VM_ACCOUNT), which also decides merges.
  if ((flags & (kVmShared | kVmWrite)) == kVmWrite) {
    vma.vm_flags |= kVmAccount;
  }
  if (!region.file_name().empty()) {
    ASSIGN_OR_RETURN(vma.vm_file, registry.LookupFile(region.file_name()));
    vma.vm_ops = &kFileVmOps;
    vma.vm_pgoff = region.has_pgoff() ? region.pgoff() : 0;
  } else if (!region.special_name().empty()) {
    // Linux: _install_special_mapping() adds VM_DONTEXPAND.
    vma.vm_ops = &kSpecialVmOps;
    vma.special_name = region.special_name();
    vma.vm_flags |= kVmDontexpand;
    vma.vm_pgoff = region.has_pgoff() ? region.pgoff() : 0;
  } else if ((vma.vm_flags & kVmShared) != 0 && vma.vm_end > vma.vm_start) {
    // A shared anonymous region is shmem on a /dev/zero inode in Linux.
    vma.vm_file = NewShmemFile(vma.vm_end - vma.vm_start);
    vma.vm_ops = &kShmemVmOps;
    vma.vm_pgoff = region.has_pgoff() ? region.pgoff() : 0;
  } else {
    vma.vm_pgoff =
        region.has_pgoff() ? region.pgoff() : vma.vm_start >> kPageShift;
  }
  return vma;
}

}  // namespace

void VmaToProto(const Vma& vma, v1::VmaInfo* out) {
  out->set_start(vma.vm_start);
  out->set_end(vma.vm_end);
  out->set_vm_flags(vma.vm_flags);
  out->set_perms(VmaPermString(vma.vm_flags));
  out->set_pgoff(vma.vm_pgoff);
  if (vma.vm_file != nullptr) {
    out->set_file_name(vma.vm_file->name);
    out->set_inode(vma.vm_file->ino);
    out->set_dev_major(vma.vm_file->dev_major);
    out->set_dev_minor(vma.vm_file->dev_minor);
  }
  out->set_anon_vma(vma.anon_vma);
  out->set_special_name(vma.special_name);
  out->set_page_prot(vma.vm_page_prot());
}

void FileToProto(const SimFile& file, v1::FileInfo* out) {
  out->set_name(file.name);
  out->set_size(file.size);
  out->set_mode(file.mode);
  out->set_inode(file.ino);
  out->set_dev_major(file.dev_major);
  out->set_dev_minor(file.dev_minor);
}

void RlimitsToProto(const Rlimits& rlimits, v1::Rlimits* out) {
  RlimitToProto(rlimits.as, out->mutable_as());
  RlimitToProto(rlimits.data, out->mutable_data());
  RlimitToProto(rlimits.stack, out->mutable_stack());
  RlimitToProto(rlimits.memlock, out->mutable_memlock());
}

void MmToProto(int pid, const MmStruct& mm, v1::GetMmResponse* out) {
  const MmCounters counters = mm.Counters();
  const MmConfig config = mm.config();
  out->set_pid(pid);
  out->set_map_count(counters.map_count);
  out->set_total_vm(counters.total_vm);
  out->set_locked_vm(counters.locked_vm);
  out->set_data_vm(counters.data_vm);
  out->set_exec_vm(counters.exec_vm);
  out->set_stack_vm(counters.stack_vm);
  out->set_hiwater_vm(counters.hiwater_vm);
  out->set_def_flags(counters.def_flags);
  LayoutToProto(counters.layout, out->mutable_layout());
  out->set_mmap_base(counters.mmap_base);
  out->set_mm_users(counters.mm_users);
  out->set_mm_count(counters.mm_count);
  RlimitsToProto(config.rlimits, out->mutable_rlimits());
  out->set_max_map_count(config.max_map_count);
  out->set_mmap_min_addr(config.mmap_min_addr);
  PageStatsToProto(mm.PageStats(), out->mutable_pages());
  out->set_mm_id(mm.mm_id);
}

void PageStatsToProto(const MmPageStats& pages, v1::PageStats* out) {
  out->set_rss_anon(pages.rss.anon);
  out->set_rss_file(pages.rss.file);
  out->set_rss_shmem(pages.rss.shmem);
  out->set_rss_swap(pages.rss.swap);
  out->set_hiwater_rss(pages.hiwater_rss);
  out->set_pgtable_pages(pages.pgtable_pages);
  out->set_min_flt(pages.min_flt);
  out->set_maj_flt(pages.maj_flt);
  out->set_cow_faults(pages.cow_faults);
  out->set_segv_maperr(pages.segv_maperr);
  out->set_segv_accerr(pages.segv_accerr);
  out->set_vmalloc_syncs(pages.vmalloc_syncs);
  out->set_cpu_vm_mask(pages.cpu_vm_mask);
}

void TouchResultToProto(const TouchResult& result, v1::TouchResponse* out) {
  // Core's enums and the proto's are in the same order, the proto's
  // shifted by one for UNSPECIFIED = 0.
  out->set_kind(static_cast<v1::FaultKind>(static_cast<int>(result.fault.kind) +
                                           v1::FAULT_KIND_NONE));
  out->set_source(static_cast<v1::FaultSource>(
      static_cast<int>(result.fault.source) + v1::FAULT_SOURCE_NONE));
  out->set_si_code(result.fault.si_code);
  out->set_stack_expanded(result.fault.stack_expanded);
  out->set_vmalloc_synced(result.fault.vmalloc_synced);
  out->set_oom_victim_pid(result.oom_victim_pid);
  out->set_oom_killed_self(result.oom_killed_self);
}

void SmapsToProto(const VmaSmaps& smaps, v1::SmapsRegion* out) {
  VmaToProto(smaps.vma, out->mutable_vma());
  const SmapsCounts& c = smaps.counts;
  v1::SmapsCounts* o = out->mutable_counts();
  o->set_rss(c.rss);
  o->set_pss(c.pss_shifted >> kPssShift);
  o->set_pss_dirty(c.pss_dirty_shifted >> kPssShift);
  o->set_shared_clean(c.shared_clean);
  o->set_shared_dirty(c.shared_dirty);
  o->set_private_clean(c.private_clean);
  o->set_private_dirty(c.private_dirty);
  o->set_referenced(c.referenced);
  o->set_anonymous(c.anonymous);
  o->set_swap(c.swap);
  o->set_locked(c.locked_shifted >> kPssShift);
}

void TaskToProto(const TaskInfo& task, v1::TaskInfo* out) {
  out->set_pid(task.pid);
  out->set_tgid(task.tgid);
  out->set_ppid(task.ppid);
  // Same order as core's TaskKind, shifted by one for UNSPECIFIED = 0.
  out->set_kind(static_cast<v1::TaskKind>(static_cast<int>(task.kind) +
                                          v1::TASK_KIND_PROCESS));
  out->set_comm(task.comm);
  out->set_cpu(task.cpu);
  out->set_mm_id(task.mm_id);
  out->set_active_mm_id(task.active_mm_id);
}

void MmInfoToProto(const MmInfo& mm, v1::MmInfo* out) {
  out->set_mm_id(mm.mm_id);
  out->set_mm_users(mm.mm_users);
  out->set_mm_count(mm.mm_count);
  out->set_on_mmlist(mm.on_mmlist);
  out->set_is_init_mm(mm.is_init_mm);
  for (int pid : mm.pids) out->add_pids(pid);
  out->set_map_count(mm.counters.map_count);
  out->set_total_vm(mm.counters.total_vm);
  out->set_locked_vm(mm.counters.locked_vm);
  out->set_data_vm(mm.counters.data_vm);
  out->set_exec_vm(mm.counters.exec_vm);
  out->set_stack_vm(mm.counters.stack_vm);
  out->set_hiwater_vm(mm.counters.hiwater_vm);
  PageStatsToProto(mm.pages, out->mutable_pages());
}

void CpuToProto(const CpuInfo& cpu, v1::CpuInfo* out) {
  out->set_cpu(cpu.cpu);
  out->set_curr_pid(cpu.curr_pid);
  out->set_active_mm_id(cpu.active_mm_id);
}

void LockStatToProto(const LockStat& in, v1::LockStat* out) {
  out->set_lock(std::string(in.lock_name));
  out->set_mode(std::string(in.mode_name));
  out->set_acquisitions(in.acquisitions);
  out->set_contended(in.contended);
  out->set_wait_ns_total(in.wait_ns_total);
  out->set_hold_ns_total(in.hold_ns_total);
  for (uint64_t count : in.wait_buckets) out->add_wait_buckets(count);
  for (uint64_t count : in.hold_buckets) out->add_hold_buckets(count);
}

void StatsToProto(const SystemStats& stats, const std::vector<OomEvent>& ooms,
                  v1::GetSystemStatsResponse* out) {
  out->set_processes(stats.processes);
  out->set_lwps(stats.lwps);
  out->set_kernel_threads(stats.kernel_threads);
  out->set_mmlist_nr(stats.mmlist_nr);
  out->set_mm_descriptors(stats.mm_descriptors);
  v1::PhysStats* phys = out->mutable_phys();
  phys->set_frames_total(stats.phys.frames_total);
  phys->set_frames_free(stats.phys.frames_free);
  phys->set_page_cache_pages(stats.phys.page_cache_pages);
  phys->set_swap_total(stats.phys.swap_total);
  phys->set_swap_free(stats.phys.swap_free);
  phys->set_swap_cache_pages(stats.phys.swap_cache_pages);
  phys->set_kernel_pages(stats.phys.kernel_pages);
  phys->set_swap_outs(stats.phys.swap_outs);
  phys->set_swap_ins(stats.phys.swap_ins);
  out->set_oom_kills(stats.oom_kills);
  out->set_vmalloc_pages(stats.vmalloc_pages);
  out->set_forks(stats.forks);
  out->set_clones(stats.clones);
  out->set_execs(stats.execs);
  out->set_exits(stats.exits);
  out->set_reclaim_runs(stats.reclaim_runs);
  for (const OomEvent& e : ooms) {
    v1::OomEvent* o = out->add_oom_events();
    o->set_victim_pid(e.victim_pid);
    o->set_victim_mm_id(e.victim_mm_id);
    o->set_rss_pages(e.rss_pages);
    o->set_swap_pages(e.swap_pages);
    o->set_triggered_by_pid(e.triggered_by_pid);
  }
}

absl::Status ValidatePid(int pid) {
  if (pid <= 0) return MalformedRequest("pid must be > 0");
  return absl::OkStatus();
}

absl::StatusOr<FaultAccess> FaultAccessFromProto(v1::FaultAccess access) {
  switch (access) {
    case v1::FAULT_ACCESS_READ:
      return FaultAccess::kRead;
    case v1::FAULT_ACCESS_WRITE:
      return FaultAccess::kWrite;
    case v1::FAULT_ACCESS_EXEC:
      return FaultAccess::kExec;
    default:
      return MalformedRequest("access is unset or unknown");
  }
}

absl::StatusOr<MmConfig> MmConfigFromProto(const MmConfig& defaults,
                                           const v1::MmConfig& config) {
  MmConfig out = defaults;
  if (config.has_mmap_base()) out.mmap_base = config.mmap_base();
  if (config.has_mmap_min_addr()) out.mmap_min_addr = config.mmap_min_addr();
  if (config.has_max_map_count()) {
    if (config.max_map_count() <= 0) {
      return MalformedRequest("config.max_map_count must be > 0");
    }
    out.max_map_count = config.max_map_count();
  }
  out.cap_ipc_lock = config.cap_ipc_lock();
  const v1::Rlimits& r = config.rlimits();
  RETURN_IF_ERROR(MergeRlimit(r.has_as(), r.as(), &out.rlimits.as));
  RETURN_IF_ERROR(MergeRlimit(r.has_data(), r.data(), &out.rlimits.data));
  RETURN_IF_ERROR(MergeRlimit(r.has_stack(), r.stack(), &out.rlimits.stack));
  RETURN_IF_ERROR(
      MergeRlimit(r.has_memlock(), r.memlock(), &out.rlimits.memlock));
  return out;
}

ExecImage ExecImageFromProto(const v1::ExecImage& image) {
  ExecImage out;
  if (image.has_exe_name()) out.exe_name = image.exe_name();
  if (image.has_code_bytes()) out.code_bytes = image.code_bytes();
  if (image.has_data_bytes()) out.data_bytes = image.data_bytes();
  if (image.has_bss_bytes()) out.bss_bytes = image.bss_bytes();
  if (image.has_heap_bytes()) out.heap_bytes = image.heap_bytes();
  if (image.has_stack_bytes()) out.stack_bytes = image.stack_bytes();
  if (image.has_arg_bytes()) out.arg_bytes = image.arg_bytes();
  if (image.has_env_bytes()) out.env_bytes = image.env_bytes();
  return out;
}

absl::StatusOr<ProcessDescription> DescriptionFromProto(
    const v1::ProcessDescription& desc, const MmConfig& config,
    const MmRegistry& registry) {
  ProcessDescription out;
  out.config = config;
  out.layout = LayoutFromProto(desc.layout());
  out.vmas.reserve(desc.regions_size());
  for (const v1::RegionSpec& region : desc.regions()) {
    ASSIGN_OR_RETURN(Vma vma, RegionFromProto(region, registry));
    out.vmas.push_back(std::move(vma));
  }
  return out;
}

absl::StatusOr<uint64_t> VmFlagsFromPerms(absl::string_view perms) {
  if (perms.size() != 3 && perms.size() != 4) {
    return MalformedRequest(
        absl::StrCat("perms \"", perms, "\" is not like \"rw-p\""));
  }
  // Linux sets every VM_MAY* bit on mappings that could later gain them.
  uint64_t flags = kVmMayread | kVmMaywrite | kVmMayexec;
  const char want[] = {'r', 'w', 'x'};
  const uint64_t bit[] = {kVmRead, kVmWrite, kVmExec};
  for (int i = 0; i < 3; ++i) {
    if (perms[i] == want[i]) {
      flags |= bit[i];
    } else if (perms[i] != '-') {
      return MalformedRequest(absl::StrCat("bad perms \"", perms, "\""));
    }
  }
  if (perms.size() == 4) {
    if (perms[3] == 's') {
      flags |= kVmShared | kVmMayshare;
    } else if (perms[3] != 'p') {
      return MalformedRequest(absl::StrCat("bad perms \"", perms, "\""));
    }
  }
  return flags;
}

absl::StatusOr<MmapArgs> MmapArgsFromProto(const v1::MmapRequest& req,
                                           const MmRegistry& registry) {
  MmapArgs args;
  args.addr = req.addr();
  args.len = req.len();
  args.prot = req.prot();
  args.flags = req.flags();
  args.offset = req.offset();
  bool read = true;
  bool write = false;
  switch (req.open_mode()) {
    case v1::OPEN_MODE_UNSPECIFIED:
    case v1::OPEN_MODE_READ:
      break;
    case v1::OPEN_MODE_WRITE:
      read = false;
      write = true;
      break;
    case v1::OPEN_MODE_READ_WRITE:
      write = true;
      break;
    default:
      return MalformedRequest("unknown open_mode");
  }
  // Linux ignores the descriptor of a MAP_ANONYMOUS mapping; without
  // MAP_ANONYMOUS and without a file, core answers EBADF as mmap(2) would.
  if ((args.flags & kMapAnonymous) != 0 || req.file().empty()) return args;
  ASSIGN_OR_RETURN(args.file, registry.LookupFile(req.file()));
  ASSIGN_OR_RETURN(args.file_mode,
                   MmRegistry::OpenMode(*args.file, read, write));
  return args;
}

absl::StatusOr<RlimitResource> RlimitResourceFromProto(
    v1::RlimitResource resource) {
  switch (resource) {
    case v1::RLIMIT_RESOURCE_AS:
      return RlimitResource::kAs;
    case v1::RLIMIT_RESOURCE_DATA:
      return RlimitResource::kData;
    case v1::RLIMIT_RESOURCE_STACK:
      return RlimitResource::kStack;
    case v1::RLIMIT_RESOURCE_MEMLOCK:
      return RlimitResource::kMemlock;
    default:
      return MalformedRequest("resource is unset or unknown");
  }
}

Rlimit RlimitOf(const Rlimits& rlimits, RlimitResource resource) {
  switch (resource) {
    case RlimitResource::kAs:
      return rlimits.as;
    case RlimitResource::kData:
      return rlimits.data;
    case RlimitResource::kStack:
      return rlimits.stack;
    case RlimitResource::kMemlock:
      return rlimits.memlock;
  }
  return Rlimit();
}

}  // namespace mmsim::server
