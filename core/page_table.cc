#include "core/page_table.h"

#include <algorithm>
#include <cstdlib>
#include <new>

namespace mmsim {

PageTable::PageTable(bool owns_kernel_half)
    : pgd_(NewTable()), owns_kernel_half_(owns_kernel_half) {}

PageTable::~PageTable() {
  const int last = owns_kernel_half_ ? kEntries : kKernelPgdFirst;
  for (int i = 0; i < last; ++i) {
    if (pgd_->e[i] & kPtePresent) FreeTable(Child(pgd_->e[i]), 3);
  }
  ::operator delete (pgd_, std::align_val_t{4096});
}

PageTable::Table* PageTable::NewTable() {
  void* raw = ::operator new (sizeof(Table), std::align_val_t{4096});
  Table* table = new (raw) Table();
  ++table_pages_;
  return table;
}

void PageTable::FreeTable(Table* table, int level) {
  // level: 3 = pud table, 2 = pmd table, 1 = pte table.
  if (level > 1) {
    for (uint64_t entry : table->e) {
      if (entry & kPtePresent) FreeTable(Child(entry), level - 1);
    }
  }
  ::operator delete (table, std::align_val_t{4096});
  --table_pages_;
}

uint64_t* PageTable::Lookup(uint64_t addr) const {
  uint64_t entry = pgd_->e[PgdIndex(addr)];
  if (!(entry & kPtePresent)) return nullptr;
  entry = Child(entry)->e[(addr >> 30) & 511];
  if (!(entry & kPtePresent)) return nullptr;
  entry = Child(entry)->e[(addr >> 21) & 511];
  if (!(entry & kPtePresent)) return nullptr;
  return &Child(entry)->e[(addr >> 12) & 511];
}

uint64_t* PageTable::Alloc(uint64_t addr) {
  uint64_t* entry = &pgd_->e[PgdIndex(addr)];
  const int shifts[3] = {30, 21, 12};
  for (int shift : shifts) {
    if (!(*entry & kPtePresent)) {
      *entry = reinterpret_cast<uint64_t>(NewTable()) | kPtePresent | kPteRw |
               kPteUser;
    }
    entry = &Child(*entry)->e[(addr >> shift) & 511];
  }
  return entry;
}

bool PageTable::FreeIfEmpty(uint64_t* entry, int level, uint64_t base,
                            uint64_t start, uint64_t end) {
  // `entry` points at a table of `level` covering [base, base + span).
  if (!(*entry & kPtePresent)) return true;
  const int shift = 12 + 9 * (level - 1);  // span of one entry of the table
  const uint64_t span = uint64_t{1} << (shift + 9);
  Table* table = Child(*entry);
  // Free only a table that lies wholly inside the range (free_pgtables'
  // floor and ceiling keep tables shared with neighbouring regions). Only
  // such a table needs all its entries read; of the others, only the
  // children that overlap the range are visited.
  const bool within = base >= start && base + span <= end;
  const int first = start <= base ? 0
                                  : static_cast<int>(std::min<uint64_t>(
                                        (start - base) >> shift, kEntries));
  const int last =
      end - 1 >= base + span - 1
          ? kEntries - 1
          : static_cast<int>((end - 1 - base) >> shift);  // inclusive
  bool empty = true;
  for (int i = within ? 0 : first; i <= (within ? kEntries - 1 : last); ++i) {
    if (level > 1 && i >= first && i <= last) {
      if (!FreeIfEmpty(&table->e[i], level - 1,
                       base + (uint64_t{1} << shift) * i, start, end)) {
        empty = false;
      }
    } else if (table->e[i] != 0) {
      empty = false;
    }
  }
  if (empty && within) {
    ::operator delete (table, std::align_val_t{4096});
    --table_pages_;
    *entry = 0;
    return true;
  }
  return false;
}

void PageTable::FreeEmptyTables(uint64_t start, uint64_t end) {
  for (int i = 0; i < kKernelPgdFirst; ++i) {
    const uint64_t lo = static_cast<uint64_t>(i) << 39;
    const uint64_t hi = lo + (uint64_t{1} << 39);
    if (hi <= start || lo >= end) continue;
    // The pud table under a pgd entry is freed like the others.
    FreeIfEmpty(&pgd_->e[i], 3, lo, start, end);
  }
}

}  // namespace mmsim
