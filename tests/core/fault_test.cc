// Page faults and the page-level side of the region calls, on one mm with
// its own frame pool.
#include <cerrno>

#include "core/mm_registry.h"
#include "tests/testing/mm_fixture.h"

namespace mmsim::testing {
namespace {

constexpr int kRw = kProtRead | kProtWrite;

class FaultTest : public MmTest {
 protected:
  FaultResult Touch(uint64_t page, FaultAccess access) {
    return mm_.HandleMmFault(Page(page), access);
  }
  RssCounters Rss() const { return mm_.PageStats().rss; }
  std::shared_ptr<const SimFile> File(uint64_t pages, bool shmem = false) {
    auto file = std::make_shared<SimFile>();
    file->ino = 77;
    file->name = "/f";
    file->size = Pages(pages);
    file->shmem = shmem;
    return file;
  }
  void MapFile(uint64_t first, uint64_t n, int prot, int flags,
               std::shared_ptr<const SimFile> file, uint64_t offset = 0) {
    MmapArgs args;
    args.addr = Page(first);
    args.len = Pages(n);
    args.prot = prot;
    args.flags = flags | kMapFixed;
    args.file = std::move(file);
    args.file_mode = kFmodeRead | kFmodeWrite;
    args.offset = offset;
    ASSERT_TRUE(mm_.DoMmap(args).ok());
  }
};

TEST_F(FaultTest, ReadMapsTheZeroPageWriteAllocates) {
  Map(0, 4, kRw);
  FaultResult r = Touch(0, FaultAccess::kRead);
  EXPECT_EQ(r.kind, FaultKind::kMinor);
  EXPECT_EQ(r.source, FaultSource::kZeroPage);
  EXPECT_EQ(Rss().anon, 0u);  // the zero page is not rss
  EXPECT_EQ(Touch(0, FaultAccess::kRead).kind, FaultKind::kNone);
  // Writing the zero page copies it into a page of its own.
  r = Touch(0, FaultAccess::kWrite);
  EXPECT_EQ(r.source, FaultSource::kCopyOnWrite);
  EXPECT_EQ(Rss().anon, 1u);
  r = Touch(1, FaultAccess::kWrite);
  EXPECT_EQ(r.source, FaultSource::kAnonPage);
  EXPECT_EQ(Rss().anon, 2u);
  EXPECT_EQ(Touch(1, FaultAccess::kWrite).kind, FaultKind::kNone);
  EXPECT_EQ(mm_.PageStats().hiwater_rss, 2u);
  // The first write gave the region its anon_vma.
  EXPECT_NE(mm_.VmaLookup(Page(0))->anon_vma, 0u);
}

TEST_F(FaultTest, SegvCodes) {
  Map(0, 1, kProtRead);
  Map(2, 1, kProtNone);
  Map(4, 1, kProtRead | kProtExec);
  FaultResult r = Touch(1, FaultAccess::kRead);  // a hole
  EXPECT_EQ(r.kind, FaultKind::kSigsegv);
  EXPECT_EQ(r.si_code, kSegvMaperr);
  r = Touch(0, FaultAccess::kWrite);  // read-only
  EXPECT_EQ(r.si_code, kSegvAccerr);
  r = Touch(2, FaultAccess::kRead);  // PROT_NONE
  EXPECT_EQ(r.si_code, kSegvAccerr);
  // Executing a readable page without PROT_EXEC maps it, then NX stops it.
  r = Touch(0, FaultAccess::kExec);
  EXPECT_EQ(r.kind, FaultKind::kSigsegv);
  EXPECT_EQ(r.si_code, kSegvAccerr);
  EXPECT_EQ(r.source, FaultSource::kZeroPage);
  EXPECT_EQ(Touch(4, FaultAccess::kExec).kind, FaultKind::kMinor);
  EXPECT_EQ(
      mm_.HandleMmFault(kTaskSize + kPageSize, FaultAccess::kRead).si_code,
      kSegvMaperr);
  EXPECT_EQ(mm_.PageStats().segv_accerr, 3u);
  EXPECT_EQ(mm_.PageStats().segv_maperr, 2u);
}

TEST_F(FaultTest, StackGrowsDownToTheGuardGap) {
  // A stack region at pages 300..310 and a region below it at 0..1.
  MmapArgs args;
  args.addr = Page(300);
  args.len = Pages(10);
  args.prot = kRw;
  args.flags = kMapPrivate | kMapAnonymous | kMapFixed | kMapGrowsdown;
  ASSERT_TRUE(mm_.DoMmap(args).ok());
  Map(0, 2, kRw);
  const uint64_t before = mm_.Counters().total_vm;
  FaultResult r = Touch(295, FaultAccess::kWrite);
  EXPECT_EQ(r.kind, FaultKind::kMinor);
  EXPECT_TRUE(r.stack_expanded);
  EXPECT_EQ(mm_.VmaLookup(Page(295))->vm_start, Page(295));
  EXPECT_EQ(mm_.Counters().total_vm, before + 5);
  // Growing to within 256 pages of the region below is refused.
  r = Touch(2 + 255, FaultAccess::kRead);
  EXPECT_EQ(r.kind, FaultKind::kSigsegv);
  EXPECT_EQ(r.si_code, kSegvMaperr);
  EXPECT_EQ(Touch(2 + 256, FaultAccess::kRead).kind, FaultKind::kMinor);
  // RLIMIT_STACK bounds the size.
  MmConfig config;
  config.rlimits.stack.cur = Pages(12);
  Reset(config);
  ASSERT_TRUE(mm_.DoMmap(args).ok());
  EXPECT_EQ(Touch(298, FaultAccess::kRead).kind, FaultKind::kMinor);
  EXPECT_EQ(Touch(297, FaultAccess::kRead).kind, FaultKind::kSigsegv);
}

TEST_F(FaultTest, FilePagesComeFromThePageCache) {
  auto file = File(4);
  MapFile(0, 4, kRw, kMapPrivate, file);
  MapFile(10, 4, kRw, kMapShared, file);
  FaultResult r = Touch(0, FaultAccess::kRead);
  EXPECT_EQ(r.kind, FaultKind::kMajor);  // read from the "disk"
  EXPECT_EQ(r.source, FaultSource::kPageCache);
  // The shared mapping of the same file page finds it cached.
  r = Touch(10, FaultAccess::kRead);
  EXPECT_EQ(r.kind, FaultKind::kMinor);
  EXPECT_EQ(Rss().file, 2u);
  // Writing the private mapping copies the page.
  r = Touch(0, FaultAccess::kWrite);
  EXPECT_EQ(r.source, FaultSource::kCopyOnWrite);
  EXPECT_EQ(Rss().file, 1u);
  EXPECT_EQ(Rss().anon, 1u);
  // Writing the shared mapping makes its page writable in place.
  r = Touch(10, FaultAccess::kWrite);
  EXPECT_EQ(r.source, FaultSource::kWriteReuse);
  EXPECT_EQ(Rss().file, 1u);
  // A private write to an uncached page copies at once.
  r = Touch(1, FaultAccess::kWrite);
  EXPECT_EQ(r.source, FaultSource::kCopyOnWrite);
}

TEST_F(FaultTest, PagePastEndOfFileIsSigbus) {
  auto file = File(2);
  MapFile(0, 4, kProtRead, kMapPrivate, file);
  EXPECT_EQ(Touch(1, FaultAccess::kRead).kind, FaultKind::kMajor);
  FaultResult r = Touch(2, FaultAccess::kRead);
  EXPECT_EQ(r.kind, FaultKind::kSigbus);
  EXPECT_EQ(r.si_code, kBusAdrerr);
}

TEST_F(FaultTest, SharedAnonymousIsShmem) {
  Map(0, 2, kRw, kMapShared | kMapAnonymous);
  FaultResult r = Touch(0, FaultAccess::kWrite);
  EXPECT_EQ(r.kind, FaultKind::kMinor);
  EXPECT_EQ(r.source, FaultSource::kShmemPage);
  EXPECT_EQ(Rss().shmem, 1u);
  EXPECT_EQ(Rss().anon, 0u);
}

TEST_F(FaultTest, PopulateAndMlockFaultPagesIn) {
  MmapArgs args;
  args.addr = Page(0);
  args.len = Pages(8);
  args.prot = kRw;
  args.flags = kMapPrivate | kMapAnonymous | kMapFixed | kMapPopulate;
  ASSERT_TRUE(mm_.DoMmap(args).ok());
  EXPECT_EQ(Rss().anon, 8u);
  // A read-only region populates with the zero page: no rss.
  args.addr = Page(20);
  args.prot = kProtRead;
  ASSERT_TRUE(mm_.DoMmap(args).ok());
  EXPECT_EQ(Rss().anon, 8u);
  Map(40, 4, kRw);
  ASSERT_TRUE(mm_.Mlock(Page(40), Pages(4), 0).ok());
  EXPECT_EQ(Rss().anon, 12u);
  // MLOCK_ONFAULT populates nothing.
  Map(50, 4, kRw);
  ASSERT_TRUE(mm_.Mlock(Page(50), Pages(4), kMlockOnfault).ok());
  EXPECT_EQ(Rss().anon, 12u);
  std::vector<uint8_t> vec = *mm_.Mincore(Page(40), Pages(4));
  EXPECT_EQ(vec, std::vector<uint8_t>(4, 1));
  vec = *mm_.Mincore(Page(50), Pages(4));
  EXPECT_EQ(vec, std::vector<uint8_t>(4, 0));
}

TEST_F(FaultTest, DontneedZapsAndMunmapFrees) {
  Map(0, 8, kRw);
  for (int i = 0; i < 8; ++i) Touch(i, FaultAccess::kWrite);
  const uint64_t free_before = mm_.phys()->FreeFrames();
  ASSERT_TRUE(mm_.Madvise(Page(0), Pages(4), kMadvDontneed).ok());
  EXPECT_EQ(Rss().anon, 4u);
  EXPECT_EQ(mm_.phys()->FreeFrames(), free_before + 4);
  // The zapped pages read as zero again.
  EXPECT_EQ(Touch(0, FaultAccess::kRead).source, FaultSource::kZeroPage);
  ASSERT_TRUE(mm_.DoMunmap(Page(4), Pages(4)).ok());
  EXPECT_EQ(Rss().anon, 0u);
  EXPECT_EQ(mm_.phys()->FreeFrames(), free_before + 8);
  EXPECT_EQ(Errno(mm_.Mincore(Page(4), Pages(1)).status()), ENOMEM);
  EXPECT_EQ(Errno(mm_.Mincore(Page(0) + 1, Pages(1)).status()), EINVAL);
}

TEST_F(FaultTest, MremapMovesThePages) {
  Map(0, 4, kRw);
  for (int i = 0; i < 4; ++i) Touch(i, FaultAccess::kWrite);
  absl::StatusOr<uint64_t> moved = mm_.Mremap(
      Page(0), Pages(4), Pages(8), kMremapMaymove | kMremapFixed, Page(100));
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_EQ(Rss().anon, 4u);
  EXPECT_EQ(*mm_.Mincore(Page(100), Pages(8)),
            (std::vector<uint8_t>{1, 1, 1, 1, 0, 0, 0, 0}));
  EXPECT_EQ(Touch(100, FaultAccess::kWrite).kind, FaultKind::kNone);
}

TEST_F(FaultTest, MprotectWriteProtectsPages) {
  Map(0, 2, kRw);
  Touch(0, FaultAccess::kWrite);
  ASSERT_TRUE(mm_.Mprotect(Page(0), Pages(2), kProtRead).ok());
  EXPECT_EQ(Touch(0, FaultAccess::kWrite).si_code, kSegvAccerr);
  ASSERT_TRUE(mm_.Mprotect(Page(0), Pages(2), kRw).ok());
  // Writable again: the exclusive page is reused, not copied.
  EXPECT_EQ(Touch(0, FaultAccess::kWrite).source, FaultSource::kWriteReuse);
  EXPECT_EQ(Rss().anon, 1u);
}

TEST_F(FaultTest, GuardMarkersFaultAndStopPopulate) {
  Map(0, 4, kRw);
  Touch(1, FaultAccess::kWrite);
  ASSERT_TRUE(mm_.Madvise(Page(1), Pages(1), kMadvGuardInstall).ok());
  EXPECT_EQ(Rss().anon, 0u);
  FaultResult r = Touch(1, FaultAccess::kRead);
  EXPECT_EQ(r.kind, FaultKind::kSigsegv);
  EXPECT_EQ(r.si_code, kSegvMaperr);
  EXPECT_EQ(Errno(mm_.Madvise(Page(0), Pages(4), kMadvPopulateWrite)), EFAULT);
  ASSERT_TRUE(mm_.Madvise(Page(1), Pages(1), kMadvGuardRemove).ok());
  EXPECT_EQ(Touch(1, FaultAccess::kRead).source, FaultSource::kZeroPage);
}

TEST_F(FaultTest, SmapsAndStatusCountPages) {
  Map(0, 4, kRw);
  Touch(0, FaultAccess::kWrite);
  Touch(1, FaultAccess::kWrite);
  Touch(2, FaultAccess::kRead);
  std::vector<VmaSmaps> smaps = mm_.Smaps();
  ASSERT_EQ(smaps.size(), 1u);
  EXPECT_EQ(smaps[0].counts.rss, Pages(2));
  EXPECT_EQ(smaps[0].counts.anonymous, Pages(2));
  EXPECT_EQ(smaps[0].counts.private_dirty, Pages(2));
  const std::string text = mm_.ProcSmaps();
  EXPECT_NE(text.find("Rss:                   8 kB\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("Private_Hugetlb:       0 kB\n"), std::string::npos);
  EXPECT_NE(text.find("VmFlags: rd wr mr mw me ac \n"), std::string::npos);
  const std::string status = mm_.TaskMem();
  EXPECT_NE(status.find("VmRSS:\t       8 kB\n"), std::string::npos) << status;
  EXPECT_NE(status.find("RssAnon:\t       8 kB\n"), std::string::npos);
}

}  // namespace
}  // namespace mmsim::testing
