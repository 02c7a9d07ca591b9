// Simulated physical memory: the frame pool (Linux: struct page array and
// the buddy allocator), the page cache of every simulated file (Linux:
// address_space i_pages) and the swap area (Linux: swap_info_struct with its
// swap_map and the swap cache).
//
// Frames are numbered by pfn. pfn 0 is the shared zero page: never
// allocated, never freed, mapped read-only by read faults on anonymous
// memory. A frame's reference count counts page-table mappings plus the
// page cache's or swap cache's own reference; its map count counts
// page-table mappings only.
//
// Locks (leaves of the order in core/mm_struct.h): cache_lock_ (page cache)
// is taken before alloc_lock_ (free lists, swap map, swap cache). Reference
// and map counts are atomics, so mapping and unmapping an existing frame
// takes no lock.
#ifndef MMSIM_CORE_PHYS_MEM_H_
#define MMSIM_CORE_PHYS_MEM_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "core/locks.h"

namespace mmsim {

class MmStruct;

enum class FrameKind : uint8_t { kFree, kAnon, kFile, kShmem, kKernel };

struct PhysMemConfig {
  uint64_t frames = uint64_t{1} << 20;      // simulated RAM: 4 GiB
  uint64_t swap_pages = uint64_t{1} << 20;  // swap area: 4 GiB
  // Reclaim runs when free frames fall below low and stops at high
  // (Linux: zone watermarks). 0 means a default of frames / 64 and / 32.
  uint64_t low_watermark = 0;
  uint64_t high_watermark = 0;
};

// Frees frames when the pool runs dry (implemented by the system, which
// owns mmlist). `locked_mm`, when not null, is an mm whose mmap_sem the
// caller holds (in either mode): the reclaimer must not lock it again.
class Reclaimer {
 public:
  virtual ~Reclaimer() = default;
  // Returns how many frames it freed.
  virtual uint64_t Reclaim(uint64_t target, MmStruct* locked_mm) = 0;
};

struct PhysMemStats {
  uint64_t frames_total = 0;
  uint64_t frames_free = 0;
  uint64_t page_cache_pages = 0;
  uint64_t swap_total = 0;
  uint64_t swap_free = 0;
  uint64_t swap_cache_pages = 0;
  uint64_t kernel_pages = 0;
  uint64_t swap_outs = 0;  // pages written to swap (their frames freed)
  uint64_t swap_ins = 0;   // pages read back from swap
};

class PhysMem {
 public:
  static constexpr uint32_t kZeroPfn = 0;

  explicit PhysMem(const PhysMemConfig& config = PhysMemConfig());
  PhysMem(const PhysMem&) = delete;
  PhysMem& operator=(const PhysMem&) = delete;

  const PhysMemConfig& config() const { return config_; }

  // --- frames ---

  // Returns a frame with reference count 1 and map count 0, or nullopt
  // when every frame is in use.
  std::optional<uint32_t> AllocFrame(FrameKind kind)
      ABSL_LOCKS_EXCLUDED(alloc_lock_);
  // AllocFrame, and when the pool is empty asks the reclaimer once.
  std::optional<uint32_t> AllocFrameOrReclaim(FrameKind kind,
                                              MmStruct* locked_mm)
      ABSL_LOCKS_EXCLUDED(alloc_lock_, cache_lock_);
  void GetFrame(uint32_t pfn);
  // Drops a reference; the last one frees the frame (and its swap cache
  // link).
  void PutFrame(uint32_t pfn) ABSL_LOCKS_EXCLUDED(alloc_lock_);
  void MapFrame(uint32_t pfn);    // map count + 1 (the caller holds a ref)
  void UnmapFrame(uint32_t pfn);  // map count - 1
  int RefCount(uint32_t pfn) const;
  int MapCount(uint32_t pfn) const;
  // The page's dirty flag (see Frame::dirty).
  void SetDirty(uint32_t pfn);
  bool Dirty(uint32_t pfn) const;
  FrameKind Kind(uint32_t pfn) const;
  uint64_t FreeFrames() const ABSL_LOCKS_EXCLUDED(alloc_lock_);
  // Frames to free to get back above the high watermark (0 if above low).
  uint64_t ReclaimTarget() const ABSL_LOCKS_EXCLUDED(alloc_lock_);

  // --- page cache (file and shmem pages, keyed by inode and pgoff) ---

  // Returns the cached page of (ino, pgoff) with a reference taken for the
  // caller, creating it when absent (*created is set then). nullopt when no
  // frame can be had.
  std::optional<uint32_t> FindOrCreateCachePage(uint64_t ino, uint64_t pgoff,
                                                bool shmem, bool* created,
                                                MmStruct* locked_mm)
      ABSL_LOCKS_EXCLUDED(alloc_lock_, cache_lock_);
  // The cached page of (ino, pgoff) with a reference taken for the caller,
  // or nullopt when it is not cached (never creates one).
  std::optional<uint32_t> FindCachePage(uint64_t ino, uint64_t pgoff)
      ABSL_LOCKS_EXCLUDED(cache_lock_);
  // Whether (ino, pgoff) is in the page cache (Linux: mincore of a file
  // page).
  bool CachePagePresent(uint64_t ino, uint64_t pgoff) const
      ABSL_LOCKS_EXCLUDED(cache_lock_);
  // Drops every page of `ino` in [first, last] pgoff that no mm maps
  // (Linux: shmem hole punch, MADV_REMOVE). Returns the pages dropped.
  uint64_t DropCachePages(uint64_t ino, uint64_t first, uint64_t last)
      ABSL_LOCKS_EXCLUDED(alloc_lock_, cache_lock_);
  // Frees up to `target` clean file pages that no mm maps (Linux:
  // shrink_page_cache). Shmem pages stay. Returns the pages freed.
  uint64_t ShrinkPageCache(uint64_t target)
      ABSL_LOCKS_EXCLUDED(alloc_lock_, cache_lock_);

