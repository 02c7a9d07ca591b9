// Helpers for core tests: map pages by number and draw the address space
// one letter per region, as the kernel's tools/testing/vma tests do.
#ifndef MMSIM_TESTS_TESTING_MM_FIXTURE_H_
#define MMSIM_TESTS_TESTING_MM_FIXTURE_H_

#include <cstdint>
#include <new>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "core/linux_error.h"
#include "core/mm_struct.h"
#include "gtest/gtest.h"

namespace mmsim::testing {

// The window the tests draw: page 0 of a Layout() is kBase.
inline constexpr uint64_t kBase = 0x10000000;

inline uint64_t Page(uint64_t n) { return kBase + n * kPageSize; }
inline uint64_t Pages(uint64_t n) { return n * kPageSize; }

// Returns the errno of a status, 0 for OK, -1 for an error without one.
inline int Errno(const absl::Status& status) {
  if (status.ok()) return 0;
  return LinuxErrno(status).value_or(-1);
}

class MmTest : public ::testing::Test {
 protected:
  explicit MmTest(MmConfig config = MmConfig()) : mm_(config) {}

  // Starts over with an empty mm built from `config`.
  void Reset(const MmConfig& config) {
    mm_.~MmStruct();
    new (&mm_) MmStruct(config);
  }

  // Maps pages [first, first + n) of the window anonymously with MAP_FIXED.
  void Map(uint64_t first, uint64_t n, int prot,
           int flags = kMapPrivate | kMapAnonymous) {
    MmapArgs args;
    args.addr = Page(first);
    args.len = Pages(n);
    args.prot = prot;
    args.flags = flags | kMapFixed;
    absl::StatusOr<uint64_t> addr = mm_.DoMmap(args);
    ASSERT_TRUE(addr.ok()) << addr.status();
    ASSERT_EQ(*addr, Page(first));
  }

  // One character per page of [first, first + n): a letter per region in
  // address order ('A' for the first region met), ' ' for a hole.
  std::string Layout(uint64_t first, uint64_t n) const {
    std::string out;
    char next = 'A';
    uint64_t last_start = ~uint64_t{0};
    char letter = '?';
    for (uint64_t p = first; p < first + n; ++p) {
      std::optional<Vma> vma = mm_.VmaLookup(Page(p));
      if (!vma.has_value()) {
        out += ' ';
        continue;
      }
      if (vma->vm_start != last_start) {
        last_start = vma->vm_start;
        letter = next++;
      }
      out += letter;
    }
    return out;
  }

  // The perms string ("rw-p") of the region holding page p, or "" in a hole.
  std::string Perms(uint64_t p) const {
    std::optional<Vma> vma = mm_.VmaLookup(Page(p));
    return vma.has_value() ? VmaPermString(vma->vm_flags) : "";
  }

  MmStruct mm_;
};

}  // namespace mmsim::testing

#endif  // MMSIM_TESTS_TESTING_MM_FIXTURE_H_
