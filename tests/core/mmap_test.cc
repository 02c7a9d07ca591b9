// mmap(2): placement, merging and every errno.
#include <cerrno>

#include "core/mm_registry.h"
#include "tests/testing/mm_fixture.h"

namespace mmsim::testing {
namespace {

using MmapTest = MmTest;

MmapArgs Anon(uint64_t len, int prot, uint64_t addr = 0, int extra = 0) {
  MmapArgs args;
  args.addr = addr;
  args.len = len;
  args.prot = prot;
  args.flags = kMapPrivate | kMapAnonymous | extra;
  return args;
}

std::shared_ptr<SimFile> File(uint64_t size, uint64_t ino = 7) {
  auto file = std::make_shared<SimFile>();
  file->ino = ino;
  file->name = "/data/f";
  file->size = size;
  return file;
}

TEST_F(MmapTest, Figure81EnlargeMergesAnAdjacentCompatibleRegion) {
  // 0123456789
  // AAA         before
  // AAAAA       after mapping pages 3-4 with the same protection
  Map(0, 3, kProtRead | kProtWrite);
  Map(3, 2, kProtRead | kProtWrite);
  EXPECT_EQ(Layout(0, 6), "AAAAA ");
  EXPECT_EQ(mm_.Counters().map_count, 1);
  EXPECT_EQ(mm_.Counters().total_vm, 5u);
}

TEST_F(MmapTest, Figure81CreateMakesANewRegionWhenFlagsDiffer) {
  Map(0, 3, kProtRead | kProtWrite);
  Map(3, 2, kProtRead);
  EXPECT_EQ(Layout(0, 6), "AAABB ");
  EXPECT_EQ(mm_.Counters().map_count, 2);
}

TEST_F(MmapTest, MappingAGapBetweenTwoRegionsMergesAllThree) {
  Map(0, 2, kProtRead);
  Map(4, 2, kProtRead);
  Map(2, 2, kProtRead);
  EXPECT_EQ(Layout(0, 6), "AAAAAA");
  EXPECT_EQ(mm_.Counters().map_count, 1);
}

TEST_F(MmapTest, ReadOnlyAndWritablePrivateDifferInVmAccount) {
  // VM_ACCOUNT is part of the flags: a read-only region that was once
  // writable keeps it, so a new read-only neighbour does not merge.
  Map(0, 2, kProtRead);
  ASSERT_TRUE(mm_.Mprotect(Page(0), Pages(2), kProtRead | kProtWrite).ok());
  Map(2, 2, kProtRead | kProtWrite);
  EXPECT_EQ(Layout(0, 4), "AAAA");
}

TEST_F(MmapTest, FixedReplacesExistingRegions) {
  Map(0, 6, kProtRead);
  Map(2, 2, kProtRead | kProtWrite);
  EXPECT_EQ(Layout(0, 6), "AABBCC");
  EXPECT_EQ(mm_.Counters().total_vm, 6u);
  mm_.ValidateMm();
}

TEST_F(MmapTest, FixedNoreplaceOverARegionIsEexist) {
  Map(0, 2, kProtRead);
  absl::StatusOr<uint64_t> r =
      mm_.DoMmap(Anon(Pages(2), kProtRead, Page(1), kMapFixedNoreplace));
  EXPECT_EQ(Errno(r.status()), EEXIST);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Layout(0, 3), "AA ");
}

TEST_F(MmapTest, FixedNoreplaceOnAHoleMaps) {
  absl::StatusOr<uint64_t> r =
      mm_.DoMmap(Anon(Pages(2), kProtRead, Page(1), kMapFixedNoreplace));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, Page(1));
}

TEST_F(MmapTest, NoHintPlacesTopDownBelowMmapBase) {
  absl::StatusOr<uint64_t> a = mm_.DoMmap(Anon(Pages(1), kProtRead));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, kDefaultMmapBase - kPageSize);
  absl::StatusOr<uint64_t> b = mm_.DoMmap(Anon(Pages(2), kProtWrite));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, *a - Pages(2));
}

TEST_F(MmapTest, FreeHintIsTaken) {
  absl::StatusOr<uint64_t> r = mm_.DoMmap(Anon(Pages(1), kProtRead, Page(9)));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, Page(9));
}

TEST_F(MmapTest, UnalignedHintIsRoundedDown) {
  absl::StatusOr<uint64_t> r =
      mm_.DoMmap(Anon(Pages(1), kProtRead, Page(9) + 123));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, Page(9));
}

TEST_F(MmapTest, OccupiedHintFallsBackToTopDown) {
  Map(9, 1, kProtRead);
  absl::StatusOr<uint64_t> r = mm_.DoMmap(Anon(Pages(1), kProtWrite, Page(9)));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, kDefaultMmapBase - kPageSize);
}

