// /proc/PID/smaps and the memory part of /proc/PID/status.
// Linux: fs/proc/task_mmu.c show_smap(), smaps_account(),
// show_smap_vma_flags(), task_mem().
#include <algorithm>
#include <string>

#include "absl/strings/str_format.h"
#include "core/mm_struct.h"

namespace mmsim {
namespace {

constexpr int kPssShift = 12;

// Linux: show_smap_vma_flags(): two letters per set bit, in bit order.
std::string VmFlagsLine(uint64_t flags) {
  static constexpr const char* kNames[64] = {
      "rd", "wr", "ex", "sh", "mr", "mw", "me", "ms",  // 0-7
      "gd", "um", "pf", "",   "uw", "lo", "io", "sr",  // 8-15
      "rr", "dc", "de", "lf", "ac", "nr", "ht", "sf",  // 16-23
      "ar", "wf", "dd", "sd", "mm", "hg", "nh", "mg",  // 24-31
      "",   "",   "",   "",   "",   "ss", "",   "",    // 32-39
      "dp", "ui", "sl",                                // 40-42
  };
  std::string out = "VmFlags: ";
  for (int bit = 0; bit < 64; ++bit) {
    if (!(flags & (uint64_t{1} << bit))) continue;
    const char* name = kNames[bit];
    if (name == nullptr) name = "??";
    if (*name == '\0') continue;
    out += name;
    out += ' ';
  }
  out += '\n';
  return out;
}

// SEQ_PUT_DEC: the label padded to 16, the kB value right-aligned in 8.
void PutKb(std::string* out, const char* label, uint64_t bytes) {
  absl::StrAppendFormat(out, "%-16s%8u kB\n", label, bytes >> 10);
}

}  // namespace

SmapsCounts MmStruct::SmapsOfLocked(const Vma& vma) const {
  SmapsCounts c;
  const bool locked = vma.vm_flags & kVmLocked;
  MutexLock ptl(&page_table_lock_);
  pgd_.ForEach(vma.vm_start, vma.vm_end, [&](uint64_t, uint64_t* pte) {
    const uint64_t value = *pte;
    if (PteIsSwap(value)) {
      c.swap += kPageSize;
      const int count = std::max(phys_->SwapCount(PteSwapSlot(value)), 1);
      c.swap_pss_shifted += (kPageSize << kPssShift) / count;
      return;
    }
    if (!PtePresent(value)) return;
    const uint32_t pfn = PtePfn(value);
    // Linux: vm_normal_page() is NULL for the zero page: not counted.
    if (pfn == PhysMem::kZeroPfn) return;
    const bool dirty = value & kPteDirty;
    const int mapcount = phys_->MapCount(pfn);
    const bool shared = phys_->RefCount(pfn) > 1 && mapcount >= 2;
    const uint64_t pss =
        shared ? (kPageSize << kPssShift) / mapcount : kPageSize << kPssShift;
    c.rss += kPageSize;
    c.pss_shifted += pss;
    if (dirty) c.pss_dirty_shifted += pss;
    if (value & kPteAccessed) c.referenced += kPageSize;
    if (phys_->Kind(pfn) == FrameKind::kAnon) c.anonymous += kPageSize;
    if (locked) c.locked_shifted += pss;
    uint64_t& bucket = shared ? (dirty ? c.shared_dirty : c.shared_clean)
                              : (dirty ? c.private_dirty : c.private_clean);
    bucket += kPageSize;
  });
  return c;
}

std::vector<VmaSmaps> MmStruct::Smaps() const {
  ReadLock lock(&mmap_sem_);
  std::vector<VmaSmaps> out;
  out.reserve(vmas_.size());
  for (const auto& [end, vma] : vmas_) {
    out.push_back(VmaSmaps{*vma, SmapsOfLocked(*vma)});
  }
  return out;
}

std::string MmStruct::ProcSmaps() const {
  ReadLock lock(&mmap_sem_);
  std::string out;
  for (const auto& [end, vma_ptr] : vmas_) {
    const Vma& vma = *vma_ptr;
    const SmapsCounts c = SmapsOfLocked(vma);
    out += MapsLineLocked(vma);
    PutKb(&out, "Size:", vma.vm_end - vma.vm_start);
    PutKb(&out, "KernelPageSize:", kPageSize);
    PutKb(&out, "MMUPageSize:", kPageSize);
    PutKb(&out, "Rss:", c.rss);
    PutKb(&out, "Pss:", c.pss_shifted >> kPssShift);
    PutKb(&out, "Pss_Dirty:", c.pss_dirty_shifted >> kPssShift);
    PutKb(&out, "Shared_Clean:", c.shared_clean);
    PutKb(&out, "Shared_Dirty:", c.shared_dirty);
    PutKb(&out, "Private_Clean:", c.private_clean);
    PutKb(&out, "Private_Dirty:", c.private_dirty);
    PutKb(&out, "Referenced:", c.referenced);
    PutKb(&out, "Anonymous:", c.anonymous);
    PutKb(&out, "KSM:", 0);
    PutKb(&out, "LazyFree:", 0);
    PutKb(&out, "AnonHugePages:", 0);
    PutKb(&out, "ShmemPmdMapped:", 0);
    PutKb(&out, "FilePmdMapped:", 0);
    PutKb(&out, "Shared_Hugetlb:", 0);
    absl::StrAppendFormat(&out, "Private_Hugetlb: %7u kB\n", 0);
    PutKb(&out, "Swap:", c.swap);
    PutKb(&out, "SwapPss:", c.swap_pss_shifted >> kPssShift);
    PutKb(&out, "Locked:", c.locked_shifted >> kPssShift);
    absl::StrAppendFormat(&out, "%-16s%8u\n", "THPeligible:", 0);
    out += VmFlagsLine(vma.vm_flags);
  }
  return out;
}

std::string MmStruct::TaskMem() const {
  ReadLock lock(&mmap_sem_);
  RssCounters rss;
  uint64_t hiwater_rss, pgtable_pages;
  {
    MutexLock ptl(&page_table_lock_);
    rss = rss_;
    hiwater_rss = hiwater_rss_;
    pgtable_pages = pgd_.table_pages();
  }
  const uint64_t kb = kPageSize >> 10;
  // Linux: text is the code's page span, capped at exec_vm; the rest of
  // exec_vm is libraries.
  uint64_t text =
      PageAlign(layout_.end_code) - (layout_.start_code & kPageMask);
  text = std::min(text, exec_vm_ << kPageShift);
  const uint64_t lib = (exec_vm_ << kPageShift) - text;
  std::string out;
  auto line = [&out](const char* label, uint64_t kbytes) {
    absl::StrAppendFormat(&out, "%s\t%8u kB\n", label, kbytes);
  };
  line("VmPeak:", std::max(total_vm_, hiwater_vm_) * kb);
  line("VmSize:", total_vm_ * kb);
  line("VmLck:", locked_vm_ * kb);
  line("VmPin:", 0);
  line("VmHWM:", std::max(rss.resident(), hiwater_rss) * kb);
  line("VmRSS:", rss.resident() * kb);
  line("RssAnon:", rss.anon * kb);
  line("RssFile:", rss.file * kb);
  line("RssShmem:", rss.shmem * kb);
  line("VmData:", data_vm_ * kb);
  line("VmStk:", stack_vm_ * kb);
  line("VmExe:", text >> 10);
  line("VmLib:", lib >> 10);
  line("VmPTE:", pgtable_pages * kb);
  line("VmSwap:", rss.swap * kb);
  line("HugetlbPages:", 0);
  return out;
}

}  // namespace mmsim
