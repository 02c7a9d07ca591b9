// mlock(2), mlock2(2), munlock(2), mlockall(2), munlockall(2).
#include <cerrno>

#include "tests/testing/mm_fixture.h"

namespace mmsim::testing {
namespace {

using MlockTest = MmTest;

TEST_F(MlockTest, LockingPartOfARegionSplitsItAndCountsLockedVm) {
  Map(0, 4, kProtRead | kProtWrite);
  ASSERT_TRUE(mm_.Mlock(Page(1), Pages(2), 0).ok());
  EXPECT_EQ(Layout(0, 4), "ABBC");
  EXPECT_EQ(mm_.Counters().locked_vm, 2u);
  ASSERT_TRUE(mm_.Munlock(Page(0), Pages(4)).ok());
  EXPECT_EQ(mm_.Counters().locked_vm, 0u);
}

TEST_F(MlockTest, UnalignedStartIsRoundedDown) {
  Map(0, 2, kProtRead);
  ASSERT_TRUE(mm_.Mlock(Page(0) + 100, 10, 0).ok());
  EXPECT_EQ(mm_.Counters().locked_vm, 1u);
}

TEST_F(MlockTest, OnfaultSetsVmLockonfault) {
  Map(0, 2, kProtRead);
  ASSERT_TRUE(mm_.Mlock(Page(0), Pages(2), kMlockOnfault).ok());
  std::optional<Vma> vma = mm_.VmaLookup(Page(0));
  ASSERT_TRUE(vma.has_value());
  EXPECT_TRUE(vma->vm_flags & kVmLocked);
  EXPECT_TRUE(vma->vm_flags & kVmLockonfault);
}

TEST_F(MlockTest, UnknownMlock2FlagsAreEinval) {
  Map(0, 1, kProtRead);
  EXPECT_EQ(Errno(mm_.Mlock(Page(0), Pages(1), 2)), EINVAL);
}

TEST_F(MlockTest, ZeroMemlockIsEperm) {
  MmConfig config;
  config.rlimits.memlock = {0, 0};
  Reset(config);
  Map(0, 1, kProtRead);
  EXPECT_EQ(Errno(mm_.Mlock(Page(0), Pages(1), 0)), EPERM);
  EXPECT_EQ(Errno(mm_.Mlockall(kMclCurrent)), EPERM);
}

TEST_F(MlockTest, CapIpcLockIgnoresMemlock) {
  MmConfig config;
  config.rlimits.memlock = {0, 0};
  config.cap_ipc_lock = true;
  Reset(config);
  Map(0, 3, kProtRead);
  EXPECT_TRUE(mm_.Mlock(Page(0), Pages(3), 0).ok());
}

TEST_F(MlockTest, BeyondMemlockIsEnomem) {
  MmConfig config;
  config.rlimits.memlock = {Pages(2), Pages(2)};
  Reset(config);
  Map(0, 4, kProtRead);
  EXPECT_EQ(Errno(mm_.Mlock(Page(0), Pages(3), 0)), ENOMEM);
  EXPECT_EQ(mm_.Counters().locked_vm, 0u);
  // Pages already locked are not counted twice.
  ASSERT_TRUE(mm_.Mlock(Page(0), Pages(2), 0).ok());
  EXPECT_TRUE(mm_.Mlock(Page(0), Pages(2), 0).ok());
}

TEST_F(MlockTest, StartingInAHoleIsEnomem) {
  Map(1, 1, kProtRead);
  EXPECT_EQ(Errno(mm_.Mlock(Page(0), Pages(2), 0)), ENOMEM);
  EXPECT_EQ(mm_.Counters().locked_vm, 0u);
}

TEST_F(MlockTest, AHoleInsideIsEnomemAfterLockingTheFirstPart) {
  Map(0, 1, kProtRead);
  Map(2, 1, kProtRead);
  EXPECT_EQ(Errno(mm_.Mlock(Page(0), Pages(3), 0)), ENOMEM);
  EXPECT_EQ(mm_.Counters().locked_vm, 1u);
}

TEST_F(MlockTest, ProtNoneLocksButFailsToPopulate) {
  Map(0, 1, kProtNone);
  EXPECT_EQ(Errno(mm_.Mlock(Page(0), Pages(1), 0)), ENOMEM);
  EXPECT_EQ(mm_.Counters().locked_vm, 1u);
}

TEST_F(MlockTest, MlockallCurrentLocksEverything) {
  Map(0, 2, kProtRead);
  Map(4, 2, kProtWrite);
  ASSERT_TRUE(mm_.Mlockall(kMclCurrent).ok());
  EXPECT_EQ(mm_.Counters().locked_vm, 4u);
  ASSERT_TRUE(mm_.Munlockall().ok());
  EXPECT_EQ(mm_.Counters().locked_vm, 0u);
}

TEST_F(MlockTest, MlockallFutureLocksNewMappingsOnly) {
  Map(0, 2, kProtRead);
  ASSERT_TRUE(mm_.Mlockall(kMclFuture).ok());
  EXPECT_EQ(mm_.Counters().locked_vm, 0u);
  EXPECT_EQ(mm_.Counters().def_flags, kVmLocked);
  Map(4, 3, kProtRead);
  EXPECT_EQ(mm_.Counters().locked_vm, 3u);
  ASSERT_TRUE(mm_.Munlockall().ok());
  EXPECT_EQ(mm_.Counters().def_flags, 0u);
}

TEST_F(MlockTest, BadMlockallFlagsAreEinval) {
  EXPECT_EQ(Errno(mm_.Mlockall(0)), EINVAL);
  EXPECT_EQ(Errno(mm_.Mlockall(kMclOnfault)), EINVAL);
  EXPECT_EQ(Errno(mm_.Mlockall(8)), EINVAL);
}

TEST_F(MlockTest, MlockallCurrentBeyondMemlockIsEnomem) {
  MmConfig config;
  config.rlimits.memlock = {Pages(2), Pages(2)};
  Reset(config);
  Map(0, 3, kProtRead);
  EXPECT_EQ(Errno(mm_.Mlockall(kMclCurrent)), ENOMEM);
  EXPECT_TRUE(mm_.Mlockall(kMclFuture).ok());
}

}  // namespace
}  // namespace mmsim::testing