TEST_F(MmapTest, HintInsideAGrowsdownGuardGapIsRefused) {
  Map(1000, 4, kProtRead | kProtWrite,
      kMapPrivate | kMapAnonymous | kMapGrowsdown);
  // A hint whose end reaches into the 256-page gap below the stack-like region.
  absl::StatusOr<uint64_t> r =
      mm_.DoMmap(Anon(Pages(1), kProtRead, Page(1000 - 10)));
  ASSERT_TRUE(r.ok());
  EXPECT_NE(*r, Page(990));
  absl::StatusOr<uint64_t> ok =
      mm_.DoMmap(Anon(Pages(1), kProtRead, Page(1000 - 257)));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, Page(743));
}

TEST_F(MmapTest, TopDownSkipsTheGuardGapOfAGrowsdownRegion) {
  MmStruct mm;
  MmapArgs stack = Anon(Pages(4), kProtRead | kProtWrite,
                        kDefaultMmapBase - Pages(4), kMapFixed | kMapGrowsdown);
  ASSERT_TRUE(mm.DoMmap(stack).ok());
  absl::StatusOr<uint64_t> r = mm.DoMmap(Anon(Pages(1), kProtRead));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, kDefaultMmapBase - Pages(4) - kStackGuardGap - kPageSize);
}

TEST_F(MmapTest, PmdMultipleAnonymousMappingsAreThpAligned) {
  MmStruct mm;
  ASSERT_TRUE(mm.DoMmap(Anon(Pages(1), kProtRead)).ok());  // unalign the top
  absl::StatusOr<uint64_t> r =
      mm.DoMmap(Anon(kPmdSize, kProtRead | kProtWrite));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r % kPmdSize, 0u);
  EXPECT_LE(*r + kPmdSize, kDefaultMmapBase - kPageSize);
}

TEST_F(MmapTest, ZeroLengthIsEinval) {
  EXPECT_EQ(Errno(mm_.DoMmap(Anon(0, kProtRead)).status()), EINVAL);
}

TEST_F(MmapTest, HugeLengthIsEnomem) {
  EXPECT_EQ(Errno(mm_.DoMmap(Anon(~uint64_t{0} - 5, kProtRead)).status()),
            ENOMEM);
  EXPECT_EQ(Errno(mm_.DoMmap(Anon(uint64_t{1} << 48, kProtRead)).status()),
            ENOMEM);
}

TEST_F(MmapTest, UnalignedFixedAddressIsEinval) {
  EXPECT_EQ(Errno(mm_.DoMmap(Anon(Pages(1), kProtRead, Page(1) + 1, kMapFixed))
                      .status()),
            EINVAL);
}

TEST_F(MmapTest, UnalignedOffsetIsEinval) {
  MmapArgs args = Anon(Pages(1), kProtRead);
  args.offset = 100;
  EXPECT_EQ(Errno(mm_.DoMmap(args).status()), EINVAL);
}

TEST_F(MmapTest, BadMapTypeIsEinval) {
  MmapArgs args = Anon(Pages(1), kProtRead);
  args.flags = kMapAnonymous;  // neither shared nor private
  EXPECT_EQ(Errno(mm_.DoMmap(args).status()), EINVAL);
  args.flags = kMapAnonymous | 0x7;
  EXPECT_EQ(Errno(mm_.DoMmap(args).status()), EINVAL);
}

TEST_F(MmapTest, FileMappingWithoutAFileIsEbadf) {
  MmapArgs args = Anon(Pages(1), kProtRead);
  args.flags = kMapPrivate;
  EXPECT_EQ(Errno(mm_.DoMmap(args).status()), EBADF);
}

TEST_F(MmapTest, SharedWritableMapOfAReadOnlyFileIsEacces) {
  MmapArgs args = Anon(Pages(1), kProtRead | kProtWrite);
  args.flags = kMapShared;
  args.file = File(Pages(4));
  args.file_mode = kFmodeRead;
  EXPECT_EQ(Errno(mm_.DoMmap(args).status()), EACCES);
  args.flags = kMapPrivate;  // private copies: allowed
  EXPECT_TRUE(mm_.DoMmap(args).ok());
}

TEST_F(MmapTest, MappingAFileNotOpenForReadingIsEacces) {
  MmapArgs args = Anon(Pages(1), kProtRead);
  args.flags = kMapPrivate;
  args.file = File(Pages(4));
  args.file_mode = kFmodeWrite;
  EXPECT_EQ(Errno(mm_.DoMmap(args).status()), EACCES);
}

