#include "core/mm_registry.h"

#include <cerrno>

#include "absl/strings/str_format.h"
#include "core/linux_error.h"
#include "core/status_macros.h"

namespace mmsim {
namespace {

// x86-64 without ASLR: ELF_ET_DYN_BASE for a PIE and STACK_TOP.
constexpr uint64_t kElfEtDynBase = 0x555555554000;
constexpr uint64_t kStackTop = 0x7ffffffff000;

Vma MakeVma(uint64_t start, uint64_t end, uint64_t flags) {
  Vma vma;
  vma.vm_start = start;
  vma.vm_end = end;
  vma.vm_flags = flags | kVmMayread | kVmMaywrite | kVmMayexec;
  vma.vm_pgoff = start >> kPageShift;
  return vma;
}

}  // namespace

absl::Status SetupExecLayout(MmStruct& mm, const ExecImage& image) {
  const uint64_t code = PageAlign(image.code_bytes);
  const uint64_t data = PageAlign(image.data_bytes);
  const uint64_t bss = PageAlign(image.bss_bytes);
  if (code == 0 || image.stack_bytes == 0 ||
      image.stack_bytes > (uint64_t{1} << 32) ||
      code + data + bss + image.heap_bytes > (uint64_t{1} << 40)) {
    return LinuxError(EINVAL, "image sizes out of range");
  }
  auto exe = std::make_shared<SimFile>();
  exe->ino = 1;
  exe->name = image.exe_name;
  exe->size = code + data;
  exe->mode = 0755;
  exe->dev_major = 0xfe;

  MmLayout layout;
  layout.start_code = kElfEtDynBase;
  layout.end_code = kElfEtDynBase + code;
  Vma text = MakeVma(layout.start_code, layout.end_code, kVmRead | kVmExec);
  text.vm_file = exe;
  text.vm_ops = &kFileVmOps;
  text.vm_pgoff = 0;
  RETURN_IF_ERROR(mm.InsertVma(text));

  layout.start_data = layout.end_code;
  layout.end_data = layout.start_data + data;
  if (data != 0) {
    Vma vdata = MakeVma(layout.start_data, layout.end_data,
                        kVmRead | kVmWrite | kVmAccount);
    vdata.vm_file = exe;
    vdata.vm_ops = &kFileVmOps;
    vdata.vm_pgoff = code >> kPageShift;
    RETURN_IF_ERROR(mm.InsertVma(vdata));
  }
  uint64_t bss_end = layout.end_data + bss;
  if (bss != 0) {
    RETURN_IF_ERROR(mm.InsertVma(
        MakeVma(layout.end_data, bss_end, kVmRead | kVmWrite | kVmAccount)));
  }
  layout.start_brk = bss_end;
  layout.brk = bss_end + PageAlign(image.heap_bytes);
  if (layout.brk > layout.start_brk) {
    RETURN_IF_ERROR(mm.InsertVma(MakeVma(layout.start_brk, layout.brk,
                                         kVmRead | kVmWrite | kVmAccount)));
  }

  // The stack: VM_STACK_FLAGS, growing down from STACK_TOP, with the
  // argument and environment strings at its top.
  const uint64_t stack = PageAlign(image.stack_bytes);
  Vma vstack = MakeVma(kStackTop - stack, kStackTop,
                       kVmRead | kVmWrite | kVmGrowsdown | kVmAccount);
  RETURN_IF_ERROR(mm.InsertVma(vstack));
  layout.env_end = kStackTop - 8;
  layout.env_start = layout.env_end - image.env_bytes;
  layout.arg_end = layout.env_start;
  layout.arg_start = layout.arg_end - image.arg_bytes;
  layout.start_stack = (layout.arg_start - 512) & ~uint64_t{15};
  if (layout.start_stack < vstack.vm_start) {
    return LinuxError(EINVAL, "arguments do not fit in the stack");
  }
  mm.SetLayout(layout);

  // [vvar] and [vdso], placed top-down below mmap_base as exec places them.
  ASSIGN_OR_RETURN(uint64_t vvar,
                   mm.GetUnmappedArea(nullptr, 0, 6 * kPageSize, 0, 0));
  Vma vvar_vma = MakeVma(vvar, vvar + 4 * kPageSize, kVmRead);
  vvar_vma.vm_flags = kVmRead | kVmMayread | kVmIo | kVmDontexpand | kVmPfnmap;
  vvar_vma.vm_ops = &kSpecialVmOps;
  vvar_vma.special_name = "[vvar]";
  RETURN_IF_ERROR(mm.InsertVma(vvar_vma));
  Vma vdso =
      MakeVma(vvar + 4 * kPageSize, vvar + 6 * kPageSize, kVmRead | kVmExec);
  vdso.vm_flags = kVmRead | kVmExec | kVmMayread | kVmMayexec | kVmDontexpand;
  vdso.vm_ops = &kSpecialVmOps;
  vdso.special_name = "[vdso]";
  return mm.InsertVma(vdso);
}

absl::StatusOr<std::shared_ptr<const SimFile>> MmRegistry::CreateFile(
    absl::string_view name, uint64_t size, uint32_t mode) {
  if (name.empty() || name[0] != '/' || name.size() > 4096) {
    return LinuxError(EINVAL, "file names are absolute paths");
  }
  if (mode > 07777) return LinuxError(EINVAL, "bad mode");
  WriteLock lock(&table_lock_);
  if (files_.contains(std::string(name))) {
    return LinuxError(EEXIST, absl::StrFormat("%s exists", name));
  }
  auto file = std::make_shared<SimFile>();
  file->ino = next_ino_++;
  file->name = std::string(name);
  file->size = size;
  file->mode = mode;
  file->dev_major = 0xfe;
  file->dev_minor = 0;
  files_.emplace(file->name, file);
  return std::shared_ptr<const SimFile>(file);
}

absl::StatusOr<std::shared_ptr<const SimFile>> MmRegistry::LookupFile(
    absl::string_view name) const {
  ReadLock lock(&table_lock_);
  auto it = files_.find(std::string(name));
  if (it == files_.end()) {
    return LinuxError(ENOENT, absl::StrFormat("no file %s", name));
  }
  return it->second;
}

std::vector<std::shared_ptr<const SimFile>> MmRegistry::Files() const {
  ReadLock lock(&table_lock_);
  std::vector<std::shared_ptr<const SimFile>> out;
  for (const auto& [name, file] : files_) out.push_back(file);
  return out;
}

absl::StatusOr<int> MmRegistry::OpenMode(const SimFile& file, bool read,
                                         bool write) {
  if (!read && !write)
    return LinuxError(EINVAL, "open for neither read nor write");
  int mode = 0;
  if (read) {
    if (!(file.mode & 0400)) return LinuxError(EACCES, "file not readable");
    mode |= kFmodeRead;
  }
  if (write) {
    if (!(file.mode & 0200)) return LinuxError(EACCES, "file not writable");
    mode |= kFmodeWrite;
  }
  return mode;
}

}  // namespace mmsim
