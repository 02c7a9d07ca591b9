// madvise(2).
#include <cerrno>

#include "tests/testing/mm_fixture.h"

namespace mmsim::testing {
namespace {

using MadviseTest = MmTest;

TEST_F(MadviseTest, DontforkSplitsAndSetsVmDontcopy) {
  Map(0, 4, kProtRead);
  ASSERT_TRUE(mm_.Madvise(Page(1), Pages(2), kMadvDontfork).ok());
  EXPECT_EQ(Layout(0, 4), "ABBC");
  std::optional<Vma> vma = mm_.VmaLookup(Page(1));
  ASSERT_TRUE(vma.has_value());
  EXPECT_TRUE(vma->vm_flags & kVmDontcopy);
  ASSERT_TRUE(mm_.Madvise(Page(1), Pages(2), kMadvDofork).ok());
  EXPECT_EQ(Layout(0, 4), "AAAA");
}

TEST_F(MadviseTest, AHoleIsEnomemAfterApplyingToTheMappedParts) {
  Map(0, 1, kProtRead);
  Map(2, 1, kProtRead);
  EXPECT_EQ(Errno(mm_.Madvise(Page(0), Pages(3), kMadvDontfork)), ENOMEM);
  EXPECT_TRUE(mm_.VmaLookup(Page(0))->vm_flags & kVmDontcopy);
  EXPECT_TRUE(mm_.VmaLookup(Page(2))->vm_flags & kVmDontcopy);
}

TEST_F(MadviseTest, NothingMappedIsEnomem) {
  EXPECT_EQ(Errno(mm_.Madvise(Page(0), Pages(1), kMadvWillneed)), ENOMEM);
}

TEST_F(MadviseTest, UnknownAdviceIsEinval) {
  Map(0, 1, kProtRead);
  EXPECT_EQ(Errno(mm_.Madvise(Page(0), Pages(1), 77)), EINVAL);
}

TEST_F(MadviseTest, UnalignedStartIsEinval) {
  Map(0, 1, kProtRead);
  EXPECT_EQ(Errno(mm_.Madvise(Page(0) + 1, Pages(1), kMadvNormal)), EINVAL);
}

TEST_F(MadviseTest, ZeroLengthSucceeds) {
  EXPECT_TRUE(mm_.Madvise(Page(0), 0, kMadvDontneed).ok());
}

TEST_F(MadviseTest, DontneedOnLockedMemoryIsEinval) {
  Map(0, 1, kProtRead, kMapPrivate | kMapAnonymous | kMapLocked);
  EXPECT_EQ(Errno(mm_.Madvise(Page(0), Pages(1), kMadvDontneed)), EINVAL);
  EXPECT_TRUE(mm_.Madvise(Page(0), Pages(1), kMadvWillneed).ok());
}

TEST_F(MadviseTest, WipeonforkIsForPrivateAnonymousMemoryOnly) {
  Map(0, 1, kProtRead, kMapShared | kMapAnonymous);
  Map(2, 1, kProtRead);
  EXPECT_EQ(Errno(mm_.Madvise(Page(0), Pages(1), kMadvWipeonfork)), EINVAL);
  EXPECT_TRUE(mm_.Madvise(Page(2), Pages(1), kMadvWipeonfork).ok());
}

TEST_F(MadviseTest, FreeOnSharedMemoryIsEinval) {
  Map(0, 1, kProtRead | kProtWrite, kMapShared | kMapAnonymous);
  EXPECT_EQ(Errno(mm_.Madvise(Page(0), Pages(1), kMadvFree)), EINVAL);
}

TEST_F(MadviseTest, RemoveOnPrivateAnonymousMemoryIsEinval) {
  Map(0, 1, kProtRead | kProtWrite);
  EXPECT_EQ(Errno(mm_.Madvise(Page(0), Pages(1), kMadvRemove)), EINVAL);
}

TEST_F(MadviseTest, RefusedSplitIsEagain) {
  MmConfig config;
  config.max_map_count = 1;
  Reset(config);
  Map(0, 4, kProtRead);
  EXPECT_EQ(Errno(mm_.Madvise(Page(1), Pages(1), kMadvDontfork)), EAGAIN);
}

}  // namespace
}  // namespace mmsim::testing