TEST_F(MmapTest, SharedReadOnlyFileMapLosesMaywrite) {
  MmapArgs args = Anon(Pages(1), kProtRead, Page(0), kMapFixed);
  args.flags = kMapShared | kMapFixed;
  args.file = File(Pages(4));
  args.file_mode = kFmodeRead;
  ASSERT_TRUE(mm_.DoMmap(args).ok());
  std::optional<Vma> vma = mm_.VmaLookup(Page(0));
  ASSERT_TRUE(vma.has_value());
  EXPECT_FALSE(vma->vm_flags & kVmMaywrite);
  EXPECT_FALSE(vma->vm_flags & kVmShared);
  EXPECT_TRUE(vma->vm_flags & kVmMayshare);
  EXPECT_EQ(VmaPermString(vma->vm_flags), "r--s");
}

TEST_F(MmapTest, OffsetOverflowIsEoverflow) {
  MmapArgs args = Anon(Pages(2), kProtRead);
  args.flags = kMapPrivate;
  args.file = File(Pages(4));
  args.offset = ~uint64_t{0} & kPageMask;
  EXPECT_EQ(Errno(mm_.DoMmap(args).status()), EOVERFLOW);
}

TEST_F(MmapTest, FileGrowsdownIsEinval) {
  MmapArgs args = Anon(Pages(1), kProtRead);
  args.flags = kMapPrivate | kMapGrowsdown;
  args.file = File(Pages(4));
  EXPECT_EQ(Errno(mm_.DoMmap(args).status()), EINVAL);
}

TEST_F(MmapTest, ContiguousFileOffsetsMergeAndOthersDoNot) {
  auto file = File(Pages(16));
  MmapArgs args;
  args.prot = kProtRead;
  args.flags = kMapPrivate | kMapFixed;
  args.file = file;
  args.addr = Page(0);
  args.len = Pages(2);
  args.offset = 0;
  ASSERT_TRUE(mm_.DoMmap(args).ok());
  args.addr = Page(2);
  args.offset = Pages(2);  // contiguous
  ASSERT_TRUE(mm_.DoMmap(args).ok());
  args.addr = Page(4);
  args.offset = Pages(8);  // not contiguous
  ASSERT_TRUE(mm_.DoMmap(args).ok());
  EXPECT_EQ(Layout(0, 6), "AAAABB");
}

TEST_F(MmapTest, SharedAnonymousMappingsNeverMerge) {
  Map(0, 2, kProtRead, kMapShared | kMapAnonymous);
  Map(2, 2, kProtRead, kMapShared | kMapAnonymous);
  EXPECT_EQ(Layout(0, 4), "AABB");
  std::optional<Vma> vma = mm_.VmaLookup(Page(0));
  ASSERT_TRUE(vma.has_value() && vma->vm_file != nullptr);
  EXPECT_EQ(vma->vm_file->name, "/dev/zero (deleted)");
  EXPECT_EQ(vma->vm_pgoff, 0u);
}

TEST_F(MmapTest, MaxMapCountIsEnomem) {
  MmConfig config;
  config.max_map_count = 3;
  MmStruct mm(config);
  for (int i = 0; i < 4; ++i) {
    MmapArgs args =
        Anon(Pages(1), i % 2 ? kProtRead : kProtWrite, Page(2 * i), kMapFixed);
    ASSERT_TRUE(mm.DoMmap(args).ok()) << i;  // Linux checks map_count > max
  }
  EXPECT_EQ(mm.Counters().map_count, 4);
  EXPECT_EQ(
      Errno(mm.DoMmap(Anon(Pages(1), kProtRead, Page(20), kMapFixed)).status()),
      ENOMEM);
}

TEST_F(MmapTest, RlimitAsIsEnomem) {
  MmConfig config;
  config.rlimits.as = {Pages(4), Pages(4)};
  MmStruct mm(config);
  EXPECT_TRUE(mm.DoMmap(Anon(Pages(3), kProtRead)).ok());
  EXPECT_EQ(Errno(mm.DoMmap(Anon(Pages(2), kProtRead)).status()), ENOMEM);
}

TEST_F(MmapTest, RlimitDataCountsOnlyPrivateWritable) {
  MmConfig config;
  config.rlimits.data = {Pages(2), Pages(2)};
  MmStruct mm(config);
  EXPECT_TRUE(mm.DoMmap(Anon(Pages(8), kProtRead)).ok());
  EXPECT_EQ(Errno(mm.DoMmap(Anon(Pages(3), kProtRead | kProtWrite)).status()),
            ENOMEM);
}

TEST_F(MmapTest, MapLockedWithZeroMemlockIsEperm) {
  MmConfig config;
  config.rlimits.memlock = {0, 0};
  MmStruct mm(config);
  EXPECT_EQ(Errno(mm.DoMmap(Anon(Pages(1), kProtRead, 0, kMapLocked)).status()),
            EPERM);
}

