#include "core/vma.h"

namespace mmsim {
namespace {

NopageResult AnonymousNopage(const Vma& /*vma*/, uint64_t /*addr*/,
                             bool write) {
  // A read of untouched private anonymous memory maps the shared zero page;
  // a write allocates a private page (Linux: do_anonymous_page()).
  return write ? NopageResult::kAnonPage : NopageResult::kZeroPage;
}

NopageResult FileNopage(const Vma& vma, uint64_t addr, bool /*write*/) {
  // Linux: filemap_fault(): a page past EOF is SIGBUS.
  uint64_t offset = ((addr - vma.vm_start) >> kPageShift << kPageShift) +
                    (vma.vm_pgoff << kPageShift);
  if (vma.vm_file == nullptr || offset >= PageAlign(vma.vm_file->size)) {
    return NopageResult::kSigbus;
  }
  return NopageResult::kPageCache;
}

NopageResult ShmemNopage(const Vma& vma, uint64_t addr, bool write) {
  // Linux: shmem_fault(): past i_size is SIGBUS as for any file.
  return FileNopage(vma, addr, write) == NopageResult::kSigbus
             ? NopageResult::kSigbus
             : NopageResult::kShmemPage;
}

NopageResult SpecialNopage(const Vma& /*vma*/, uint64_t /*addr*/,
                           bool /*write*/) {
  return NopageResult::kSigbus;
}

void SpecialClose(const Vma& /*vma*/) {}

}  // namespace

const VmOps kAnonymousVmOps = {"anonymous", nullptr, nullptr, AnonymousNopage};
const VmOps kFileVmOps = {"file", nullptr, nullptr, FileNopage};
const VmOps kShmemVmOps = {"shmem", nullptr, nullptr, ShmemNopage};
const VmOps kSpecialVmOps = {"special", nullptr, SpecialClose, SpecialNopage};

uint64_t Vma::vm_page_prot() const {
  // x86-64 PTE bits: _PAGE_PRESENT 0, _PAGE_RW 1, _PAGE_USER 2,
  // _PAGE_ACCESSED 5, _PAGE_PROTNONE (= _PAGE_GLOBAL) 8, _PAGE_NX 63.
  // Private writable mappings start read-only: the first write
  // copies (Linux: protection_map[] __P010 == PAGE_COPY).
  constexpr uint64_t kPresent = 1, kRw = 2, kUser = 4, kAccessed = 0x20,
                     kProtNone = 0x100, kNx = uint64_t{1} << 63;
  if ((vm_flags & kVmAccessFlags) == 0) return kProtNone | kAccessed | kNx;
  uint64_t prot = kPresent | kUser | kAccessed;
  if ((vm_flags & kVmWrite) && (vm_flags & kVmShared)) prot |= kRw;
  if (!(vm_flags & kVmExec)) prot |= kNx;
  return prot;
}

uint64_t Vma::StartGap(uint64_t guard_gap) const {
  uint64_t start = vm_start;
  if (vm_flags & kVmGrowsdown) {
    start -= guard_gap;
    if (start > vm_start) start = 0;  // wrapped
  }
  return start;
}

std::string VmaPermString(uint64_t vm_flags) {
  std::string s = "----";
  if (vm_flags & kVmRead) s[0] = 'r';
  if (vm_flags & kVmWrite) s[1] = 'w';
  if (vm_flags & kVmExec) s[2] = 'x';
  s[3] = (vm_flags & kVmMayshare) ? 's' : 'p';
  return s;
}

}  // namespace mmsim
