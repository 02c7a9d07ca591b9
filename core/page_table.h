// A simulated x86-64 page table: four levels (pgd -> pud -> pmd -> pte) of
// 512 eight-byte entries, 4 KiB per table, as the hardware walks it.
// Linux: arch/x86/include/asm/pgtable_64.h, mm/memory.c.
//
// Upper-level entries hold the address of the next table plus the present
// bit. A pte holds a frame number and the x86 bits below, or, when not
// present, a swap entry (slot number) or a guard marker.
//
// Not thread-safe: the owning MmStruct guards it with page_table_lock.
#ifndef MMSIM_CORE_PAGE_TABLE_H_
#define MMSIM_CORE_PAGE_TABLE_H_

#include <cstdint>

namespace mmsim {

// x86-64 pte bits (arch/x86/include/asm/pgtable_types.h).
inline constexpr uint64_t kPtePresent = 1 << 0;
inline constexpr uint64_t kPteRw = 1 << 1;
inline constexpr uint64_t kPteUser = 1 << 2;
inline constexpr uint64_t kPteAccessed = 1 << 5;
inline constexpr uint64_t kPteDirty = 1 << 6;
inline constexpr uint64_t kPteNx = uint64_t{1} << 63;
// Not-present forms (software bits; Linux encodes them differently).
inline constexpr uint64_t kPteSwap = 1 << 9;          // slot in bits 12..
inline constexpr uint64_t kPteGuardMarker = 1 << 10;  // MADV_GUARD_INSTALL
inline constexpr uint64_t kPtePfnMask = 0x000ffffffffff000;

inline bool PtePresent(uint64_t pte) { return pte & kPtePresent; }
inline bool PteIsSwap(uint64_t pte) {
  return !(pte & kPtePresent) && (pte & kPteSwap);
}
inline bool PteIsGuard(uint64_t pte) {
  return !(pte & kPtePresent) && (pte & kPteGuardMarker);
}
inline uint32_t PtePfn(uint64_t pte) {
  return static_cast<uint32_t>((pte & kPtePfnMask) >> 12);
}
inline uint32_t PteSwapSlot(uint64_t pte) {
  return static_cast<uint32_t>((pte & kPtePfnMask) >> 12);
}
inline uint64_t MakePte(uint32_t pfn, uint64_t bits) {
  return (uint64_t{pfn} << 12) | bits | kPtePresent;
}
inline uint64_t MakeSwapPte(uint32_t slot) {
  return (uint64_t{slot} << 12) | kPteSwap;
}

class PageTable {
 public:
  static constexpr int kEntries = 512;
  // pgd slots from this one up map the kernel half (shared with init_mm).
  static constexpr int kKernelPgdFirst = 256;

  // `owns_kernel_half`: init_mm owns the kernel half; a process's pgd only
  // copies entries of it (Linux: pgd_alloc() + sync_global_pgds()).
  explicit PageTable(bool owns_kernel_half = false);
  ~PageTable();
  PageTable(const PageTable&) = delete;
  PageTable& operator=(const PageTable&) = delete;

  // Returns the pte slot of `addr`, or nullptr when a table on the way is
  // missing. Linux: pte_offset_map().
  uint64_t* Lookup(uint64_t addr) const;
  // Returns the pte slot of `addr`, allocating missing tables.
  // Linux: pte_alloc_map().
  uint64_t* Alloc(uint64_t addr);

  // Calls fn(addr, uint64_t* pte) for every non-zero pte in [start, end),
  // in address order. fn may change or clear the pte.
  template <typename Fn>
  void ForEach(uint64_t start, uint64_t end, Fn&& fn) const;

  // Frees the pte, pmd and pud tables of the user half that hold no entry
  // and lie within [start, end) (Linux: free_pgtables()).
  void FreeEmptyTables(uint64_t start, uint64_t end);

  // Pages of page-table memory, the pgd included (Linux:
  // mm_pgtables_bytes() / 4096; VmPTE).
  uint64_t table_pages() const { return table_pages_; }

  uint64_t pgd_entry(int index) const { return pgd_->e[index]; }
  // Copies a kernel-half pgd entry from init_mm (vmalloc sync).
  void set_kernel_pgd_entry(int index, uint64_t entry) {
    pgd_->e[index] = entry;
  }

  static int PgdIndex(uint64_t addr) { return (addr >> 39) & 511; }

 private:
  struct Table {
    uint64_t e[kEntries];
  };
  static Table* Child(uint64_t entry) {
    return reinterpret_cast<Table*>(entry & ~uint64_t{0xfff});
  }
  Table* NewTable();
  void FreeTable(Table* table, int level);  // frees the subtree
  bool FreeIfEmpty(uint64_t* entry, int level, uint64_t base, uint64_t start,
                   uint64_t end);

  uint64_t table_pages_ = 0;  // before pgd_: NewTable() counts the pgd
  Table* pgd_;
  bool owns_kernel_half_;
};

template <typename Fn>
void PageTable::ForEach(uint64_t start, uint64_t end, Fn&& fn) const {
  constexpr uint64_t kPteSpan = uint64_t{1} << 12;
  constexpr uint64_t kPmdSpan = uint64_t{1} << 21;
  constexpr uint64_t kPudSpan = uint64_t{1} << 30;
  constexpr uint64_t kPgdSpan = uint64_t{1} << 39;
  uint64_t addr = start & ~(kPteSpan - 1);
  while (addr < end) {
    const uint64_t pgd = pgd_->e[PgdIndex(addr)];
    if (!(pgd & kPtePresent)) {
      addr = (addr & ~(kPgdSpan - 1)) + kPgdSpan;
      if (addr == 0) return;
      continue;
    }
    const uint64_t pud = Child(pgd)->e[(addr >> 30) & 511];
    if (!(pud & kPtePresent)) {
      addr = (addr & ~(kPudSpan - 1)) + kPudSpan;
      if (addr == 0) return;
      continue;
    }
    const uint64_t pmd = Child(pud)->e[(addr >> 21) & 511];
    if (!(pmd & kPtePresent)) {
      addr = (addr & ~(kPmdSpan - 1)) + kPmdSpan;
      if (addr == 0) return;
      continue;
    }
    Table* ptes = Child(pmd);
    const uint64_t table_end = (addr & ~(kPmdSpan - 1)) + kPmdSpan;
    const uint64_t stop = (table_end == 0 || table_end > end) ? end : table_end;
    for (; addr < stop; addr += kPteSpan) {
      uint64_t* pte = &ptes->e[(addr >> 12) & 511];
      if (*pte != 0) fn(addr, pte);
    }
    if (addr == 0) return;
  }
}

}  // namespace mmsim

#endif  // MMSIM_CORE_PAGE_TABLE_H_