TEST_F(MmapTest, MapLockedBeyondMemlockIsEagain) {
  MmConfig config;
  config.rlimits.memlock = {Pages(2), Pages(2)};
  MmStruct mm(config);
  EXPECT_TRUE(mm.DoMmap(Anon(Pages(2), kProtRead, 0, kMapLocked)).ok());
  EXPECT_EQ(mm.Counters().locked_vm, 2u);
  EXPECT_EQ(Errno(mm.DoMmap(Anon(Pages(1), kProtRead, 0, kMapLocked)).status()),
            EAGAIN);
}

TEST_F(MmapTest, BelowMmapMinAddrIsEperm) {
  EXPECT_EQ(
      Errno(mm_.DoMmap(Anon(Pages(1), kProtRead, 0x1000, kMapFixed)).status()),
      EPERM);
}

TEST_F(MmapTest, HintBelowMmapMinAddrIsRaised) {
  absl::StatusOr<uint64_t> r = mm_.DoMmap(Anon(Pages(1), kProtRead, 0x1000));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, kDefaultMmapMinAddr);
}

TEST_F(MmapTest, PopulateOfWritablePrivateMemoryGivesItAnAnonVma) {
  Map(0, 2, kProtRead | kProtWrite, kMapPrivate | kMapAnonymous | kMapPopulate);
  Map(4, 2, kProtRead | kProtWrite, kMapPrivate | kMapAnonymous | kMapPopulate);
  std::optional<Vma> a = mm_.VmaLookup(Page(0));
  std::optional<Vma> b = mm_.VmaLookup(Page(4));
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_NE(a->anon_vma, 0u);
  EXPECT_NE(b->anon_vma, 0u);
  EXPECT_NE(a->anon_vma, b->anon_vma);
  // Two faulted regions with different anon_vmas never merge, even when
  // the gap between them is filled by a compatible region.
  Map(2, 2, kProtRead | kProtWrite);
  EXPECT_EQ(Layout(0, 6), "AAAABB");
}

TEST_F(MmapTest, MapStackSetsNohugepageAndSoDoesNotMergeWithPlainMemory) {
  Map(0, 2, kProtRead | kProtWrite);
  Map(2, 2, kProtRead | kProtWrite, kMapPrivate | kMapAnonymous | kMapStack);
  EXPECT_EQ(Layout(0, 4), "AABB");
}

TEST_F(MmapTest, HugetlbWithoutHugePagesIsEnomem) {
  EXPECT_EQ(
      Errno(mm_.DoMmap(Anon(kPmdSize, kProtRead, 0, kMapHugetlb)).status()),
      ENOMEM);
}

TEST_F(MmapTest, AccountingFollowsVmStatAccount) {
  Map(0, 2, kProtRead | kProtWrite);  // data
  Map(4, 3, kProtRead | kProtExec);   // exec
  Map(8, 1, kProtRead | kProtWrite,
      kMapPrivate | kMapAnonymous | kMapGrowsdown);                // stack
  Map(10, 5, kProtRead | kProtWrite, kMapShared | kMapAnonymous);  // none
  MmCounters c = mm_.Counters();
  EXPECT_EQ(c.total_vm, 11u);
  EXPECT_EQ(c.data_vm, 2u);
  EXPECT_EQ(c.exec_vm, 3u);
  EXPECT_EQ(c.stack_vm, 1u);
}

TEST_F(MmapTest, Map32BitGoesBetweenOneAndTwoGib) {
  absl::StatusOr<uint64_t> r =
      mm_.DoMmap(Anon(Pages(1), kProtRead, 0, kMap32Bit));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 0x40000000u);
}

TEST_F(MmapTest, GetUnmappedAreaDoesNotMap) {
  absl::StatusOr<uint64_t> r = mm_.GetUnmappedArea(nullptr, 0, Pages(1), 0, 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, kDefaultMmapBase - kPageSize);
  EXPECT_EQ(mm_.Counters().map_count, 0);
}

TEST_F(MmapTest, FullAddressSpaceIsEnomem) {
  MmConfig config;
  config.mmap_base = kDefaultMmapMinAddr + Pages(4);
  config.mmap_legacy_base = kTaskSize - Pages(2);
  MmStruct mm(config);
  EXPECT_TRUE(mm.DoMmap(Anon(Pages(4), kProtRead)).ok());
  EXPECT_TRUE(mm.DoMmap(Anon(Pages(2), kProtRead)).ok());  // bottom-up
  EXPECT_EQ(Errno(mm.DoMmap(Anon(Pages(1), kProtRead)).status()), ENOMEM);
}

}  // namespace
}  // namespace mmsim::testing
