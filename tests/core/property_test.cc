// Property test: seeded random mmap/munmap/mprotect/mremap/madvise
// sequences applied to MmStruct and to a naive page-by-page model; after
// every step both must agree page by page and ValidateMm() must hold.
// MMSIM_PROPERTY_SEEDS=N runs N seeds (default 40) of
// MMSIM_PROPERTY_STEPS steps (default 300).
#include <cerrno>
#include <cstdlib>
#include <map>
#include <random>

#include "absl/strings/str_format.h"
#include "tests/testing/mm_fixture.h"

namespace mmsim::testing {
namespace {

constexpr uint64_t kWindowPages = 64;

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : fallback;
}

// What one page looks like: its protection, or absent.
using PageModel = std::map<uint64_t, int>;

class PropertyTest : public MmTest {
 protected:
  void Check(const PageModel& model, uint64_t seed, int step,
             const std::string& op) {
    mm_.ValidateMm();
    for (uint64_t p = 0; p < kWindowPages; ++p) {
      auto it = model.find(p);
      std::optional<Vma> vma = mm_.VmaLookup(Page(p));
      ASSERT_EQ(vma.has_value(), it != model.end())
          << "seed " << seed << " step " << step << " " << op << " page " << p;
      if (!vma.has_value()) continue;
      int prot = 0;
      if (vma->vm_flags & kVmRead) prot |= kProtRead;
      if (vma->vm_flags & kVmWrite) prot |= kProtWrite;
      if (vma->vm_flags & kVmExec) prot |= kProtExec;
      ASSERT_EQ(prot, it->second)
          << "seed " << seed << " step " << step << " " << op << " page " << p;
    }
    // Adjacent regions that Linux would merge never stay apart for
    // anonymous memory that was never faulted: equal flags and contiguous
    // pgoff mean one region.
    std::vector<Vma> vmas = mm_.Vmas();
    for (size_t i = 1; i < vmas.size(); ++i) {
      const Vma& a = vmas[i - 1];
      const Vma& b = vmas[i];
      bool mergeable = a.vm_end == b.vm_start && a.vm_flags == b.vm_flags &&
                       a.vm_file == nullptr && b.vm_file == nullptr &&
                       a.vm_pgoff + a.pages() == b.vm_pgoff;
      EXPECT_FALSE(mergeable)
          << "seed " << seed << " step " << step << " " << op
          << ": mergeable neighbours at " << absl::StrFormat("%#x", b.vm_start);
    }
  }
};

TEST_F(PropertyTest, RandomSequencesAgreeWithAPageModel) {
  const int seeds = EnvInt("MMSIM_PROPERTY_SEEDS", 40);
  const int steps = EnvInt("MMSIM_PROPERTY_STEPS", 300);
  const int prots[] = {kProtNone, kProtRead, kProtRead | kProtWrite,
                       kProtRead | kProtExec};
  for (int s = 0; s < seeds; ++s) {
    const uint64_t seed = 1000 + s;
    Reset(MmConfig());
    PageModel model;
    std::mt19937_64 rng(seed);
    auto pick = [&](uint64_t n) { return rng() % n; };
    for (int step = 0; step < steps; ++step) {
      uint64_t first = pick(kWindowPages);
      uint64_t n = 1 + pick(std::min<uint64_t>(8, kWindowPages - first));
      int prot = prots[pick(4)];
      std::string op;
      switch (pick(4)) {
        case 0: {  // mmap MAP_FIXED
          op = absl::StrFormat("mmap(%d, %d, %d)", first, n, prot);
          MmapArgs args;
          args.addr = Page(first);
          args.len = Pages(n);
          args.prot = prot;
          args.flags = kMapPrivate | kMapAnonymous | kMapFixed;
          ASSERT_TRUE(mm_.DoMmap(args).ok()) << op;
          for (uint64_t p = first; p < first + n; ++p) model[p] = prot;
          break;
        }
        case 1: {  // munmap
          op = absl::StrFormat("munmap(%d, %d)", first, n);
          ASSERT_TRUE(mm_.DoMunmap(Page(first), Pages(n)).ok()) << op;
          for (uint64_t p = first; p < first + n; ++p) model.erase(p);
          break;
        }
        case 2: {  // mprotect: applies up to the first hole, else ENOMEM
          op = absl::StrFormat("mprotect(%d, %d, %d)", first, n, prot);
          absl::Status status = mm_.Mprotect(Page(first), Pages(n), prot);
          uint64_t p = first;
          bool hole = false;
          if (!(model.count(first) != 0)) {
            hole = true;
          } else {
            for (; p < first + n; ++p) {
              if (!(model.count(p) != 0)) {
                hole = true;
                break;
              }
              model[p] = prot;
            }
          }
          ASSERT_EQ(Errno(status), hole ? ENOMEM : 0) << op;
          break;
        }
        case 3: {  // madvise DONTFORK/DOFORK toggles flags, never prot
          op = absl::StrFormat("madvise(%d, %d)", first, n);
          int advice = pick(2) ? kMadvDontfork : kMadvDofork;
          absl::Status status = mm_.Madvise(Page(first), Pages(n), advice);
          bool hole = false;
          for (uint64_t p = first; p < first + n; ++p) {
            if (!(model.count(p) != 0)) hole = true;
          }
          ASSERT_EQ(Errno(status), hole ? ENOMEM : 0) << op;
          break;
        }
      }
      if (::testing::Test::HasFatalFailure()) return;
      Check(model, seed, step, op);
      if (::testing::Test::HasFailure()) return;
    }
  }
}

}  // namespace
}  // namespace mmsim::testing
