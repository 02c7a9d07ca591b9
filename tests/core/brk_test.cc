// brk(2).
#include "tests/testing/mm_fixture.h"

namespace mmsim::testing {
namespace {

class BrkTest : public MmTest {
 protected:
  void SetUp() override {
    MmLayout layout;
    layout.start_data = Page(0);
    layout.end_data = Page(2);
    layout.start_brk = Page(4);
    layout.brk = Page(4);
    mm_.SetLayout(layout);
  }
};

TEST_F(BrkTest, GrowingCreatesTheHeapAndReturnsTheNewBreak) {
  EXPECT_EQ(mm_.Brk(Page(6)), Page(6));
  EXPECT_EQ(Layout(4, 3), "AA ");
  EXPECT_EQ(Perms(4), "rw-p");
  EXPECT_EQ(mm_.Counters().layout.brk, Page(6));
  EXPECT_EQ(mm_.Counters().data_vm, 2u);
}

TEST_F(BrkTest, GrowingAgainExtendsTheSameRegion) {
  mm_.Brk(Page(6));
  EXPECT_EQ(mm_.Brk(Page(9)), Page(9));
  EXPECT_EQ(Layout(4, 6), "AAAAA ");
  EXPECT_EQ(mm_.Counters().map_count, 1);
}

// Linux: check_brk_limits() refuses a heap past TASK_SIZE; a break near
// 2^64 (or one whose page rounding wraps to 0) keeps the old break.
TEST_F(BrkTest, BreakPastTaskSizeKeepsTheOldBreak) {
  Map(20, 1, kProtRead);  // a region above the heap
  for (uint64_t brk : {kTaskSize, ~uint64_t{0} - 4095, ~uint64_t{0}}) {
    EXPECT_EQ(mm_.Brk(brk), Page(4)) << brk;
    EXPECT_EQ(mm_.Counters().map_count, 1);
  }
  mm_.ValidateMm();
}

TEST_F(BrkTest, UnalignedBreakIsKeptAndPagesRoundUp) {
  EXPECT_EQ(mm_.Brk(Page(5) + 10), Page(5) + 10);
  EXPECT_EQ(Layout(4, 3), "AA ");
}

TEST_F(BrkTest, ShrinkingUnmaps) {
  mm_.Brk(Page(9));
  EXPECT_EQ(mm_.Brk(Page(5)), Page(5));
  EXPECT_EQ(Layout(4, 6), "A     ");
}

TEST_F(BrkTest, BelowStartBrkReturnsTheOldBreak) {
  mm_.Brk(Page(6));
  EXPECT_EQ(mm_.Brk(Page(3)), Page(6));
}

TEST_F(BrkTest, RunningIntoAMappingReturnsTheOldBreak) {
  Map(300, 1, kProtRead);
  // Linux keeps one page free below the next region.
  EXPECT_EQ(mm_.Brk(Page(300)), Page(4));
  EXPECT_EQ(mm_.Brk(Page(299)), Page(299));
}

TEST_F(BrkTest, StaysOutOfAStackGuardGap) {
  Map(600, 1, kProtRead | kProtWrite,
      kMapPrivate | kMapAnonymous | kMapGrowsdown);
  EXPECT_EQ(mm_.Brk(Page(600 - 256)), Page(4));
  EXPECT_EQ(mm_.Brk(Page(600 - 257)), Page(600 - 257));
}

TEST_F(BrkTest, RlimitDataCountsTheDataSegment) {
  MmConfig config;
  config.rlimits.data = {Pages(5), Pages(5)};
  Reset(config);
  SetUp();
  EXPECT_EQ(mm_.Brk(Page(7)), Page(7));  // 3 heap + 2 data pages
  EXPECT_EQ(mm_.Brk(Page(8)), Page(7));  // 4 + 2 > 5
}

TEST_F(BrkTest, McLFutureLocksTheHeap) {
  ASSERT_TRUE(mm_.Mlockall(kMclFuture).ok());
  mm_.Brk(Page(6));
  EXPECT_EQ(mm_.Counters().locked_vm, 2u);
}

}  // namespace
}  // namespace mmsim::testing
