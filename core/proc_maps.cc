// /proc/PID/maps text. Linux: fs/proc/task_mmu.c show_map_vma().
#include <string>

#include "absl/strings/str_format.h"
#include "core/mm_struct.h"

namespace mmsim {

std::string MmStruct::MapsLineLocked(const Vma& vma) const {
  uint64_t pgoff = 0;
  uint32_t major = 0, minor = 0;
  uint64_t ino = 0;
  std::string name;
  if (vma.vm_file != nullptr) {
    pgoff = vma.vm_pgoff << kPageShift;
    major = vma.vm_file->dev_major;
    minor = vma.vm_file->dev_minor;
    ino = vma.vm_file->ino;
    name = vma.vm_file->name;
  } else if (!vma.special_name.empty()) {
    name = vma.special_name;
  } else if (vma.vm_start < layout_.brk && vma.vm_end > layout_.start_brk) {
    // Linux: vma_is_initial_heap(), strict at both ends.
    name = "[heap]";
  } else if (vma.vm_start <= layout_.start_stack &&
             vma.vm_end >= layout_.start_stack) {
    name = "[stack]";
  }
  std::string line = absl::StrFormat(
      "%08x-%08x %s %08x %02x:%02x %u ", vma.vm_start, vma.vm_end,
      VmaPermString(vma.vm_flags), pgoff, major, minor, ino);
  if (!name.empty()) {
    // seq_pad(): names start at column 73.
    if (line.size() < 73) line.append(73 - line.size(), ' ');
    line += name;
  }
  line += '\n';
  return line;
}

std::string MmStruct::ProcMaps() const {
  ReadLock lock(&mmap_sem_);
  std::string out;
  out.reserve(vmas_.size() * 80);
  for (const auto& [key, vma_ptr] : vmas_) out += MapsLineLocked(*vma_ptr);
  return out;
}

}  // namespace mmsim
