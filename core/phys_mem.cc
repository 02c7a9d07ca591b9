#include "core/phys_mem.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace mmsim {
namespace {

[[noreturn]] void PhysFail(const char* what) {
  std::fprintf(stderr, "mmsim: PhysMem: %s\n", what);
  std::abort();
}

// Checks the sizes before anything is allocated for them.
uint64_t CheckedFrames(const PhysMemConfig& config) {
  if (config.frames == 0 || config.frames >= (uint64_t{1} << 32) - 1 ||
      config.swap_pages >= (uint64_t{1} << 32) - 1) {
    PhysFail("frames and swap_pages must be in [1, 2^32 - 1)");
  }
  return config.frames;
}

}  // namespace

PhysMem::PhysMem(const PhysMemConfig& config)
    : config_(config),
      low_watermark_(config.low_watermark != 0 ? config.low_watermark
                                               : config.frames / 64),
      high_watermark_(config.high_watermark != 0
                          ? std::max(config.high_watermark, low_watermark_)
                          : std::max(config.frames / 32, low_watermark_)),
      frames_(new Frame[CheckedFrames(config) + 1]) {
  MutexLock lock(&alloc_lock_);
  frames_free_ = config.frames;
  swap_free_ = config.swap_pages;
  swap_map_.assign(config.swap_pages + 1, 0);
  swap_cache_.assign(config.swap_pages + 1, 0);
  frames_[kZeroPfn].kind.store(FrameKind::kKernel);
}

std::optional<uint32_t> PhysMem::AllocFrameLocked(FrameKind kind) {
  uint32_t pfn;
  if (!free_frames_.empty()) {
    pfn = free_frames_.back();
    free_frames_.pop_back();
  } else if (never_used_ <= config_.frames) {
    pfn = static_cast<uint32_t>(never_used_++);
  } else {
    return std::nullopt;
  }
  --frames_free_;
  if (kind == FrameKind::kKernel) ++kernel_pages_;
  Frame& f = frames_[pfn];
  f.refcount.store(1, std::memory_order_relaxed);
  f.mapcount.store(0, std::memory_order_relaxed);
  f.kind.store(kind, std::memory_order_relaxed);
  f.swap_slot = 0;
  f.dirty.store(false, std::memory_order_relaxed);
  return pfn;
}

std::optional<uint32_t> PhysMem::AllocFrame(FrameKind kind) {
  MutexLock lock(&alloc_lock_);
  return AllocFrameLocked(kind);
}

std::optional<uint32_t> PhysMem::AllocFrameOrReclaim(FrameKind kind,
                                                     MmStruct* locked_mm) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::optional<uint32_t> pfn = AllocFrame(kind);
    if (pfn.has_value()) return pfn;
    if (ShrinkPageCache(std::max<uint64_t>(high_watermark_, 1)) > 0) continue;
    Reclaimer* reclaimer = reclaimer_.load();
    if (reclaimer == nullptr) return std::nullopt;
    if (reclaimer->Reclaim(std::max<uint64_t>(high_watermark_, 1), locked_mm) ==
        0) {
      return AllocFrame(kind);
    }
  }
  return AllocFrame(kind);
}

void PhysMem::FreeFrameLocked(uint32_t pfn) {
  Frame& f = frames_[pfn];
  if (f.kind.load() == FrameKind::kFree) PhysFail("double free of a frame");
  if (f.kind.load() == FrameKind::kKernel) --kernel_pages_;
  f.kind.store(FrameKind::kFree, std::memory_order_relaxed);
  f.swap_slot = 0;
  free_frames_.push_back(pfn);
  ++frames_free_;
}

void PhysMem::GetFrame(uint32_t pfn) {
  if (pfn == kZeroPfn) return;
  frames_[pfn].refcount.fetch_add(1, std::memory_order_relaxed);
}

void PhysMem::PutFrame(uint32_t pfn) {
  if (pfn == kZeroPfn) return;
  Frame& f = frames_[pfn];
  int32_t left = f.refcount.fetch_sub(1, std::memory_order_acq_rel) - 1;
  if (left < 0) PhysFail("frame reference count below zero");
  if (left > 1) return;
  MutexLock lock(&alloc_lock_);
  if (left == 0) {
    FreeFrameLocked(pfn);
    return;
  }
  // Only the swap cache holds the page now: it has been written to its
  // slot, so the frame can go (Linux: shrink_folio_list of a swap cache
  // folio).
  if (f.swap_slot != 0 && f.mapcount.load() == 0 && f.refcount.load() == 1) {
    swap_cache_[f.swap_slot] = 0;
    --swap_cache_pages_;
    f.refcount.store(0);
    FreeFrameLocked(pfn);
    swap_outs_.fetch_add(1, std::memory_order_relaxed);
  }
}

