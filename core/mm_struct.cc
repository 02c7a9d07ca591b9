// MmStruct: construction, the region index, lookups, accounting and the
// invariant checker. The system calls live in files named after their
// Linux counterparts (mmap.cc, munmap.cc, mprotect.cc, ...).
#include "core/mm_struct.h"

#include <cerrno>
#include <cstdlib>
#include <iterator>

#include "absl/strings/str_format.h"
#include "core/linux_error.h"

namespace mmsim {
namespace {

std::atomic<uint64_t> next_anon_vma_id{1};
std::atomic<uint64_t> next_shmem_ino{1};

[[noreturn]] void ValidateFail(const std::string& what) {
  std::fprintf(stderr, "mmsim: ValidateMm failed: %s\n", what.c_str());
  std::abort();
}

}  // namespace

uint64_t NewAnonVmaId() { return next_anon_vma_id.fetch_add(1); }

std::shared_ptr<const SimFile> NewShmemFile(uint64_t len) {
  auto file = std::make_shared<SimFile>();
  file->ino = next_shmem_ino.fetch_add(1);
  file->name = "/dev/zero (deleted)";
  file->size = len;
  file->mode = 0600;
  file->dev_major = 0;
  file->dev_minor = 1;
  file->shmem = true;
  return file;
}

namespace {

// A private pool for an mm made on its own (tests of one mm): 256 MiB.
std::shared_ptr<PhysMem> PrivatePool() {
  PhysMemConfig config;
  config.frames = 65536;
  config.swap_pages = 65536;
  return std::make_shared<PhysMem>(config);
}

}  // namespace

MmStruct::MmStruct(const MmConfig& config, std::shared_ptr<PhysMem> phys,
                   bool kernel)
    : phys_(phys != nullptr ? std::move(phys) : PrivatePool()),
      pgd_(kernel),
      config_(config),
      per_vma_lock_(config.per_vma_lock) {}

MmStruct::~MmStruct() {
  // Pages still mapped go back to the pool (the last mmput has usually
  // released them already through ExitMmap()).
  WriteLock lock(&mmap_sem_);
  ZapRangeLocked(0, kTaskSize);
}

// --- index ---

const Vma* MmStruct::FindVmaLocked(uint64_t addr) const {
  const Vma* cached = mmap_cache_.load(std::memory_order_relaxed);
  if (cached != nullptr && cached->vm_start <= addr && addr < cached->vm_end) {
    return cached;
  }
  auto it = vmas_.upper_bound(addr);
  if (it == vmas_.end()) return nullptr;
  mmap_cache_.store(it->second.get(), std::memory_order_relaxed);
  return it->second.get();
}

const Vma* MmStruct::PrevVmaLocked(uint64_t addr) const {
  // The last region that ends at or before addr.
  auto it = vmas_.upper_bound(addr);
  if (it == vmas_.begin()) return nullptr;
  return std::prev(it)->second.get();
}

Vma* MmStruct::InsertLocked(const Vma& vma) {
  mmap_cache_.store(nullptr, std::memory_order_relaxed);
  auto [it, inserted] = vmas_.emplace(vma.vm_end, std::make_unique<Vma>(vma));
  if (!inserted) ValidateFail("InsertLocked: duplicate vm_end");
  ++map_count_;
  return it->second.get();
}

void MmStruct::EraseLocked(uint64_t vm_end) {
  mmap_cache_.store(nullptr, std::memory_order_relaxed);
  if (vmas_.erase(vm_end) != 1) ValidateFail("EraseLocked: no such region");
  --map_count_;
}

Vma* MmStruct::RekeyLocked(uint64_t old_end, const Vma& updated) {
  mmap_cache_.store(nullptr, std::memory_order_relaxed);
  vmas_.erase(old_end);
  auto [it, inserted] =
      vmas_.emplace(updated.vm_end, std::make_unique<Vma>(updated));
  if (!inserted) ValidateFail("RekeyLocked: duplicate vm_end");
  return it->second.get();
}

// --- accounting ---

void MmStruct::VmStatAccountLocked(uint64_t vm_flags, int64_t pages) {
  // Linux: mm/mmap.c vm_stat_account().
  total_vm_ += pages;
  if ((vm_flags & (kVmExec | kVmWrite | kVmStack)) == kVmExec) {
    exec_vm_ += pages;
  } else if ((vm_flags & kVmStack) == kVmStack) {
    stack_vm_ += pages;
  } else if ((vm_flags & (kVmWrite | kVmShared | kVmStack)) == kVmWrite) {
    data_vm_ += pages;
  }
  if (total_vm_ > hiwater_vm_) hiwater_vm_ = total_vm_;
}

bool MmStruct::MayExpandVmLocked(uint64_t vm_flags, uint64_t pages) const {
  // Linux: mm/mmap.c may_expand_vm().
  if (total_vm_ + pages > (config_.rlimits.as.cur >> kPageShift)) return false;
  if ((vm_flags & (kVmWrite | kVmShared | kVmStack)) == kVmWrite &&
      data_vm_ + pages > (config_.rlimits.data.cur >> kPageShift)) {
    // Workaround for Valgrind, as Linux: RLIMIT_DATA 0 with a max allows.
    if (config_.rlimits.data.cur == 0 &&
        data_vm_ + pages <= (config_.rlimits.data.max >> kPageShift)) {
      return true;
    }
    return false;  // ignore_rlimit_data is off by default
  }
  return true;
}

bool MmStruct::MlockFutureOkLocked(uint64_t vm_flags, uint64_t bytes) const {
  // Linux: mm/mmap.c mlock_future_ok().
  if (!(vm_flags & kVmLocked) || config_.cap_ipc_lock) return true;
  uint64_t locked_pages = (bytes >> kPageShift) + locked_vm_;
  return locked_pages <= (config_.rlimits.memlock.cur >> kPageShift);
}

// --- lookups ---

std::optional<Vma> MmStruct::FindVma(uint64_t addr) const {
  ReadLock lock(&mmap_sem_);
  const Vma* vma = FindVmaLocked(addr);
  if (vma == nullptr) return std::nullopt;
  return *vma;
}

std::pair<std::optional<Vma>, std::optional<Vma>> MmStruct::FindVmaPrev(
    uint64_t addr) const {
  ReadLock lock(&mmap_sem_);
  std::pair<std::optional<Vma>, std::optional<Vma>> result;
  if (const Vma* vma = FindVmaLocked(addr)) result.first = *vma;
  if (const Vma* prev = PrevVmaLocked(addr)) result.second = *prev;
  return result;
}

std::optional<Vma> MmStruct::FindVmaIntersection(uint64_t start,
                                                 uint64_t end) const {
  ReadLock lock(&mmap_sem_);
  const Vma* vma = FindVmaLocked(start);
  if (vma == nullptr || vma->vm_start >= end) return std::nullopt;
  return *vma;
}

std::optional<Vma> MmStruct::VmaLookup(uint64_t addr) const {
  ReadLock lock(&mmap_sem_);
  const Vma* vma = FindVmaLocked(addr);
  if (vma == nullptr || vma->vm_start > addr) return std::nullopt;
  return *vma;
}

std::vector<Vma> MmStruct::Vmas() const {
  ReadLock lock(&mmap_sem_);
  std::vector<Vma> out;
  out.reserve(vmas_.size());
  for (const auto& [end, vma] : vmas_) out.push_back(*vma);
  return out;
}

MmCounters MmStruct::Counters() const {
  ReadLock lock(&mmap_sem_);
  MmCounters c;
  c.map_count = map_count_;
  c.total_vm = total_vm_;
  c.locked_vm = locked_vm_;
  c.data_vm = data_vm_;
  c.exec_vm = exec_vm_;
  c.stack_vm = stack_vm_;
  c.hiwater_vm = hiwater_vm_;
  c.def_flags = def_flags_;
  c.mmap_base = config_.mmap_base;
  c.layout = layout_;
  c.mm_users = mm_users.load();
  c.mm_count = mm_count.load();
  return c;
}

MmConfig MmStruct::config() const {
  ReadLock lock(&mmap_sem_);
  return config_;
}

// --- set-up ---

absl::Status MmStruct::InsertVma(const Vma& vma) {
  if (vma.vm_start >= vma.vm_end || !PageAligned(vma.vm_start) ||
      !PageAligned(vma.vm_end) || vma.vm_end > kTaskSize) {
    return LinuxError(EINVAL, absl::StrFormat("bad region [%#x, %#x)",
                                              vma.vm_start, vma.vm_end));
  }
  MmapWriteGuard lock(this);
  const Vma* next = FindVmaLocked(vma.vm_start);
  if (next != nullptr && next->vm_start < vma.vm_end) {
    return LinuxError(EEXIST, absl::StrFormat("[%#x, %#x) overlaps a region",
                                              vma.vm_start, vma.vm_end));
  }
  InsertLocked(vma);
  RefreshHolesLocked(vma.vm_start, vma.vm_end);
  VmStatAccountLocked(vma.vm_flags, vma.pages());
  if (vma.vm_flags & kVmLocked) locked_vm_ += vma.pages();
  ValidateIfDebugLocked();
  return absl::OkStatus();
}

void MmStruct::SetLayout(const MmLayout& layout) {
  WriteLock lock(&mmap_sem_);
  layout_ = layout;
}

absl::Status MmStruct::SetRlimit(RlimitResource resource, Rlimit limit) {
  if (limit.cur > limit.max) {
    return LinuxError(EINVAL, "rlim_cur exceeds rlim_max");
  }
  WriteLock lock(&mmap_sem_);
  switch (resource) {
    case RlimitResource::kAs:
      config_.rlimits.as = limit;
      break;
    case RlimitResource::kData:
      config_.rlimits.data = limit;
      break;
    case RlimitResource::kStack:
      config_.rlimits.stack = limit;
      break;
    case RlimitResource::kMemlock:
      config_.rlimits.memlock = limit;
      break;
  }
  return absl::OkStatus();
}

// --- invariants ---

void MmStruct::ValidateMm() const {
  ReadLock lock(&mmap_sem_);
  ValidateMmLocked();
}

void MmStruct::ValidateIfDebugLocked() const {
#ifdef MMSIM_VALIDATE_MM
  ValidateMmLocked();
#endif
}

void MmStruct::ValidateMmLocked() const {
  mmap_sem_.AssertReaderHeld();
  uint64_t prev_end = 0;
  int count = 0;
  MmStruct sums;  // reuse the accounting code on a scratch descriptor
  uint64_t locked = 0;
  for (const auto& [key, vma_ptr] : vmas_) {
    const Vma& vma = *vma_ptr;
    if (key != vma.vm_end) ValidateFail("key differs from vm_end");
    if (vma.vm_start >= vma.vm_end) {
      ValidateFail(absl::StrFormat("empty region at %#x", vma.vm_start));
    }
    if (!PageAligned(vma.vm_start) || !PageAligned(vma.vm_end)) {
      ValidateFail(absl::StrFormat("unaligned region at %#x", vma.vm_start));
    }
    if (vma.vm_start < prev_end) {
      ValidateFail(absl::StrFormat("overlap at %#x", vma.vm_start));
    }
    if (vma.vm_end > kTaskSize) ValidateFail("region beyond TASK_SIZE");
    prev_end = vma.vm_end;
    ++count;
    {
      WriteLock scratch(&sums.mmap_sem_);
      sums.VmStatAccountLocked(vma.vm_flags, vma.pages());
    }
    if (vma.vm_flags & kVmLocked) locked += vma.pages();
  }
  if (count != map_count_) {
    ValidateFail(
        absl::StrFormat("map_count %d but %d regions", map_count_, count));
  }
  ReadLock scratch(&sums.mmap_sem_);
  if (sums.total_vm_ != total_vm_ || sums.data_vm_ != data_vm_ ||
      sums.exec_vm_ != exec_vm_ || sums.stack_vm_ != stack_vm_) {
    ValidateFail(absl::StrFormat(
        "vm counters total/data/exec/stack %d/%d/%d/%d, regions sum to "
        "%d/%d/%d/%d",
        total_vm_, data_vm_, exec_vm_, stack_vm_, sums.total_vm_, sums.data_vm_,
        sums.exec_vm_, sums.stack_vm_));
  }
  // locked_vm is at least the VM_LOCKED pages. It can be more: Linux's
  // mremap(MREMAP_DONTUNMAP) clears VM_LOCKED on the old region and keeps
  // counting its pages.
  if (locked > locked_vm_) {
    ValidateFail(absl::StrFormat("locked_vm %d but VM_LOCKED regions sum to %d",
                                 locked_vm_, locked));
  }
  // Invariant 7: holes_ equals the gaps recomputed from scratch.
  {
    absl::btree_map<uint64_t, uint64_t> gaps;
    uint64_t cursor = 0;
    for (const auto& [key, vma_ptr] : vmas_) {
      const Vma& vma = *vma_ptr;
      if (vma.vm_start > cursor) gaps[vma.vm_start] = cursor;
      cursor = vma.vm_end;
    }
    if (cursor < kTaskSize) gaps[kTaskSize] = cursor;
    if (gaps != holes_) ValidateFail("hole index out of date");
  }
  const Vma* cached = mmap_cache_.load(std::memory_order_relaxed);
  if (cached != nullptr) {
    auto it = vmas_.find(cached->vm_end);
    if (it == vmas_.end() || it->second.get() != cached) {
      ValidateFail("mmap_cache points outside the index");
    }
  }
}

}  // namespace mmsim
