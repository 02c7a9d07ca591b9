// munmap(2).
#include <cerrno>

#include "tests/testing/mm_fixture.h"

namespace mmsim::testing {
namespace {

using MunmapTest = MmTest;

TEST_F(MunmapTest, Figure81ShrinkRemovesTheTail) {
  Map(0, 5, kProtRead);
  ASSERT_TRUE(mm_.DoMunmap(Page(3), Pages(2)).ok());
  EXPECT_EQ(Layout(0, 5), "AAA  ");
  EXPECT_EQ(mm_.Counters().total_vm, 3u);
}

TEST_F(MunmapTest, Figure81SplitPunchesAHole) {
  // 0123456789
  // AAAAAAAAAA   before: one region
  // AAA  BBBBB   after munmap of pages 3-4: two regions
  Map(0, 10, kProtRead | kProtWrite);
  ASSERT_TRUE(mm_.DoMunmap(Page(3), Pages(2)).ok());
  EXPECT_EQ(Layout(0, 10), "AAA  BBBBB");
  EXPECT_EQ(mm_.Counters().map_count, 2);
  std::optional<Vma> upper = mm_.VmaLookup(Page(5));
  ASSERT_TRUE(upper.has_value());
  EXPECT_EQ(upper->vm_pgoff, Page(5) >> kPageShift);
}

TEST_F(MunmapTest, SpansSeveralRegionsAndHoles) {
  Map(0, 2, kProtRead);
  Map(3, 2, kProtWrite);
  Map(6, 3, kProtExec);
  ASSERT_TRUE(mm_.DoMunmap(Page(1), Pages(6)).ok());
  EXPECT_EQ(Layout(0, 9), "A      BB");
  EXPECT_EQ(mm_.Counters().total_vm, 3u);
}

TEST_F(MunmapTest, AHoleIsNotAnError) {
  // Linux quirk, kept: munmap of nothing succeeds.
  EXPECT_TRUE(mm_.DoMunmap(Page(0), Pages(4)).ok());
}

TEST_F(MunmapTest, UnalignedStartIsEinval) {
  Map(0, 2, kProtRead);
  EXPECT_EQ(Errno(mm_.DoMunmap(Page(0) + 1, Pages(1))), EINVAL);
  EXPECT_EQ(Layout(0, 2), "AA");
}

TEST_F(MunmapTest, ZeroLengthIsEinval) {
  EXPECT_EQ(Errno(mm_.DoMunmap(Page(0), 0)), EINVAL);
}

TEST_F(MunmapTest, RangeBeyondTaskSizeIsEinval) {
  EXPECT_EQ(Errno(mm_.DoMunmap(kTaskSize - kPageSize, Pages(2))), EINVAL);
  EXPECT_EQ(Errno(mm_.DoMunmap(Page(0), ~uint64_t{0})), EINVAL);
}

TEST_F(MunmapTest, UnalignedLengthIsRoundedUp) {
  Map(0, 3, kProtRead);
  ASSERT_TRUE(mm_.DoMunmap(Page(0), 1).ok());
  EXPECT_EQ(Layout(0, 3), " AA");
}

TEST_F(MunmapTest, SplitPastMaxMapCountIsEnomemAndChangesNothing) {
  MmConfig config;
  config.max_map_count = 1;
  Reset(config);
  Map(0, 5, kProtRead);
  EXPECT_EQ(Errno(mm_.DoMunmap(Page(2), Pages(1))), ENOMEM);
  EXPECT_EQ(Layout(0, 5), "AAAAA");
  // Cutting an end needs no extra region and is allowed.
  EXPECT_TRUE(mm_.DoMunmap(Page(4), Pages(1)).ok());
}

TEST_F(MunmapTest, LockedPagesLeaveLockedVm) {
  Map(0, 4, kProtRead, kMapPrivate | kMapAnonymous | kMapLocked);
  EXPECT_EQ(mm_.Counters().locked_vm, 4u);
  ASSERT_TRUE(mm_.DoMunmap(Page(1), Pages(2)).ok());
  EXPECT_EQ(mm_.Counters().locked_vm, 2u);
}

}  // namespace
}  // namespace mmsim::testing
