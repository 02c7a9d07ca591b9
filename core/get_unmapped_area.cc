// Placement of new mappings: x86-64's top-down allocator with the bottom-up
// fallback, hints, the stack guard gap and THP alignment.
// Linux: mm/mmap.c __get_unmapped_area(), mm/vma.c unmapped_area*(),
// arch/x86/kernel/sys_x86_64.c, mm/huge_memory.c __thp_get_unmapped_area().
#include <cerrno>

#include "absl/strings/str_format.h"
#include "core/linux_error.h"
#include "core/mm_struct.h"

namespace mmsim {

absl::StatusOr<uint64_t> MmStruct::GetUnmappedArea(const SimFile* file,
                                                   uint64_t addr, uint64_t len,
                                                   uint64_t pgoff,
                                                   int flags) const {
  ReadLock lock(&mmap_sem_);
  return GetUnmappedAreaLocked(file, addr, len, pgoff, flags, 0);
}

absl::StatusOr<uint64_t> MmStruct::GetUnmappedAreaLocked(
    const SimFile* file, uint64_t addr, uint64_t len, uint64_t pgoff, int flags,
    uint64_t /*vm_flags*/) const {
  if (len > kTaskSize) return LinuxError(ENOMEM, "length exceeds TASK_SIZE");
  absl::StatusOr<uint64_t> result;
  if (file != nullptr && file->shmem) {
    result = ArchGetUnmappedAreaTopdown(addr, len, flags);  // shmem: never THP
  } else if (file != nullptr) {
    if (config_.thp_align_file) {
      result = ThpGetUnmappedArea(addr, len, pgoff << kPageShift, flags);
    } else {
      result = ArchGetUnmappedAreaTopdown(addr, len, flags);
    }
  } else if (flags & kMapShared) {
    result = ArchGetUnmappedAreaTopdown(addr, len, flags);  // shmem
  } else if (config_.thp_align_anon && addr == 0 && len % kPmdSize == 0) {
    // Linux >= 6.7: larger anonymous mappings are THP aligned.
    result = ThpGetUnmappedArea(addr, len, 0, flags);
  } else {
    result = ArchGetUnmappedAreaTopdown(addr, len, flags);
  }
  if (!result.ok()) return result;
  addr = *result;
  if (addr > kTaskSize - len) {
    return LinuxError(ENOMEM, "mapping would end beyond TASK_SIZE");
  }
  if (!PageAligned(addr)) {
    return LinuxError(EINVAL,
                      absl::StrFormat("address %#x is not page aligned", addr));
  }
  // Linux: security_mmap_addr() -> cap_mmap_addr().
  if (addr < config_.mmap_min_addr && !config_.cap_sys_rawio) {
    return LinuxError(EPERM,
                      absl::StrFormat("address %#x below mmap_min_addr", addr));
  }
  return addr;
}

absl::StatusOr<uint64_t> MmStruct::ThpGetUnmappedArea(uint64_t addr,
                                                      uint64_t len,
                                                      uint64_t off,
                                                      int flags) const {
  // Linux: __thp_get_unmapped_area(): ask for len + 2 MiB, then align
  // inside what came back. Any failure falls back to the plain search.
  const uint64_t size = kPmdSize;
  uint64_t off_end = off + len;
  uint64_t off_align = (off + size - 1) & ~(size - 1);
  uint64_t len_pad = len + size;
  if (off_end > off_align && off_end - off_align >= size && len_pad >= len &&
      off + len_pad >= off) {
    absl::StatusOr<uint64_t> ret =
        ArchGetUnmappedAreaTopdown(addr, len_pad, flags);
    if (ret.ok() && *ret != 0) {
      if (*ret == addr) return addr;
      uint64_t off_sub = (off - *ret) & (size - 1);
      if (off_sub == 0) return *ret + size;  // MMF_TOPDOWN
      return *ret + off_sub;
    }
  }
  return ArchGetUnmappedAreaTopdown(addr, len, flags);
}

absl::StatusOr<uint64_t> MmStruct::ArchGetUnmappedAreaTopdown(uint64_t addr0,
                                                              uint64_t len,
                                                              int flags) const {
  if (len > kTaskSize) return LinuxError(ENOMEM, "length exceeds TASK_SIZE");
  if (flags & kMapFixed) return addr0;
  // MAP_32BIT always uses the legacy bottom-up search in [1 GiB, 2 GiB).
  if (flags & kMap32Bit) return ArchGetUnmappedAreaBottomup(addr0, len, flags);
  uint64_t addr = addr0;
  if (addr != 0) {
    addr &= kPageMask;
    // Linux: mmap_address_hint_valid(); x86 checks only the next region's
    // start gap, not the previous region's end.
    if (addr <= kTaskSize - len) {
      const Vma* vma = FindVmaLocked(addr);
      if (vma == nullptr || addr + len <= vma->StartGap()) return addr;
    }
  }
  std::optional<uint64_t> found =
      UnmappedAreaTopdown(len, kPageSize, config_.mmap_base);
  if (found.has_value()) return *found;
  return ArchGetUnmappedAreaBottomup(addr0, len, flags);
}

absl::StatusOr<uint64_t> MmStruct::ArchGetUnmappedAreaBottomup(
    uint64_t addr, uint64_t len, int flags) const {
  // Linux: arch/x86/kernel/sys_x86_64.c arch_get_unmapped_area().
  if (flags & kMapFixed) return addr;
  // Linux: find_start_end().
  uint64_t begin = config_.mmap_legacy_base;
  uint64_t end = kTaskSize;
  if (flags & kMap32Bit) {
    begin = 0x40000000;
    end = 0x80000000;
  }
  if (len > end) return LinuxError(ENOMEM, "length exceeds TASK_SIZE");
  if (addr != 0) {
    addr = PageAlign(addr);
    const Vma* vma = FindVmaLocked(addr);
    if (end - len >= addr &&
        (vma == nullptr || addr + len <= vma->StartGap())) {
      return addr;
    }
  }
  std::optional<uint64_t> found = UnmappedAreaBottomup(len, begin, end);
  if (found.has_value()) return *found;
  return LinuxError(ENOMEM, "no unmapped area large enough");
}

std::optional<uint64_t> MmStruct::UnmappedAreaTopdown(uint64_t len,
                                                      uint64_t low,
                                                      uint64_t high) const {
  // Linux: mm/vma.c unmapped_area_topdown(). Finds the highest hole in
  // [low, high) of at least len bytes; if the region above it grows down
  // and its guard gap reaches into the hole, lowers high and retries.
  // Walks the index of non-empty holes, so packed regions cost nothing.
  if (low < HintMinAddrLocked()) low = HintMinAddrLocked();
  while (high > low && high - low >= len) {
    auto it = holes_.lower_bound(high);  // the hole holding high - 1, or above
    if (it == holes_.end()) {
      if (holes_.empty()) return std::nullopt;
      --it;
    }
    bool retried = false;
    while (true) {
      const uint64_t hole_end = it->first;
      uint64_t lo = std::max(it->second, low);
      uint64_t hi = std::min(hole_end, high);
      if (hi > lo && hi - lo >= len) {
        const Vma* next =
            hole_end < kTaskSize ? FindVmaLocked(hole_end) : nullptr;
        if (next != nullptr && (next->vm_flags & kVmGrowsdown) &&
            next->StartGap() < hi) {
          high = next->StartGap();
          retried = true;
          break;
        }
        return hi - len;
      }
      if (it->second <= low || it == holes_.begin()) return std::nullopt;
      --it;
    }
    if (!retried) return std::nullopt;
  }
  return std::nullopt;
}

std::optional<uint64_t> MmStruct::UnmappedAreaBottomup(uint64_t len,
                                                       uint64_t low,
                                                       uint64_t high) const {
  // Linux: mm/vma.c unmapped_area().
  if (low < HintMinAddrLocked()) low = HintMinAddrLocked();
  while (high > low && high - low >= len) {
    bool retried = false;
    for (auto it = holes_.upper_bound(low); it != holes_.end(); ++it) {
      const uint64_t hole_end = it->first;
      if (it->second >= high) break;
      uint64_t lo = std::max(it->second, low);
      uint64_t hi = std::min(hole_end, high);
      if (hi > lo && hi - lo >= len) {
        const Vma* next =
            hole_end < kTaskSize ? FindVmaLocked(hole_end) : nullptr;
        if (next != nullptr && (next->vm_flags & kVmGrowsdown) &&
            next->StartGap() < lo + len - 1) {
          low = next->vm_end;
          retried = true;
          break;
        }
        return lo;
      }
    }
    if (!retried) return std::nullopt;
  }
  return std::nullopt;
}

void MmStruct::RefreshHolesLocked(uint64_t lo, uint64_t hi) {
  mmap_sem_.AssertHeld();
  // Holes depend only on the mapped set. Recompute those between the last
  // region ending at or before lo and the first starting at or after hi.
  const Vma* before = PrevVmaLocked(lo);
  const uint64_t left = before != nullptr ? before->vm_end : 0;
  auto after = vmas_.upper_bound(hi);
  if (after != vmas_.end() && after->second->vm_start < hi) ++after;
  const uint64_t right =
      after == vmas_.end() ? kTaskSize : after->second->vm_start;
  holes_.erase(holes_.upper_bound(left), holes_.upper_bound(right));
  uint64_t cursor = left;
  for (auto it = vmas_.upper_bound(left);
       it != vmas_.end() && it->second->vm_start <= right; ++it) {
    if (it->second->vm_start > cursor) holes_[it->second->vm_start] = cursor;
    cursor = it->second->vm_end;
  }
  if (cursor < right) holes_[right] = cursor;
}

}  // namespace mmsim
