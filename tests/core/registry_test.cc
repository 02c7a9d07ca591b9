// MmRegistry: processes and files.
#include <cerrno>

#include "core/mm_registry.h"
#include "tests/testing/mm_fixture.h"

namespace mmsim::testing {
namespace {

TEST(RegistryTest, CreateLookupRemove) {
  MmRegistry registry;
  absl::StatusOr<int> pid = registry.CreateProcess(ExecImage(), MmConfig());
  ASSERT_TRUE(pid.ok());
  EXPECT_TRUE(registry.MmGet(*pid).ok());
  EXPECT_EQ(registry.ProcessCount(), 1u);
  EXPECT_TRUE(registry.RemoveProcess(*pid).ok());
  EXPECT_EQ(Errno(registry.MmGet(*pid).status()), ESRCH);
  EXPECT_EQ(Errno(registry.RemoveProcess(*pid)), ESRCH);
}

TEST(RegistryTest, PinnedMmOutlivesRemoval) {
  MmRegistry registry;
  int pid = *registry.CreateProcess(ExecImage(), MmConfig());
  MmRef mm = *registry.MmGet(pid);
  ASSERT_TRUE(registry.RemoveProcess(pid).ok());
  EXPECT_GT(mm->Counters().map_count, 0);
}

TEST(RegistryTest, CreateFromDescriptionRejectsOverlaps) {
  MmRegistry registry;
  ProcessDescription desc;
  Vma a;
  a.vm_start = Page(0);
  a.vm_end = Page(4);
  a.vm_flags = kVmRead | kVmMayread;
  Vma b = a;
  b.vm_start = Page(2);
  b.vm_end = Page(6);
  desc.vmas = {a, b};
  EXPECT_EQ(Errno(registry.CreateProcessFrom(desc).status()), EEXIST);
  desc.vmas = {a};
  EXPECT_TRUE(registry.CreateProcessFrom(desc).ok());
  Vma bad = a;
  bad.vm_end = Page(0) + 5;
  desc.vmas = {bad};
  EXPECT_EQ(Errno(registry.CreateProcessFrom(desc).status()), EINVAL);
}

TEST(RegistryTest, Files) {
  MmRegistry registry;
  EXPECT_TRUE(registry.CreateFile("/a", 4096, 0644).ok());
  EXPECT_EQ(Errno(registry.CreateFile("/a", 1, 0644).status()), EEXIST);
  EXPECT_EQ(Errno(registry.CreateFile("rel", 1, 0644).status()), EINVAL);
  EXPECT_EQ(Errno(registry.LookupFile("/b").status()), ENOENT);
  std::shared_ptr<const SimFile> ro = *registry.CreateFile("/ro", 1, 0444);
  EXPECT_EQ(Errno(MmRegistry::OpenMode(*ro, true, true).status()), EACCES);
  EXPECT_EQ(*MmRegistry::OpenMode(*ro, true, false), kFmodeRead);
  EXPECT_EQ(Errno(MmRegistry::OpenMode(*ro, false, false).status()), EINVAL);
  EXPECT_EQ(registry.Files().size(), 2u);
}

}  // namespace
}  // namespace mmsim::testing