void PhysMem::MapFrame(uint32_t pfn) {
  if (pfn == kZeroPfn) return;
  frames_[pfn].mapcount.fetch_add(1, std::memory_order_relaxed);
}

void PhysMem::UnmapFrame(uint32_t pfn) {
  if (pfn == kZeroPfn) return;
  if (frames_[pfn].mapcount.fetch_sub(1, std::memory_order_relaxed) <= 0) {
    PhysFail("frame map count below zero");
  }
}

int PhysMem::RefCount(uint32_t pfn) const {
  return frames_[pfn].refcount.load(std::memory_order_relaxed);
}

int PhysMem::MapCount(uint32_t pfn) const {
  return frames_[pfn].mapcount.load(std::memory_order_relaxed);
}

void PhysMem::SetDirty(uint32_t pfn) {
  frames_[pfn].dirty.store(true, std::memory_order_relaxed);
}

bool PhysMem::Dirty(uint32_t pfn) const {
  return frames_[pfn].dirty.load(std::memory_order_relaxed);
}

FrameKind PhysMem::Kind(uint32_t pfn) const {
  return frames_[pfn].kind.load(std::memory_order_relaxed);
}

uint64_t PhysMem::FreeFrames() const {
  MutexLock lock(&alloc_lock_);
  return frames_free_;
}

uint64_t PhysMem::ReclaimTarget() const {
  MutexLock lock(&alloc_lock_);
  if (frames_free_ >= low_watermark_) return 0;
  return high_watermark_ - frames_free_;
}

// --- page cache ---

std::optional<uint32_t> PhysMem::FindOrCreateCachePage(uint64_t ino,
                                                       uint64_t pgoff,
                                                       bool shmem,
                                                       bool* created,
                                                       MmStruct* locked_mm) {
  *created = false;
  const CacheKey key{ino, pgoff};
  {
    MutexLock lock(&cache_lock_);
    auto it = page_cache_.find(key);
    if (it != page_cache_.end()) {
      GetFrame(it->second);
      return it->second;
    }
  }
  // Allocate outside cache_lock_: reclaim may need to free cache pages.
  std::optional<uint32_t> pfn = AllocFrameOrReclaim(
      shmem ? FrameKind::kShmem : FrameKind::kFile, locked_mm);
  if (!pfn.has_value()) return std::nullopt;
  MutexLock lock(&cache_lock_);
  auto [it, inserted] = page_cache_.emplace(key, *pfn);
  if (!inserted) {
    // Another fault filled the page meanwhile: use its page.
    PutFrame(*pfn);
    GetFrame(it->second);
    return it->second;
  }
  *created = true;
  GetFrame(*pfn);  // the cache's own reference plus the caller's
  return *pfn;
}

std::optional<uint32_t> PhysMem::FindCachePage(uint64_t ino, uint64_t pgoff) {
  MutexLock lock(&cache_lock_);
  auto it = page_cache_.find(CacheKey{ino, pgoff});
  if (it == page_cache_.end()) return std::nullopt;
  GetFrame(it->second);
  return it->second;
}

bool PhysMem::CachePagePresent(uint64_t ino, uint64_t pgoff) const {
  MutexLock lock(&cache_lock_);
  return page_cache_.contains(CacheKey{ino, pgoff});
}

uint64_t PhysMem::DropCachePages(uint64_t ino, uint64_t first, uint64_t last) {
  std::vector<uint32_t> doomed;
  {
    MutexLock lock(&cache_lock_);
    for (auto it = page_cache_.begin(); it != page_cache_.end();) {
      auto cur = it++;
      if (cur->first.ino != ino || cur->first.pgoff < first ||
          cur->first.pgoff > last || MapCount(cur->second) != 0) {
        continue;
      }
      doomed.push_back(cur->second);
      page_cache_.erase(cur);
    }
  }
  for (uint32_t pfn : doomed) PutFrame(pfn);
  return doomed.size();
}

