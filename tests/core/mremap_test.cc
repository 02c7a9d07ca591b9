// mremap(2).
#include <cerrno>

#include "tests/testing/mm_fixture.h"

namespace mmsim::testing {
namespace {

using MremapTest = MmTest;

TEST_F(MremapTest, ShrinkUnmapsTheTail) {
  Map(0, 4, kProtRead);
  absl::StatusOr<uint64_t> r = mm_.Mremap(Page(0), Pages(4), Pages(1), 0, 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, Page(0));
  EXPECT_EQ(Layout(0, 4), "A   ");
}

TEST_F(MremapTest, SameLengthReturnsTheAddress) {
  Map(0, 2, kProtRead);
  absl::StatusOr<uint64_t> r = mm_.Mremap(Page(0), Pages(2), Pages(2), 0, 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, Page(0));
}

TEST_F(MremapTest, GrowsInPlaceWhenTheSpaceAfterIsFree) {
  Map(0, 2, kProtRead | kProtWrite);
  absl::StatusOr<uint64_t> r = mm_.Mremap(Page(0), Pages(2), Pages(4), 0, 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, Page(0));
  EXPECT_EQ(Layout(0, 5), "AAAA ");
  EXPECT_EQ(mm_.Counters().total_vm, 4u);
}

TEST_F(MremapTest, GrowingInPlaceMergesWithACompatibleNext) {
  Map(0, 2, kProtRead);
  Map(4, 2, kProtRead);
  ASSERT_TRUE(mm_.Mremap(Page(0), Pages(2), Pages(4), 0, 0).ok());
  EXPECT_EQ(Layout(0, 6), "AAAAAA");
  EXPECT_EQ(mm_.Counters().map_count, 1);
}

TEST_F(MremapTest, GrowingWithoutRoomOrMaymoveIsEnomem) {
  Map(0, 2, kProtRead);
  Map(2, 1, kProtWrite);
  absl::StatusOr<uint64_t> r = mm_.Mremap(Page(0), Pages(2), Pages(3), 0, 0);
  EXPECT_EQ(Errno(r.status()), ENOMEM);
  EXPECT_EQ(Layout(0, 3), "AAB");
}

TEST_F(MremapTest, MaymoveMovesTopDown) {
  Map(0, 2, kProtRead);
  Map(2, 1, kProtWrite);
  absl::StatusOr<uint64_t> r =
      mm_.Mremap(Page(0), Pages(2), Pages(3), kMremapMaymove, 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, kDefaultMmapBase - Pages(3));
  EXPECT_EQ(Layout(0, 3), "  A");
  std::optional<Vma> moved = mm_.VmaLookup(*r);
  ASSERT_TRUE(moved.has_value());
  EXPECT_EQ(moved->vm_end - moved->vm_start, Pages(3));
  // An unfaulted anonymous region takes the pgoff of its new address.
  EXPECT_EQ(moved->vm_pgoff, *r >> kPageShift);
  EXPECT_EQ(mm_.Counters().total_vm, 4u);
}

TEST_F(MremapTest, FixedMovesToTheGivenAddressReplacingWhatIsThere) {
  Map(0, 2, kProtRead);
  Map(10, 4, kProtWrite);
  absl::StatusOr<uint64_t> r = mm_.Mremap(
      Page(0), Pages(2), Pages(2), kMremapMaymove | kMremapFixed, Page(11));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, Page(11));
  EXPECT_EQ(Layout(0, 2), "  ");
  EXPECT_EQ(Layout(10, 4), "ABBC");
  EXPECT_EQ(Perms(11), "r--p");
}

TEST_F(MremapTest, DontunmapLeavesTheOldRegionMapped) {
  Map(0, 2, kProtRead | kProtWrite);
  absl::StatusOr<uint64_t> r = mm_.Mremap(Page(0), Pages(2), Pages(2),
                                          kMremapMaymove | kMremapDontunmap, 0);
  ASSERT_TRUE(r.ok());
  EXPECT_NE(*r, Page(0));
  EXPECT_EQ(Layout(0, 2), "AA");
  EXPECT_EQ(mm_.Counters().total_vm, 4u);
}

TEST_F(MremapTest, UnknownFlagsAreEinval) {
  Map(0, 1, kProtRead);
  EXPECT_EQ(Errno(mm_.Mremap(Page(0), Pages(1), Pages(2), 8, 0).status()),
            EINVAL);
}

TEST_F(MremapTest, FixedWithoutMaymoveIsEinval) {
  Map(0, 1, kProtRead);
  EXPECT_EQ(Errno(mm_.Mremap(Page(0), Pages(1), Pages(1), kMremapFixed, Page(5))
                      .status()),
            EINVAL);
}

TEST_F(MremapTest, DontunmapWithResizeIsEinval) {
  Map(0, 1, kProtRead);
  EXPECT_EQ(Errno(mm_.Mremap(Page(0), Pages(1), Pages(2),
                             kMremapMaymove | kMremapDontunmap, 0)
                      .status()),
            EINVAL);
}

TEST_F(MremapTest, UnalignedAddressIsEinval) {
  Map(0, 1, kProtRead);
  EXPECT_EQ(Errno(mm_.Mremap(Page(0) + 1, Pages(1), Pages(2), 0, 0).status()),
            EINVAL);
}

TEST_F(MremapTest, ZeroNewLengthIsEinval) {
  Map(0, 1, kProtRead);
  EXPECT_EQ(Errno(mm_.Mremap(Page(0), Pages(1), 0, 0, 0).status()), EINVAL);
}

TEST_F(MremapTest, NoRegionAtTheAddressIsEfault) {
  EXPECT_EQ(Errno(mm_.Mremap(Page(0), Pages(1), Pages(2), 0, 0).status()),
            EFAULT);
}

TEST_F(MremapTest, OldRangeCrossingARegionEndIsEfault) {
  Map(0, 2, kProtRead);
  Map(2, 2, kProtWrite);
  EXPECT_EQ(
      Errno(
          mm_.Mremap(Page(0), Pages(3), Pages(5), kMremapMaymove, 0).status()),
      EFAULT);
}

TEST_F(MremapTest, OverlappingFixedTargetIsEinval) {
  Map(0, 4, kProtRead);
  EXPECT_EQ(Errno(mm_.Mremap(Page(0), Pages(2), Pages(2),
                             kMremapMaymove | kMremapFixed, Page(1))
                      .status()),
            EINVAL);
}

TEST_F(MremapTest, ZeroOldLengthOnPrivateMemoryIsEinval) {
  Map(0, 2, kProtRead);
  EXPECT_EQ(Errno(mm_.Mremap(Page(0), 0, Pages(2), kMremapMaymove, 0).status()),
            EINVAL);
}

TEST_F(MremapTest, GrowingPastRlimitAsIsEnomem) {
  MmConfig config;
  config.rlimits.as = {Pages(3), Pages(3)};
  Reset(config);
  Map(0, 2, kProtRead);
  EXPECT_EQ(Errno(mm_.Mremap(Page(0), Pages(2), Pages(4), 0, 0).status()),
            ENOMEM);
}

TEST_F(MremapTest, GrowingALockedRegionPastMemlockIsEagain) {
  MmConfig config;
  config.rlimits.memlock = {Pages(2), Pages(2)};
  Reset(config);
  Map(0, 2, kProtRead, kMapPrivate | kMapAnonymous | kMapLocked);
  EXPECT_EQ(Errno(mm_.Mremap(Page(0), Pages(2), Pages(3), 0, 0).status()),
            EAGAIN);
}

TEST_F(MremapTest, MovingALockedRegionKeepsLockedVm) {
  Map(0, 2, kProtRead, kMapPrivate | kMapAnonymous | kMapLocked);
  Map(2, 1, kProtWrite);
  ASSERT_TRUE(mm_.Mremap(Page(0), Pages(2), Pages(4), kMremapMaymove, 0).ok());
  EXPECT_EQ(mm_.Counters().locked_vm, 4u);
}

}  // namespace
}  // namespace mmsim::testing
