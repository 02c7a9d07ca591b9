// find_vma, find_vma_prev, find_vma_intersection, vma_lookup.
#include "tests/testing/mm_fixture.h"

namespace mmsim::testing {
namespace {

class LookupTest : public MmTest {
 protected:
  void SetUp() override {
    // 0123456789
    // AAA  BB
    Map(0, 3, kProtRead);
    Map(5, 2, kProtRead | kProtWrite);
  }
};

TEST_F(LookupTest, FindVmaReturnsTheNextRegionForAnAddressInAHole) {
  std::optional<Vma> vma = mm_.FindVma(Page(3));
  ASSERT_TRUE(vma.has_value());
  EXPECT_EQ(vma->vm_start, Page(5));  // does not contain the address
}

TEST_F(LookupTest, FindVmaReturnsTheContainingRegion) {
  std::optional<Vma> vma = mm_.FindVma(Page(1));
  ASSERT_TRUE(vma.has_value());
  EXPECT_EQ(vma->vm_start, Page(0));
  EXPECT_EQ(vma->vm_end, Page(3));
}

TEST_F(LookupTest, FindVmaAboveEveryRegionIsEmpty) {
  EXPECT_FALSE(mm_.FindVma(Page(7)).has_value());
}

TEST_F(LookupTest, VmaLookupWantsContainment) {
  EXPECT_FALSE(mm_.VmaLookup(Page(3)).has_value());
  EXPECT_TRUE(mm_.VmaLookup(Page(6)).has_value());
  EXPECT_FALSE(mm_.VmaLookup(Page(7)).has_value());
}

TEST_F(LookupTest, FindVmaPrevGivesTheRegionBefore) {
  auto [vma, prev] = mm_.FindVmaPrev(Page(4));
  ASSERT_TRUE(vma.has_value());
  ASSERT_TRUE(prev.has_value());
  EXPECT_EQ(vma->vm_start, Page(5));
  EXPECT_EQ(prev->vm_start, Page(0));
  auto [first, none] = mm_.FindVmaPrev(Page(0));
  EXPECT_TRUE(first.has_value());
  EXPECT_FALSE(none.has_value());
}

TEST_F(LookupTest, FindVmaIntersection) {
  EXPECT_FALSE(mm_.FindVmaIntersection(Page(3), Page(5)).has_value());
  std::optional<Vma> vma = mm_.FindVmaIntersection(Page(3), Page(6));
  ASSERT_TRUE(vma.has_value());
  EXPECT_EQ(vma->vm_start, Page(5));
}

TEST_F(LookupTest, MmapCacheStaysCoherentAcrossChanges) {
  ASSERT_TRUE(mm_.FindVma(Page(1)).has_value());  // caches region A
  ASSERT_TRUE(mm_.DoMunmap(Page(0), Pages(3)).ok());
  std::optional<Vma> vma = mm_.FindVma(Page(1));
  ASSERT_TRUE(vma.has_value());
  EXPECT_EQ(vma->vm_start, Page(5));
  mm_.ValidateMm();
}

}  // namespace
}  // namespace mmsim::testing
