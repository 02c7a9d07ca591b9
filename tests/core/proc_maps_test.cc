// /proc/PID/maps formatting and the exec layout.
#include "core/mm_registry.h"
#include "tests/testing/mm_fixture.h"

namespace mmsim::testing {
namespace {

using ProcMapsTest = MmTest;

TEST_F(ProcMapsTest, AnonymousLineEndsWithASpace) {
  Map(0, 2, kProtRead | kProtWrite);
  EXPECT_EQ(mm_.ProcMaps(), "10000000-10002000 rw-p 00000000 00:00 0 \n");
}

TEST_F(ProcMapsTest, NamesStartAtColumn73) {
  auto file = std::make_shared<SimFile>();
  file->ino = 247134;
  file->name = "/usr/bin/cat";
  file->size = Pages(8);
  file->dev_major = 0xfe;
  MmapArgs args;
  args.addr = Page(0);
  args.len = Pages(2);
  args.prot = kProtRead | kProtExec;
  args.flags = kMapPrivate | kMapFixed;
  args.file = file;
  args.offset = Pages(2);
  ASSERT_TRUE(mm_.DoMmap(args).ok());
  std::string prefix = "10000000-10002000 r-xp 00002000 fe:00 247134 ";
  EXPECT_EQ(mm_.ProcMaps(),
            prefix + std::string(73 - prefix.size(), ' ') + "/usr/bin/cat\n");
}

TEST_F(ProcMapsTest, ExecLayoutLooksLikeARealProcess) {
  MmStruct mm;
  ASSERT_TRUE(SetupExecLayout(mm, ExecImage()).ok());
  std::string maps = mm.ProcMaps();
  EXPECT_NE(maps.find("555555554000-555555594000 r-xp 00000000 fe:00 1"),
            std::string::npos)
      << maps;
  // Only the region past start_brk is the heap, not the bss before it
  // (Linux: vma_is_initial_heap()).
  EXPECT_NE(maps.find("55555559a000-5555555bb000 rw-p 00000000 00:00 0"
                      "                          [heap]"),
            std::string::npos)
      << maps;
  EXPECT_NE(maps.find("555555598000-55555559a000 rw-p 00000000 00:00 0 \n"),
            std::string::npos)
      << maps;
  EXPECT_NE(maps.find("[stack]"), std::string::npos) << maps;
  EXPECT_NE(maps.find("[vdso]"), std::string::npos) << maps;
  EXPECT_NE(maps.find("7ffffffde000-7ffffffff000 rw-p"), std::string::npos)
      << maps;
  MmCounters c = mm.Counters();
  EXPECT_EQ(c.layout.start_brk, 0x55555559a000u);
  EXPECT_EQ(c.stack_vm, 33u);
  mm.ValidateMm();
}

}  // namespace
}  // namespace mmsim::testing