uint64_t PhysMem::ShrinkPageCache(uint64_t target) {
  std::vector<uint32_t> doomed;
  {
    MutexLock lock(&cache_lock_);
    for (auto it = page_cache_.begin();
         it != page_cache_.end() && doomed.size() < target;) {
      auto cur = it++;
      const Frame& f = frames_[cur->second];
      if (f.kind.load() != FrameKind::kFile || f.mapcount.load() != 0 ||
          f.refcount.load() != 1) {
        continue;
      }
      doomed.push_back(cur->second);
      page_cache_.erase(cur);
    }
  }
  for (uint32_t pfn : doomed) PutFrame(pfn);
  return doomed.size();
}

// --- swap ---

std::optional<uint32_t> PhysMem::SwapOutFrame(uint32_t pfn) {
  MutexLock lock(&alloc_lock_);
  Frame& f = frames_[pfn];
  if (f.swap_slot == 0) {
    uint32_t slot;
    if (!free_slots_.empty()) {
      slot = free_slots_.back();
      free_slots_.pop_back();
    } else if (slots_never_used_ <= config_.swap_pages) {
      slot = static_cast<uint32_t>(slots_never_used_++);
    } else {
      return std::nullopt;
    }
    --swap_free_;
    swap_map_[slot] = 0;
    swap_cache_[slot] = pfn;
    ++swap_cache_pages_;
    f.swap_slot = slot;
    f.refcount.fetch_add(1);  // the swap cache's reference
  }
  ++swap_map_[f.swap_slot];
  return f.swap_slot;
}

void PhysMem::SwapDup(uint32_t slot) {
  MutexLock lock(&alloc_lock_);
  if (swap_map_[slot] <= 0) PhysFail("SwapDup of a free slot");
  ++swap_map_[slot];
}

void PhysMem::SwapFreeLocked(uint32_t slot) {
  if (slot == 0 || slot > config_.swap_pages || swap_map_[slot] <= 0) {
    PhysFail("SwapFree of a free slot");
  }
  if (--swap_map_[slot] > 0) return;
  uint32_t pfn = swap_cache_[slot];
  if (pfn != 0) {
    // No pte refers to the slot any more: the page leaves the swap cache.
    swap_cache_[slot] = 0;
    --swap_cache_pages_;
    Frame& f = frames_[pfn];
    f.swap_slot = 0;
    if (f.refcount.fetch_sub(1) == 1) {
      f.refcount.store(0);
      FreeFrameLocked(pfn);
    }
  }
  free_slots_.push_back(slot);
  ++swap_free_;
}

void PhysMem::SwapFree(uint32_t slot) {
  MutexLock lock(&alloc_lock_);
  SwapFreeLocked(slot);
}

int PhysMem::SwapCount(uint32_t slot) const {
  MutexLock lock(&alloc_lock_);
  return swap_map_[slot];
}

std::optional<uint32_t> PhysMem::SwapIn(uint32_t slot, bool* major,
                                        MmStruct* locked_mm) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    {
      MutexLock lock(&alloc_lock_);
      uint32_t cached = swap_cache_[slot];
      if (cached != 0) {
        *major = false;
        frames_[cached].refcount.fetch_add(1);
        return cached;
      }
      std::optional<uint32_t> pfn = AllocFrameLocked(FrameKind::kAnon);
      if (pfn.has_value()) {
        *major = true;
        swap_ins_.fetch_add(1, std::memory_order_relaxed);
        swap_cache_[slot] = *pfn;
        ++swap_cache_pages_;
        frames_[*pfn].swap_slot = slot;
        frames_[*pfn].refcount.store(2);  // the swap cache's and the caller's
        return pfn;
      }
    }
    // No frame: reclaim (without alloc_lock_) and look again.
    std::optional<uint32_t> spare =
        AllocFrameOrReclaim(FrameKind::kAnon, locked_mm);
    if (!spare.has_value()) return std::nullopt;
    PutFrame(*spare);
  }
  return std::nullopt;
}

PhysMemStats PhysMem::Stats() const {
  PhysMemStats stats;
  {
    MutexLock lock(&cache_lock_);
    stats.page_cache_pages = page_cache_.size();
  }
  MutexLock lock(&alloc_lock_);
  stats.frames_total = config_.frames;
  stats.frames_free = frames_free_;
  stats.swap_total = config_.swap_pages;
  stats.swap_free = swap_free_;
  stats.swap_cache_pages = swap_cache_pages_;
  stats.kernel_pages = kernel_pages_;
  stats.swap_outs = swap_outs_.load(std::memory_order_relaxed);
  stats.swap_ins = swap_ins_.load(std::memory_order_relaxed);
  return stats;
}

}  // namespace mmsim
