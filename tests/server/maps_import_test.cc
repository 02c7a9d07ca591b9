// client/maps_import: parsing a real /proc/PID/maps and /proc/PID/stat into
// a CreateProcess description.
#include "client/maps_import.h"

#include <string>

#include "core/vma.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mmsim::client {
namespace {

using ::testing::SizeIs;

constexpr char kMaps[] =
    "555555554000-555555556000 r--p 00000000 08:01 123    /usr/bin/cat\n"
    "555555556000-55555555b000 r-xp 00002000 08:01 123    /usr/bin/cat\n"
    "55555555e000-55555557f000 rw-p 00000000 00:00 0      [heap]\n"
    "7ffff7dd0000-7ffff7df2000 rw-s 00000000 00:01 42     /dev/zero "
    "(deleted)\n"
    "7ffff7ff0000-7ffff7ff2000 rw-p 00000000 00:00 0 \n"
    "7ffff7ff9000-7ffff7ffd000 r--p 00000000 00:00 0      [vvar]\n"
    "7ffff7ffd000-7ffff7fff000 r-xp 00000000 00:00 0      [vdso]\n"
    "7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0      [stack]\n"
    "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0  [vsyscall]\n";

TEST(MapsImportTest, ParsesEveryKindOfLine) {
  absl::StatusOr<ImportedProcess> imported = ParseProcMaps(kMaps);
  ASSERT_TRUE(imported.ok()) << imported.status();
  const v1::ProcessDescription& desc = imported->request.description();
  ASSERT_THAT(desc.regions(), SizeIs(8));
  EXPECT_EQ(imported->skipped, 1);  // [vsyscall]

  const v1::RegionSpec& text = desc.regions(1);
  EXPECT_EQ(text.start(), 0x555555556000u);
  EXPECT_EQ(text.end(), 0x55555555b000u);
  EXPECT_EQ(text.perms(), "r-xp");
  EXPECT_EQ(text.file_name(), "/usr/bin/cat");
  EXPECT_EQ(text.pgoff(), 2u);

  const v1::RegionSpec& heap = desc.regions(2);
  EXPECT_EQ(heap.file_name(), "");
  EXPECT_FALSE(heap.has_pgoff());
  EXPECT_EQ(desc.layout().start_brk(), 0x55555555e000u);
  EXPECT_EQ(desc.layout().brk(), 0x55555557f000u);

  EXPECT_EQ(desc.regions(3).file_name(), "/dev/zero (deleted)");
  EXPECT_EQ(desc.regions(3).perms(), "rw-s");
  EXPECT_EQ(desc.regions(4).file_name(), "");  // trailing blank: anonymous
  EXPECT_EQ(desc.regions(5).special_name(), "[vvar]");
  EXPECT_EQ(desc.regions(6).special_name(), "[vdso]");
  const v1::RegionSpec& stack = desc.regions(7);
  EXPECT_EQ(stack.extra_vm_flags(), kVmGrowsdown);
  EXPECT_GE(desc.layout().start_stack(), stack.start());
  EXPECT_LT(desc.layout().start_stack(), stack.end());

  // One file per path, big enough for its largest mapping.
  ASSERT_THAT(imported->files, SizeIs(2));
  EXPECT_EQ(imported->files[0].name(), "/dev/zero (deleted)");
  EXPECT_EQ(imported->files[1].name(), "/usr/bin/cat");
  EXPECT_EQ(imported->files[1].size(), 0x7000u);
}

TEST(MapsImportTest, MalformedLineNamesItsNumber) {
  absl::StatusOr<ImportedProcess> imported = ParseProcMaps(
      "555555554000-555555556000 r--p 00000000 08:01 1 /a\n"
      "zzzz-1000 r--p 0 0 0\n");
  ASSERT_FALSE(imported.ok());
  EXPECT_EQ(imported.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(imported.status().message()),
              ::testing::HasSubstr("line 2"));
}

TEST(MapsImportTest, StatLayoutFields) {
  // proc(5): fields 26-28 startcode endcode startstack, 45-51 start_data
  // end_data start_brk arg_start arg_end env_start env_end.
  std::string stat = "1234 (my (odd) comm) R";
  for (int field = 4; field <= 52; ++field) {
    stat += " " + std::to_string(field == 26   ? 0x1000
                                 : field == 27 ? 0x2000
                                 : field == 28 ? 0x7000
                                 : field == 45 ? 0x3000
                                 : field == 46 ? 0x4000
                                 : field == 47 ? 0x5000
                                 : field == 48 ? 0x7100
                                 : field == 49 ? 0x7200
                                 : field == 50 ? 0x7200
                                 : field == 51 ? 0x7300
                                               : 0);
  }
  v1::Layout layout;
  ASSERT_TRUE(ParseProcStatLayout(stat, &layout).ok());
  EXPECT_EQ(layout.start_code(), 0x1000u);
  EXPECT_EQ(layout.end_code(), 0x2000u);
  EXPECT_EQ(layout.start_stack(), 0x7000u);
  EXPECT_EQ(layout.start_data(), 0x3000u);
  EXPECT_EQ(layout.end_data(), 0x4000u);
  EXPECT_EQ(layout.start_brk(), 0x5000u);
  EXPECT_EQ(layout.brk(), 0x5000u);  // no [heap]: brk = start_brk
  EXPECT_EQ(layout.arg_start(), 0x7100u);
  EXPECT_EQ(layout.env_end(), 0x7300u);
  EXPECT_FALSE(ParseProcStatLayout("garbage", &layout).ok());
}

}  // namespace
}  // namespace mmsim::client
