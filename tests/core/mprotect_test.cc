// mprotect(2).
#include <cerrno>

#include "tests/testing/mm_fixture.h"

namespace mmsim::testing {
namespace {

using MprotectTest = MmTest;

TEST_F(MprotectTest, MiddleChangeSplitsInThree) {
  Map(0, 6, kProtRead | kProtWrite);
  ASSERT_TRUE(mm_.Mprotect(Page(2), Pages(2), kProtRead).ok());
  EXPECT_EQ(Layout(0, 6), "AABBCC");
  EXPECT_EQ(Perms(2), "r--p");
  EXPECT_EQ(mm_.Counters().map_count, 3);
}

TEST_F(MprotectTest, ChangingBackMergesAgain) {
  Map(0, 6, kProtRead | kProtWrite);
  ASSERT_TRUE(mm_.Mprotect(Page(2), Pages(2), kProtRead).ok());
  ASSERT_TRUE(mm_.Mprotect(Page(2), Pages(2), kProtRead | kProtWrite).ok());
  EXPECT_EQ(Layout(0, 6), "AAAAAA");
  EXPECT_EQ(mm_.Counters().map_count, 1);
}

TEST_F(MprotectTest, EdgeChangeMergesIntoTheNeighbour) {
  Map(0, 3, kProtRead);
  Map(3, 3, kProtRead | kProtWrite);  // VM_ACCOUNT
  ASSERT_TRUE(mm_.Mprotect(Page(0), Pages(3), kProtRead | kProtWrite).ok());
  EXPECT_EQ(Layout(0, 6), "AAAAAA");
}

TEST_F(MprotectTest, UnfaultedAnonymousMemoryDropsVmAccountWhenReadOnly) {
  Map(0, 2, kProtRead | kProtWrite);
  ASSERT_TRUE(mm_.Mprotect(Page(0), Pages(2), kProtRead).ok());
  std::optional<Vma> vma = mm_.VmaLookup(Page(0));
  ASSERT_TRUE(vma.has_value());
  EXPECT_FALSE(vma->vm_flags & kVmAccount);
  Map(2, 2, kProtRead);
  EXPECT_EQ(Layout(0, 4), "AAAA");
}

TEST_F(MprotectTest, OverAHoleIsEnomemAfterChangingWhatComesBefore) {
  // Linux quirk, kept: the part before the hole is changed.
  Map(0, 2, kProtRead);
  Map(3, 2, kProtRead);
  absl::Status status = mm_.Mprotect(Page(0), Pages(5), kProtNone);
  EXPECT_EQ(Errno(status), ENOMEM);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(Perms(0), "---p");
  EXPECT_EQ(Perms(3), "r--p");
}

TEST_F(MprotectTest, StartingInAHoleIsEnomemAndChangesNothing) {
  Map(1, 2, kProtRead);
  EXPECT_EQ(Errno(mm_.Mprotect(Page(0), Pages(3), kProtNone)), ENOMEM);
  EXPECT_EQ(Perms(1), "r--p");
}

TEST_F(MprotectTest, EndingInAHoleIsEnomem) {
  Map(0, 2, kProtRead);
  EXPECT_EQ(Errno(mm_.Mprotect(Page(0), Pages(3), kProtWrite)), ENOMEM);
  EXPECT_EQ(Perms(0), "-w-p");
}

TEST_F(MprotectTest, WriteOnASharedReadOnlyFileMappingIsEacces) {
  auto file = std::make_shared<SimFile>();
  file->ino = 3;
  file->name = "/ro";
  file->size = Pages(4);
  MmapArgs args;
  args.addr = Page(0);
  args.len = Pages(2);
  args.prot = kProtRead;
  args.flags = kMapShared | kMapFixed;
  args.file = file;
  args.file_mode = kFmodeRead;
  ASSERT_TRUE(mm_.DoMmap(args).ok());
  absl::Status status = mm_.Mprotect(Page(0), Pages(2), kProtRead | kProtWrite);
  EXPECT_EQ(Errno(status), EACCES);
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Perms(0), "r--s");
}

TEST_F(MprotectTest, UnknownProtBitsAreEinval) {
  Map(0, 1, kProtRead);
  EXPECT_EQ(Errno(mm_.Mprotect(Page(0), Pages(1), 0x10)), EINVAL);
}

TEST_F(MprotectTest, UnalignedStartIsEinval) {
  Map(0, 1, kProtRead);
  EXPECT_EQ(Errno(mm_.Mprotect(Page(0) + 8, Pages(1), kProtNone)), EINVAL);
}

TEST_F(MprotectTest, ZeroLengthSucceedsWithoutLooking) {
  EXPECT_TRUE(mm_.Mprotect(Page(0), 0, kProtRead).ok());
}

TEST_F(MprotectTest, WrappingRangeIsEnomem) {
  EXPECT_EQ(Errno(mm_.Mprotect(Page(0), ~uint64_t{0} - Page(0) + 1, kProtRead)),
            ENOMEM);
}

TEST_F(MprotectTest, GrowsdownAndGrowsupTogetherAreEinval) {
  Map(0, 1, kProtRead);
  EXPECT_EQ(Errno(mm_.Mprotect(Page(0), Pages(1),
                               kProtRead | kProtGrowsdown | kProtGrowsup)),
            EINVAL);
}

TEST_F(MprotectTest, GrowsdownOnAPlainRegionIsEinval) {
  Map(0, 2, kProtRead);
  EXPECT_EQ(Errno(mm_.Mprotect(Page(1), Pages(1), kProtNone | kProtGrowsdown)),
            EINVAL);
}

TEST_F(MprotectTest, GrowsdownExtendsToTheRegionStart) {
  Map(0, 4, kProtRead | kProtWrite,
      kMapPrivate | kMapAnonymous | kMapGrowsdown);
  ASSERT_TRUE(mm_.Mprotect(Page(2), Pages(1), kProtRead | kProtGrowsdown).ok());
  EXPECT_EQ(Perms(0), "r--p");
  EXPECT_EQ(Perms(2), "r--p");
  EXPECT_EQ(Perms(3), "rw-p");
}

TEST_F(MprotectTest, SplitPastMaxMapCountIsEnomem) {
  MmConfig config;
  config.max_map_count = 2;
  Reset(config);
  Map(0, 6, kProtRead);
  EXPECT_TRUE(mm_.Mprotect(Page(0), Pages(1), kProtNone).ok());  // 2 regions
  EXPECT_EQ(Errno(mm_.Mprotect(Page(3), Pages(1), kProtNone)), ENOMEM);
  EXPECT_EQ(mm_.Counters().map_count, 2);
}

TEST_F(MprotectTest, ExecChangesTheAccountingClass) {
  Map(0, 3, kProtRead);
  ASSERT_TRUE(mm_.Mprotect(Page(0), Pages(3), kProtRead | kProtExec).ok());
  EXPECT_EQ(mm_.Counters().exec_vm, 3u);
  ASSERT_TRUE(mm_.Mprotect(Page(1), Pages(1), kProtRead | kProtWrite).ok());
  EXPECT_EQ(mm_.Counters().exec_vm, 2u);
  EXPECT_EQ(mm_.Counters().data_vm, 1u);
}

}  // namespace
}  // namespace mmsim::testing