  // --- swap (slots numbered from 1) ---

  // Returns the swap slot of anonymous frame `pfn`, allocating one and
  // entering the frame in the swap cache when it has none. Each call takes
  // one reference on the slot for the swap pte the caller writes.
  std::optional<uint32_t> SwapOutFrame(uint32_t pfn)
      ABSL_LOCKS_EXCLUDED(alloc_lock_);
  // Takes another reference on a slot (fork copies a swap pte).
  void SwapDup(uint32_t slot) ABSL_LOCKS_EXCLUDED(alloc_lock_);
  // Drops a reference; the last one frees the slot.
  void SwapFree(uint32_t slot) ABSL_LOCKS_EXCLUDED(alloc_lock_);
  int SwapCount(uint32_t slot) const ABSL_LOCKS_EXCLUDED(alloc_lock_);
  // Brings a slot's page into a frame: the swap cache's frame when it is
  // still there (*major = false), else a new frame read from swap (*major =
  // true). The frame comes with a reference for the caller and stays in the
  // swap cache while the slot lives.
  std::optional<uint32_t> SwapIn(uint32_t slot, bool* major,
                                 MmStruct* locked_mm)
      ABSL_LOCKS_EXCLUDED(alloc_lock_, cache_lock_);

  PhysMemStats Stats() const ABSL_LOCKS_EXCLUDED(alloc_lock_, cache_lock_);

  void set_reclaimer(Reclaimer* reclaimer) { reclaimer_.store(reclaimer); }

 private:
  struct Frame {
    std::atomic<int32_t> refcount{0};
    std::atomic<int32_t> mapcount{0};
    std::atomic<FrameKind> kind{FrameKind::kFree};
    uint32_t swap_slot = 0;  // guarded by alloc_lock_; 0 = none
    // A file or shmem page written through a mapping since it was
    // allocated (Linux: the folio's dirty flag, set from the pte when the
    // page is unmapped). mmsim never writes pages back, so it stays set.
    std::atomic<bool> dirty{false};
  };
  struct CacheKey {
    uint64_t ino;
    uint64_t pgoff;
    bool operator==(const CacheKey& o) const {
      return ino == o.ino && pgoff == o.pgoff;
    }
    template <typename H>
    friend H AbslHashValue(H h, const CacheKey& k) {
      return H::combine(std::move(h), k.ino, k.pgoff);
    }
  };

  std::optional<uint32_t> AllocFrameLocked(FrameKind kind)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(alloc_lock_);
  void FreeFrameLocked(uint32_t pfn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(alloc_lock_);
  void SwapFreeLocked(uint32_t slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(alloc_lock_);

  const PhysMemConfig config_;
  const uint64_t low_watermark_;
  const uint64_t high_watermark_;
  std::unique_ptr<Frame[]> frames_;
  std::atomic<Reclaimer*> reclaimer_{nullptr};
  std::atomic<uint64_t> swap_outs_{0}, swap_ins_{0};

  mutable Mutex cache_lock_ ABSL_ACQUIRED_BEFORE(alloc_lock_){
      LockClass::kPagecacheLock};
  absl::flat_hash_map<CacheKey, uint32_t> page_cache_
      ABSL_GUARDED_BY(cache_lock_);

  mutable Mutex alloc_lock_{LockClass::kZoneLock};
  std::vector<uint32_t> free_frames_ ABSL_GUARDED_BY(alloc_lock_);
  uint64_t never_used_ ABSL_GUARDED_BY(alloc_lock_) = 1;  // next fresh pfn
  uint64_t frames_free_ ABSL_GUARDED_BY(alloc_lock_) = 0;
  uint64_t kernel_pages_ ABSL_GUARDED_BY(alloc_lock_) = 0;
  // swap_map_[slot]: references to the slot; swap_cache_[slot]: its frame
  // while one holds the page (0 = none). Index 0 is unused.
  std::vector<int32_t> swap_map_ ABSL_GUARDED_BY(alloc_lock_);
  std::vector<uint32_t> swap_cache_ ABSL_GUARDED_BY(alloc_lock_);
  std::vector<uint32_t> free_slots_ ABSL_GUARDED_BY(alloc_lock_);
  uint64_t slots_never_used_ ABSL_GUARDED_BY(alloc_lock_) = 1;
  uint64_t swap_free_ ABSL_GUARDED_BY(alloc_lock_) = 0;
  uint64_t swap_cache_pages_ ABSL_GUARDED_BY(alloc_lock_) = 0;
};

}  // namespace mmsim

#endif  // MMSIM_CORE_PHYS_MEM_H_
